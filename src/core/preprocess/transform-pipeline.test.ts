import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import type { PreprocessSettings } from '../config/specs/preprocess.js';
import { regularTimes, timeFrameFromColumns, type TimeFrame } from '../data/time-frame.js';
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
});
