import type { ChartBand } from './svg-chart.js';

/** A band of plain arrays, which a caller may slice to the span it plots. */
export type IntervalBand = ChartBand & { lower: number[]; upper: number[] };

/** A level as a percentage, as precise as it was given: 0.975 is 97.5 %, 0.9999 is 99.99 % (rounding made it 100 %). */
const percentOf = (level: string): number => Number((Number(level) * 100).toPrecision(6));

/** predictions.json stores a bound that is not a number as null: the chart leaves a gap there, as for NaN. */
const asNumbers = (values: ArrayLike<number | null>): number[] => Array.from(values, (value) => (value === null ? Number.NaN : value));

/**
 * The bands of prediction intervals keyed by level ("0.8"), widest first so that each narrower one is drawn over
 * it, each named by its level. A level without a single bound (too few calibration windows at training) keeps its
 * legend entry, which says why no band is drawn under its name.
 */
export function intervalBands(levels: Readonly<Record<string, { lower: ArrayLike<number | null>; upper: ArrayLike<number | null> }>>): IntervalBand[] {
  return Object.keys(levels)
    .sort((a, b) => Number(b) - Number(a))
    .map((level) => {
      const lower = asNumbers(levels[level].lower);
      const calibrated = lower.some(Number.isFinite);
      return { name: `${percentOf(level)} % interval${calibrated ? '' : ' (uncalibrated: no band)'}`, lower, upper: asNumbers(levels[level].upper) };
    });
}
