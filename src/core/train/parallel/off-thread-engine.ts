import { Worker } from 'node:worker_threads';
import { errorFromWorker, FltsError } from '../../errors.js';
import { keepOnnxTelemetryOff } from '../../models/onnx/runtime-telemetry.js';
import type { EngineInit, GradientEngine } from '../fused/gradient-engine.js';
import type { OffThreadInit, OffThreadReply, OffThreadRequest } from './off-thread-messages.js';
import { shareTrainingData, trainingWorkerScript } from './shared-training-data.js';

export interface OffThreadOptions {
  /** ONNX Runtime's intra-op threads inside the engine thread. */
  threads: number;
  runtimeModule?: string;
}

/**
 * The ONNX Runtime engine on a worker thread of its own. ONNX Runtime's Node binding runs a session on the
 * calling thread, so two networks trained in one process would otherwise take turns on the main thread; with
 * the engine on a worker, the calling thread only hands out batches and is free for other models in between.
 * Each step computes exactly what the engine computes in-process (same session, same Adam, same order).
 * Throws what createOnnxEngine throws when the worker cannot build the engine.
 */
export async function createOffThreadOnnxEngine(init: EngineInit, options: OffThreadOptions): Promise<GradientEngine> {
  const data = shareTrainingData(init);
  const order = new Int32Array(data.order);
  const workerInit: OffThreadInit = {
    layout: init.layout,
    steps: init.steps,
    learningRate: init.learningRate,
    kernels: init.kernels,
    validationSize: init.validationSize,
    threads: options.threads,
    ...(options.runtimeModule ? { runtimeModule: options.runtimeModule } : {}),
    ...data,
  };
  keepOnnxTelemetryOff();
  const worker = new Worker(trainingWorkerScript('engine-worker.js', 'engine worker'), { workerData: workerInit });
  let pending: { resolve: (reply: OffThreadReply) => void; reject: (error: Error) => void } | undefined;
  const fail = (error: Error): void => {
    const waiting = pending;
    pending = undefined;
    waiting?.reject(error);
  };
  const ready = new Promise<void>((resolve, reject) => {
    pending = { resolve: () => resolve(), reject };
  });
  worker.on('message', (reply: OffThreadReply) => {
    if (reply.type === 'error') return fail(errorFromWorker(reply, 'FLTS_TRAIN_FAILED'));
    const waiting = pending;
    pending = undefined;
    waiting?.resolve(reply);
  });
  worker.on('error', (error) => fail(new FltsError('FLTS_TRAIN_FAILED', `The training engine thread crashed: ${error.message}`, { cause: error })));
  // A thread that dies without an error event (killed, out of memory) must not leave a step waiting forever.
  worker.on('exit', (code) => fail(new FltsError('FLTS_TRAIN_FAILED', `The training engine thread exited unexpectedly (exit code ${code}).`)));
  // A reply of another type means the two threads disagree on the protocol (a stale build of the engine
  // thread, say): that is the error to report, not a made-up loss the fit loop would call divergence.
  const call = <T extends OffThreadReply['type']>(message: OffThreadRequest, answer: T): Promise<Extract<OffThreadReply, { type: T }>> =>
    new Promise((resolve, reject) => {
      pending = {
        resolve: (reply) =>
          reply.type === answer
            ? resolve(reply as Extract<OffThreadReply, { type: T }>)
            : reject(new FltsError('FLTS_INTERNAL', `The training engine thread answered a '${message.type}' request with '${reply.type}' instead of '${answer}'.`)),
        reject,
      };
      worker.postMessage(message);
    });
  try {
    await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  let orderChanged = false;
  return {
    name: 'onnx',
    threads: options.threads,
    weights: new Float32Array(data.weights),
    setOrder(next) {
      order.set(next);
      orderChanged = true;
    },
    async step(from, to) {
      const changed = orderChanged;
      orderChanged = false;
      return (await call({ type: 'step', from, to, order: changed }, 'result')).sse;
    },
    async steps(from, to, batchSize) {
      const changed = orderChanged;
      orderChanged = false;
      return (await call({ type: 'steps', from, to, batchSize, order: changed }, 'results')).sse;
    },
    async validationSse() {
      return (await call({ type: 'validation' }, 'result')).sse;
    },
    async close() {
      try {
        if (!pending) await call({ type: 'close' }, 'closed');
      } finally {
        worker.removeAllListeners('exit');
        await worker.terminate();
      }
    },
  };
}
