import { TRAINING_SPECS } from '../config/specs/training.js';
import type { WindowSpec } from './forecast-model.js';

/** Prophet's optimizer in augurs takes an unsigned 32-bit seed; a larger or negative one fails inside the WebAssembly. */
export const PROPHET_MAX_SEED = 0xffff_ffff;

/** Whether augurs' Prophet takes `seed`. */
export function isProphetSeed(seed: unknown): seed is number {
  return Number.isInteger(seed) && (seed as number) >= 0 && (seed as number) <= PROPHET_MAX_SEED;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const isFiniteNumbers = (value: unknown): boolean => Array.isArray(value) && value.every(Number.isFinite);
const specOf = (name: string) => TRAINING_SPECS.find((spec) => spec.path === `training.prophet.${name}`);

/** Whether `value` is a setting `training.prophet.<name>` can hold: within its range, or one of its choices. */
function isSettingValue(name: string, value: unknown): boolean {
  const spec = specOf(name);
  if (spec?.choices) return spec.choices.includes(value as string);
  if (typeof value !== 'number' || !Number.isFinite(value) || (spec?.type === 'integer' && !Number.isInteger(value))) return false;
  const aboveMin = spec?.min === undefined || (spec.exclusiveMin ? value > spec.min : value >= spec.min);
  const belowMax = spec?.max === undefined || (spec.exclusiveMax ? value < spec.max : value <= spec.max);
  return aboveMin && belowMax;
}

/** Date's range in whole seconds: training writes each time as the nearest second of a parsed timestamp. */
const MAX_PROPHET_SECONDS = 8.64e12;

/** Whether `ds` holds times training can write; augurs panics inside its WebAssembly on a fraction or past 64 bits. */
const isProphetTimes = (ds: unknown): ds is number[] => Array.isArray(ds) && ds.every((time) => Number.isInteger(time) && Math.abs(time) <= MAX_PROPHET_SECONDS);

const OPTIONS = ['nChangepoints', 'changepointRange', 'changepointPriorScale', 'seasonalityPriorScale', 'seasonalityMode'] as const;

/** The name under which a run record (run.json) keeps each option its Prophet was fitted with, among its params. */
const RECORDED_OPTIONS: Record<(typeof OPTIONS)[number], string> = {
  nChangepoints: 'n_changepoints',
  changepointRange: 'changepoint_range',
  changepointPriorScale: 'changepoint_prior_scale',
  seasonalityPriorScale: 'seasonality_prior_scale',
  seasonalityMode: 'seasonality_mode',
};
const PARAMS = ['delta', 'beta', 'trend'] as const;

type FittedLengths = Record<(typeof PARAMS)[number], { length: number }>;

/**
 * Where fitted parameters are not of the lengths their series takes, or undefined: augurs takes a delta per
 * changepoint, a beta per seasonal feature and a trend point per observed time, and forecasts without a word from
 * arrays of other lengths. Only the lengths given are compared.
 */
export function paramsLengthProblem(params: FittedLengths, expected: Partial<Record<(typeof PARAMS)[number], number>>): string | undefined {
  const name = PARAMS.find((field) => expected[field] !== undefined && params[field].length !== expected[field]);
  return name && `has params.${name} of ${params[name].length} numbers where its series takes ${expected[name]}`;
}

type FittedSizes = { k: number; m: number; sigmaObs: number; delta: number[]; beta: number[] };

/** The index of the largest absolute value of `values` (which is not empty). */
const largestAt = (values: readonly number[]): number => values.reduce((best, value, i) => (Math.abs(value) > Math.abs(values[best]) ? i : best), 0);

/**
 * Where a fitted parameter is larger than a fit of the series reaches, or undefined.
 *
 * Why this bound: Prophet fits the series divided by its largest absolute value (so each value is at most 1 in
 * size) by maximising its posterior, whose priors cost k^2/50 and m^2/50 (normal(0, 5)), sum|delta| / the
 * changepointPriorScale (Laplace) and sum beta^2 / (2 seasonalityPriorScale^2) (normal). At the fitted sigmaObs, the
 * parameters all zero would cost sum y^2 / (2 sigmaObs^2) in misfit and nothing in priors: a fit at its optimum
 * costs no more, so none of those prior costs is higher either. Fits of the reference data stay under a hundredth
 * of it, and of adverse series (steps, spikes, noise, 3 to 2,000 rows, prior scales from 1e-4 to 1,000, either
 * seasonality mode) under a fifth: the margin covers an optimiser stopping short. A parameter past it was not
 * written by a fit; 1e308 and the like forecast Infinity. sigmaObs is checked above 0, and a damaged one shows in
 * the limit it sets.
 */
function fittedSizeProblem(params: FittedSizes, y: readonly (number | null)[], options: Record<string, unknown>): string | undefined {
  // y is the series as augurs fitted it (shifted, where training shifted it).
  const fitted = y.filter((value): value is number => value !== null);
  const scale = fitted.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0) || 1;
  const zeroModelCost = fitted.reduce((sum, value) => sum + (value / scale) ** 2, 0) / (2 * params.sigmaObs ** 2);
  const priorScale = (name: 'changepointPriorScale' | 'seasonalityPriorScale'): number => (options[name] as number | undefined) ?? (specOf(name)?.default as number);
  const at = `reaches at its params.sigmaObs ${params.sigmaObs}`;
  for (const name of ['k', 'm'] as const) {
    const limit = Math.sqrt(50 * zeroModelCost);
    if (Math.abs(params[name]) > limit) return `has params.${name} ${params[name]}, past the ${limit.toPrecision(3)} in size a fit of its series ${at}`;
  }
  const deltaLimit = priorScale('changepointPriorScale') * zeroModelCost;
  if (params.delta.reduce((sum, value) => sum + Math.abs(value), 0) > deltaLimit) {
    const i = largestAt(params.delta);
    return `has params.delta[${i}] ${params.delta[i]}, past the ${deltaLimit.toPrecision(3)} the sizes of the deltas of a fit of its series sum to ${at}`;
  }
  const betaLimit = 2 * priorScale('seasonalityPriorScale') ** 2 * zeroModelCost;
  if (params.beta.reduce((sum, value) => sum + value ** 2, 0) > betaLimit) {
    const i = largestAt(params.beta);
    return `has params.beta[${i}] ${params.beta[i]}, past the ${betaLimit.toPrecision(3)} the squares of the betas of a fit of its series sum to ${at}`;
  }
  return undefined;
}

