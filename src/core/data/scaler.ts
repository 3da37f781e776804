import { listNames } from '../clip-text.js';
import { FltsError } from '../errors.js';
import type { ScalerMethod } from '../config/specs/preprocess.js';
import type { TimeFrame } from './time-frame.js';
import { formatTimestamp } from './timestamps.js';

/**
 * Every scikit-learn scaler the reference supports is affine per column: scaled = (x - offset) / scale.
 * Fitted on training data only and saved with each run, so inputs and outputs are always on one scale.
 * A constant column gets scale 1 (never a division by zero or NaN).
 */
export interface ScalerParams {
  readonly method: ScalerMethod;
  readonly columns: readonly string[];
  readonly offset: readonly number[];
  readonly scale: readonly number[];
}

function sortedFinite(values: Float64Array): Float64Array {
  return Float64Array.from(values.filter((v) => Number.isFinite(v))).sort();
}

/** Linear-interpolated quantile (numpy's default), on sorted values. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

function finiteStats(values: Float64Array): { count: number; min: number; max: number; mean: number; variance: number } {
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    count++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = count > 0 ? sum / count : Number.NaN;
  let squares = 0;
  for (const v of values) if (Number.isFinite(v)) squares += (v - mean) ** 2;
  return { count, min, max, mean, variance: count > 0 ? squares / count : Number.NaN };
}

function fitColumn(method: ScalerMethod, values: Float64Array): { offset: number; scale: number } {
  const stats = finiteStats(values);
  if (stats.count === 0) return { offset: 0, scale: 1 };
  const safe = (scale: number): number => (scale > 0 && Number.isFinite(scale) ? scale : 1);
  switch (method) {
    case 'MinMaxScaler':
      return { offset: stats.min, scale: safe(stats.max - stats.min) };
    case 'StandardScaler':
      return { offset: stats.mean, scale: safe(Math.sqrt(stats.variance)) };
    case 'RobustScaler': {
      const sorted = sortedFinite(values);
      return { offset: quantileSorted(sorted, 0.5), scale: safe(quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25)) };
    }
    case 'MaxAbsScaler':
      return { offset: 0, scale: safe(Math.max(Math.abs(stats.min), Math.abs(stats.max))) };
    default:
      return { offset: 0, scale: 1 };
  }
}

export function fitScaler(method: ScalerMethod, frame: TimeFrame): ScalerParams {
  const fitted = frame.columns.map((column) => fitColumn(method, frame.values[column]));
  return { method, columns: [...frame.columns], offset: fitted.map((f) => f.offset), scale: fitted.map((f) => f.scale) };
}

function columnIndex(params: ScalerParams, column: string): number {
  const index = params.columns.indexOf(column);
  if (index < 0) throw new FltsError('FLTS_MODEL_TARGET_MISSING', `Column "${column}" is not known to the scaler (known: ${listNames(params.columns)}).`);
  return index;
}

export function scaleColumn(params: ScalerParams, column: string, values: ArrayLike<number>): Float64Array {
  const i = columnIndex(params, column);
  const offset = params.offset[i];
  const scale = params.scale[i];
  const out = new Float64Array(values.length);
  for (let row = 0; row < values.length; row++) out[row] = (values[row] - offset) / scale;
  return out;
}

export function inverseScaleColumn(params: ScalerParams, column: string, values: ArrayLike<number>): Float64Array {
  const i = columnIndex(params, column);
  const offset = params.offset[i];
  const scale = params.scale[i];
  const out = new Float64Array(values.length);
  for (let row = 0; row < values.length; row++) out[row] = values[row] * scale + offset;
  return out;
}

/** Each column's affine scaling (offset, scale) in the given order; identity for a column the scaler does not know. */
export function columnAffine(params: ScalerParams, columns: readonly string[]): { offset: Float64Array; scale: Float64Array } {
  const offset = new Float64Array(columns.length);
  const scale = new Float64Array(columns.length).fill(1);
  columns.forEach((column, c) => {
    const s = params.columns.indexOf(column);
    if (s >= 0) {
      offset[c] = params.offset[s];
      scale[c] = params.scale[s];
    }
  });
  return { offset, scale };
}

/** Applies a fitted scaler to every column it knows; other columns pass through unchanged. */
export function applyScaler(params: ScalerParams, frame: TimeFrame): TimeFrame {
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) {
    values[column] = params.columns.includes(column) ? scaleColumn(params, column, frame.values[column]) : frame.values[column];
  }
  return { time: frame.time, columns: frame.columns, values };
}

/** The largest float32: models compute in float32, where a larger scaled value is an infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Every value of the frame, scaled, is a number the models can compute with. A column spanning more than
 * float64 can subtract (-1e308 and 1e308) leaves its range infinite, which the scaler takes for a constant
 * column (scale 1), and one value of 1e300 outside the range seen in training scales to far past float32:
 * either became an infinity in training ("loss became NaN") or NaN forecasts, not a word about the data.
 */
