/**
 * Adam over one parameter range [from, to) of a flat Float32Array of weights (`kernels/simd-adam.ts`).
 * Gradient worker k owns one range, so the update runs on all threads at once.
 */
export interface FlatAdam {
  /** Updates weights[from, to) in place from the sum of `shards` (added in order, so results are reproducible). */
  step(weights: Float32Array, shards: readonly Float32Array[]): void;
}

/** Contiguous ranges [from, to) splitting `size` into `parts`; sizes differ by at most one. */
export function splitRange(size: number, parts: number, part: number, offset = 0): [number, number] {
  return [offset + Math.floor((size * part) / parts), offset + Math.floor((size * (part + 1)) / parts)];
}
