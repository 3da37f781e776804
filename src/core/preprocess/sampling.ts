import { createRandom } from '../data/seeded-random.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';

/**
 * The fewest training rows any model type can ever fit on: an input window and a horizon of one row each make a
 * window of two rows, and fitting needs two windows, one to fit and one for the validation tail (which always
 * holds at least one). A sample of fewer rows trains nothing, whatever the training settings.
 */
export const FEWEST_TRAINABLE_ROWS = 3;

/** Refuses a training sample no model could ever fit on, before any file is read (0 keeps every row). */
export function assertTrainableSample(sampleTrainRows: number): void {
  if (sampleTrainRows > 0 && sampleTrainRows < FEWEST_TRAINABLE_ROWS) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `data.sampleTrainRows (SAMPLE_TRAIN_ROWS, --sample-train-rows) = ${sampleTrainRows} keeps too few training rows for any model: fitting needs at least ${FEWEST_TRAINABLE_ROWS} (an input window and a horizon of one row each, and a validation tail); a model needs INPUT_SEQ_LEN + OUTPUT_SEQ_LEN + 1 rows (SNAIVE one day of rows instead of INPUT_SEQ_LEN). Give ${FEWEST_TRAINABLE_ROWS} or more, or 0 to keep every row.`, {
      details: { setting: 'data.sampleTrainRows', value: sampleTrainRows, fewest: FEWEST_TRAINABLE_ROWS },
    });
  }
}

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
