import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../../tf/backend.js';
import { createGradientComputer } from '../fused/gradient-computer.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-messages.js';

/** A gradient worker: its own tfjs backend, computing shards of each batch on demand. */
async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const port = parentPort;
  if (!port) return;
  const reply = (message: WorkerReply): void => port.postMessage(message);
  try {
    await selectBackend(init.backend);
    const computer = createGradientComputer({
      layout: init.layout,
      steps: init.steps,
      train: { x: new Float32Array(init.trainX), y: new Float32Array(init.trainY) },
      validation: { x: new Float32Array(init.validationX), y: new Float32Array(init.validationY) },
    });
    const order = new Int32Array(init.order);
    const weights = new Float32Array(init.weights);
    const gradient = new Float32Array(init.gradient);
    port.on('message', (request: WorkerRequest) => {
      try {
        const sse =
          request.type === 'gradients'
            ? computer.gradients(weights, order, request.from, request.to, request.fullBatch, gradient)
            : computer.validationSse(weights, request.from, request.to);
        reply({ type: 'result', sse });
      } catch (error) {
        reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
      }
    });
    reply({ type: 'ready' });
  } catch (error) {
    reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}

void main();
