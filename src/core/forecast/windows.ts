import { listNames } from '../clip-text.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import type { WindowSpec } from '../models/forecast-model.js';

/**
 * Supervised windows over a frame: X[i] = every feature over rows [i, i + inputSeqLen), y[i] = the targets
 * over the next outputSeqLen rows. Layouts are row-major and match `PredictBatch` / `ForecastModel.predict`.
 */
export interface WindowSet {
  size: number;
  /** [size][inputSeqLen][features]. */
  x: Float32Array;
  /** [size][outputSeqLen][targets] on the frame's (scaled) scale. */
  y: Float32Array;
  /** Epoch ms of each forecast step, [size][outputSeqLen]. */
  forecastTimes: Float64Array;
}

export function assertWindowColumns(frame: TimeFrame, spec: WindowSpec): void {
  const missing = [...spec.features, ...spec.targets].filter((column) => !frame.values[column]);
  if (missing.length > 0) {
    const code = spec.targets.some((t) => missing.includes(t)) ? 'FLTS_MODEL_TARGET_MISSING' : 'FLTS_REQUEST_INVALID';
    throw new FltsError(code, `Column(s) ${listNames(missing)} not in the data (columns: ${listNames(frame.columns)}).`, { details: { missing } });
  }
}

/**
 * Most input values one window set holds (1 GiB of float32): every window copies its whole input history, so
 * rows x input window x features grows quadratically with the window and would exhaust the memory long
 * before it fails on its own.
 */
export const MAX_WINDOW_VALUES = 2 ** 28;

export function windowCount(rows: number, spec: WindowSpec): number {
  return Math.max(0, rows - spec.inputSeqLen - spec.outputSeqLen + 1);
}

/**
 * Windows whose inputs are copied out of their frame a range at a time, when a prediction reaches them: a
 * set of long windows built whole weighs rows x input window x features, most of it the same rows copied
 * once per window. `y` and `forecastTimes` are whole, as in a `WindowSet`.
 */
export interface LazyWindowSet extends Omit<WindowSet, 'x'> {
  /** The inputs of windows [from, to), [to - from][inputSeqLen][features]: a new array per call. */
  inputs(from: number, to: number): Float32Array;
}

/** The inputs of windows [from, to) of either kind of set, laid out as `WindowSet.x`; a built set's are a view. */
export function windowInputs(set: WindowSet | LazyWindowSet, from: number, to: number, spec: WindowSpec): Float32Array {
  if ('x' in set) {
    const width = spec.inputSeqLen * spec.features.length;
    return set.x.subarray(from * width, to * width);
  }
  return set.inputs(from, to);
}

/** Windows whose first forecast row is in [firstTargetRow, rows); earlier rows only serve as history. */
export function buildWindows(frame: TimeFrame, spec: WindowSpec, firstTargetRow = spec.inputSeqLen): WindowSet {
  const { size, y, forecastTimes, inputs } = lazyWindows(frame, spec, firstTargetRow);
  const nf = spec.features.length;
  if (size * spec.inputSeqLen * nf > MAX_WINDOW_VALUES) {
    throw new FltsError('FLTS_MODEL_TOO_LARGE', `${size} windows of ${spec.inputSeqLen} input rows x ${nf} features would hold ${size * spec.inputSeqLen * nf} values, more than the ${MAX_WINDOW_VALUES} (1 GiB) one set of windows may hold; shorten the input window (INPUT_SEQ_LEN) or use fewer rows (SAMPLE_TRAIN_ROWS).`, {
      details: { windows: size, inputSeqLen: spec.inputSeqLen, features: nf, values: size * spec.inputSeqLen * nf, limit: MAX_WINDOW_VALUES },
    });
  }
  return { size, x: inputs(0, size), y, forecastTimes };
}