export function assertScaledInRange(params: ScalerParams, frame: TimeFrame, set: string): void {
  params.columns.forEach((column, i) => {
    const values = frame.values[column];
    if (!values) return;
    const offset = params.offset[i];
    const scale = params.scale[i];
    // The farthest value is named: the one that made the range overflow, not a 0 that its bad range moved far.
    let row = -1;
    let farthest = 0;
    for (let r = 0; r < values.length; r++) {
      const distance = Math.abs((values[r] - offset) / scale);
      if (distance > farthest) {
        farthest = distance;
        row = r;
      }
    }
    if (farthest > FLOAT32_MAX) {
      const value = values[row];
      const scaled = (value - offset) / scale;
      throw new FltsError('FLTS_DATA_OUT_OF_RANGE', `Column '${column}' of the ${set} data holds ${value} at ${formatTimestamp(frame.time[row])}, which ${params.method === '' ? 'unscaled' : `scaled by the ${params.method} fitted on the training data (offset ${offset}, scale ${scale})`} is ${scaled}, beyond the float32 range the models compute in.`, {
        details: { column, set, value, time: formatTimestamp(frame.time[row]), scaled },
      });
    }
  });
}

/** A training column more than half of whose distinct values, scaled, are one float32 value (details as warned and recorded). */
export interface IndistinctColumn {
  column: string;
  /** The scaler's name ('' unscaled), offset and scale. */
  method: string;
  offset: number;
  scale: number;
  min: number;
  max: number;
  distinct_values: number;
  /** How many of them share the one float32 value, from `from` to `to`. */
  indistinct_values: number;
  from: number;
  to: number;
  float32: number;
}

/** Something about the processed data a user should know although it was processed: shown by the CLI, returned in JSON, kept in the sidecar. */
export interface ScaledValuesWarning {
  code: 'scaled_values_indistinct';
  message: string;
  details: IndistinctColumn;
}

/**
 * The training columns that, scaled, float32 (what the models compute in) cannot tell apart: more than half of a
 * column's distinct values are one float32 value. A column spanning many orders of magnitude (1e15 to 1e300), or a
 * counter of about 1e9 with one glitch row of 0, has a range or spread set by its extreme values, against which the
 * others scale to numbers float32 cannot tell apart: below its smallest normal number they become 0 (min-max,
 * max-abs), or they differ from one another by less than float32 resolves near the same offset (standard scaling
 * gives every one of them -0.01). The models then see a column of one value and a spike. Float32 rounding of ordinary
 * data merges a few neighbours at most, never half a column. Processing goes on (a site's data is still forecast);
 * the caller warns.
 */
export function scaledIndistinct(params: ScalerParams, frame: TimeFrame): IndistinctColumn[] {
  const found: IndistinctColumn[] = [];
  const tables: MergeCheckTables = {};
  params.columns.forEach((column, i) => {
    const values = frame.values[column];
    if (!values) return;
    const offset = params.offset[i];
    const scale = params.scale[i];
    if (!mayMergeHalf(values, offset, scale, tables)) return;
    const distinct = distinctSorted(values);
    if (distinct.length < 2) return;
    // Scaling is increasing (scale > 0), so values sharing a float32 are neighbours in sorted order.
    let longest = 1;
    let longestAt = 0;
    let run = 1;
    for (let d = 1; d < distinct.length; d++) {
      run = Math.fround((distinct[d] - offset) / scale) === Math.fround((distinct[d - 1] - offset) / scale) ? run + 1 : 1;
      if (run > longest) {
        longest = run;
        longestAt = d - run + 1;
      }
    }
    if (longest < 2 || 2 * longest <= distinct.length) return;
    const [from, to] = [distinct[longestAt], distinct[longestAt + longest - 1]];
    found.push({ column, method: params.method, offset, scale, min: distinct[0], max: distinct[distinct.length - 1], distinct_values: distinct.length, indistinct_values: longest, from, to, float32: Math.fround((from - offset) / scale) });
  });
  return found;
}

/** The warning for a column scaledIndistinct found, worded from its details alone (a cached run words it again from the sidecar). */
export function scaledValuesWarning(found: IndistinctColumn): ScaledValuesWarning {
  const how = found.method === '' ? 'unscaled' : `scaled by the ${found.method} fitted on the training data (offset ${found.offset}, scale ${found.scale})`;
  return {
    code: 'scaled_values_indistinct',
    message: `Column '${found.column}' of the training data spans ${found.min} to ${found.max}: ${found.indistinct_values} of its ${found.distinct_values} distinct values (${found.from} to ${found.to}), ${how}, are all ${found.float32} in the float32 the models compute in, so the models see them as one value. A few extreme values (a glitch row, a sentinel) or a span of many orders of magnitude set the scale: correct or remove the extreme values, give the column's logarithm, or leave the column out.`,
    details: { ...found },
  };
}

