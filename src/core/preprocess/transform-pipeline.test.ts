import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import type { PreprocessSettings } from '../config/specs/preprocess.js';
import { regularTimes, timeFrameFromColumns, type TimeFrame } from '../data/time-frame.js';
import { scaledValuesWarning } from '../data/scaler.js';
import { TIME_FEATURE_COLUMNS } from './time-features.js';
import { runTransformPipeline } from './transform-pipeline.js';

const TWO_MINUTES = 120_000;
const makeFrame = (values: Record<string, number[]>, time?: number[]): TimeFrame =>
  timeFrameFromColumns(values, time ?? regularTimes(Object.values(values)[0].length, Date.UTC(2018, 1, 5), TWO_MINUTES));
const column = (frame: TimeFrame, name: string): number[] => Array.from(frame.values[name]);

function settings(change: (s: PreprocessSettings) => void = () => {}): PreprocessSettings {
  const s = structuredClone(defaultSettings().preprocess);
  change(s);
  return s;
}

describe('core > preprocess > transform-pipeline', () => {
  it('defaults: imputes, adds time features, MinMax-scales with the training fit applied to test', () => {
    const train = makeFrame({ a: [0, Number.NaN, 10], flat: [3, 3, 3] });
    const test = makeFrame({ a: [20, Number.NaN], flat: [3, 4] });
    const out = runTransformPipeline(train, test, settings());
    expect(out.train.columns).toEqual(['a', 'flat', ...TIME_FEATURE_COLUMNS]);
    expect(column(out.train, 'a')).toEqual([0, 0.5, 1]); // NaN -> train mean 5 -> 0.5
    expect(column(out.test, 'a')).toEqual([2, 0.5]); // on the train scale, not re-fitted on test
    expect(column(out.train, 'flat')).toEqual([0, 0, 0]); // constant column: no NaN, no Infinity
    expect(column(out.test, 'flat')).toEqual([0, 1]);
    expect(out.report.imputedCells).toEqual({ train: 1, test: 1 });
    expect(out.scaler.columns).toEqual(out.train.columns);
    for (const name of out.train.columns) for (const v of out.train.values[name]) expect(v >= 0 && v <= 1, name).toBe(true);
  });

  it('refuses a value that no scaler can bring within float32, naming the column, set and time', () => {
    // Before: -1e308..1e308 made an infinite range, taken for a constant column (scale 1), and the processed
    // data held Infinity; training then failed with "loss became NaN; try a lower learning rate".
    const huge = makeFrame({ a: [-1e308, 0, 1e308], b: [1, 2, 3] });
    const small = makeFrame({ a: [0, 1], b: [1, 2] }, [Date.UTC(2018, 1, 6), Date.UTC(2018, 1, 6, 0, 2)]);
    expect(() => runTransformPipeline(huge, small, settings())).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_OUT_OF_RANGE', details: expect.objectContaining({ column: 'a', set: 'training', value: 1e308, time: '2018-02-05T00:04:00' }) }),
    );
    // The variance of +-1e200 overflows (scale 1 again); unscaled, 1e39 is past float32 itself.
    for (const method of ['StandardScaler', ''] as const) {
      expect(() => runTransformPipeline(makeFrame({ a: [1e200, -1e200, 1e39], b: [1, 2, 3] }), small, settings((p) => { p.scaling.method = method; })), method).toThrow(expect.objectContaining({ code: 'FLTS_DATA_OUT_OF_RANGE' }));
    }
    for (const method of ['RobustScaler', 'MaxAbsScaler'] as const) expect(() => runTransformPipeline(huge, small, settings((p) => { p.scaling.method = method; })), method).not.toThrow();
    // One test value far beyond the training range is named in the test set.
    const spike = makeFrame({ a: [0, 1e300], b: [1, 2] }, [Date.UTC(2018, 1, 6), Date.UTC(2018, 1, 6, 0, 2)]);
    expect(() => runTransformPipeline(makeFrame({ a: [0, 5, 10], b: [1, 2, 3] }), spike, settings())).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_OUT_OF_RANGE', message: expect.stringMatching(/^Column 'a' of the test data holds 1e\+300 at 2018-02-06T00:02:00/) }),
    );
    // Large but representable values scale as before.
    const big = runTransformPipeline(makeFrame({ a: [-1e300, 0, 1e300], b: [1, 2, 3] }), small, settings());
    expect(column(big.train, 'a')).toEqual([0, 0.5, 1]);
  });

  it('warns of a training column that, scaled, float32 cannot tell apart, naming the column, and processes it all the same', () => {
    // Before: 1e15..1e295 scaled to values float32 holds as 0 (min-max, max-abs) or all as one number (standard), and
    // the models trained and forecast on a column of one value and a spike, without a word; then it was refused,
    // stopping a site's whole preprocess for one glitch row.
    const times = Array.from({ length: 30 }, (_, i) => Date.UTC(2018, 1, 5, 0, 2 * i));
    const spanning = (step: number) => makeFrame({ a: Array.from({ length: 30 }, (_, i) => 10 ** (15 + step * (i % 29))), b: times.map((_, i) => i) }, times);
    const test = makeFrame({ a: [1, 2], b: [1, 2] }, [Date.UTC(2018, 1, 6), Date.UTC(2018, 1, 6, 0, 2)]);
    const indistinct = /^Column 'a' of the training data spans 1000000000000000 to 1e\+\d+: \d+ of its 29 distinct values \(1000000000000000 to 1e\+\d+\), scaled by the \w+ fitted on the training data \(offset \S+, scale \S+\), are all -?[\d.e+-]+ in the float32 the models compute in, so the models see them as one value\./;
    for (const [method, frame] of [['MinMaxScaler', spanning(10)], ['MaxAbsScaler', spanning(10)], ['StandardScaler', spanning(4)]] as const) {
      const result = runTransformPipeline(frame, test, settings((p) => { p.scaling.method = method; }));
      expect(result.indistinct, method).toEqual([expect.objectContaining({ column: 'a', method, distinct_values: 29, min: 1e15 })]);
      expect(scaledValuesWarning(result.indistinct[0])).toMatchObject({ code: 'scaled_values_indistinct', message: expect.stringMatching(indistinct), details: { column: 'a' } });
      expect(result.train.time).toHaveLength(30);
    }
    // A counter of about 1e9 with one glitch row of 0, min-max scaled: its values are all 1 in float32.
    const counter = makeFrame({ a: [0, ...times.slice(1).map((_, i) => 1e9 + (i % 20))], b: times.map((_, i) => i) }, times);
    const glitch = runTransformPipeline(counter, test, settings());
    expect(glitch.indistinct).toEqual([{ column: 'a', method: 'MinMaxScaler', offset: 0, scale: 1e9 + 19, min: 0, max: 1e9 + 19, distinct_values: 21, indistinct_values: 20, from: 1e9, to: 1e9 + 19, float32: 1 }]);
    expect(scaledValuesWarning(glitch.indistinct[0]).message).toBe(
      "Column 'a' of the training data spans 0 to 1000000019: 20 of its 21 distinct values (1000000000 to 1000000019), scaled by the MinMaxScaler fitted on the training data (offset 0, scale 1000000019), are all 1 in the float32 the models compute in, so the models see them as one value. A few extreme values (a glitch row, a sentinel) or a span of many orders of magnitude set the scale: correct or remove the extreme values, give the column's logarithm, or leave the column out.",
    );
    // A burst over a floor keeps its values apart (min-max scaling is exact near 0) and scales as before.
    const burst = runTransformPipeline(makeFrame({ a: [0, 1e-3, 2e-3, 1e9], b: [1, 2, 3, 4] }), test, settings());
    expect(column(burst.train, 'a')).toEqual([0, 1e-12, 2e-12, 1]);
    expect(burst.indistinct).toEqual([]);
    // A sentinel far above a small range, standard-scaled, makes the range one float32 value.
    const sentinelTimes = Array.from({ length: 101 }, (_, i) => Date.UTC(2018, 1, 5, 0, 2 * i));
    const sentinel = makeFrame({ a: [...Array.from({ length: 100 }, (_, i) => i), 1e12], b: sentinelTimes.map((_, i) => i) }, sentinelTimes);
    expect(runTransformPipeline(sentinel, test, settings((p) => { p.scaling.method = 'StandardScaler'; })).indistinct).toEqual([expect.objectContaining({ column: 'a', indistinct_values: 100, distinct_values: 101 })]);
    expect(runTransformPipeline(sentinel, test, settings()).indistinct).toEqual([]);
  });

  it('runs clipping, the constant, lags and no scaling when configured', () => {
    const s = settings((p) => {
      p.outliers.enabled = true;
      p.outliers.method = 'percentile';
      p.outliers.factor = 0;
      p.scaling.addConstant = '1';
      p.timeFeatures.enabled = false;
      p.lags = { enabled: true, nLags: 1, step: 1 };
      p.scaling.method = '';
    });
    const out = runTransformPipeline(makeFrame({ a: [1, 2, 3] }), makeFrame({ a: [0, 9] }), s);
    expect(out.train.columns).toEqual(['a', 'a_lag(-1)']);
    expect(column(out.train, 'a')).toEqual([3, 4]);
    expect(column(out.train, 'a_lag(-1)')).toEqual([2, 3]);
    // test clipped to the train range [1, 3], plus 1
    expect(column(out.test, 'a')).toEqual([4]);
    expect(column(out.test, 'a_lag(-1)')).toEqual([2]);
  });

  it('leaves NaN alone when NaN handling is off', () => {
    const out = runTransformPipeline(makeFrame({ a: [1, Number.NaN, 3] }), makeFrame({ a: [2] }), settings((p) => {
      p.handleNans.enabled = false;
      p.timeFeatures.enabled = false;
    }));
    expect(column(out.train, 'a')[1]).toBeNaN();
    expect(column(out.train, 'a')[2]).toBe(1);
  });

  it('reports when nothing is left', () => {
    const s = settings((p) => (p.lags = { enabled: true, nLags: 5, step: 1 }));
    expect(() => runTransformPipeline(makeFrame({ a: [1, 2] }), makeFrame({ a: [1, 2] }), s)).toThrow(expect.objectContaining({ code: 'FLTS_DATA_EMPTY' }));
  });

  it('names the lag settings and the rows when lags leave no row, and the threshold when dropping sparse rows does', () => {
    const lags = settings((p) => (p.lags = { enabled: true, nLags: 3, step: 2 }));
    expect(() => runTransformPipeline(makeFrame({ a: [1, 2, 3, 4, 5, 6, 7, 8] }), makeFrame({ a: [1, 2, 3, 4] }), lags)).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_EMPTY', message: 'No test rows left after adding lags: its farthest lag reaches LAGS_N x LAGS_STEP = 3 x 2 = 6 rows back, and the set has 4; lower LAGS_N or LAGS_STEP, or sample more rows (SAMPLE_TEST_ROWS; 0 keeps all).' }),
    );
    const sparse = settings((p) => (p.handleNans = { ...p.handleNans, dropRows: true, threshold: 0 }));
    expect(() => runTransformPipeline(makeFrame({ a: [1, Number.NaN], b: [Number.NaN, 2] }), makeFrame({ a: [1, 2], b: [1, 2] }), sparse)).toThrow(expect.objectContaining({ code: 'FLTS_DATA_EMPTY', message: expect.stringMatching(/NANS_THRESHOLD = 0 .*NANS_DROP_ROWS=false/) }));
  });
});
