import { createRandom } from '../data/seeded-random.js';
import type { TimeFrame } from '../data/time-frame.js';

export type SampleStrategy = 'head' | 'random';

export interface SampleOptions {
  /** 0 = keep every row. */
  rows: number;
  strategy: SampleStrategy;
  seed: number;
}

/** Row indices to keep, always ascending: sampling never reorders a series or detaches its timestamps. */
export function sampleRowIndices(total: number, options: SampleOptions): Int32Array {
  const n = options.rows > 0 ? Math.min(options.rows, total) : total;
  if (n === total) return Int32Array.from({ length: total }, (_, i) => i);
  if (options.strategy === 'head') return Int32Array.from({ length: n }, (_, i) => i);
  const random = createRandom(options.seed);
  const pool = Int32Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (total - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, n).sort();
}

/** Applied to the raw frames, before any transform, as the reference does. */
export function sampleFrame(frame: TimeFrame, options: SampleOptions): TimeFrame {
  const rows = sampleRowIndices(frame.time.length, options);
  if (rows.length === frame.time.length) return frame;
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = Float64Array.from(rows, (row) => frame.values[column][row]);
  return { time: Float64Array.from(rows, (row) => frame.time[row]), columns: frame.columns, values };
}
