import type { MatrixOps } from './matrix-ops.js';
import { createSimdOps } from './simd-ops.js';
import { createTfjsOps } from './tfjs-ops.js';

export type MatrixOpsChoice = MatrixOps['name'];

/** The chosen kernels for this thread; `tfjs` runs on whatever backend the thread has selected. */
export async function createMatrixOps(choice: MatrixOpsChoice): Promise<MatrixOps> {
  return choice === 'tfjs' ? createTfjsOps() : createSimdOps();
}
