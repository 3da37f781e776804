import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { FltsError } from '../../errors.js';
import type { BackendChoice } from '../../tf/backend.js';
import { compiledWorkerScript } from '../../worker-script.js';
import type { ForecastModel, WindowSpec } from '../forecast-model.js';
import { recurrentForecastModel, type RecurrentKind } from '../recurrent-forecast-model.js';
import { keepOnnxTelemetryOff } from '../onnx/runtime-telemetry.js';
import type { RecurrentNetworkWeights } from '../recurrent-weights.js';
import type { InferenceReply, InferenceRequest, InferenceThreadInit } from './messages.js';
import { fallbackNote, type ServeEngine, type ServeEngineChoice, type ServingForwardOptions } from './serving-forward.js';

interface Pending {
  resolve: (predictions: Float32Array) => void;
  reject: (error: Error) => void;
}

function workerScript(): URL {
  const beside = new URL('./inference-worker.js', import.meta.url);
  const script = compiledWorkerScript(beside);
  if (!script) throw new FltsError('FLTS_SERVE_INFERENCE_FAILED', `The inference worker script is missing (${beside.pathname}); run \`npm run build\`.`);
  return script;
}

export interface ThreadedModelOptions {
  /** The forward pass's engine (default wasm: flts's own loop on `backend`). */
  engine?: ServeEngineChoice;
  engineOptions?: ServingForwardOptions;
  /** Most windows merged into one pass. */
  maxWindows?: number;
}

/**
 * An LSTM/GRU model whose forward passes run on a worker thread of their own, so the thread that parses
 * requests and answers HTTP keeps going while a batch is computed (the two use both cores). A thread that
 * dies fails the passes it had and is started again once; the model stays usable.
 */
export async function createThreadedRecurrentModel(kind: RecurrentKind, window: WindowSpec, weights: RecurrentNetworkWeights, backend: BackendChoice, options: ThreadedModelOptions = {}): Promise<ForecastModel> {
  const { engine: engineChoice = 'wasm', engineOptions = {}, maxWindows = 256 } = options;
  const script = workerScript();
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let disposed = false;
  let worker!: Worker;
  let requests!: MessagePort;
  let failure: FltsError | undefined;
  let engine: ServeEngine | undefined;
  let engineNote: string | undefined;

  function failAll(error: FltsError): void {
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  }

  function start(): Promise<void> {
    const channel = new MessageChannel();
    const init: InferenceThreadInit = { weights, window, engine: engineChoice, engineOptions, backend, requests: channel.port2, maxWindows };
    if (engineChoice !== 'wasm') keepOnnxTelemetryOff();
    const thread = new Worker(script, { workerData: init, transferList: [channel.port2] });
    worker = thread;
    requests = channel.port1;
    let ready = false;
    return new Promise<void>((resolve, reject) => {
      thread.on('message', (reply: InferenceReply) => {
        if (reply.type === 'ready') {
          ready = true;
          engine = reply.engine;
          engineNote = fallbackNote(reply);
          failure = undefined;
          thread.unref();
          return resolve();
        }
        if (reply.type === 'init-failed') {
          const code = reply.code === 'FLTS_SERVE_ENGINE_UNAVAILABLE' ? reply.code : 'FLTS_SERVE_INFERENCE_FAILED';
          return reject(new FltsError(code, `The inference thread could not start: ${reply.message}`));
        }
        const waiting = pending.get(reply.id);
        pending.delete(reply.id);
        if (pending.size === 0) thread.unref();
        if (reply.type === 'result') waiting?.resolve(reply.predictions);
        else waiting?.reject(new FltsError('FLTS_SERVE_INFERENCE_FAILED', `A forward pass failed: ${reply.message}`));
      });
      thread.on('error', (error) => reject(new FltsError('FLTS_SERVE_INFERENCE_FAILED', `The inference thread crashed: ${error.message}`, { cause: error })));
      thread.on('exit', (code) => {
        if (disposed || worker !== thread) return;
        const exited = new FltsError('FLTS_SERVE_INFERENCE_FAILED', `The inference thread exited (exit code ${code}).`);
        failAll(exited);
        reject(exited);
        // Restart only a thread that had worked, so a thread that cannot start does not loop.
        if (ready) {
          start().catch((error: FltsError) => {
            failure = error;
          });
        } else {
          failure = exited;
        }
      });
    });
  }

  try {
    await start();
  } catch (error) {
    disposed = true;
    await worker.terminate();
    throw error;
  }
  return recurrentForecastModel(kind, window, {
    // The thread merges queued passes, so the batcher may hand over the next batch while one runs.
    concurrentPasses: 2,
    engine,
    engineNote,
    run(batch) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      // A copy is transferred, so the caller's array stays usable.
      const windows = batch.windows.slice();
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref();
        requests.postMessage({ id, windows, size: batch.size } satisfies InferenceRequest, [windows.buffer]);
      });
    },
    release() {
      disposed = true;
      failAll(new FltsError('FLTS_MODEL_NOT_FITTED', `The ${kind} model was disposed.`));
      requests.close();
      void worker.terminate();
    },
  });
}
