import { createKernelMemory, instantiateSimdKernels, PAGE } from './simd-module.js';

/** Adam over one parameter range [from, to) of a flat weight vector (gradient worker k owns range k). */
export interface FlatAdam {
  /** Updates weights[from, to) in place from the sum of `shards` (added in order, so results are reproducible). */
  step(weights: Float32Array, shards: readonly Float32Array[]): void;
}

/**
 * Adam (tfjs's defaults: beta1 0.9, beta2 0.999, epsilon 1e-7) over the parameter range [from, to) of a
 * flat weight vector, on the SIMD kernels. The moments stay in the kernels' memory; each step copies the
 * range's weights and gradient shards in (shards summed in order, so results are reproducible) and the
 * updated weights out.
 */
export async function createSimdAdam(from: number, to: number, learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): Promise<FlatAdam> {
  const n = to - from;
  const groups = Math.ceil(n / 4);
  const bytes = groups * 16;
  // Weights, gradient sum, first and second moments, one incoming shard; the padding past n stays zero.
  const [w, g, m, v, shard] = [0, 1, 2, 3, 4].map((k) => k * bytes);
  const memory = createKernelMemory(Math.max(1, Math.ceil((5 * bytes) / PAGE)));
  const kernels = await instantiateSimdKernels(memory);
  const heap = new Float32Array(memory.buffer);
  let beta1Power = 1;
  let beta2Power = 1;
  return {
    step(weights, shards) {
      beta1Power *= beta1;
      beta2Power *= beta2;
      heap.set(weights.subarray(from, to), w / 4);
      heap.set(shards[0].subarray(from, to), g / 4);
      for (let s = 1; s < shards.length; s++) {
        heap.set(shards[s].subarray(from, to), shard / 4);
        kernels.add(g, shard, groups);
      }
      kernels.adam(w, g, m, v, groups, learningRate / (1 - beta1Power), 1 / (1 - beta2Power), beta1, beta2, epsilon);
      weights.set(heap.subarray(w / 4, w / 4 + n), from);
    },
  };
}