/**
 * Where a fitted trend point is larger than the trend of the fit's own slope, offset and deltas reaches, or
 * undefined. augurs' linear trend at a time t of the history (0 to 1) is (k + sum of the deltas of the changepoints
 * before t) * t + m - sum of those deltas * their times (0 to 1 too), so no point of it is larger in size than
 * |k| + |m| + 2 * sum |delta|; k, m and the deltas are bounded first (fittedSizeProblem). A forecast does not read
 * these points (they are what the fit saw at its training times), so a damaged one forecasts as before: it is
 * refused as every other value no fit writes is, since a file edited there may be edited elsewhere too.
 */
function fittedTrendProblem(params: FittedSizes & { trend: number[] }): string | undefined {
  const limit = Math.abs(params.k) + Math.abs(params.m) + 2 * params.delta.reduce((sum, value) => sum + Math.abs(value), 0);
  // The margin covers the rounding of the sums augurs made them with.
  const past = params.trend.findIndex((value) => Math.abs(value) > limit * (1 + 1e-9) + 1e-12);
  return past < 0 ? undefined : `has params.trend[${past}] ${params.trend[past]}, past the ${limit.toPrecision(3)} in size the trend of its params.k, params.m and params.delta reaches`;
}

/**
 * Whether an option differs from the value its run recorded. A record that does not name the option (or names it
 * as another type, as a record not written by flts may) and an artifact without it are not compared.
 */
function differsFromRecord(stored: unknown, recorded: unknown): boolean {
  return stored !== undefined && recorded !== undefined && typeof recorded === typeof stored && recorded !== stored;
}