/** The windows of `buildWindows`, their inputs copied only when asked for (`LazyWindowSet`): no MAX_WINDOW_VALUES to exceed. */
export function lazyWindows(frame: TimeFrame, spec: WindowSpec, firstTargetRow = spec.inputSeqLen): LazyWindowSet {
  assertWindowColumns(frame, spec);
  const { inputSeqLen: seq, outputSeqLen: horizon } = spec;
  const rows = frame.time.length;
  const start = Math.max(0, firstTargetRow - seq);
  const size = windowCount(rows - start, spec);
  if (size === 0) {
    throw new FltsError('FLTS_MODEL_TOO_FEW_ROWS', `${rows - start} rows cannot make one window of ${seq} inputs + ${horizon} outputs.`, {
      details: { rows: rows - start, inputSeqLen: seq, outputSeqLen: horizon },
    });
  }
  const nf = spec.features.length;
  const nt = spec.targets.length;
  const features = spec.features.map((c) => frame.values[c]);
  const targets = spec.targets.map((c) => frame.values[c]);
  const y = new Float32Array(size * horizon * nt);
  const forecastTimes = new Float64Array(size * horizon);
  for (let w = 0; w < size; w++) {
    const row0 = start + w;
    for (let h = 0; h < horizon; h++) {
      const row = row0 + seq + h;
      forecastTimes[w * horizon + h] = frame.time[row];
      for (let t = 0; t < nt; t++) y[(w * horizon + h) * nt + t] = targets[t][row];
    }
  }
  const inputs = (from: number, to: number): Float32Array => {
    const x = new Float32Array((to - from) * seq * nf);
    for (let w = from; w < to; w++) {
      const row0 = start + w;
      for (let s = 0; s < seq; s++) {
        const base = ((w - from) * seq + s) * nf;
        for (let f = 0; f < nf; f++) x[base + f] = features[f][row0 + s];
      }
    }
    return x;
  };
  return { size, y, forecastTimes, inputs };
}

/** At most `most` of `items`, spread evenly over them from the first; all of them when there are no more. */
export function spreadEvenly<T>(items: readonly T[], most: number): T[] {
  if (items.length <= most) return [...items];
  return Array.from({ length: most }, (_, i) => items[Math.floor((i * items.length) / most)]);
}

/** The windows `picked` (ascending indexes) of `set`, in that order, their inputs copied from `set` when asked for. */
export function pickWindows(set: WindowSet | LazyWindowSet, picked: readonly number[], spec: WindowSpec): LazyWindowSet {
  const horizon = spec.outputSeqLen;
  const yWidth = horizon * spec.targets.length;
  const y = new Float32Array(picked.length * yWidth);
  const forecastTimes = new Float64Array(picked.length * horizon);
  picked.forEach((w, i) => {
    y.set(set.y.subarray(w * yWidth, (w + 1) * yWidth), i * yWidth);
    forecastTimes.set(set.forecastTimes.subarray(w * horizon, (w + 1) * horizon), i * horizon);
  });
  const width = spec.inputSeqLen * spec.features.length;
  const inputs = (from: number, to: number): Float32Array => {
    const x = new Float32Array((to - from) * width);
    for (let i = from; i < to; i++) x.set(windowInputs(set, picked[i], picked[i] + 1, spec), (i - from) * width);
    return x;
  };
  return { size: picked.length, y, forecastTimes, inputs };
}

/** Concatenates the last `rows` rows of `history` before `frame`, so the first rows of `frame` get forecasts too. */
export function prependHistory(history: TimeFrame, frame: TimeFrame, rows: number): TimeFrame {
  const take = Math.min(rows, history.time.length);
  const from = history.time.length - take;
  const join = (a: Float64Array, b: Float64Array): Float64Array => {
    const out = new Float64Array(take + b.length);
    out.set(a.subarray(from), 0);
    out.set(b, take);
    return out;
  };
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = join(history.values[column] ?? new Float64Array(history.time.length).fill(Number.NaN), frame.values[column]);
  return { time: join(history.time, frame.time), columns: frame.columns, values };
}

/** Copies windows [from, to) of a set (chronological splits). */
export function sliceWindows(set: WindowSet, from: number, to: number, spec: WindowSpec): WindowSet {
  const xw = spec.inputSeqLen * spec.features.length;
  const yw = spec.outputSeqLen * spec.targets.length;
  return {
    size: to - from,
    x: set.x.slice(from * xw, to * xw),
    y: set.y.slice(from * yw, to * yw),
    forecastTimes: set.forecastTimes.slice(from * spec.outputSeqLen, to * spec.outputSeqLen),
  };
}

/** The windows of `a` followed by those of `b` (both of `spec`'s shape). */
export function concatWindows(a: WindowSet, b: WindowSet, spec: WindowSpec): WindowSet {
  const join = <T extends Float32Array | Float64Array>(first: T, second: T, make: (n: number) => T): T => {
    const out = make(first.length + second.length);
    out.set(first);
    out.set(second, first.length);
    return out;
  };
  if (a.x.length !== a.size * spec.inputSeqLen * spec.features.length || b.x.length !== b.size * spec.inputSeqLen * spec.features.length) {
    throw new FltsError('FLTS_INTERNAL', 'Window sets of different shapes cannot be joined.');
  }
  return {
    size: a.size + b.size,
    x: join(a.x, b.x, (n) => new Float32Array(n)),
    y: join(a.y, b.y, (n) => new Float32Array(n)),
    forecastTimes: join(a.forecastTimes, b.forecastTimes, (n) => new Float64Array(n)),
  };
}
