import type { WindowSpec } from './forecast-model.js';
import type { MstlArtifact } from './mstl-model.js';

const DAY_MS = 86_400_000;

/** Recent rows the exponential smoothing is fitted on for each forecast. */
export const MSTL_WINDOW_ROWS = 30;

/**
 * The window MSTL reads: the targets over the recent rows it smooths. Apart from mstl-model.ts, which loads the
 * augurs WebAssembly, so that settling a run's window (or checking a saved one) does not load it.
 */
export function mstlWindow(targets: readonly string[], outputSeqLen: number): WindowSpec {
  return { features: [...targets], targets: [...targets], inputSeqLen: MSTL_WINDOW_ROWS, outputSeqLen };
}

const isFiniteNumbers = (value: unknown, length: number): boolean => Array.isArray(value) && value.length === length && value.every(Number.isFinite);

/**
 * What keeps a saved MSTL artifact from forecasting, or undefined: the season must have one finite value per slot
 * of `period` for every target, so the period is bounded by the file itself and never sizes anything alone.
 * `window` is the one the artifact's run was checked to carry.
 */
export function mstlArtifactProblem(artifact: Partial<Pick<MstlArtifact, 'period' | 'cadenceMs' | 'profiles'>>, window: WindowSpec): string | undefined {
  const { period, cadenceMs, profiles } = artifact;
  if (!Number.isInteger(period) || (period as number) < 1) return 'has no positive integer period';
  if (typeof cadenceMs !== 'number' || !(cadenceMs >= 1 && cadenceMs <= DAY_MS)) return 'has no cadence between 1 ms and a day';
  if (profiles === null || typeof profiles !== 'object') return 'has no seasonal profiles';
  const target = window.targets.find((name) => !isFiniteNumbers((profiles as Record<string, unknown>)[name], period as number));
  return target === undefined ? undefined : `has no ${period} finite seasonal values for target ${JSON.stringify(target)}`;
}
