import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';

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
 * A column of the data already named as one of the lags would be written over by it, and the processed table
 * would name one column twice: refused, naming the column, before anything is computed.
 */
function assertNoLagNamed(columns: readonly string[], lags: readonly number[]): void {
  const names = new Set(columns);
  for (const lag of lags) {
    for (const column of columns) {
      const name = lagColumnName(column, lag);
      if (names.has(name)) {
        throw new FltsError('FLTS_DATA_UNREADABLE', `The data has a column named ${JSON.stringify(name)}, the name of the lag ${lag} of column ${JSON.stringify(column)} that LAGS_N adds.`, {
          details: { column: name, lagOf: column, lag },
          hint: 'Rename that column in the file, or preprocess without lags (LAGS_ENABLE=false).',
        });
      }
    }
  }
}

/**
 * For lag n in step, 2*step, ..., step*nLags adds `<col>_lag(-n)`: the value n cadence steps earlier in
 * time (matched by timestamp, so a gap in the series never pairs a row with the wrong past). Rows whose
 * lags are not all available are dropped.
 */
export function addLags(frame: TimeFrame, nLags: number, step: number): TimeFrame {
  if (nLags <= 0) return frame;
  const lags = Array.from({ length: nLags }, (_, i) => (i + 1) * step);
  assertNoLagNamed(frame.columns, lags);
  const cadence = dominantStepMs(frame.time);
  const rowAt = new Map<number, number>();
  frame.time.forEach((t, row) => rowAt.set(t, row));
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
