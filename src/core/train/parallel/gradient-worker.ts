import { parentPort, workerData } from 'node:worker_threads';
import { createMatrixOps } from '../../kernels/create-ops.js';
import { selectBackend } from '../../tf/backend.js';
import { createSimdAdam } from '../../kernels/simd-adam.js';
import { splitRange } from './split-range.js';
import { createGradientComputer } from '../fused/gradient-computer.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-messages.js';

/**
 * A gradient worker: its own matrix kernels (and tfjs backend when those are tfjs's). Per step it writes the
 * gradient of its shard of the batch, waits until every shard is written, then applies Adam to its own range
 * of the shared weights.
 */
async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const port = parentPort;
  if (!port) return;
  const reply = (message: WorkerReply): void => port.postMessage(message);
  try {
    // The SIMD kernels need no tfjs backend; only the tfjs kernels do.
    if (init.kernels === 'tfjs') await selectBackend(init.backend);
    const computer = createGradientComputer({
      layout: init.layout,
      steps: init.steps,
      train: { x: new Float32Array(init.trainX), y: new Float32Array(init.trainY) },
      validation: { x: new Float32Array(init.validationX), y: new Float32Array(init.validationY) },
    }, await createMatrixOps(init.kernels));
    const order = new Int32Array(init.order);
    const weights = new Float32Array(init.weights);
    const gradients = init.gradients.map((buffer) => new Float32Array(buffer));
    const barrier = new Int32Array(init.barrier);
    const [from, to] = splitRange(init.layout.size, init.threads, init.index);
    const adam = await createSimdAdam(from, to, init.learningRate);
    const waitForAll = (target: number): void => {
      Atomics.add(barrier, 0, 1);
      Atomics.notify(barrier, 0);
      for (let seen = Atomics.load(barrier, 0); seen < target; seen = Atomics.load(barrier, 0)) Atomics.wait(barrier, 0, seen);
    };
    port.on('message', (request: WorkerRequest) => {
      try {
        if (request.type === 'validation') return reply({ type: 'result', sse: computer.validationSse(weights, request.from, request.to) });
        const own = gradients[init.index];
        let sse: number;
        try {
          sse = request.to > request.from ? computer.gradients(weights, order, request.from, request.to, request.fullBatch, own) : (own.fill(0), 0);
        } catch (error) {
          // Still arrive at the barrier, or the other workers would wait for this shard forever.
          Atomics.add(barrier, 0, 1);
          Atomics.notify(barrier, 0);
          throw error;
        }
        waitForAll(request.sequence * init.threads);
        adam.step(weights, gradients);
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
