import { Worker } from 'node:worker_threads';
import { FltsError } from '../../errors.js';
import type { BackendChoice } from '../../tf/backend.js';
import { splitRange } from './split-range.js';
import type { EngineInit, GradientEngine } from '../fused/gradient-engine.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-messages.js';
import { sharedBuffer, shareTrainingData, trainingWorkerScript } from './shared-training-data.js';

interface PoolWorker {
  worker: Worker;
  pending?: { resolve: (sse: number) => void; reject: (error: Error) => void };
}

function request(member: PoolWorker, message: WorkerRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    member.pending = { resolve, reject };
    member.worker.postMessage(message);
  });
}

/**
 * Data-parallel training on `threads` worker threads, each with its own matrix kernels. Every batch is cut
 * into contiguous shards, one per worker; each worker then applies Adam to its own range of the shared
 * weights, summing the shard gradients in worker order, so a run is reproducible for a given seed and
 * thread count. The main thread only hands out batches. Data, weights and gradients live in shared memory.
 */
export async function createWorkerPoolEngine(init: EngineInit, threads: number, backend: BackendChoice): Promise<GradientEngine> {
  const data = shareTrainingData(init);
  const order = new Int32Array(data.order);
  const base = {
    backend,
    kernels: init.kernels,
    layout: init.layout,
    steps: init.steps,
    learningRate: init.learningRate,
    threads,
    ...data,
    gradients: Array.from({ length: threads }, () => sharedBuffer(init.layout.size)),
    barrier: sharedBuffer(1),
  };
  const script = trainingWorkerScript('gradient-worker.js', 'gradient worker');
  const members: PoolWorker[] = [];
  const started = Array.from({ length: threads }, (_, index) => {
    const member: PoolWorker = { worker: new Worker(script, { workerData: { ...base, index } satisfies WorkerInit }) };
    members.push(member);
    return new Promise<void>((resolve, reject) => {
      member.worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') return resolve();
        const pending = member.pending;
        member.pending = undefined;
        if (reply.type === 'result') pending?.resolve(reply.sse);
        else {
          const error = new FltsError('FLTS_TRAIN_FAILED', `A gradient worker failed: ${reply.message}`);
          if (pending) pending.reject(error);
          else reject(error);
        }
      });
      member.worker.on('error', (error) => {
        const failure = new FltsError('FLTS_TRAIN_FAILED', `A gradient worker crashed: ${error.message}`, { cause: error });
        member.pending?.reject(failure);
        member.pending = undefined;
        reject(failure);
      });
      // A worker that dies without an error event (killed, out of memory) must not leave a step waiting forever.
      member.worker.on('exit', (code) => {
        const failure = new FltsError('FLTS_TRAIN_FAILED', `A gradient worker exited unexpectedly (exit code ${code}).`);
        member.pending?.reject(failure);
        member.pending = undefined;
        reject(failure);
      });
    });
  });
  const close = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.worker.terminate()));
  };
  try {
    await Promise.all(started);
  } catch (error) {
    await close();
    throw error;
  }
  let sequence = 0;
  const sum = (values: number[]): number => values.reduce((s, v) => s + v, 0);
  return {
    name: 'fused',
    threads,
    weights: new Float32Array(data.weights),
    setOrder(next) {
      order.set(next);
    },
    async step(from, to) {
      sequence++;
      const shards = members.map((member, k) => {
        const [a, b] = splitRange(to - from, threads, k, from);
        return request(member, { type: 'step', sequence, from: a, to: b, fullBatch: to - from });
      });
      return sum(await Promise.all(shards));
    },
    async validationSse() {
      const parts = members.map((member, k) => {
        const [a, b] = splitRange(init.validationSize, threads, k);
        return b > a ? request(member, { type: 'validation', from: a, to: b }) : Promise.resolve(0);
      });
      return sum(await Promise.all(parts));
    },
    close,
  };
}
