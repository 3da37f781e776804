import { createGradientComputer, type ComputerInit } from './gradient-computer.js';

/**
 * Computes batch gradients of the fused network for the current `weights`; the caller applies the
 * optimizer to `weights` between calls. One implementation runs on this thread, one on a worker pool.
 */
export interface GradientEngine {
  /** How many threads compute gradients. */
  readonly threads: number;
  /** Current parameters (flat, getWeights() order); written by the optimizer between steps. */
  readonly weights: Float32Array;
  /** Sets the sample order of the epoch; batches are index ranges into it. */
  setOrder(order: Int32Array): void;
  /** Writes the MSE gradient of batch order[from, to) into `gradient`; returns the batch's squared error sum. */
  gradients(from: number, to: number, gradient: Float32Array): Promise<number>;
  /** Squared error sum over the whole validation set. */
  validationSse(): Promise<number>;
  close(): Promise<void>;
}

export function createLocalEngine(init: ComputerInit, validationSize: number): GradientEngine {
  const computer = createGradientComputer(init);
  const weights = new Float32Array(init.layout.size);
  let order: Int32Array = new Int32Array(0);
  return {
    threads: 1,
    weights,
    setOrder(next) {
      order = next;
    },
    async gradients(from, to, gradient) {
      return computer.gradients(weights, order, from, to, to - from, gradient);
    },
    async validationSse() {
      return validationSize > 0 ? computer.validationSse(weights, 0, validationSize) : 0;
    },
    async close() {},
  };
}
