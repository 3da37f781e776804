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
  return (spec?.min === undefined || value >= spec.min) && (spec?.max === undefined || value <= spec.max);
}

const OPTIONS = ['nChangepoints', 'changepointRange', 'changepointPriorScale', 'seasonalityPriorScale', 'seasonalityMode'] as const;
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

/**
 * What keeps a saved Prophet artifact from being refitted, or undefined. Loading refits every target's series
 * with the stored parameters in augurs' WebAssembly, which fails on a series without two times, and panics on
 * options out of their range (a changepoint range over 1): each is checked here first. The lengths of delta and
 * beta follow from the changepoints and seasonal features augurs derives from the series, and are checked by the
 * load as it refits. Apart from prophet-model.ts, which loads the WebAssembly.
 */
export function prophetArtifactProblem(artifact: Record<string, unknown>, window: WindowSpec): string | undefined {
  const { options, seed, series } = artifact;
  if (!isObject(options)) return 'has no options';
  // An option left out takes augurs' default, as when the artifact was written without it.
  const option = OPTIONS.find((name) => options[name] !== undefined && !isSettingValue(name, options[name]));
  if (option) return `has options.${option} ${JSON.stringify(options[option])?.slice(0, 40)}, which no Prophet setting takes`;
  if (!isProphetSeed(seed)) return `has no seed of an integer from 0 to ${PROPHET_MAX_SEED}`;
  if (!Array.isArray(series)) return 'has no series';
  for (const target of window.targets) {
    const entry = series.find((item) => isObject(item) && item.target === target) as Record<string, unknown> | undefined;
    if (!entry) return `has no series for target ${JSON.stringify(target)}`;
    const { ds, y, params, shift } = entry;
    if (!isFiniteNumbers(ds) || (ds as number[]).length < 2) return `has no times (ds) of two finite numbers or more for target ${JSON.stringify(target)}`;
    if (!Array.isArray(y) || y.length !== (ds as number[]).length || !y.every((value) => value === null || Number.isFinite(value))) {
      return `has no values (y) of numbers, one per time, for target ${JSON.stringify(target)}`;
    }
    if (!isObject(params) || ![params.k, params.m, params.sigmaObs].every(Number.isFinite) || !PARAMS.every((name) => isFiniteNumbers(params[name]))) {
      return `has fitted parameters that are not finite numbers for target ${JSON.stringify(target)}`;
    }
    // augurs fits the times with a value only (a null is a NaN written out), and finds one trend point for each.
    const observed = y.filter((value) => value !== null).length;
    const trendProblem = paramsLengthProblem(params as unknown as FittedLengths, { trend: observed });
    if (trendProblem) return `${trendProblem} for target ${JSON.stringify(target)}`;
    // Written since the order of the seasonal features is recorded; their count and match are checked at load.
    const { featureKeys } = entry;
    if (featureKeys !== undefined && !(Array.isArray(featureKeys) && featureKeys.every((key) => typeof key === 'string'))) {
      return `has featureKeys that are not strings for target ${JSON.stringify(target)}`;
    }
    if (shift !== undefined && !Number.isFinite(shift)) return `has a shift that is not a finite number for target ${JSON.stringify(target)}`;
  }
  return undefined;
}
