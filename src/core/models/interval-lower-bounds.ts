import { inverseScaleColumn, type ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';

/**
 * The lowest value each target can take, in original units: 0 for a target whose every finite value in `rows`
 * (scaled, as processed) is >= 0 once inverse-scaled, such as a byte counter. A target with a negative value,
 * or with no finite value to judge by, gets none.
 */
export function nonNegativeBounds(rows: TimeFrame, targets: readonly string[], scaler: ScalerParams): Record<string, number> {
  const bounds: Record<string, number> = {};
  for (const target of targets) {
    let lowest = Number.POSITIVE_INFINITY;
    for (const value of inverseScaleColumn(scaler, target, rows.values[target])) if (value < lowest) lowest = value;
    if (lowest >= 0 && Number.isFinite(lowest)) bounds[target] = 0;
  }
  return bounds;
}

/** A band's lower end raised to the target's lower bound, where it has one, but never above the band's upper end. */
export function boundedLower(lower: number, upper: number, bound: number | undefined): number {
  return bound === undefined ? lower : Math.min(Math.max(lower, bound), upper);
}

/**
 * The band [lower, upper] of `half` either side of `point`, its lower end raised to `bound` where there is one.
 * A half-width that is not finite (a level with too few calibration errors) gives no band, NaN at both ends,
 * rather than one that covers every actual.
 */
export function bandAround(point: number, half: number, bound: number | undefined): [number, number] {
  if (!Number.isFinite(half)) return [Number.NaN, Number.NaN];
  return [boundedLower(point - half, point + half, bound), point + half];
}
