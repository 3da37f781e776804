import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initSync, Prophet, type ProphetOptions } from '@bsull/augurs/prophet';
import { optimizer as wasmstanOptimizer } from '@bsull/augurs-prophet-wasmstan';
import type { ProphetSettings } from '../config/specs/training.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import type { ForecastModel, WindowSpec } from './forecast-model.js';
import { isProphetSeed, PROPHET_MAX_SEED, paramsLengthProblem } from './prophet-artifact.js';

type Optimizer = ProphetOptions['optimizer'];
type OptimizeOutput = ReturnType<Optimizer['optimize']>;

/** The optimiser's result, JSON-safe. */
export interface ProphetFittedParams {
  k: number;
  m: number;
  sigmaObs: number;
  delta: number[];
  beta: number[];
  trend: number[];
}

/**
 * augurs' Prophet has no serialisation, so a run stores what a fit consumes (options, the training series in
 * seconds) and what the optimiser found. Loading re-runs the fit with an optimiser that returns the stored
 * parameters: the loaded model is the trained one exactly, with no optimisation and no randomness at load.
 *
 * augurs lays its seasonal features out in the order of a hash map that every Prophet seeds anew, so a series
 * refitted at load may take them (weekly and daily, say) in another order than its fit did, and `beta` holds one
 * coefficient per feature in the fit's order. `featureKeys` names each feature the fit had by its values, in
 * that order, and the load puts each coefficient back on its feature. An artifact written before it has none:
 * its load reads beta in the layout that best explains the stored series (likeliestBeta).
 */
export interface ProphetArtifact {
  format: 'flts-prophet-v1';
  options: ProphetSettings & { uncertaintySamples: 0 };
  seed: number;
  series: { target: string; ds: number[]; y: number[]; params: ProphetFittedParams; featureKeys?: string[]; shift?: number }[];
}

/**
 * Prophet divides by the series' largest absolute value, so a series of zeros (a constant column once scaled)
 * stops its optimiser; such a series is fitted one unit up and its forecasts moved back.
 */
function shiftFor(y: readonly number[]): number {
  return y.every((value) => value === 0 || Number.isNaN(value)) ? 1 : 0;
}

/** augurs takes whole seconds; a time with milliseconds (valid ISO input) is read at its nearest second. */
const toProphetSeconds = (ms: number): number => Math.round(ms / 1000);

/**
 * What failed, from an error of augurs: it wraps the optimiser's error with the WebAssembly stack, and the reason
 * can run over a line ("Optimization terminated with error:" then why), so it ends at the first blank or stack line.
 */
function whatFailed(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split(/\n\s*\n|\n\s+at /)[0].replace(/\s+/g, ' ').trim();
}

let initialised = false;

function ensureProphetWasm(): void {
  if (initialised) return;
  // The bindings fetch their .wasm by URL, which Node's fetch cannot do for files: hand them the bytes.
  const require = createRequire(import.meta.url);
  initSync({ module: readFileSync(new URL('prophet_bg.wasm', `file://${require.resolve('@bsull/augurs/prophet')}`)) });
  initialised = true;
}

function prophetOptions(settings: ProphetSettings, optimizer: Optimizer): ProphetOptions {
  return {
    optimizer,
    nChangepoints: settings.nChangepoints,
    changepointRange: settings.changepointRange,
    changepointPriorScale: settings.changepointPriorScale,
    seasonalityPriorScale: settings.seasonalityPriorScale,
    seasonalityMode: settings.seasonalityMode,
    uncertaintySamples: 0,
  };
}

function toJsonParams(output: OptimizeOutput): ProphetFittedParams {
  const p = output.params;
  return { k: p.k, m: p.m, sigmaObs: p.sigmaObs, delta: Array.from(p.delta), beta: Array.from(p.beta), trend: Array.from(p.trend) };
}

/**
 * One key per feature column of the matrix augurs hands its optimiser (as JSON, a row per time), from the
 * column's values: a refit of the same series computes each column to the same bits, wherever it is placed.
 */
function featureKeysOf(dataJson: string): string[] {
  const { X: rows, K: features } = JSON.parse(dataJson) as { X: number[][]; K: number };
  return Array.from({ length: features }, (_, feature) => {
    const column = Float64Array.from(rows, (row) => row[feature]);
    return createHash('sha256').update(new Uint8Array(column.buffer)).digest('hex').slice(0, 16);
  });
}

