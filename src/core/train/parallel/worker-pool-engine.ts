import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FltsError } from '../../errors.js';
import type { BackendChoice } from '../../tf/backend.js';
import type { ComputerInit } from '../fused/gradient-computer.js';
import type { GradientEngine } from '../fused/gradient-engine.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-messages.js';

/** The compiled worker script; when running from TypeScript sources (tests) it is taken from the build. */
function workerScript(): URL {
  const beside = new URL('./gradient-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = fileURLToPath(beside).replace(/([\\/])src([\\/]core[\\/])/, '$1dist$2');
  if (existsSync(built)) return pathToFileURL(built);
  throw new FltsError('FLTS_TRAIN_FAILED', `The gradient worker script is missing (${fileURLToPath(beside)}); run \`npm run build\`.`);
}

function shared(values: Float32Array | Int32Array | number, bytesPerElement = 4): SharedArrayBuffer {
  const length = typeof values === 'number' ? values : values.length;
  const buffer = new SharedArrayBuffer(Math.max(1, length) * bytesPerElement);
  if (typeof values !== 'number') (values instanceof Int32Array ? new Int32Array(buffer) : new Float32Array(buffer)).set(values);
  return buffer;
}

interface PoolWorker {
  worker: Worker;
  gradient: Float32Array;
  pending?: { resolve: (sse: number) => void; reject: (error: Error) => void };
}

function request(member: PoolWorker, message: WorkerRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    member.pending = { resolve, reject };
    member.worker.postMessage(message);
  });
}

/**
 * Data-parallel gradients on `threads` worker threads, each with its own tfjs backend. Every batch is cut
 * into contiguous shards, one per worker; the shard gradients are added in worker order, so a run is
 * reproducible for a given seed and thread count. Weights, gradients and data live in shared memory.
 */
export async function createWorkerPoolEngine(init: ComputerInit, validationSize: number, threads: number, backend: BackendChoice): Promise<GradientEngine> {
  const size = init.layout.size;
  const weightsBuffer = shared(size);
  const orderBuffer = shared(init.train.x.length / (init.steps * init.layout.inputSize), 4);
  const order = new Int32Array(orderBuffer);
  const base = {
    backend,
    layout: init.layout,
    steps: init.steps,
    trainX: shared(init.train.x),
    trainY: shared(init.train.y),
    validationX: shared(init.validation.x),
    validationY: shared(init.validation.y),
    order: orderBuffer,
    weights: weightsBuffer,
  };
  const script = workerScript();
  const members: PoolWorker[] = [];
  const started = Array.from({ length: threads }, () => {
    const gradient = shared(size);
    const member: PoolWorker = { worker: new Worker(script, { workerData: { ...base, gradient } satisfies WorkerInit }), gradient: new Float32Array(gradient) };
    members.push(member);
    return new Promise<void>((resolve, reject) => {
      member.worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') return resolve();
        const pending = member.pending;
        member.pending = undefined;
        if (reply.type === 'result') pending?.resolve(reply.sse);
        else {
          const error = new FltsError('FLTS_TRAIN_FAILED', `A gradient worker failed: ${reply.message}`);
          pending ? pending.reject(error) : reject(error);
        }
      });
      member.worker.on('error', (error) => {
        const failure = new FltsError('FLTS_TRAIN_FAILED', `A gradient worker crashed: ${error.message}`, { cause: error });
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
  // Contiguous shards [from + k n / threads, ...): sizes differ by at most one.
  const shards = (from: number, to: number): [number, number][] =>
    members.map((_, k) => [from + Math.floor(((to - from) * k) / threads), from + Math.floor(((to - from) * (k + 1)) / threads)]);
  return {
    threads,
    weights: new Float32Array(weightsBuffer),
    setOrder(next) {
      order.set(next);
    },
    async gradients(from, to, gradient) {
      const parts = shards(from, to);
      const sses = await Promise.all(parts.map(([a, b], k) => (b > a ? request(members[k], { type: 'gradients', from: a, to: b, fullBatch: to - from }) : Promise.resolve(0))));
      gradient.fill(0);
      parts.forEach(([a, b], k) => {
        if (b <= a) return;
        const shard = members[k].gradient;
        for (let i = 0; i < size; i++) gradient[i] += shard[i];
      });
      return sses.reduce((s, v) => s + v, 0);
    },
    async validationSse() {
      const parts = shards(0, validationSize);
      const sses = await Promise.all(parts.map(([a, b], k) => (b > a ? request(members[k], { type: 'validation', from: a, to: b }) : Promise.resolve(0))));
      return sses.reduce((s, v) => s + v, 0);
    },
    close,
  };
}
