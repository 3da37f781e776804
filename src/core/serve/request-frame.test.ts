import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { parseActuals, parseRequestSeries } from './request-frame.js';

function nested(depth: number): unknown {
  let value: unknown = '2018-01-01 00:00:00';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function invalidMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FltsError);
    expect((error as FltsError).code).toBe('FLTS_REQUEST_INVALID');
    return (error as FltsError).message;
  }
  throw new Error('expected FLTS_REQUEST_INVALID');
}

describe('core > serve > request frame', () => {
  it('names a timestamp nested 10,000 arrays deep without overflowing the stack', () => {
    const message = invalidMessage(() => parseRequestSeries({ ts: [nested(10_000), '2018-01-01 00:02:00'], x: [1, 2] }, ['x'], 1));
    expect(message).toMatch(/invalid timestamp at row 0: an array of 1/);
  });

  it('refuses epoch-ms timestamps past the Date range, duplicated or not, with a 400', () => {
    expect(invalidMessage(() => parseRequestSeries({ ts: [8.64e15, 8.64e15 + 1], x: [1, 2] }, ['x'], 1))).toMatch(/invalid timestamp at row 0/);
    expect(invalidMessage(() => parseRequestSeries({ ts: [9e15, 9e15], x: [1, 2] }, ['x'], 1))).toMatch(/invalid timestamp/);
  });

  it('keeps the message short when 100,000 columns are wrong', () => {
    const data: Record<string, unknown> = { ts: ['2018-01-01 00:00:00', '2018-01-01 00:02:00'] };
    for (let i = 0; i < 100_000; i++) data[`unknown_column_${i}`] = 'x';
    const message = invalidMessage(() => parseRequestSeries(data, ['x'], 1));
    expect(message.length).toBeLessThan(600);
    expect(message).toMatch(/and 99990 more/);
  });

  it('reads only own columns: index_col "constructor" is not a column', () => {
    expect(invalidMessage(() => parseRequestSeries({ ts: ['2018-01-01 00:00:00', '2018-01-01 00:02:00'], x: [1, 2] }, ['x'], 1, 'constructor'))).toMatch(/index_col 'constructor' is not a column/);
    expect(invalidMessage(() => parseRequestSeries({ ts: ['2018-01-01 00:00:00', '2018-01-01 00:02:00'], x: [1, 2] }, ['toString'], 1))).toMatch(/Missing required feature columns: toString/);
  });
});

describe('core > serve > request-frame > actuals', () => {
  it('takes rows in any order and refuses a timestamp given twice', () => {
    const frame = parseActuals({ ts: ['2024-01-10 00:02:00', '2024-01-10 00:00:00'], down: [2, 1] }, ['down']);
    expect(Array.from(frame.values.down)).toEqual([2, 1]);
    expect(() => parseActuals({ ts: ['2024-01-10 00:00:00', '2024-01-10 00:02:00', '2024-01-10 00:00:00'], down: [1e308, 2, 5] }, ['down'])).toThrow(
      expect.objectContaining({ code: 'FLTS_REQUEST_INVALID', message: expect.stringContaining('repeat the timestamp 2024-01-10T00:00:00') }),
    );
  });
});
