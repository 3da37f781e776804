import type { WindowSpec } from './forecast-model.js';

/** Recent rows the exponential smoothing is fitted on for each forecast. */
const MSTL_WINDOW_ROWS = 30;

/**
 * The window MSTL reads: the targets over the recent rows it smooths. Apart from mstl-model.ts, which loads the
 * augurs WebAssembly, so that settling a run's window does not load it.
 */
export function mstlWindow(targets: readonly string[], outputSeqLen: number): WindowSpec {
  return { features: [...targets], targets: [...targets], inputSeqLen: MSTL_WINDOW_ROWS, outputSeqLen };
}