/** Slots of the pre-check's table: 2^14 at most (under 1 MB, kept in cache; a larger table was slower), fewer for a shorter column. */
const MAX_SLOT_BITS = 14;
const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** One slot's record of one float32 value: the first two values scaled to it, and its rows holding neither. */
class CellTable {
  readonly key: Uint32Array;
  readonly first: Float64Array;
  readonly second: Float64Array;
  /** 0 unused, 1 or 2 values seen. */
  readonly held: Uint8Array;
  readonly beyond: Uint32Array;
  constructor(slots: number) {
    this.key = new Uint32Array(slots);
    this.first = new Float64Array(slots);
    this.second = new Float64Array(slots);
    this.held = new Uint8Array(slots);
    this.beyond = new Uint32Array(slots);
  }
  /** False when the slot holds another float32 value. */
  add(slot: number, key: number, x: number): boolean {
    const held = this.held[slot];
    if (held === 0) {
      this.key[slot] = key;
      this.first[slot] = x;
      this.held[slot] = 1;
      return true;
    }
    if (this.key[slot] !== key) return false;
    if (x === this.first[slot]) return true;
    if (held === 1) {
      this.second[slot] = x;
      this.held[slot] = 2;
    } else if (x !== this.second[slot]) this.beyond[slot]++;
    return true;
  }
  /** Empty again: a slot's key and values are read only while it holds some. */
  clear(): void {
    this.held.fill(0);
    this.beyond.fill(0);
  }
}

/**
 * The pre-check's tables, kept from one column of a frame to the next: made anew for each, they cost more than the
 * check itself on a wide table (10,000 columns of 300 rows: 110,000 typed arrays, over a second).
 */
export interface MergeCheckTables {
  one?: CellTable;
  two?: CellTable;
  foreign?: Uint32Array;
}

function emptyTables(kept: MergeCheckTables, slots: number): { one: CellTable; two: CellTable; foreign: Uint32Array } {
  if (kept.one && kept.two && kept.foreign?.length === slots) {
    kept.one.clear();
    kept.two.clear();
    kept.foreign.fill(0);
    return { one: kept.one, two: kept.two, foreign: kept.foreign };
  }
  [kept.one, kept.two, kept.foreign] = [new CellTable(slots), new CellTable(slots), new Uint32Array(slots)];
  return { one: kept.one, two: kept.two, foreign: kept.foreign };
}

/**
 * False when no float32 value can stand for more than half of the column's distinct values, proven in one pass
 * without sorting (sorting a 5-million-row column takes seconds). Each value goes to a slot by the bits of its scaled
 * float32; a slot records the first two float32 values met in it, each with its first two values and a count of its
 * rows holding neither, and counts the rows of any other float32 value (foreign). Distinct values are then at most 1,
 * or 2 + that count, per recorded float32 value, and at most the foreign rows for the others of a slot; the column
 * holds at least the sum of what each slot shows (1, 2, or 3 with rows past the two, per float32 value, and 1 more
 * with foreign rows). When no float32 value can hold more than half of that least, none does. Ordinary data passes
 * (its merges are a few neighbours, such as a time feature's sin values equal but for the last bit); a column it
 * cannot clear is sorted and counted exactly.
 */
export function mayMergeHalf(values: Float64Array, offset: number, scale: number, tables: MergeCheckTables = {}): boolean {
  let bits = 4;
  while (bits < MAX_SLOT_BITS && 1 << bits < 2 * values.length) bits++;
  const { one, two, foreign } = emptyTables(tables, 1 << bits);
  const slots = foreign.length;
  for (let r = 0; r < values.length; r++) {
    const x = values[r];
    if (!Number.isFinite(x)) continue;
    f32[0] = (x - offset) / scale;
    // -0 and 0 are one value, as the exact count compares them.
    let key = f32[0] === 0 ? 0 : f32Bits[0];
    const cell = key;
    key ^= key >>> 16;
    key = Math.imul(key, 0x85ebca6b);
    key ^= key >>> 13;
    const slot = key & (slots - 1);
    if (!one.add(slot, cell, x) && !two.add(slot, cell, x)) foreign[slot]++;
  }
  let leastDistinct = 0;
  let mostInOne = 1;
  for (let s = 0; s < slots; s++) {
    for (const table of [one, two]) {
      leastDistinct += table.held[s] + (table.beyond[s] > 0 ? 1 : 0);
      if (table.held[s] === 2) mostInOne = Math.max(mostInOne, 2 + table.beyond[s]);
    }
    if (foreign[s] > 0) leastDistinct++;
    mostInOne = Math.max(mostInOne, foreign[s]);
  }
  return mostInOne >= 2 && 2 * mostInOne > leastDistinct;
}

/** The finite values, sorted, each once. */
function distinctSorted(values: Float64Array): Float64Array {
  const sorted = sortedFinite(values);
  let kept = 0;
  for (let r = 0; r < sorted.length; r++) if (r === 0 || sorted[r] !== sorted[kept - 1]) sorted[kept++] = sorted[r];
  return sorted.subarray(0, kept);
}

export function identityScaler(columns: readonly string[]): ScalerParams {
  return { method: '', columns: [...columns], offset: columns.map(() => 0), scale: columns.map(() => 1) };
}
