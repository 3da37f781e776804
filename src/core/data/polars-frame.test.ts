import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { decodeFrameParquet } from './frame-parquet.js';
import { TIME_COLUMN, timeFrameFromPolars, timeFrameToPolars } from './polars-frame.js';
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

  it('reads a float64 table wider than it is tall as the same frame, to the bit, as one read column by column', () => {
    // Before, every column was read through its own Series handle: 60 rows of 10 000 columns took most of a minute.
    const names = ['a', '^b$', ' ', 'c', 'd', 'e', 'f', 'g'];
    const odd = [Number.NaN, -0, 1e-310, Number.MAX_VALUE, -1.5, 2 ** 53 + 2, Number.POSITIVE_INFINITY, null];
    const time = pl.Series(TIME_COLUMN, ['2024-01-01 00:04:00', '2024-01-01 00:00:00', '2024-01-01 00:02:00', '2024-01-01 00:02:00']);
    const cells = names.map((name, c) => pl.Series(name, Array.from({ length: 4 }, (_, row) => odd[(row + c) % odd.length]), pl.Float64));
    const wide = timeFrameFromPolars(pl.DataFrame([cells[0], time, ...cells.slice(1)]), 'x.csv');
    // A text column (dropped, as not numeric) sends the same table down the path that reads column by column.
    const byColumns = timeFrameFromPolars(pl.DataFrame([cells[0], time, ...cells.slice(1), pl.Series('note', ['x', 'y', 'z', 'w'])]), 'x.csv');
    expect(byColumns.droppedColumns).toEqual([' ', 'note']);
    expect(wide.droppedColumns).toEqual([' ']);
    const bits = (result: typeof wide) => Object.fromEntries(result.frame.columns.map((column) => [column, Buffer.from(result.frame.values[column].buffer).toString('hex')]));
    expect(wide.frame.columns).toEqual(byColumns.frame.columns);
    expect(bits(wide)).toEqual(bits(byColumns));
    expect(Array.from(wide.frame.time)).toEqual(Array.from(byColumns.frame.time));
    expect([wide.mergedRows, wide.infiniteCells, wide.unorderedRows]).toEqual([byColumns.mergedRows, byColumns.infiniteCells, byColumns.unorderedRows]);
    expect(wide.infiniteCells).toBe(4);
    // Not through a Series handle per column, the cost that made 60 rows of 10 000 columns take most of a minute.
    const table = pl.DataFrame([time, ...Array.from({ length: 50 }, (_, c) => pl.Series(`v${c}`, [c, 1, 2, 3], pl.Float64))]);
    let perColumn = 0;
    const getColumns = table.getColumns;
    table.getColumns = () => {
      perColumn++;
      return getColumns.call(table);
    };
    expect(timeFrameFromPolars(table, 'x.csv').frame.columns).toHaveLength(50);
    expect(perColumn).toBe(0);
  });

  it('builds a frame of no rows', () => {
    const frame: TimeFrame = { time: new Float64Array(0), columns: ['a', 'b'], values: { a: new Float64Array(0), b: new Float64Array(0) } };
    expect(timeFrameToPolars(frame).shape).toEqual({ height: 0, width: 3 });
  });
});
