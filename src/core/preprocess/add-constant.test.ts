import { describe, expect, it } from 'vitest';
import { addConstant, parseAddConstant } from './add-constant.js';
import { regularTimes, timeFrameFromColumns, type TimeFrame } from '../data/time-frame.js';

const TWO_MINUTES = 120_000;
const makeFrame = (values: Record<string, number[]>, time?: number[]): TimeFrame =>
  timeFrameFromColumns(values, time ?? regularTimes(Object.values(values)[0].length, Date.UTC(2018, 1, 5), TWO_MINUTES));
const column = (frame: TimeFrame, name: string): number[] => Array.from(frame.values[name]);

describe('core > preprocess > add-constant', () => {
  it('parses ADD_VAL text as a float; null or empty means none', () => {
    expect(parseAddConstant('1')).toBe(1);
    expect(parseAddConstant(' 0.5 ')).toBe(0.5);
    expect(parseAddConstant('1e-3')).toBe(0.001);
    expect(parseAddConstant(null)).toBeUndefined();
    expect(parseAddConstant('')).toBeUndefined();
  });

  it('rejects text that is not a finite number, naming the setting', () => {
    expect(() => parseAddConstant('one')).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringContaining('ADD_VAL') }));
    expect(() => parseAddConstant('inf')).toThrow(/ADD_VAL/);
  });

  it('adds the constant to every cell', () => {
    const added = addConstant(makeFrame({ a: [1, -2], b: [0, Number.NaN] }), 1.5);
    expect(column(added, 'a')).toEqual([2.5, -0.5]);
    expect(column(added, 'b')[0]).toBe(1.5);
    expect(column(added, 'b')[1]).toBeNaN();
  });
});
