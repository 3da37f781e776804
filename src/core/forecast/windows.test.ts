import { describe, expect, it } from 'vitest';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import { buildWindows, concatWindows, lazyWindows, MAX_WINDOW_VALUES, pickWindows, prependHistory, sliceWindows, spreadEvenly, windowInputs } from './windows.js';

function frame(rows: number, start = 0): TimeFrame {
  const time = Float64Array.from({ length: rows }, (_, i) => (start + i) * 1000);
  const a = Float64Array.from({ length: rows }, (_, i) => start + i);
  const b = Float64Array.from({ length: rows }, (_, i) => 100 + start + i);
  return { time, columns: ['a', 'b'], values: { a, b } };
}

const spec = { inputSeqLen: 3, outputSeqLen: 2, features: ['a', 'b'], targets: ['b'] };

describe('core > forecast > windows', () => {
  it('builds rows - in - out + 1 windows of every feature and the following target steps', () => {
    const set = buildWindows(frame(8), spec);
    expect(set.size).toBe(4);
    // window 1 covers rows 1..3 and forecasts rows 4, 5
    expect(Array.from(set.x.subarray(6, 12))).toEqual([1, 101, 2, 102, 3, 103]);
    expect(Array.from(set.y.subarray(2, 4))).toEqual([104, 105]);
    expect(Array.from(set.forecastTimes.subarray(2, 4))).toEqual([4000, 5000]);
  });

  it('copies a lazy set\'s inputs of any range as the built set holds them, with the same targets and times', () => {
    const built = buildWindows(frame(12), spec, 5);
    const lazy = lazyWindows(frame(12), spec, 5);
    expect({ size: lazy.size, y: lazy.y, forecastTimes: lazy.forecastTimes }).toEqual({ size: built.size, y: built.y, forecastTimes: built.forecastTimes });
    expect(lazy.inputs(0, lazy.size)).toEqual(built.x);
    expect(windowInputs(lazy, 2, 4, spec)).toEqual(windowInputs(built, 2, 4, spec));
    expect(Array.from(windowInputs(lazy, 1, 2, spec))).toEqual([3, 103, 4, 104, 5, 105]);
  });

  it('picks windows spread evenly over a set, with their own inputs, targets and times', () => {
    const built = buildWindows(frame(12), spec, 5);
    expect(spreadEvenly([0, 1, 2, 3, 4, 5, 6], 3)).toEqual([0, 2, 4]);
    expect(spreadEvenly([0, 1], 3)).toEqual([0, 1]);
    const picked = pickWindows(lazyWindows(frame(12), spec, 5), [1, 4], spec);
    expect(picked.size).toBe(2);
    expect(picked.inputs(0, 2)).toEqual(Float32Array.from([...windowInputs(built, 1, 2, spec), ...windowInputs(built, 4, 5, spec)]));
    expect(Array.from(picked.forecastTimes)).toEqual([...built.forecastTimes.subarray(2, 4), ...built.forecastTimes.subarray(8, 10)]);
    expect(Array.from(picked.y)).toEqual([...built.y.subarray(2, 4), ...built.y.subarray(8, 10)]);
  });

  it('rejects a frame too short for one window and an unknown target', () => {
    expect(() => buildWindows(frame(4), spec)).toThrow(/cannot make one window/);
    expect(() => buildWindows(frame(8), { ...spec, targets: ['zzz'] })).toThrow(/zzz/);
  });

  it('names a missing target among the first columns of a wide frame, not every column', () => {
    const names = Array.from({ length: 3000 }, (_, i) => `c${i}`);
    const wide: TimeFrame = { time: Float64Array.of(0, 1, 2, 3, 4), columns: names, values: Object.fromEntries(names.map((name) => [name, new Float64Array(5)])) };
    const error = (() => {
      try {
        buildWindows(wide, { ...spec, features: ['c0'], targets: ['down'] });
      } catch (caught) {
        return caught as FltsError;
      }
    })();
    expect(error).toMatchObject({ code: 'FLTS_MODEL_TARGET_MISSING' });
    expect(error?.message).toContain('c9 and 2990 more');
    expect(error?.message.length).toBeLessThan(200);
  });

  it('refuses, before allocating, windows whose copied histories would exceed the limit', () => {
    // 10 001 windows x 10 000 rows x 3 features: 1.2 GB of float32 from a frame of 160 KB per column.
    const wide = { inputSeqLen: 10_000, outputSeqLen: 1, features: ['a', 'b', 'a'], targets: ['b'] };
    let error: unknown;
    try {
      buildWindows(frame(20_000), wide);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FltsError);
    expect(error).toMatchObject({ code: 'FLTS_MODEL_TOO_LARGE', kind: 'usage', details: { windows: 10_000, values: 300_000_000, limit: MAX_WINDOW_VALUES } });
    expect((error as FltsError).message).toMatch(/INPUT_SEQ_LEN/);
  });

  it('gives every test row a forecast when the last training rows are prepended', () => {
    const joined = prependHistory(frame(10), frame(5, 10), 3);
    expect(Array.from(joined.values.a)).toEqual([7, 8, 9, 10, 11, 12, 13, 14]);
    const set = buildWindows(joined, { ...spec, outputSeqLen: 1 }, 3);
    expect(set.size).toBe(5);
    expect(Array.from(set.forecastTimes)).toEqual([10000, 11000, 12000, 13000, 14000]);
    expect(Array.from(set.x.subarray(0, 6))).toEqual([7, 107, 8, 108, 9, 109]);
  });

  it('slices windows chronologically', () => {
    const set = buildWindows(frame(8), spec);
    const tail = sliceWindows(set, 3, 4, spec);
    expect(tail.size).toBe(1);
    expect(Array.from(tail.y)).toEqual([106, 107]);
  });

  it('joins two window sets back into the one they were sliced from', () => {
    const set = buildWindows(frame(9), spec);
    const joined = concatWindows(sliceWindows(set, 0, 3, spec), sliceWindows(set, 3, set.size, spec), spec);
    expect(joined.size).toBe(set.size);
    expect(Array.from(joined.x)).toEqual(Array.from(set.x));
    expect(Array.from(joined.y)).toEqual(Array.from(set.y));
    expect(Array.from(joined.forecastTimes)).toEqual(Array.from(set.forecastTimes));
    expect(() => concatWindows(set, buildWindows(frame(9), { ...spec, features: ['a'] }), spec)).toThrow(/different shapes/);
  });
});
