import { detectCadence } from '../data/timestamps.js';
import { FltsError } from '../errors.js';
import type { ForecastModel, WindowSpec } from './forecast-model.js';
import { createRepeatingModel } from './naive-model.js';

const DAY_MS = 86_400_000;

export interface SeasonalNaiveArtifact {
  format: 'flts-seasonal-naive-v1';
  /** Rows per season (one day at the series' step). */
  period: number;
  window: WindowSpec;
}

/** Rows in one day at the series' most common step (at least 2, so a season is more than the last value). */
export function dailyPeriod(time: Float64Array): number {
  return dailyPeriodOfStep(detectCadence(time));
}

/** Rows in one day at a step of `stepMs` (`dailyPeriod` of a series whose most common step it is). */
export function dailyPeriodOfStep(stepMs: number): number {
  return Math.max(2, Math.round(DAY_MS / stepMs));
}

/**
 * The window seasonal persistence reads: the targets over one whole season. The horizon may not exceed
 * the season, since each step repeats the value one season before it.
 */
export function seasonalNaiveWindow(targets: readonly string[], outputSeqLen: number, period: number): WindowSpec {
  if (outputSeqLen > period) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `SNAIVE forecasts at most one season (${period} rows) ahead; training.outputSeqLen is ${outputSeqLen}.`, { details: { period, outputSeqLen } });
  }
  return { features: [...targets], targets: [...targets], inputSeqLen: period, outputSeqLen };
}

/** Seasonal persistence: step h repeats each target's value one season (a day) before it. */
export function createSeasonalNaiveModel(window: WindowSpec): ForecastModel {
  // The window holds exactly one season, so the row one season before forecast step h is row h.
  return createRepeatingModel('SNAIVE', window, (step) => step);
}
