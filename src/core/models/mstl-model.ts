import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AutoETS, initSync as initEts } from '@bsull/augurs/ets';
import { MSTL, initSync as initMstl } from '@bsull/augurs/mstl';
import type { TimeFrame } from '../data/time-frame.js';
import { detectCadence } from '../data/timestamps.js';
import { FltsError } from '../errors.js';
import { assertBatchShape, targetColumns, type ForecastModel, type PredictBatch, type WindowSpec } from './forecast-model.js';
import type { IntervalSeason } from './prediction-intervals.js';
import { dailyPeriod } from './seasonal-naive-model.js';

const DAY_MS = 86_400_000;
/** augurs AutoETS search: additive error, any trend, no seasonality (the daily season is removed first). */
const ETS_SPEC = 'AZN';

export interface MstlArtifact {
  format: 'flts-mstl-v1';
  period: number;
  cadenceMs: number;
  /** Per target: the daily seasonal component by slot of the day (scaled units), from augurs MSTL. */
  profiles: Record<string, number[]>;
  window: WindowSpec;
}

let initialised = false;

function ensureAugursWasm(): void {
  if (initialised) return;
  // The bindings fetch their .wasm by URL, which Node's fetch cannot do for files: hand them the bytes.
  const require = createRequire(import.meta.url);
  initEts({ module: readFileSync(new URL('ets_bg.wasm', `file://${require.resolve('@bsull/augurs/ets')}`)) });
  initMstl({ module: readFileSync(new URL('mstl_bg.wasm', `file://${require.resolve('@bsull/augurs/mstl')}`)) });
  initialised = true;
}

function slotOf(timeMs: number, cadenceMs: number, period: number): number {
  return Math.floor((((timeMs % DAY_MS) + DAY_MS) % DAY_MS) / cadenceMs) % period;
}

/**
 * The daily seasonal component of a series: augurs MSTL (daily period, AutoETS trend) forecasts the next two
 * days; the season repeats while the trend moves on, so the day-over-day change is the trend's slope, and
 * what is left after removing that line and the mean is the season, stored by slot of the day.
 */
