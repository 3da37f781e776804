import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { FltsError } from '../../errors.js';
import type { InferenceReply, InferenceRequest, InferenceThreadInit } from './messages.js';
import { openServingForward, type ServingForward } from './serving-forward.js';

type Reply = (message: InferenceReply, transfer?: ArrayBuffer[]) => void;

/** The requests that arrived as events, then every one still queued on the port, up to `maxWindows` windows (at least one). */
function takeBatch(init: InferenceThreadInit, waiting: InferenceRequest[]): { requests: InferenceRequest[]; size: number } {
  const requests: InferenceRequest[] = [];
  let size = 0;
  const take = (request: InferenceRequest): void => {
    requests.push(request);
    size += request.size;
  };
  while (waiting.length > 0 && (requests.length === 0 || size + waiting[0].size <= init.maxWindows)) take(waiting.shift() as InferenceRequest);
  while (waiting.length === 0 && size < init.maxWindows) {
    const next = receiveMessageOnPort(init.requests);
    if (!next) break;
    take(next.message as InferenceRequest);
  }
  return { requests, size };
}

async function runMerged(forward: ServingForward, requests: InferenceRequest[], size: number, reply: Reply): Promise<void> {
  let windows = requests[0].windows;
  if (requests.length > 1) {
    windows = new Float32Array(requests.reduce((total, request) => total + request.windows.length, 0));
    let offset = 0;
    for (const request of requests) {
      windows.set(request.windows, offset);
      offset += request.windows.length;
    }
  }
  try {
    const output = await forward.run(windows, size);
    const perWindow = output.length / size;
    let offset = 0;
    for (const request of requests) {
      const predictions = output.slice(offset * perWindow, (offset + request.size) * perWindow);
      offset += request.size;
      reply({ type: 'result', id: request.id, predictions }, [predictions.buffer as ArrayBuffer]);
    }
  } catch (error) {
    for (const request of requests) reply({ type: 'error', id: request.id, message: (error as Error).message });
  }
}

/**
 * Runs forward passes for the serving thread, so a batch never holds the HTTP event loop (ONNX Runtime runs
 * a pass synchronously on the thread that calls it). Passes queue up while one runs; the next pass takes all
 * of them at once, so the thread never idles while work waits and batches grow with the load.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const reply: Reply = (message, transfer = []) => port.postMessage(message, transfer);
  const init = workerData as InferenceThreadInit;
  let forward: ServingForward;
  try {
    forward = await openServingForward(init.weights, init.window, init.engine, init.engineOptions, async () => (await import('../../tf/backend.js')).selectBackend(init.backend));
    reply({ type: 'ready', engine: forward.engine, fallbackReason: forward.fallbackReason });
  } catch (error) {
    reply({ type: 'init-failed', message: (error as Error).message, code: error instanceof FltsError ? error.code : undefined });
    return;
  }
  const waiting: InferenceRequest[] = [];
  let running = false;
  const pump = async (): Promise<void> => {
    running = true;
    while (waiting.length > 0) {
      const { requests, size } = takeBatch(init, waiting);
      await runMerged(forward, requests, size, reply);
    }
    running = false;
  };
  init.requests.on('message', (request: InferenceRequest) => {
    waiting.push(request);
    if (!running) void pump();
  });
}
void main();