/**
 * What keeps a saved Prophet artifact from being refitted, or undefined. Loading refits every target's series
 * with the stored parameters in augurs' WebAssembly, which fails on a series without two times, and panics on
 * options out of their range (a changepoint range over 1) and on times that are not whole seconds: each is checked
 * here first, with fitted parameters of sizes no fit reaches (fittedSizeProblem). The lengths of delta and
 * beta follow from the changepoints and seasonal features augurs derives from the series, and are checked by the
 * load as it refits. Apart from prophet-model.ts, which loads the WebAssembly.
 *
 * The prior scales have no upper bound (a setting of 1e6 leaves a trend free, and is taken), and they set how
 * large the deltas and betas of a fit may be: a damaged scale of 1e300 would let any delta or beta through. So
 * the options are compared with those the run recorded for its fit, `recordedParams` (run.json's params), where
 * given: an option the record names otherwise was not the fit's.
 */
export function prophetArtifactProblem(artifact: Record<string, unknown>, window: WindowSpec, recordedParams?: Readonly<Record<string, unknown>>): string | undefined {
  const { options, seed, series } = artifact;
  if (!isObject(options)) return 'has no options';
  // An option left out takes augurs' default, as when the artifact was written without it.
  const option = OPTIONS.find((name) => options[name] !== undefined && !isSettingValue(name, options[name]));
  if (option) return `has options.${option} ${JSON.stringify(options[option])?.slice(0, 40)}, which no Prophet setting takes`;
  const unrecorded = OPTIONS.find((name) => differsFromRecord(options[name], recordedParams?.[RECORDED_OPTIONS[name]]));
  if (unrecorded) {
    const recorded = RECORDED_OPTIONS[unrecorded];
    return `has options.${unrecorded} ${JSON.stringify(options[unrecorded])}, where its run recorded ${recorded} ${JSON.stringify(recordedParams?.[recorded])?.slice(0, 40)} for its fit`;
  }
  if (!isProphetSeed(seed)) return `has no seed of an integer from 0 to ${PROPHET_MAX_SEED}`;
  if (!Array.isArray(series)) return 'has no series';
  for (const target of window.targets) {
    const entry = series.find((item) => isObject(item) && item.target === target) as Record<string, unknown> | undefined;
    if (!entry) return `has no series for target ${JSON.stringify(target)}`;
    const { ds, y, params, shift } = entry;
    if (!isFiniteNumbers(ds) || (ds as number[]).length < 2) return `has no times (ds) of two finite numbers or more for target ${JSON.stringify(target)}`;
    if (!isProphetTimes(ds)) return `has times (ds) that are not whole seconds of a date for target ${JSON.stringify(target)}`;
    if (!Array.isArray(y) || y.length !== (ds as number[]).length || !y.every((value) => value === null || Number.isFinite(value))) {
      return `has no values (y) of numbers, one per time, for target ${JSON.stringify(target)}`;
    }
    if (!isObject(params) || ![params.k, params.m, params.sigmaObs].every(Number.isFinite) || !PARAMS.every((name) => isFiniteNumbers(params[name]))) {
      return `has fitted parameters that are not finite numbers for target ${JSON.stringify(target)}`;
    }
    if (!((params.sigmaObs as number) > 0)) return `has params.sigmaObs ${params.sigmaObs}, not above 0 as a fit's noise is, for target ${JSON.stringify(target)}`;
    // Training writes a shift of 1 (a series of zeros, fitted one unit up) or none; its forecasts are moved back by it.
    if (shift !== undefined && shift !== 0 && shift !== 1) return `has a shift of ${JSON.stringify(shift)?.slice(0, 40)} where training writes 1 or none for target ${JSON.stringify(target)}`;
    const sizeProblem = fittedSizeProblem(params as unknown as FittedSizes, y as (number | null)[], options) ?? fittedTrendProblem(params as unknown as FittedSizes & { trend: number[] });
    if (sizeProblem) return `${sizeProblem} for target ${JSON.stringify(target)}`;
    // augurs fits the times with a value only (a null is a NaN written out), and finds one trend point for each.
    const observed = y.filter((value) => value !== null).length;
    const trendProblem = paramsLengthProblem(params as unknown as FittedLengths, { trend: observed });
    if (trendProblem) return `${trendProblem} for target ${JSON.stringify(target)}`;
    // Written since the order of the seasonal features is recorded; their count and match are checked at load.
    const { featureKeys } = entry;
    if (featureKeys !== undefined && !(Array.isArray(featureKeys) && featureKeys.every((key) => typeof key === 'string'))) {
      return `has featureKeys that are not strings for target ${JSON.stringify(target)}`;
    }
  }
  return undefined;
}
