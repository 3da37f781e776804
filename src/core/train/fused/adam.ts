/**
 * Adam with tfjs's defaults (beta1 0.9, beta2 0.999, epsilon 1e-7) over the parameter range [from, to) of a
 * flat Float32Array of weights. Gradient worker k owns one range, so the update runs on all threads at once.
 */
export interface FlatAdam {
  /** Updates weights[from, to) in place from the sum of `shards` (added in order, so results are reproducible). */
  step(weights: Float32Array, shards: readonly Float32Array[]): void;
}

export function createFlatAdam(from: number, to: number, learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): FlatAdam {
  const first = new Float32Array(to - from);
  const second = new Float32Array(to - from);
  const gradient = new Float32Array(to - from);
  let beta1Power = 1;
  let beta2Power = 1;
  return {
    step(weights, shards) {
      beta1Power *= beta1;
      beta2Power *= beta2;
      // Shards are summed first in plain loops: per-element calls or list iteration would dominate the update.
      gradient.set(shards[0].subarray(from, to));
      for (let s = 1; s < shards.length; s++) {
        const shard = shards[s];
        for (let k = 0; k < to - from; k++) gradient[k] += shard[from + k];
      }
      const c1 = learningRate / (1 - beta1Power);
      const c2 = 1 / (1 - beta2Power);
      const b1 = 1 - beta1;
      const b2 = 1 - beta2;
      const n = to - from;
      for (let k = 0; k < n; k++) {
        const g = gradient[k];
        const m = beta1 * first[k] + b1 * g;
        const v = beta2 * second[k] + b2 * g * g;
        first[k] = m;
        second[k] = v;
        weights[from + k] -= (c1 * m) / (Math.sqrt(v * c2) + epsilon);
      }
    },
  };
}

/** Contiguous ranges [from, to) splitting `size` into `parts`; sizes differ by at most one. */
export function splitRange(size: number, parts: number, part: number, offset = 0): [number, number] {
  return [offset + Math.floor((size * part) / parts), offset + Math.floor((size * (part + 1)) / parts)];
}
