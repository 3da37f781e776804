import { parentPort, workerData } from 'node:worker_threads';
import { workerFailureOf } from '../../errors.js';
import { createOnnxEngine } from '../onnx/onnx-engine.js';
import { stepBatches, type GradientEngine } from '../fused/gradient-engine.js';
import type { OffThreadInit, OffThreadReply, OffThreadRequest } from './off-thread-messages.js';

/**
 * Runs one whole gradient engine (the ONNX Runtime session and its Adam state) on this thread. The weights and
 * the epoch's sample order live in shared memory: they are read before and written after every request, so the
 * thread that drives training sees the same weights it would with the engine in its own thread.
 */
async function main(): Promise<void> {
  const init = workerData as OffThreadInit;
  const port = parentPort;
  if (!port) return;
  const reply = (message: OffThreadReply): void => port.postMessage(message);
  let engine: GradientEngine;
  try {
    engine = await createOnnxEngine(
      {
        layout: init.layout,
        steps: init.steps,
        train: { x: new Float32Array(init.trainX), y: new Float32Array(init.trainY) },
        validation: { x: new Float32Array(init.validationX), y: new Float32Array(init.validationY) },
        validationSize: init.validationSize,
        learningRate: init.learningRate,
        kernels: init.kernels,
      },
      { threads: init.threads, runtimeModule: init.runtimeModule },
    );
  } catch (error) {
    reply({ type: 'error', ...workerFailureOf(error) });
    return;
  }
  const weights = new Float32Array(init.weights);
  const order = new Int32Array(init.order);
  port.on('message', async (request: OffThreadRequest) => {
    try {
      if (request.type === 'close') {
        await engine.close();
        return reply({ type: 'closed' });
      }
      engine.weights.set(weights);
      if (request.type === 'validation') return reply({ type: 'result', sse: await engine.validationSse() });
      if (request.order) engine.setOrder(order.slice());
      if (request.type === 'step') {
        const sse = await engine.step(request.from, request.to);
        weights.set(engine.weights);
        return reply({ type: 'result', sse });
      }
      const sse = await stepBatches((from, to) => engine.step(from, to), request.from, request.to, request.batchSize);
      weights.set(engine.weights);
      reply({ type: 'results', sse });
    } catch (error) {
      reply({ type: 'error', ...workerFailureOf(error) });
    }
  });
  reply({ type: 'ready' });
}

void main();
