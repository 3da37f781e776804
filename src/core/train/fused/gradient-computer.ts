import type { MatrixOps } from '../../kernels/matrix-ops.js';
import { recurrentLossAndGradients, recurrentPredict } from './recurrent-network.js';
import type { NetworkLayout } from './network-parameters.js';

/** Row-major windows as `WindowSet` holds them: x [size][steps][features], y [size][outputs]. */
export interface WindowArrays {
  x: Float32Array;
  y: Float32Array;
}

export interface ComputerInit {
  layout: NetworkLayout;
  steps: number;
  train: WindowArrays;
  validation: WindowArrays;
}

export interface GradientComputer {
  /**
   * Gradient of the batch's MSE restricted to samples order[from, to) of a batch of `fullBatch` samples,
   * written into `out` (shards of one batch add up to the batch gradient); returns their squared error sum.
   */
  gradients(weights: Float32Array, order: Int32Array, from: number, to: number, fullBatch: number, out: Float32Array): number;
  /** Sum of squared errors over validation windows [from, to). */
  validationSse(weights: Float32Array, from: number, to: number): number;
}

const EVAL_CHUNK = 1024;

/** Gathers windows into one time-major batch: x [steps * n, features], y [n, outputs]. */
export type BatchGather = (set: WindowArrays, index: (k: number) => number, n: number) => { x: Float32Array; y: Float32Array };

/** The same memory as 32-bit integers: copying bits instead of floats skips two conversions per element. */
const bitsOf = (data: Float32Array): Int32Array => new Int32Array(data.buffer, data.byteOffset, data.length);

/**
 * Time-major batches straight from the row-major windows. The buffers are reused, so what a call returns is
 * only valid until the next call. Copies element by element in destination order (a step's rows of all
 * windows, then the next step): a window's step is a handful of values, too short for subarray/set to pay.
 */
export function createBatchGather(steps: number, features: number, outputs: number): BatchGather {
  const windowSize = steps * features;
  let xBuffer = new Float32Array(0);
  let yBuffer = new Float32Array(0);
  let xBits = bitsOf(xBuffer);
  let yBits = bitsOf(yBuffer);
  let samples = new Int32Array(0);
  return (set, index, n) => {
    if (xBuffer.length < n * windowSize) {
      xBuffer = new Float32Array(n * windowSize);
      xBits = bitsOf(xBuffer);
    }
    if (yBuffer.length < n * outputs) {
      yBuffer = new Float32Array(n * outputs);
      yBits = bitsOf(yBuffer);
    }
    if (samples.length < n) samples = new Int32Array(n);
    const from = bitsOf(set.x);
    const targets = bitsOf(set.y);
    for (let k = 0; k < n; k++) {
      const sample = index(k);
      samples[k] = sample;
      let source = sample * outputs;
      for (let o = k * outputs, end = o + outputs; o < end; o++) yBits[o] = targets[source++];
    }
    let to = 0;
    for (let t = 0; t < steps; t++) {
      for (let k = 0; k < n; k++) {
        let source = samples[k] * windowSize + t * features;
        for (let end = to + features; to < end; to++) xBits[to] = from[source++];
      }
    }
    return { x: xBuffer.subarray(0, n * windowSize), y: yBuffer.subarray(0, n * outputs) };
  };
}

/**
 * The fused forward/backward on this thread; used in-process and inside each worker. The element-wise work
 * runs in plain loops, `ops` does only the multiplies and sigmoids (`recurrent-network.ts`).
 */
export function createGradientComputer(init: ComputerInit, ops: MatrixOps): GradientComputer {
  const { layout, steps } = init;
  const outputs = layout.outputSize;
  const gather = createBatchGather(steps, layout.inputSize, outputs);

  return {
    gradients(weights, order, from, to, fullBatch, out) {
      const n = to - from;
      const { x, y } = gather(init.train, (k) => order[from + k], n);
      return recurrentLossAndGradients(ops, layout, weights, x, y, steps, n, 1 / (fullBatch * outputs), out);
    },
    validationSse(weights, from, to) {
      let total = 0;
      for (let start = from; start < to; start += EVAL_CHUNK) {
        const n = Math.min(to, start + EVAL_CHUNK) - start;
        const { x, y } = gather(init.validation, (k) => start + k, n);
        const prediction = recurrentPredict(ops, layout, weights, x, steps, n);
        for (let i = 0; i < prediction.length; i++) total += (prediction[i] - y[i]) ** 2;
      }
      return total;
    },
  };
}
