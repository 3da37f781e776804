import type { MatrixOpsChoice } from '../../kernels/create-ops.js';
import type { MatrixOps } from '../../kernels/matrix-ops.js';
import { createSimdAdam } from '../../kernels/simd-adam.js';
import { createGradientComputer, type ComputerInit } from './gradient-computer.js';

/**
 * One optimisation step of the fused network at a time: the gradient of a batch and the Adam update of
 * `weights`. One implementation runs on this thread, one on a worker pool.
 */
export interface GradientEngine {
  /** What computes the steps: the fused loops (this thread or workers) or ONNX Runtime. */
  readonly name: 'fused' | 'onnx';
  /** How many threads compute. */
  readonly threads: number;
  /** Current parameters (flat, getWeights() order); set before the first step, updated by every step. */
  readonly weights: Float32Array;
  /** Sets the sample order of the epoch; batches are index ranges into it. */
  setOrder(order: Int32Array): void;
  /** Gradient of the MSE of batch order[from, to), then one Adam update; returns the batch's squared error sum. */
  step(from: number, to: number): Promise<number>;
  /**
   * Consecutive steps over batches of `batchSize` from order[from] up to order[to] (the last batch may be
   * smaller), exactly as step() one batch after another; stops after a few milliseconds' worth and returns
   * the squared error sums of the batches done (at least one). The off-thread engine has it: one request per
   * call instead of one per batch.
   */
  steps?(from: number, to: number, batchSize: number): Promise<number[]>;
  /** Squared error sum over the whole validation set. */
  validationSse(): Promise<number>;
  close(): Promise<void>;
}

/**
 * How long an engine keeps stepping in one steps() call: long enough to spread a call's cost (a message each way
 * and a copy of the weights each way for the engine thread) over many batches, short enough to keep progress
 * events and Ctrl-C prompt.
 */
export const STEPS_BUDGET_MS = 20;

/** steps() from step(): consecutive batches of `batchSize` from `from` towards `to` for about STEPS_BUDGET_MS, at least one. */
export async function stepBatches(step: (from: number, to: number) => Promise<number>, from: number, to: number, batchSize: number): Promise<number[]> {
  const sse: number[] = [];
  const until = performance.now() + STEPS_BUDGET_MS;
  for (let start = from; start < to && (sse.length === 0 || performance.now() < until); start += batchSize) sse.push(await step(start, Math.min(to, start + batchSize)));
  return sse;
}

export interface EngineInit extends ComputerInit {
  validationSize: number;
  learningRate: number;
  /** The matrix kernels every thread uses. */
  kernels: MatrixOpsChoice;
}

export async function createLocalEngine(init: EngineInit, ops: MatrixOps): Promise<GradientEngine> {
  const computer = createGradientComputer(init, ops);
  const weights = new Float32Array(init.layout.size);
  const gradient = new Float32Array(init.layout.size);
  const adam = await createSimdAdam(0, init.layout.size, init.learningRate);
  let order: Int32Array = new Int32Array(0);
  return {
    name: 'fused',
    threads: 1,
    weights,
    setOrder(next) {
      order = next;
    },
    async step(from, to) {
      const sse = computer.gradients(weights, order, from, to, to - from, gradient);
      adam.step(weights, [gradient]);
      return sse;
    },
    async validationSse() {
      return init.validationSize > 0 ? computer.validationSse(weights, 0, init.validationSize) : 0;
    },
    async close() {},
  };
}
