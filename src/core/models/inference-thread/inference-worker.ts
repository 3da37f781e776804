import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../../tf/backend.js';
import { createRecurrentForward } from '../recurrent-forward.js';
import type { InferenceReply, InferenceRequest, InferenceThreadInit } from './messages.js';

/** Runs forward passes for the serving thread, so a batch never holds the HTTP event loop. */
async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const reply = (message: InferenceReply, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  const init = workerData as InferenceThreadInit;
  let forward: ReturnType<typeof createRecurrentForward>;
  try {
    const backend = await selectBackend(init.backend);
    forward = createRecurrentForward(init.weights);
    reply({ type: 'ready', backend: backend.name });
  } catch (error) {
    reply({ type: 'init-failed', message: (error as Error).message });
    return;
  }
  port.on('message', (request: InferenceRequest) => {
    try {
      const output = forward.run(request.windows, request.size, init.steps);
      // Only a buffer of its own can be transferred without copying the rest of the heap view.
      const predictions = output.byteOffset === 0 && output.byteLength === output.buffer.byteLength ? output : output.slice();
      reply({ type: 'result', id: request.id, predictions }, [predictions.buffer as ArrayBuffer]);
    } catch (error) {
      reply({ type: 'error', id: request.id, message: (error as Error).message });
    }
  });
}

void main();
