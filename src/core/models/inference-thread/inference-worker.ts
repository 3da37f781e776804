import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../../tf/backend.js';
import { createRecurrentForward, type RecurrentForward } from '../recurrent-forward.js';
import type { InferenceReply, InferenceRequest, InferenceThreadInit } from './messages.js';

/** Every request already queued, up to `maxWindows` windows (the first is always taken). */
function drain(init: InferenceThreadInit, first: InferenceRequest): { requests: InferenceRequest[]; size: number } {
  const requests = [first];
  let size = first.size;
  while (size < init.maxWindows) {
    const next = receiveMessageOnPort(init.requests);
    if (!next) break;
    const request = next.message as InferenceRequest;
    requests.push(request);
    size += request.size;
  }
  return { requests, size };
}

function runMerged(forward: RecurrentForward, init: InferenceThreadInit, requests: InferenceRequest[], size: number, reply: (message: InferenceReply, transfer?: ArrayBuffer[]) => void): void {
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
    const output = forward.run(windows, size, init.steps);
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
 * Runs forward passes for the serving thread, so a batch never holds the HTTP event loop. Passes queue up
 * while one runs; the next pass takes all of them at once, so the thread never idles while work waits and
 * batches grow with the load.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const reply = (message: InferenceReply, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  const init = workerData as InferenceThreadInit;
  let forward: RecurrentForward;
  try {
    const backend = await selectBackend(init.backend);
    forward = createRecurrentForward(init.weights);
    reply({ type: 'ready', backend: backend.name });
  } catch (error) {
    reply({ type: 'init-failed', message: (error as Error).message });
    return;
  }
  init.requests.on('message', (first: InferenceRequest) => {
    const { requests, size } = drain(init, first);
    runMerged(forward, init, requests, size, reply);
  });
}

void main();
