import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';

/**
 * ADD_VAL is kept as text (it enters config_hash verbatim) and parsed here. The reference silently ignored
 * text that is not a number; flts rejects it. Empty text means no constant.
 */
export function parseAddConstant(text: string | null): number | undefined {
  if (text === null || text.trim() === '') return undefined;
  const value = Number(text.trim());
  if (!Number.isFinite(value)) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `Invalid preprocess.scaling.addConstant (ADD_VAL) ${JSON.stringify(text)}: expected a finite number such as 1 or 0.5.`, {
      details: { setting: 'preprocess.scaling.addConstant', value: text },
    });
  }
  return value;
}

export function addConstant(frame: TimeFrame, constant: number): TimeFrame {
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = Float64Array.from(frame.values[column], (v) => v + constant);
  return { time: frame.time, columns: frame.columns, values };
}