/**
 * `beta` (in the order of `fittedKeys`) laid out in the order of `loadedKeys`, or a reason it cannot be: keys
 * that are not the same features (a damaged artifact).
 */
function betaInLoadOrder(beta: readonly number[], fittedKeys: readonly string[], loadedKeys: readonly string[]): number[] | string {
  const unplaced = new Map<string, number[]>();
  fittedKeys.forEach((key, index) => unplaced.set(key, [...(unplaced.get(key) ?? []), index]));
  const placed: number[] = [];
  for (const key of loadedKeys) {
    const index = unplaced.get(key)?.shift();
    if (index === undefined) return 'has featureKeys that are not the seasonal features its series takes';
    placed.push(beta[index]);
  }
  return placed;
}

/** The features each of augurs' automatic seasonalities takes, two per Fourier order: yearly 10, weekly 3, daily 4. */
const AUTOMATIC_SEASONAL_WIDTHS = [20, 6, 8];

function orderings<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) => orderings([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

/**
 * For an artifact without featureKeys: of the layouts `beta` can be read in (its seasonalities' blocks in any
 * order, put in any order the refit takes), the one under which the stored fit explains its training series
 * best. The order of the fit is lost; a coefficient on another feature than its own fits the series far worse.
 * Ties keep `beta` as it is.
 */
function likeliestBeta(params: ProphetFittedParams, dataJson: string): number[] {
  const data = JSON.parse(dataJson) as { X: number[][]; K: number; y: number[]; s_a: number[]; s_m: number[] };
  const subsets = AUTOMATIC_SEASONAL_WIDTHS.reduce<number[][]>((all, width) => [...all, ...all.map((subset) => [...subset, width])], [[]]);
  const widths = subsets.find((subset) => subset.length > 1 && subset.reduce((sum, width) => sum + width, 0) === data.K);
  if (!widths || params.beta.length !== data.K) return params.beta;
  const blocksOf = (order: readonly number[]): Map<number, number[]> => {
    let start = 0;
    return new Map(order.map((width) => [width, params.beta.slice(start, (start += width))]));
  };
  const sumOfSquares = (beta: readonly number[]): number =>
    data.X.reduce((sum, row, r) => {
      let additive = 0;
      let multiplicative = 0;
      row.forEach((x, k) => {
        additive += x * beta[k] * data.s_a[k];
        multiplicative += x * beta[k] * data.s_m[k];
      });
      return sum + (data.y[r] - (params.trend[r] * (1 + multiplicative) + additive)) ** 2;
    }, 0);
  let best = { beta: params.beta, error: sumOfSquares(params.beta) };
  for (const fitted of orderings(widths)) {
    const blocks = blocksOf(fitted);
    for (const loaded of orderings(widths)) {
      const beta = loaded.flatMap((width) => blocks.get(width) ?? []);
      const error = sumOfSquares(beta);
      if (error < best.error) best = { beta, error };
    }
  }
  return best.beta;
}

/**
 * An optimiser that returns `params`, once their lengths are those augurs asks for (known only once it has built
 * the series' changepoints and seasonal features); otherwise it fails, and `mismatch` says why.
 */
function replayOptimizer(params: ProphetFittedParams, featureKeys: readonly string[] | undefined): { optimizer: Optimizer; mismatch: () => string | undefined } {
  let mismatch: string | undefined;
  const optimize: Optimizer['optimize'] = (init, data) => {
    mismatch = paramsLengthProblem(params, { delta: init.delta.length, beta: init.beta.length });
    if (!mismatch && featureKeys && featureKeys.length !== params.beta.length) mismatch = `has ${featureKeys.length} featureKeys where its params.beta has ${params.beta.length} numbers`;
    const beta = mismatch ? params.beta : featureKeys ? betaInLoadOrder(params.beta, featureKeys, featureKeysOf(data)) : likeliestBeta(params, data);
    if (typeof beta === 'string') mismatch = beta;
    if (mismatch) throw new Error(mismatch);
    const output = {
      logs: { debug: '', info: '', warn: '', error: '', fatal: '' },
      params: { ...params, delta: Float64Array.from(params.delta), beta: Float64Array.from(beta as number[]), trend: Float64Array.from(params.trend) },
    };
    return output as OptimizeOutput;
  };
  return { optimizer: { optimize }, mismatch: () => mismatch };
}

/**
 * Runs `optimize` with what is written to the process's stderr meanwhile dropped. augurs' optimiser (a WASI
 * component) writes why an optimisation failed ("optimization failed: 70") through process.stderr.write, beside
 * the logger: a CLI user saw a stray line before the coded error, and a consumer of JSON-lines logs a line that is
 * not JSON. The error it then throws says why, and becomes FLTS_TRAIN_OPTIMIZER_FAILED. The call is synchronous, so
 * nothing else on this thread writes in between.
 */
function withStderrHeld<T>(optimize: () => T): T {
  const stderr = process.stderr;
  const own = Object.getOwnPropertyDescriptor(stderr, 'write');
  stderr.write = (() => true) as typeof stderr.write;
  try {
    return optimize();
  } finally {
    if (own) Object.defineProperty(stderr, 'write', own);
    else delete (stderr as { write?: unknown }).write;
  }
}

/**
 * Frees a Prophet whose fit or construction failed. After a panic inside augurs' WebAssembly the instance stays
 * marked as borrowed, and its free() throws "attempted to take ownership of Rust value while it was borrowed":
 * that would replace the error saying what failed, so it is dropped (the instance's memory is lost with it).
 */
function freeAfterFailure(prophet: Prophet | undefined): void {
  try {
    prophet?.free();
  } catch {
    // The failure being reported is the one that counts.
  }
}

/**
 * Where a fit's trend may change: augurs (as Prophet) spreads min(N_CHANGEPOINTS, rows of the first
 * CHANGEPOINT_RANGE of the history - 1) changepoints over those rows, or one at the first time when that is none.
 */
function potentialChangepoints(rows: number, settings: Pick<ProphetSettings, 'nChangepoints' | 'changepointRange'>): { historyRows: number; changepoints: number } {
  const historyRows = Math.floor(rows * settings.changepointRange);
  return { historyRows, changepoints: Math.max(0, Math.min(settings.nChangepoints, historyRows - 1)) };
}

/** The changepoints that fits failing in the optimiser (a few hundred rows, no daily season yet) lacked: two. */
const CHANGEPOINTS_TO_ASK = 2;

/** The least CHANGEPOINT_RANGE (to six decimals) whose first rows of `rows` hold CHANGEPOINTS_TO_ASK changepoints. */
function leastRangeFor(rows: number): number {
  const least = Math.ceil(((CHANGEPOINTS_TO_ASK + 1) / rows) * 1e6) / 1e6;
  return Math.floor(rows * least) >= CHANGEPOINTS_TO_ASK + 1 ? least : least + 1e-6;
}

/**
 * The coded error for an optimisation that failed with fewer than two changepoints, or undefined. Whether it fails
 * depends on the series, not on its length alone (one changepoint fits 2,000 two-minute rows and fails on 300), so
 * the settings are not refused before a fit: the failure says which settings left the trend its few changepoints.
 */
function fewChangepointsFailure(cause: unknown, target: string, rows: number, settings: ProphetSettings): FltsError | undefined {
  const { historyRows, changepoints } = potentialChangepoints(rows, settings);
  // A series too short for two changepoints at any range (two rows) fails for its length, not for these settings.
  if (changepoints >= CHANGEPOINTS_TO_ASK || rows <= CHANGEPOINTS_TO_ASK) return undefined;
  const where = changepoints === 0 ? 'a single changepoint at the first time' : `${changepoints} changepoint within the first ${historyRows} rows`;
  const least = leastRangeFor(rows);
  const fixes = [
    ...(historyRows <= CHANGEPOINTS_TO_ASK ? [`a CHANGEPOINT_RANGE of at least ${least} (training.prophet.changepointRange; ${CHANGEPOINTS_TO_ASK + 1} of ${rows} rows)`] : []),
    ...(settings.nChangepoints < CHANGEPOINTS_TO_ASK ? [`N_CHANGEPOINTS of at least ${CHANGEPOINTS_TO_ASK} (training.prophet.nChangepoints)`] : []),
  ];
  return new FltsError(
    'FLTS_TRAIN_OPTIMIZER_FAILED',
    `Prophet's optimiser found no fit for target ${JSON.stringify(target)} (${whatFailed(cause)}): CHANGEPOINT_RANGE ${settings.changepointRange} and N_CHANGEPOINTS ${settings.nChangepoints} over ${rows} training rows leave its trend ${where}. Give it ${CHANGEPOINTS_TO_ASK} changepoints: ${fixes.join(' and ')}.`,
    {
      cause,
      details: { modelType: 'PROPHET', target, rows, changepointRange: settings.changepointRange, nChangepoints: settings.nChangepoints, changepoints, ...(historyRows <= CHANGEPOINTS_TO_ASK ? { leastChangepointRange: least } : {}), setting: historyRows <= CHANGEPOINTS_TO_ASK ? 'training.prophet.changepointRange' : 'training.prophet.nChangepoints' },
    },
  );
}

/**
 * The coded error for an optimisation that failed with changepoints enough: the series defeats the optimiser as it
 * is (the first 400 rows of PobleSec do, at the default settings). That is the data's and the settings' doing, not a
 * fault of flts, so it is not FLTS_TRAIN_FAILED (kind internal, exit 1, a hint to read the run.json): it says what
 * the caller can do instead.
 */
function noFitFailure(cause: unknown, target: string, rows: number): FltsError {
  return new FltsError(
    'FLTS_TRAIN_OPTIMIZER_FAILED',
    `Prophet's optimiser found no fit for target ${JSON.stringify(target)} over ${rows} training rows (${whatFailed(cause)}). Train the other model types without PROPHET (MODEL_TYPE, --model), or fit it on other rows or with other Prophet settings (CHANGEPOINT_PRIOR_SCALE, SEASONALITY_MODE).`,
    { cause, details: { modelType: 'PROPHET', target, rows } },
  );
}

function fitOne(options: ProphetOptions, ds: number[], y: number[], seed: number): Prophet {
  let prophet: Prophet | undefined;
  try {
    // augurs checks its options as it builds the model (a changepoint range of 0 fails there).
    prophet = new Prophet(options);
    prophet.fit({ ds, y }, { seed });
    return prophet;
  } catch (cause) {
    freeAfterFailure(prophet);
    throw new FltsError('FLTS_TRAIN_FAILED', `Prophet fit failed: ${whatFailed(cause)}`, { cause });
  }
}

/**
 * The first forecast of `prophet` over the horizon after its training times (at their mean step) that no forecast
 * can be written as (a float32, what serving returns), or undefined. A fit of a series of such sizes (values
 * around 1e300) forecasts it, and so does a damaged artifact (a value of 1e308 in its series scales every
 * forecast): training refuses the one, loading the other. The horizon alone is forecast: the training times
 * would double the time a load takes.
 */
function unwritableForecast(prophet: Prophet, entry: Pick<ProphetArtifact['series'][number], 'ds' | 'shift'>, outputSeqLen: number): number | undefined {
  const first = entry.ds.reduce((earliest, time) => Math.min(earliest, time));
  const last = entry.ds.reduce((latest, time) => Math.max(latest, time));
  const step = (last - first) / (entry.ds.length - 1);
  const horizon = Array.from({ length: Math.max(1, outputSeqLen) }, (_, i) => Math.round(last + (i + 1) * step));
  const shift = entry.shift ?? 0;
  const forecasts = prophet.predict({ ds: horizon }).yhat.point.map((value) => value - shift);
  return forecasts.find((value) => !Number.isFinite(Math.fround(value)));
}

function wrap(window: WindowSpec, fitted: Prophet[], shifts: readonly number[]): ForecastModel {
  const nt = window.targets.length;
  return {
    modelType: 'PROPHET',
    window,
    async predict(batch) {
      const out = new Float32Array(batch.size * window.outputSeqLen * nt);
      if (batch.size === 0) return out;
      // augurs returns the forecasts of the times in time order, whatever order they came in; a batch gathers
      // the steps of concurrent requests, so each forecast is put back at the row that asked for it.
      const order = Array.from(batch.forecastTimes.keys()).sort((a, b) => batch.forecastTimes[a] - batch.forecastTimes[b]);
      const ds = order.map((row) => toProphetSeconds(batch.forecastTimes[row]));
      fitted.forEach((prophet, t) => {
        const yhat = prophet.predict({ ds }).yhat.point;
        order.forEach((row, i) => {
          out[row * nt + t] = yhat[i] - shifts[t];
        });
      });
      return out;
    },
    dispose() {
      fitted.splice(0).forEach((prophet) => prophet.free());
    },
  };
}

/** One Prophet per target, fitted on the (scaled) training series; predicts the forecast timestamps. */
export function fitProphetModel(train: TimeFrame, window: WindowSpec, settings: ProphetSettings, seed: number): { model: ForecastModel; artifact: ProphetArtifact } {
  // Refused here, coded: augurs fails on it with a message about borrowed Rust values.
  if (!isProphetSeed(seed)) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `PROPHET takes a seed from 0 to ${PROPHET_MAX_SEED} (SEED, training.seed); it is ${seed}.`, { details: { seed } });
  }
  ensureProphetWasm();
  const ds = Array.from(train.time, toProphetSeconds);
  const series: ProphetArtifact['series'] = [];
  const fitted: Prophet[] = [];
  try {
    for (const target of window.targets) {
      const shift = shiftFor(Array.from(train.values[target]));
      const y = Array.from(train.values[target], (value) => value + shift);
      let captured: ProphetFittedParams | undefined;
      let featureKeys: string[] | undefined;
      let optimiserFailed = false;
      const recording: Optimizer = {
        optimize: (init, data, opts) => {
          let output: OptimizeOutput;
          try {
            output = withStderrHeld(() => wasmstanOptimizer.optimize(init as never, data as never, opts as never)) as unknown as OptimizeOutput;
          } catch (error) {
            optimiserFailed = true;
            throw error;
          }
          captured = toJsonParams(output);
          featureKeys = featureKeysOf(data);
          return output;
        },
      };
      let prophet: Prophet;
      try {
        prophet = fitOne(prophetOptions(settings, recording), ds, y, seed);
      } catch (error) {
        const cause = error instanceof FltsError && error.cause !== undefined ? error.cause : error;
        if (!optimiserFailed) throw error;
        throw fewChangepointsFailure(cause, target, ds.length, settings) ?? noFitFailure(cause, target, ds.length);
      }
      fitted.push(prophet);
      if (!captured) throw new FltsError('FLTS_TRAIN_FAILED', `Prophet fit for ${target} produced no parameters.`);
      const entry = { target, ds, y, params: captured, featureKeys, ...(shift ? { shift } : {}) };
      // The load of the artifact refuses such a model; the fit that made it failed, on this thread or a worker's.
      const unwritable = unwritableForecast(prophet, entry, window.outputSeqLen);
      if (unwritable !== undefined) {
        throw new FltsError('FLTS_TRAIN_FAILED', `Prophet fit failed: its model forecasts ${unwritable} for target ${JSON.stringify(target)}, which no float32 forecast holds.`);
      }
      series.push(entry);
    }
  } catch (error) {
    fitted.forEach(freeAfterFailure);
    throw error;
  }
  return { model: wrap(window, fitted, series.map((entry) => entry.shift ?? 0)), artifact: { format: 'flts-prophet-v1', options: { ...settings, uncertaintySamples: 0 }, seed, series } };
}