function dailyProfile(time: Float64Array, values: Float64Array, cadenceMs: number, period: number): number[] {
  const profile = new Array<number>(period).fill(0);
  if (values.length < 2 * period + 1) return profile;
  const model = MSTL.ets([period]);
  try {
    model.fit(values);
    const next = model.predict(2 * period, null).point;
    let slope = 0;
    for (let k = 0; k < period; k++) slope += (next[k + period] - next[k]) / (period * period);
    const detrended = next.slice(0, period).map((v, k) => v - slope * k);
    const mean = detrended.reduce((sum, v) => sum + v, 0) / period;
    const last = time[time.length - 1];
    detrended.forEach((v, k) => {
      profile[slotOf(last + (k + 1) * cadenceMs, cadenceMs, period)] = v - mean;
    });
  } catch (cause) {
    throw new FltsError('FLTS_TRAIN_FAILED', `MSTL fit failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  } finally {
    model.free();
  }
  return profile;
}

/** One target of window `w` ([size][inputSeqLen][features]) with the daily season at each row taken out. */
function seasonallyAdjusted(season: IntervalSeason, window: WindowSpec, windows: ArrayLike<number>, w: number, column: number, target: string, firstForecast: number): number[] {
  const { period, cadenceMs, profiles } = season;
  const { inputSeqLen: seq } = window;
  const nf = window.features.length;
  const profile = profiles[target];
  return Array.from({ length: seq }, (_, r) => windows[(w * seq + r) * nf + column] - profile[slotOf(firstForecast - (seq - r) * cadenceMs, cadenceMs, period)]);
}

/** The standard normal quantile of 0.9: an 80 % interval's half-width over its standard deviation. */
const Z_80 = 1.2815515655446004;

/** Fits AutoETS to one seasonally adjusted window and hands it to `use` (undefined where no model fits), freeing it after. */
function withSmoothing<T>(adjusted: number[], use: (ets: AutoETS | undefined) => T): T {
  const ets = new AutoETS(1, ETS_SPEC);
  try {
    let fitted = true;
    try {
      ets.fit(adjusted);
    } catch {
      fitted = false;
    }
    return use(fitted ? ets : undefined);
  } finally {
    ets.free();
  }
}

/** The smoothing's forecast of `horizon` steps; the last value where no model fits (a flat window). */
function smoothedForecast(ets: AutoETS | undefined, adjusted: number[], horizon: number): number[] {
  try {
    if (ets) return ets.predict(horizon, null).point;
  } catch {
    // As where no model fits.
  }
  return new Array<number>(horizon).fill(adjusted[adjusted.length - 1]);
}

/**
 * The standard deviation of the next step's error that the smoothing estimates from its own residuals (the
 * width of its 80 % interval one step ahead, over 2 x 1.2816), which is what MSTL's forecast error is made
 * of; 0 where no model fits (the forecast is then the last value of a flat window).
 */
function smoothedSpread(ets: AutoETS | undefined): number {
  try {
    const band = ets?.predict(1, 0.8).intervals;
    const sigma = band ? (band.upper[0] - band.lower[0]) / (2 * Z_80) : 0;
    return Number.isFinite(sigma) ? sigma : 0;
  } catch {
    return 0;
  }
}

/**
 * Per window and target ([size][targets]): the spread of the smoothing fitted to the window's seasonally
 * adjusted values (`smoothedSpread`), for windows whose forecasts did not report it (`PredictBatch.spreads`).
 * `firstForecastTimes`: epoch ms of each window's first forecast step.
 */
export function smoothingScales(season: IntervalSeason, window: WindowSpec, windows: ArrayLike<number>, size: number, firstForecastTimes: ArrayLike<number>): Float64Array {
  ensureAugursWasm();
  const { targets } = window;
  const columns = targetColumns(window);
  const out = new Float64Array(size * targets.length);
  for (let w = 0; w < size; w++) {
    targets.forEach((target, t) => {
      out[w * targets.length + t] = withSmoothing(seasonallyAdjusted(season, window, windows, w, columns[t], target, firstForecastTimes[w]), smoothedSpread);
    });
  }
  return out;
}

/**
 * Windows per pass of a long run: each is a fit of its own (about a millisecond or more), so a pass of the default
 * 1,024 held the event loop over a second; 128 hold it about a sixth of that, with the same forecasts.
 */
const MSTL_CHUNK_WINDOWS = 128;

/**
 * MSTL as a windowed forecaster: the daily season comes from augurs MSTL on the training rows; each forecast
 * fits augurs AutoETS to the window's seasonally adjusted values and adds the season back at the forecast times.
 * Asked for `spreads`, it reports the spread of each fit as well (`smoothedSpread`). Steps past its horizon come
 * from the same fit (`predictSteps`): refitting the smoothing on its own forecasts, step after step, compounds
 * whatever trend it fitted.
 */
export function createMstlModel(artifact: MstlArtifact): ForecastModel {
  ensureAugursWasm();
  const { window, period, cadenceMs, profiles } = artifact;
  const nt = window.targets.length;
  const columns = targetColumns(window);
  /** Every step from the one fit of each window: the smoothing's own multi-step forecast plus the season. */
  function forecastSteps(batch: PredictBatch, steps: number): Float32Array {
    assertBatchShape(batch, window);
    const out = new Float32Array(batch.size * steps * nt);
    for (let w = 0; w < batch.size; w++) {
      window.targets.forEach((target, t) => {
        const profile = profiles[target];
        const adjusted = seasonallyAdjusted(artifact, window, batch.windows, w, columns[t], target, batch.forecastTimes[w * steps]);
        withSmoothing(adjusted, (ets) => {
          smoothedForecast(ets, adjusted, steps).forEach((value, h) => {
            out[(w * steps + h) * nt + t] = value + profile[slotOf(batch.forecastTimes[w * steps + h], cadenceMs, period)];
          });
          if (batch.spreads) batch.spreads[w * nt + t] = smoothedSpread(ets);
        });
      });
    }
    return out;
  }
  return {
    modelType: 'MSTL',
    window,
    maxChunkWindows: MSTL_CHUNK_WINDOWS,
    predict: async (batch) => forecastSteps(batch, window.outputSeqLen),
    predictSteps: async (batch, steps) => forecastSteps(batch, steps),
    dispose() {},
  };
}

/** Fits the daily season of each target on `rows` (the rows before the validation tail) of the training frame. */
export function fitMstlModel(train: TimeFrame, rows: number, window: WindowSpec): { model: ForecastModel; artifact: MstlArtifact } {
  ensureAugursWasm();
  const time = train.time.subarray(0, rows);
  const cadenceMs = detectCadence(time);
  const period = dailyPeriod(time);
  const profiles = Object.fromEntries(window.targets.map((target) => [target, dailyProfile(time, train.values[target].subarray(0, rows), cadenceMs, period)]));
  const artifact: MstlArtifact = { format: 'flts-mstl-v1', period, cadenceMs, profiles, window };
  return { model: createMstlModel(artifact), artifact };
}
