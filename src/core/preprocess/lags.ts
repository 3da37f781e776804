import type { TimeFrame } from '../data/time-frame.js';

export function lagColumnName(column: string, lag: number): string {
  return `${column}_lag(-${lag})`;
}

/** The most common positive step between consecutive timestamps (the series' cadence). */
export function dominantStepMs(time: Float64Array): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < time.length; i++) {
    const step = time[i] - time[i - 1];
    if (step > 0) counts.set(step, (counts.get(step) ?? 0) + 1);
  }
  let best = Number.NaN;
  let bestCount = 0;
  for (const [step, count] of counts) if (count > bestCount || (count === bestCount && step < best)) [best, bestCount] = [step, count];
  return best;
}

/**
 * For lag n in step, 2*step, ..., step*nLags adds `<col>_lag(-n)`: the value n cadence steps earlier in
 * time (matched by timestamp, so a gap in the series never pairs a row with the wrong past). Rows whose
 * lags are not all available are dropped.
 */
export function addLags(frame: TimeFrame, nLags: number, step: number): TimeFrame {
  if (nLags <= 0) return frame;
  const cadence = dominantStepMs(frame.time);
  const rowAt = new Map<number, number>();
  frame.time.forEach((t, row) => rowAt.set(t, row));
  const lags = Array.from({ length: nLags }, (_, i) => (i + 1) * step);
  const sourceRows = lags.map((lag) => Array.from(frame.time, (t) => (Number.isNaN(cadence) ? undefined : rowAt.get(t - lag * cadence))));
  const keep: number[] = [];
  for (let row = 0; row < frame.time.length; row++) if (sourceRows.every((rows) => rows[row] !== undefined)) keep.push(row);
  const columns: string[] = [...frame.columns];
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = Float64Array.from(keep, (row) => frame.values[column][row]);
  lags.forEach((lag, l) => {
    for (const column of frame.columns) {
      const name = lagColumnName(column, lag);
      const source = frame.values[column];
      columns.push(name);
      values[name] = Float64Array.from(keep, (row) => source[sourceRows[l][row] as number]);
    }
  });
  return { time: Float64Array.from(keep, (row) => frame.time[row]), columns, values };
}
