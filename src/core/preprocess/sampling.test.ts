import { describe, expect, it } from 'vitest';
import { assertTrainableSample, FEWEST_TRAINABLE_ROWS, sampleFrame, sampleRowIndices } from './sampling.js';
import { regularTimes, timeFrameFromColumns, type TimeFrame } from '../data/time-frame.js';

const TWO_MINUTES = 120_000;
const makeFrame = (values: Record<string, number[]>, time?: number[]): TimeFrame =>
  timeFrameFromColumns(values, time ?? regularTimes(Object.values(values)[0].length, Date.UTC(2018, 1, 5), TWO_MINUTES));
const column = (frame: TimeFrame, name: string): number[] => Array.from(frame.values[name]);

const frame = makeFrame({ a: Array.from({ length: 100 }, (_, i) => i) });

describe('core > preprocess > sampling', () => {
  it('head keeps the first n rows with their timestamps', () => {
    const out = sampleFrame(frame, { rows: 5, strategy: 'head', seed: 42 });
    expect(column(out, 'a')).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(out.time)).toEqual(Array.from(frame.time.slice(0, 5)));
  });

  it('random keeps chronological order and each row keeps its own timestamp', () => {
    const out = sampleFrame(frame, { rows: 20, strategy: 'random', seed: 42 });
    const a = column(out, 'a');
    expect(a).toHaveLength(20);
    expect(new Set(a).size).toBe(20);
    for (let i = 1; i < a.length; i++) expect(out.time[i]).toBeGreaterThan(out.time[i - 1]);
    a.forEach((value, i) => expect(out.time[i]).toBe(frame.time[value]));
    expect(a).not.toEqual(Array.from({ length: 20 }, (_, i) => i)); // not just the head
  });

  it('is reproducible for a seed and changes with the seed', () => {
    const pick = (seed: number) => Array.from(sampleRowIndices(100, { rows: 10, strategy: 'random', seed }));
    expect(pick(42)).toEqual(pick(42));
    expect(pick(43)).not.toEqual(pick(42));
  });

  it('n = min(requested, rows); 0 keeps everything', () => {
    expect(sampleFrame(frame, { rows: 1000, strategy: 'random', seed: 1 }).time.length).toBe(100);
    expect(sampleFrame(frame, { rows: 0, strategy: 'head', seed: 1 })).toBe(frame);
  });

  it('refuses a training sample no model could fit on (1 or 2 rows), naming the setting; 0 and 3 rows pass', () => {
    expect(FEWEST_TRAINABLE_ROWS).toBe(3);
    for (const rows of [1, 2]) expect(() => assertTrainableSample(rows)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: expect.objectContaining({ setting: 'data.sampleTrainRows', value: rows }) }));
    expect(() => assertTrainableSample(0)).not.toThrow();
    expect(() => assertTrainableSample(3)).not.toThrow();
  });
});
