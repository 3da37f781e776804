import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { decodeFrameParquet } from './frame-parquet.js';
import { TIME_COLUMN, timeFrameToPolars } from './polars-frame.js';
import type { TimeFrame } from './time-frame.js';

/** The table built one float64 series per column, as every frame was built before wide ones were built by row. */
function byColumn(frame: TimeFrame): pl.DataFrame {
  const time = pl.Series(TIME_COLUMN, frame.time, pl.Float64).cast(pl.Int64).cast(pl.Datetime('ms'));
  return pl.DataFrame([time, ...frame.columns.map((column) => pl.Series(column, frame.values[column], pl.Float64))]);
}

describe('core > data > polars-frame', () => {
  it('builds a frame wider than it is tall as the same table, to the bit, as one built column by column', () => {
    const columns = ['a', 'time ', '^b$', ' ', 'c', 'd'];
    const odd = [Number.NaN, -0, 1e-310, Number.MAX_VALUE, -1.5, 2 ** 53 + 2];
    const values = Object.fromEntries(columns.map((column, c) => [column, Float64Array.from({ length: 3 }, (_, row) => odd[(row + c) % odd.length])]));
    const frame: TimeFrame = { time: Float64Array.of(Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 0, 2), Date.UTC(2024, 0, 1, 0, 4)), columns, values };
    const wide = timeFrameToPolars(frame);
    expect(wide.columns).toEqual([TIME_COLUMN, ...columns]);
    expect(wide.dtypes.map(String)).toEqual(byColumn(frame).dtypes.map(String));
    expect(Buffer.compare(wide.writeParquet({ compression: 'snappy' }), byColumn(frame).writeParquet({ compression: 'snappy' }))).toBe(0);
    const read = decodeFrameParquet(wide.writeParquet(), 'x.parquet');
    for (const column of columns.filter((name) => name.trim() !== '')) expect(Array.from(read.values[column]).map((value) => Object.is(value, -0) ? '-0' : value)).toEqual(Array.from(values[column]).map((value) => Object.is(value, -0) ? '-0' : value));
  });

  it('builds a frame of no rows', () => {
    const frame: TimeFrame = { time: new Float64Array(0), columns: ['a', 'b'], values: { a: new Float64Array(0), b: new Float64Array(0) } };
    expect(timeFrameToPolars(frame).shape).toEqual({ height: 0, width: 3 });
  });
});
