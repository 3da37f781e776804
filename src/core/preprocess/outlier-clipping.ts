import { quantileSorted } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';

export type ClipMethod = 'iqr' | 'percentile';

/** Per-column bounds, fitted on the training data and applied unchanged to the test data. */
export interface ClipBounds {
  readonly columns: readonly string[];
  readonly lower: readonly number[];
  readonly upper: readonly number[];
}

export function assertClipFactor(method: ClipMethod, factor: number): void {
  if (method === 'percentile' && !(factor >= 0 && factor <= 0.5)) {
    throw new FltsError(
      'FLTS_CONFIG_INVALID_VALUE',
      `Invalid preprocess.outliers.factor (CLIP_FACTOR) ${factor} for method "percentile": it is the lower quantile and must be between 0 and 0.5.`,
      { details: { setting: 'preprocess.outliers.factor', value: factor } },
    );
  }
}

/** iqr: [Q1 - f*IQR, Q3 + f*IQR]; percentile: [q(f), q(1-f)] (linear-interpolated quantiles, as pandas). */
export function fitClipBounds(train: TimeFrame, method: ClipMethod, factor: number): ClipBounds {
  assertClipFactor(method, factor);
  const lower: number[] = [];
  const upper: number[] = [];
  for (const column of train.columns) {
    const sorted = Float64Array.from(train.values[column].filter((v) => !Number.isNaN(v))).sort();
    if (method === 'iqr') {
      const q1 = quantileSorted(sorted, 0.25);
      const q3 = quantileSorted(sorted, 0.75);
      lower.push(q1 - factor * (q3 - q1));
      upper.push(q3 + factor * (q3 - q1));
    } else {
      lower.push(quantileSorted(sorted, factor));
      upper.push(quantileSorted(sorted, 1 - factor));
    }
  }
  return { columns: [...train.columns], lower, upper };
}

/** Clamps every known column into its bounds; NaN stays NaN, columns without bounds pass through. */
export function applyClipBounds(frame: TimeFrame, bounds: ClipBounds): TimeFrame {
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) {
    const i = bounds.columns.indexOf(column);
    const source = frame.values[column];
    if (i < 0 || Number.isNaN(bounds.lower[i])) {
      values[column] = source;
      continue;
    }
    const lo = bounds.lower[i];
    const hi = bounds.upper[i];
    values[column] = Float64Array.from(source, (v) => (v < lo ? lo : v > hi ? hi : v));
  }
  return { time: frame.time, columns: frame.columns, values };
}
