import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import { assertForecastInRange } from '../data/timestamps.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import { fillTimeFeatures, scaleValue, unscaleForecast, type FeaturePlan } from './feature-plan.js';

/** The last `inputSeqLen` rows of a series on the model's scale, in feature order, plus its step. */
export interface ScaledHistory {
  readonly time: Float64Array;
  /** [inputSeqLen][features], row-major. */
  readonly rows: Float32Array;
  readonly cadenceMs: number;
}

/**
 * Predicts `size` windows; `spreads` ([size][targets]) receives what the model reports with them
 * (`PredictBatch.spreads`). `steps` (default the horizon) is asked only of a model with `predictSteps`.
 */
export type PredictWindows = (windows: Float32Array, forecastTimes: Float64Array, size: number, spreads?: Float64Array, steps?: number) => Promise<Float32Array>;

export interface Forecast {
  /** Epoch ms of each forecast row, continuing the input cadence after the last input row. */
  readonly time: Float64Array;
  /** Per target, in original units. */
  readonly values: Float64Array[];
  /** True when the horizon was exceeded and predictions were fed back as inputs. */
  readonly recursive: boolean;
  /** True when the horizon was exceeded and the model forecast every step from one fit (`predictSteps`). */
  readonly direct?: boolean;
  readonly forwardPasses: number;
}

/**
 * The model's input window from a frame. `scaled` frames (processed test data) already hold every feature on
 * the model's scale; raw frames (requests) hold the raw columns in original units, and the time features are
 * computed from the timestamps with the training implementation.
 */
export function historyFromFrame(plan: FeaturePlan, frame: TimeFrame, cadenceMs: number, scaled: boolean): ScaledHistory {
  const { inputSeqLen: seq, features } = plan.window;
  const rows = frame.time.length;
  if (rows < seq) throw new FltsError('FLTS_REQUEST_INVALID', `Too few rows: ${rows} given, the model needs at least ${seq} (its input window).`, { details: { rows, inputSeqLen: seq } });
  const nf = features.length;
  const first = rows - seq;
  const window = new Float32Array(seq * nf);
  const { timeFeatureIndex } = plan;
  // Straight into the window's rows: no row buffer to allocate per call or to share between calls.
  if (!scaled) for (let r = 0; r < seq; r++) fillTimeFeatures(plan, frame.time[first + r], window, r * nf);
  // Column by column: each column is looked up by name once, not once per row.
  for (let f = 0; f < nf; f++) {
    if (!scaled && timeFeatureIndex[f] >= 0) continue;
    const column = frame.values[features[f]];
    if (scaled) for (let r = 0; r < seq; r++) window[r * nf + f] = column[first + r];
    else for (let r = 0; r < seq; r++) window[r * nf + f] = scaleValue(plan, f, column[first + r]);
  }
  return { time: frame.time.subarray(first), rows: window, cadenceMs };
}

/**
 * Forecasts `length` rows. Within the horizon this is one forward pass. Beyond it a model that forecasts any
 * number of steps from one fit (`direct`, a model with `predictSteps`) is asked for all of them at once;
 * otherwise the forecast is recursive: each predicted step becomes an input row, with the targets set to the
 * prediction, other raw features carried from the last row and the time features recomputed for the new
 * timestamp. `spreads` ([targets]) receives what the model reports with its forecast of the history's own
 * window (`PredictBatch.spreads`).
 */
export async function forecastFromHistory(plan: FeaturePlan, history: ScaledHistory, length: number, predict: PredictWindows, spreads?: Float64Array, direct = false): Promise<Forecast> {
  const { inputSeqLen: seq, outputSeqLen: horizon, features, targets } = plan.window;
  const nf = features.length;
  const nt = targets.length;
  const time = new Float64Array(length);
  const values = targets.map(() => new Float64Array(length));
  let window = history.rows;
  let lastTime = history.time[history.time.length - 1];
  assertForecastInRange(lastTime, history.cadenceMs, length);
  if (direct && length > horizon) {
    for (let h = 0; h < length; h++) time[h] = lastTime + (h + 1) * history.cadenceMs;
    // The model forecasts every step in one synchronous call: requests asking at once make theirs in turns of their own.
    if (turnSpent()) await nextTurn();
    const predicted = await predict(window, time, 1, spreads, length);
    for (let h = 0; h < length; h++) for (let t = 0; t < nt; t++) values[t][h] = unscaleForecast(plan, t, predicted[h * nt + t]);
    return { time, values, recursive: false, direct: true, forwardPasses: 1 };
  }
  let produced = 0;
  let forwardPasses = 0;
  while (produced < length) {
    // Requests resumed by one forward pass each take their step here, spread over turns when many wait.
    if (turnSpent()) await nextTurn();
    const stepTimes = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++) stepTimes[h] = lastTime + (h + 1) * history.cadenceMs;
    const predicted = await predict(window, stepTimes, 1, forwardPasses === 0 ? spreads : undefined);
    forwardPasses++;
    const take = Math.min(horizon, length - produced);
    for (let h = 0; h < take; h++) {
      time[produced + h] = stepTimes[h];
      for (let t = 0; t < nt; t++) values[t][produced + h] = unscaleForecast(plan, t, predicted[h * nt + t]);
    }
    produced += take;
    if (produced >= length) break;
    const next = new Float32Array(seq * nf);
    const kept = Math.max(0, seq - horizon);
    next.set(window.subarray((seq - kept) * nf), 0);
    const lastRow = window.subarray((seq - 1) * nf, seq * nf);
    for (let h = Math.max(0, horizon - seq), r = kept; h < horizon; h++, r++) {
      const row = next.subarray(r * nf, (r + 1) * nf);
      row.set(lastRow);
      for (let t = 0; t < nt; t++) row[plan.targetFeature[t]] = predicted[h * nt + t];
      fillTimeFeatures(plan, stepTimes[h], row);
    }
    window = next;
    lastTime = stepTimes[horizon - 1];
  }
  return { time, values, recursive: length > horizon, forwardPasses };
}
