import { createRandom } from './seeded-random.js';

/** `n` values uniform in [-1, 1) from `seed`, the same on every run. */
export function randomArray(n: number, seed: number): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: n }, () => 2 * random() - 1);
}
