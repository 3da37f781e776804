import { describe, expect, it } from 'vitest';
import { applyNanImputer, dropSparseRows, fitNanImputer } from './nan-handling.js';
import { regularTimes, timeFrameFromColumns, type TimeFrame } from '../data/time-frame.js';

const TWO_MINUTES = 120_000;
const makeFrame = (values: Record<string, number[]>, time?: number[]): TimeFrame =>
  timeFrameFromColumns(values, time ?? regularTimes(Object.values(values)[0].length, Date.UTC(2018, 1, 5), TWO_MINUTES));
const column = (frame: TimeFrame, name: string): number[] => Array.from(frame.values[name]);

const NaN_ = Number.NaN;

describe('core > preprocess > nan-handling', () => {
  it('fills gaps with the training mean, in train and in test', () => {
    const train = makeFrame({ a: [1, NaN_, 3], b: [10, 20, 30] });
    const imputer = fitNanImputer(train);
    expect(imputer.fill).toEqual([2, 20]);
    const filledTrain = applyNanImputer(train, imputer);
    expect(column(filledTrain.frame, 'a')).toEqual([1, 2, 3]);
    expect(filledTrain.imputedCells).toBe(1);
    const filledTest = applyNanImputer(makeFrame({ a: [NaN_, 100], b: [NaN_, NaN_] }), imputer);
    // The test set's own mean (100) must not leak in: the train mean (2) fills it.
    expect(column(filledTest.frame, 'a')).toEqual([2, 100]);
    expect(column(filledTest.frame, 'b')).toEqual([20, 20]);
    expect(filledTest.imputedCells).toBe(3);
  });

  it('drops columns with no value in the training data from both sets', () => {
    const imputer = fitNanImputer(makeFrame({ a: [1, 2], empty: [NaN_, NaN_] }));
    expect(imputer.droppedColumns).toEqual(['empty']);
    const { frame } = applyNanImputer(makeFrame({ a: [NaN_, 5], empty: [7, 8] }), imputer);
    expect(frame.columns).toEqual(['a']);
  });

  it('drop_rows keeps rows with at least ceil(ncols * (1 - threshold)) values', () => {
    // 3 columns, threshold 0.33 -> ceil(2.01) = 3 values required; threshold 0.5 -> ceil(1.5) = 2.
    const frame = makeFrame({ a: [1, NaN_, NaN_, 4], b: [1, 2, NaN_, 4], c: [1, 2, 3, 4] });
    expect(dropSparseRows(frame, 0.33).time.length).toBe(2);
    const kept = dropSparseRows(frame, 0.5);
    expect(column(kept, 'c')).toEqual([1, 2, 4]);
    expect(kept.time[1]).toBe(frame.time[1]);
  });
});