/**
 * The model `artifact` was saved from. One that does not rebuild it (parameters of other lengths than their
 * series takes, a fit augurs refuses, forecasts no number holds: a damaged artifact) fails with a plain Error
 * saying why: the caller knows which run's file it read.
 */
export function loadProphetModel(artifact: ProphetArtifact, window: WindowSpec): ForecastModel {
  ensureProphetWasm();
  const entries = window.targets.map((target) => {
    const entry = artifact.series.find((s) => s.target === target);
    if (!entry) throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `The Prophet artifact has no series for target "${target}".`);
    return entry;
  });
  const fitted: Prophet[] = [];
  try {
    for (const entry of entries) {
      const replay = replayOptimizer(entry.params, entry.featureKeys);
      let problem: string | undefined;
      try {
        fitted.push(fitOne(prophetOptions(artifact.options, replay.optimizer), entry.ds, entry.y, artifact.seed));
        const unwritable = unwritableForecast(fitted[fitted.length - 1], entry, window.outputSeqLen);
        if (unwritable !== undefined) problem = `forecasts ${unwritable} from its series (y) and params`;
      } catch (error) {
        problem = replay.mismatch() ?? whatFailed(error instanceof FltsError && error.cause !== undefined ? error.cause : error);
      }
      if (problem) throw new Error(`${problem} for target ${JSON.stringify(entry.target)}`);
    }
  } catch (error) {
    fitted.forEach(freeAfterFailure);
    throw error;
  }
  return wrap(window, fitted, entries.map((entry) => entry.shift ?? 0));
}
