import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import { encodeFrameParquet } from './frame-parquet.js';
import { MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS } from './timestamps.js';
import { MAX_TABLE_COLUMNS, MAX_CSV_HEADER_BYTES, readFileBytes, readTable, readTableBytes } from './read-table.js';
import { readTableBytesOffThread } from './read-table-off-thread.js';

const mkdtemp = scratchFolders();
const csv = (text: string): Buffer => Buffer.from(text);
const PARQUET_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/parquet');

describe('core > data > read-table', () => {
  it('refuses a header of more columns than the limit before parsing the file', () => {
    const names = Array.from({ length: MAX_TABLE_COLUMNS }, (_, i) => `c${i}`);
    const wide = csv(`time,${names.join(',')}\n2018-01-01 00:00:00,${names.map(() => '1').join(',')}\n`);
    expect(() => readTableBytes(wide, 'wide.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', details: expect.objectContaining({ columns: MAX_TABLE_COLUMNS + 1, limit: MAX_TABLE_COLUMNS }) }));
    expect(() => readTableBytes(wide, 'wide.csv')).toThrow(/wide\.csv: The file has 10001 columns, more than the 10000/);
  });

  it('refuses a first line longer than the header limit (a file without line breaks)', () => {
    const oneLine = Buffer.alloc(MAX_CSV_HEADER_BYTES + 1, 'a');
    expect(() => readTableBytes(oneLine, 'line.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', kind: 'input' }));
    expect(() => readTableBytes(oneLine, 'line.csv')).toThrow(/no line break/);
  });

  it('reads a CSV into epoch-ms time and float64 columns, empty cells as NaN', () => {
    const { frame, droppedColumns, format } = readTableBytes(csv('time,down,count\n2018-02-05 23:40:00,1.5,7\n2018-02-05 23:42:00,,8\n'), 'x.csv');
    expect(format).toBe('csv');
    expect(droppedColumns).toEqual([]);
    expect(Array.from(frame.time)).toEqual([Date.UTC(2018, 1, 5, 23, 40), Date.UTC(2018, 1, 5, 23, 42)]);
    expect(frame.columns).toEqual(['down', 'count']);
    expect(frame.values.down[0]).toBe(1.5);
    expect(frame.values.down[1]).toBeNaN();
    expect(frame.values.count).toBeInstanceOf(Float64Array);
    expect(Array.from(frame.values.count)).toEqual([7, 8]);
  });

  it('drops a non-numeric column and keeps the numeric ones', () => {
    const { frame, droppedColumns } = readTableBytes(csv('time,site,down\n2018-01-01 00:00:00,a,1\n2018-01-01 00:02:00,b,2\n'), 'x.csv');
    expect(droppedColumns).toEqual(['site']);
    expect(frame.columns).toEqual(['down']);
  });

  it('treats pandas missing-value tokens as empty, not as text', () => {
    const { frame, droppedColumns } = readTableBytes(csv('time,v\n2018-01-01 00:00:00,NA\n2018-01-01 00:02:00,n/a\n2018-01-01 00:04:00,3\n'), 'x.csv');
    expect(droppedColumns).toEqual([]);
    expect(frame.values.v[0]).toBeNaN();
    expect(frame.values.v[1]).toBeNaN();
    expect(frame.values.v[2]).toBe(3);
  });

  it('drops a mostly numeric column holding a word', () => {
    const { frame, droppedColumns } = readTableBytes(csv('time,v,w\n2018-01-01 00:00:00,1,1\n2018-01-01 00:02:00,oops,2\n'), 'x.csv');
    expect(droppedColumns).toEqual(['v']);
    expect(frame.columns).toEqual(['w']);
  });

  it('finds floats below integer-looking first rows', () => {
    const rows = Array.from({ length: 300 }, (_, i) => `2018-01-01 ${String(Math.floor(i / 30)).padStart(2, '0')}:${String((i % 30) * 2).padStart(2, '0')}:00,${i === 299 ? '2.5' : i}`);
    const { frame } = readTableBytes(csv(`time,v\n${rows.join('\n')}\n`), 'x.csv');
    expect(frame.values.v[299]).toBe(2.5);
  });

  it('rejects a table without a time column', () => {
    expect(() => readTableBytes(csv('date,down\n2018-01-01,1\n'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_MISSING_TIME_COLUMN' }));
  });

  it('rejects unparsable timestamps, naming the row', () => {
    expect(() => readTableBytes(csv('time,v\n2018-01-01 00:00:00,1\nnot a time,2\n'), 'x.csv')).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', message: expect.stringMatching(/row 2 .*not a time/) }),
    );
  });

  it('reads times with an offset or Z as UTC, and fractional seconds', () => {
    // Every time with its offset: one without beside them is refused (the next test).
    const { frame } = readTableBytes(csv('time,v\n2018-03-25T01:58:00+01:00,1\n2018-03-25T04:00:00+02:00,2\n2018-03-25T02:02:00Z,3\n2018-03-25 02:04:00.5Z,4\n'), 'x.csv');
    expect(Array.from(frame.time)).toEqual([Date.UTC(2018, 2, 25, 0, 58), Date.UTC(2018, 2, 25, 2, 0), Date.UTC(2018, 2, 25, 2, 2), Date.UTC(2018, 2, 25, 2, 4, 0, 500)]);
    expect(Array.from(frame.values.v)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a time column mixing times with a UTC offset and times without, naming a row of each', () => {
    const mixed = csv('time,v\n2024-03-01T10:00:00+01:00,1\n2024-03-01T10:01:00+01:00,2\n2024-03-01 10:02:00,3\n');
    expect(() => readTableBytes(mixed, 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', details: expect.objectContaining({ row: 3, value: '2024-03-01 10:02:00' }) }));
    expect(() => readTableBytes(mixed, 'x.csv')).toThrow('x.csv: row 3 has time "2024-03-01 10:02:00": text without a UTC offset, which would be read as UTC, but the column\'s first time, "2024-03-01T10:00:00+01:00" (position 0), has one');
    const parquet = Buffer.from(pl.DataFrame({ time: ['2024-03-01 10:00:00', '2024-03-01T10:01:00Z'], v: [1, 2] }).writeParquet());
    expect(() => readTableBytes(parquet, 'x.parquet')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', details: expect.objectContaining({ row: 2 }) }));
    // An epoch number is a UTC instant: beside text without an offset it is refused as Z text is.
    const epochAndNaive = csv('time,v\n2024-03-01 10:00:00,1\n1709287260,2\n');
    expect(() => readTableBytes(epochAndNaive, 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', details: expect.objectContaining({ row: 2, value: '1709287260' }) }));
    expect(Array.from(readTableBytes(csv('time,v\n2024-03-01T11:00:00+01:00,1\n1709287260,2\n'), 'x.csv').frame.time)).toEqual([Date.UTC(2024, 2, 1, 10), Date.UTC(2024, 2, 1, 10, 1)]);
  });

  it('reads semicolon files with decimal commas and tab files as the same table as the comma file', () => {
    const comma = readTableBytes(csv('time,v,w\n2018-01-01 00:00:00,1.5,-2\n2018-01-01 00:02:00,,3e2\n'), 'x.csv');
    const semicolon = readTableBytes(csv('time;v;w\r\n2018-01-01 00:00:00;1,5;-2\r\n2018-01-01 00:02:00;;3e2\r\n'), 'x.csv');
    const tab = readTableBytes(csv('time\tv\tw\n2018-01-01 00:00:00\t1.5\t-2\n2018-01-01 00:02:00\t\t3e2\n'), 'x.csv');
    for (const table of [semicolon, tab]) {
      expect(table.frame.columns).toEqual(comma.frame.columns);
      expect(Array.from(table.frame.time)).toEqual(Array.from(comma.frame.time));
      for (const column of ['v', 'w']) expect(Array.from(table.frame.values[column])).toEqual(Array.from(comma.frame.values[column]));
    }
    expect(Array.from(comma.frame.values.v)).toEqual([1.5, Number.NaN]);
    expect(readTableBytes(csv('time;v;site\n2018-01-01 00:00:00;1,5;north\n'), 'x.csv').droppedColumns).toEqual(['site']);
  });

  it('reads thousands grouped by dots or commas as the column shows them, and a decimal comma as before', () => {
    // Before, the grouped columns were dropped as not numeric (and with them a target written so).
    const continental = readTableBytes(csv('time;v;w;x\n2018-01-01 00:00:00;1.234.567,89;1,5;1.234\n2018-01-01 00:02:00;1.234;12,5;2.5\n2018-01-01 00:04:00;-999,5;7;\n'), 'x.csv');
    expect(continental.droppedColumns).toEqual([]);
    expect(Array.from(continental.frame.values.v)).toEqual([1_234_567.89, 1234, -999.5]);
    // No cell of w or x shows grouping: a lone comma is the decimal mark, and so is a lone dot, as before.
    expect(Array.from(continental.frame.values.w)).toEqual([1.5, 12.5, 7]);
    expect(Array.from(continental.frame.values.x)).toEqual([1.234, 2.5, Number.NaN]);
    const english = readTableBytes(csv('time,v,w\n2018-01-01 00:00:00,"1,234,567.89","1,234"\n2018-01-01 00:02:00,"1,234",7\n2018-01-01 00:04:00,12.5,"-12,000"\n'), 'x.csv');
    expect(english.droppedColumns).toEqual([]);
    expect(Array.from(english.frame.values.v)).toEqual([1_234_567.89, 1234, 12.5]);
    expect(Array.from(english.frame.values.w)).toEqual([1234, 7, -12_000]);
  });

  it('reads a Parquet text column of grouped thousands as the same column of a comma CSV is read', () => {
    // Before, the Parquet column was dropped as not numeric where the CSV one was read.
    const times = ['2018-01-01 00:00:00', '2018-01-01 00:02:00', '2018-01-01 00:04:00'];
    const columns = { v: ['1,234.5', '1,234,567', '-12'], w: ['1.234.567,89', '1.234', '7'], lone: ['1,5', '2', '3'] };
    const parquet = readTableBytes(Buffer.from(pl.DataFrame({ time: times, ...columns }).writeParquet()), 'x.parquet');
    const quoted = (cells: string[]) => cells.map((cell) => `"${cell}"`);
    const comma = readTableBytes(csv(`time,v,w,lone\n${times.map((time, i) => [time, ...quoted([columns.v[i], columns.w[i], columns.lone[i]])].join(',')).join('\n')}\n`), 'x.csv');
    expect(Array.from(parquet.frame.values.v)).toEqual([1234.5, 1_234_567, -12]);
    expect(Array.from(parquet.frame.values.w)).toEqual([1_234_567.89, 1234, 7]);
    // A lone comma is no grouping of thousands, and no decimal mark outside a semicolon file: not a number in either.
    expect(parquet.droppedColumns).toEqual(['lone']);
    expect(comma.droppedColumns).toEqual(parquet.droppedColumns);
    for (const column of ['v', 'w']) expect(Array.from(comma.frame.values[column])).toEqual(Array.from(parquet.frame.values[column]));
  });

  it('reads thousands grouped by spaces (plain, no-break, thin) or apostrophes, with the decimal mark the column writes', () => {
    // Before, these columns were dropped as not numeric.
    const semicolon = readTableBytes(csv('time;v;w;x\n2018-01-01 00:00:00;1 234 567,89;12\u00A0345;1\u202F234\n2018-01-01 00:02:00;-1 234;7;2,5\n2018-01-01 00:04:00;12,5;1\u2009000;\n'), 'x.csv');
    expect(semicolon.droppedColumns).toEqual([]);
    expect(Array.from(semicolon.frame.values.v)).toEqual([1_234_567.89, -1234, 12.5]);
    expect(Array.from(semicolon.frame.values.w)).toEqual([12_345, 7, 1000]);
    // No cell of x writes a decimal mark beside its grouping: the file's decimal comma is the mark.
    expect(Array.from(semicolon.frame.values.x)).toEqual([1234, 2.5, Number.NaN]);
    const comma = readTableBytes(csv("time,v,w\n2018-01-01 00:00:00,1 234.5,1'234'567.25\n2018-01-01 00:02:00,3,-1\u2019000\n"), 'x.csv');
    expect(comma.droppedColumns).toEqual([]);
    expect(Array.from(comma.frame.values.v)).toEqual([1234.5, 3]);
    expect(Array.from(comma.frame.values.w)).toEqual([1_234_567.25, -1000]);
  });

  it('reads text columns whatever their names, also names the reader gives its own columns or that read as regexes', () => {
    // Before, a text column named "text" failed inside polars (a duplicate output name), and "^v.*$" was taken
    // for a regex matching no column ("not found").
    const semicolon = readTableBytes(csv('time;text;cell;number;^v.*$\n2018-01-01 00:00:00;1,5;2;3;1.234.567,5\n2018-01-01 00:02:00;2;x;4;7\n'), 'x.csv');
    expect(semicolon.frame.columns).toEqual(['text', 'number', '^v.*$']);
    expect(semicolon.droppedColumns).toEqual(['cell']);
    expect(Array.from(semicolon.frame.values.text)).toEqual([1.5, 2]);
    expect(Array.from(semicolon.frame.values['^v.*$'])).toEqual([1_234_567.5, 7]);
    const comma = readTableBytes(csv('time,text,note\n2018-01-01 00:00:00,1.5,a\n2018-01-01 00:02:00,"2,000",b\n'), 'x.csv');
    expect(comma.droppedColumns).toEqual(['note']);
    expect(Array.from(comma.frame.values.text)).toEqual([1.5, 2000]);
  });

  it('drops a space-grouped column whose cells disagree on the decimal mark or group otherwise, guessing no cell', () => {
    const table = readTableBytes(csv('time;v;w;y;u\n2018-01-01 00:00:00;1 234,5;12 34;1 234;1\n2018-01-01 00:02:00;1 234.5;1;1.234,5;2\n'), 'x.csv');
    expect(table.droppedColumns).toEqual(['v', 'w', 'y']);
  });

  it('drops a column whose cells disagree on their grouping, or group otherwise than by thousands, guessing no cell', () => {
    const mixed = readTableBytes(csv('time;v;w;u\n2018-01-01 00:00:00;1.234,5;1.23.4;1\n2018-01-01 00:02:00;1,234.5;2;2\n'), 'x.csv');
    expect(mixed.droppedColumns).toEqual(['v', 'w']);
    // A quoted decimal comma in a comma file is not a grouping of thousands: not read, as before.
    expect(readTableBytes(csv('time,v,u\n2018-01-01 00:00:00,"1,5",1\n'), 'x.csv').droppedColumns).toEqual(['v']);
  });

  it('leaves out blank lines, and drops an unnamed column such as a row index', () => {
    const table = readTableBytes(csv(',time,v\n0,2018-01-01 00:00:00,1\n\n1,2018-01-01 00:02:00,2\n\n\n'), 'x.csv');
    expect(table.frame.columns).toEqual(['v']);
    expect(table.droppedColumns).toEqual(['']);
    expect(Array.from(table.frame.values.v)).toEqual([1, 2]);
    expect(() => readTableBytes(csv('time,v\n2018-01-01 00:00:00,1\n,2\n'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS' }));
  });

  it('reads rows of empty cells as no rows, in comma and semicolon files and beside a column with no value at all', () => {
    const plain = readTableBytes(csv('time,v,w\n2018-01-01 00:00:00,1,\n2018-01-01 00:02:00,2,\n'), 'x.csv');
    const withBlankRows = ['time,v,w\n2018-01-01 00:00:00,1,\n,,\n2018-01-01 00:02:00,2,\n,,\n', 'time;v;w\n2018-01-01 00:00:00;1;\n;;\n2018-01-01 00:02:00;2;\n;;\n'];
    for (const text of withBlankRows) {
      const table = readTableBytes(csv(text), 'x.csv');
      expect(table.frame).toEqual(plain.frame);
      expect(table.droppedColumns).toEqual([]);
    }
    // A row whose time is empty but another cell is not, even a text one, is not blank: it is refused.
    expect(() => readTableBytes(csv('time,v,t\n2018-01-01 00:00:00,1,a\n,,b\n'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS' }));
  });

  it('refuses a JSON file (rows as --out .json and .jsonl write them) as JSON, not as a CSV of thousands of columns or a badly quoted field', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ time: `2018-02-28T02:${String(i % 60).padStart(2, '0')}:00`, down: i, down_lower_0_8: i - 1 }));
    for (const text of [JSON.stringify(rows), rows.map((row) => JSON.stringify(row)).join('\n'), '\ufeff  [\n  {"time": 1}]', '[]', '[[1,2]]', '{}']) {
      expect(() => readTableBytes(csv(text), 'out.json')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', kind: 'input', message: 'out.json: the file is JSON, not CSV or Parquet, the formats flts reads data in.', details: { source: 'out.json', format: 'json' } }));
    }
    // A header whose first name is in brackets or braces is a CSV all the same.
    expect(Array.from(readTableBytes(csv('[v],time\n1,2018-01-01 00:00:00\n'), 'x.csv').frame.values['[v]'])).toEqual([1]);
    expect(Array.from(readTableBytes(csv('{w},time\n2,2018-01-01 00:00:00\n'), 'x.csv').frame.values['{w}'])).toEqual([2]);
  });

  it('refuses a file whose rows under the header are all rows of empty cells as having no data rows', () => {
    // Before, such a file read as a table of no rows, which preprocess then refused as having every column empty.
    for (const text of ['time,v\n,\n,\n', 'time;v;w\n;;\n\n;;\n', 'time,v,w\r\n,,\r\n']) {
      expect(() => readTableBytes(csv(text), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_EMPTY', kind: 'input', message: expect.stringMatching(/^x\.csv: the file has no data rows: each of its \d+ rows under the header is a blank line or a row of empty cells\.$/) }));
    }
    // A quoted empty cell is as empty as an unquoted one: before, "" was a time that is not one, and the row a row.
    expect(() => readTableBytes(csv('time,v\n"",""\n'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_EMPTY' }));
    const quoted = readTableBytes(csv('time,v,w\n2018-01-01 00:00:00,1,2\n"","",""\n2018-01-01 00:02:00,"",3\n'), 'x.csv');
    expect(Array.from(quoted.frame.values.w)).toEqual([2, 3]);
    expect(quoted.frame.values.v[1]).toBeNaN();
    expect(Array.from(readTableBytes(csv('time;v\n2018-01-01 00:00:00;"1,5"\n"";""\n'), 'x.csv').frame.values.v)).toEqual([1.5]);
    expect(() => readTableBytes(csv('time,v\n"",5\n'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', message: 'x.csv: row 1 has no time (an empty cell).' }));
    const nulls = pl.DataFrame([pl.Series('time', [null, null], pl.Datetime('ms')), pl.Series('v', [null, null], pl.Float64)]);
    expect(() => readTableBytes(Buffer.from(nulls.writeParquet()), 'x.parquet')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_EMPTY' }));
  });

  it('leaves out blank rows whatever the columns are named, a name polars would read as a pattern included', () => {
    for (const name of ['^v$', '*', 'v.*']) {
      const table = readTableBytes(csv(`time,${name},w\n2018-01-01 00:00:00,1,\n,,\n2018-01-01 00:02:00,2,\n`), 'x.csv');
      expect(table.frame.columns).toEqual([name, 'w']);
      expect(Array.from(table.frame.values[name])).toEqual([1, 2]);
    }
    expect(() => readTableBytes(csv('time,^v$\n2018-01-01 00:00:00,1\n,5\n'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS' }));
  });

  it('names the line of a quote never closed, and gives the reader reason without its advice or the file quoted', () => {
    expect(() => readTableBytes(csv('time,v\n2018-01-01 00:00:00,"1\n2018-01-01 00:02:00,2\n'), 'x.csv')).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: 'x.csv: CSV line 2 opens a quoted field that is never closed; every " needs its closing ".' }),
    );
    let message = '';
    try {
      readTableBytes(csv(`time,v\n2018-01-01 00:00:00,""${'x'.repeat(500)}\n`), 'x.csv');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^x\.csv: cannot read as csv: .*not properly escaped/);
    expect(message.length).toBeLessThan(300);
    expect(message).not.toMatch(/infer_schema_length|ignore_errors|\n|x{50}/);
  });

  it('merges rows sharing a timestamp into the mean of their values, blank cells left out', () => {
    const table = readTableBytes(
      csv('time,v,w\n2018-01-01 00:02:00,4,\n2018-01-01 00:00:00,1,7\n2018-01-01 00:02:00,6,\n2018-01-01 00:04:00,9,3\n2018-01-01 00:02:00,8,5\n'),
      'x.csv',
    );
    expect(Array.from(table.frame.time)).toEqual([0, 2, 4].map((minute) => Date.UTC(2018, 0, 1, 0, minute)));
    expect(Array.from(table.frame.values.v)).toEqual([1, 6, 9]);
    expect(Array.from(table.frame.values.w)).toEqual([7, 5, 3]);
    expect(table.mergedRows).toBe(2);
    expect(readTableBytes(csv('time,v\n2018-01-01 00:00:00,\n2018-01-01 00:00:00,\n'), 'x.csv').frame.values.v[0]).toBeNaN();
    expect(readTableBytes(csv('time,v\n2018-01-01 00:00:00,1\n2018-01-01 00:02:00,2\n'), 'x.csv').mergedRows).toBe(0);
  });

  it('reads a number with a byte order mark left before or inside it as the number, in comma, semicolon and Parquet files', () => {
    // Before: one cell "\uFEFF102" (files joined together leave the second's mark mid-file) made the whole column text,
    // dropped as not numeric with every other value in it.
    for (const text of ['time,down,up\n2018-01-01 00:00:00,\uFEFF102,1\n2018-01-01 00:02:00,1\uFEFF03 ,2\n', 'time;down;up\n2018-01-01 00:00:00;\uFEFF102;1\n2018-01-01 00:02:00;1\uFEFF03;2\n']) {
      const table = readTableBytes(csv(text), 'x.csv');
      expect(table.droppedColumns).toEqual([]);
      expect(Array.from(table.frame.values.down)).toEqual([102, 103]);
    }
    const parquet = pl.DataFrame({ time: ['2018-01-01 00:00:00', '2018-01-01 00:02:00'], down: ['\uFEFF102', '103'] }).writeParquet();
    expect(Array.from(readTableBytes(parquet, 'x.parquet').frame.values.down)).toEqual([102, 103]);
  });

  it('names Parquet columns without the spaces around them, as CSV columns, and refuses two names that are one without them', () => {
    // Before: " down" beside "down" was two columns of a Parquet file, where the same table as CSV was refused, and
    // " time" was no time column.
    const time = pl.Series(' time ', ['2018-01-01 00:00:00', '2018-01-01 00:02:00']);
    const table = readTableBytes(pl.DataFrame([time, pl.Series(' down', [1, 2], pl.Float64)]).writeParquet(), 'x.parquet');
    expect(table.frame.columns).toEqual(['down']);
    const twice = pl.DataFrame([time, pl.Series('down', [1, 2], pl.Float64), pl.Series(' down', [3, 4], pl.Float64)]).writeParquet();
    expect(() => readTableBytes(twice, 'x.parquet')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: 'x.parquet: The Parquet schema names column "down" twice; name each column once.' }));
    expect(() => readTableBytes(csv('time,down, down\n2018-01-01 00:00:00,1,3\n'), 'x.csv')).toThrow(expect.objectContaining({ message: 'x.csv: The header names column "down" twice; name each column once.' }));
  });

  it('reads spaces around names and numbers, and missing-value tokens, the same in comma, semicolon and Parquet files', () => {
    // Before: "time, down" named its columns " down" (and "time " had no time column), "5 " dropped its whole
    // column as text while " 5" read as 5, and NA dropped a semicolon file's column that a comma file kept.
    const expected = { columns: ['down', 'up'], down: [5, Number.NaN, 7], up: [1, 2, 3] };
    const files = [
      'time, down, up\n2018-01-01 00:00:00, 5, 1\n2018-01-01 00:02:00, NA , 2\n2018-01-01 00:04:00,7 ,3\n',
      'time ;down ;up\n2018-01-01 00:00:00;5 ;1\n2018-01-01 00:02:00;NA;2\n2018-01-01 00:04:00; 7,0;3\n',
      'time\tdown\tup\n2018-01-01 00:00:00\t5\t1\n2018-01-01 00:02:00\tnan\t2\n2018-01-01 00:04:00\t7\t3\n',
    ];
    const tables = [...files.map((text) => readTableBytes(csv(text), 'x.csv'))];
    const parquetText = pl.DataFrame({ time: ['2018-01-01 00:00:00', '2018-01-01 00:02:00', '2018-01-01 00:04:00'], down: ['5 ', 'NA', ' 7'], up: [1, 2, 3] }).writeParquet();
    tables.push(readTableBytes(parquetText, 'x.parquet'));
    for (const table of tables) {
      expect(table.droppedColumns).toEqual([]);
      expect(table.frame.columns).toEqual(expected.columns);
      expect(Array.from(table.frame.values.down)).toEqual(expected.down);
      expect(Array.from(table.frame.values.up)).toEqual(expected.up);
      expect(Array.from(table.frame.time)).toEqual([0, 2, 4].map((minute) => Date.UTC(2018, 0, 1, 0, minute)));
    }
    // A word is still a word: the column is dropped, with or without spaces around it.
    expect(readTableBytes(csv('time, v, w\n2018-01-01 00:00:00, 1, x \n'), 'x.csv').droppedColumns).toEqual(['w']);
  });

  it('names a time column written in another case instead of taking it for time', () => {
    expect(() => readTableBytes(csv('Time,v\n2018-01-01 00:00:00,1\n'), 'x.csv')).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_MISSING_TIME_COLUMN', message: expect.stringContaining('there is "Time"'), hint: "Rename the column \"Time\" to 'time'." }),
    );
  });

  it('reads a separator inside a quoted name as part of the name, in comma and semicolon files', () => {
    // Was: a semicolon file read as comma-separated (every row ragged), and "a,v,b" read as naming v twice.
    const semicolon = readTableBytes(csv('time;"a,b"\n2018-01-01 00:00:00;1,5\n2018-01-01 00:02:00;2\n'), 'x.csv');
    expect(semicolon.frame.columns).toEqual(['a,b']);
    expect(Array.from(semicolon.frame.values['a,b'])).toEqual([1.5, 2]);
    const comma = readTableBytes(csv('time,"a,v,b",v\n2018-01-01 00:00:00,1,2\n2018-01-01 00:02:00,4,5\n'), 'x.csv');
    expect(comma.frame.columns).toEqual(['a,v,b', 'v']);
    expect(Array.from(comma.frame.values.v)).toEqual([2, 5]);
    expect(() => readTableBytes(csv('time,"v,w","v,w"\n2018-01-01 00:00:00,1,2\n'), 'x.csv')).toThrow(/names column "v,w" twice/);
    expect(() => readTableBytes(csv('time,"v\n2018-01-01 00:00:00,1\n'), 'x.csv')).toThrow(/CSV line 1 opens a quoted field that is never closed/);
  });

  it("reads the separator from Excel's first line 'sep=;' and the header after it", () => {
    // Before, "sep=;" was taken for the header: every row was ragged (FLTS_DATA_UNREADABLE, line 2 has 3 fields).
    for (const text of ['sep=;\ntime;v;w\n2018-01-01 00:00:00;1,5;2\n', '\uFEFFsep=,\r\ntime,v,w\r\n2018-01-01 00:00:00,1.5,2\r\n', 'sep=|\ntime|v|w\n2018-01-01 00:00:00|1.5|2\n']) {
      const table = readTableBytes(csv(text), 'x.csv');
      expect(table.frame.columns).toEqual(['v', 'w']);
      expect(Array.from(table.frame.values.v)).toEqual([1.5]);
    }
  });

  it('refuses a header naming a column twice, in comma and semicolon files', () => {
    for (const text of ['time,down,up,down\n2018-01-01 00:00:00,1,2,3\n', 'time;down;down\n2018-01-01 00:00:00;1,5;2\n']) {
      expect(() => readTableBytes(csv(text), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining('"down" twice') }));
    }
  });

  it('reads infinite cells (inf, -Infinity, 1e400) as missing and counts them', () => {
    const table = readTableBytes(csv('time,v,w\n2018-01-01 00:00:00,1,inf\n2018-01-01 00:02:00,1e400,2\n2018-01-01 00:04:00,-Infinity,3\n2018-01-01 00:06:00,4,5\n'), 'x.csv');
    expect(table.infiniteCells).toBe(3);
    expect(Array.from(table.frame.values.v)).toEqual([1, Number.NaN, Number.NaN, 4]);
    expect(Array.from(table.frame.values.w)).toEqual([Number.NaN, 2, 3, 5]);
    expect(readTableBytes(csv('time,v\n2018-01-01 00:00:00,1\n'), 'x.csv').infiniteCells).toBe(0);
  });

  it('sorts rows by time, keeping each row whole', () => {
    const { frame } = readTableBytes(csv('time,v\n2018-01-01 00:04:00,3\n2018-01-01 00:00:00,1\n2018-01-01 00:02:00,2\n'), 'x.csv');
    expect(Array.from(frame.values.v)).toEqual([1, 2, 3]);
    expect(frame.time[0]).toBe(Date.UTC(2018, 0, 1, 0, 0));
  });

  it('rejects a table with no numeric column', () => {
    expect(() => readTableBytes(csv('time,site\n2018-01-01 00:00:00,a\n'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_NO_NUMERIC_COLUMNS' }));
  });

  it('reads Parquet written by flts', () => {
    const source = { time: Float64Array.of(Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 1, 0, 2)), columns: ['a'], values: { a: Float64Array.of(1, Number.NaN) } };
    const { frame, format } = readTableBytes(encodeFrameParquet(source), 'x.parquet');
    expect(format).toBe('parquet');
    expect(Array.from(frame.time)).toEqual(Array.from(source.time));
    expect(frame.values.a[0]).toBe(1);
    expect(frame.values.a[1]).toBeNaN();
  });

  // Written by pyarrow: polars cannot write a schema naming a column twice, nor binary columns.
  const parquetFixture = (name: string): Buffer => readFileSync(path.join(PARQUET_FIXTURES, name));

  it('reads INT96 Parquet times (Spark, Hive, Impala) as the instants they are, beyond the years of 64-bit nanoseconds', () => {
    // Written by test/fixtures/parquet/make-int96.py; a time of 1600 or 2300 read through int64 nanoseconds wraps around.
    const table = readTableBytes(parquetFixture('int96-times.parquet'), 'x.parquet');
    expect(Array.from(table.frame.time)).toEqual([Date.UTC(1600, 0, 1), Date.UTC(2018, 1, 5, 23, 40), Date.UTC(2300, 0, 1)]);
    expect(table.frame.columns).toEqual(['v']);
    expect(Array.from(table.frame.values.v)).toEqual([1, 2, 3]);
    // A second INT96 column is a datetime as any other Parquet one: not a feature counted in microseconds since 1970.
    expect(table.droppedColumns).toEqual(['logged']);
  });

  // Before, both were read as two columns: a target list typed with the other case took the other one without a word.
  it('refuses names that differ only in case, naming both, in CSV and Parquet files alike', () => {
    const times = ['2018-01-01 00:00:00', '2018-01-01 00:02:00'];
    const files: [string, Buffer][] = [
      ['x.csv', csv(`time,Down,up,down\n${times[0]},1,2,3\n${times[1]},4,5,6\n`)],
      ['x.csv', csv(`time;Down;up;down\n${times[0]};1;2;3\n${times[1]};4;5;6\n`)],
      ['x.parquet', pl.DataFrame({ time: times, Down: [1, 4], up: [2, 5], down: [3, 6] }).writeParquet()],
    ];
    for (const [source, bytes] of files) {
      expect(() => readTableBytes(bytes, source), source).toThrow(
        expect.objectContaining({
          code: 'FLTS_DATA_UNREADABLE',
          message: expect.stringMatching(/names columns "Down" and "down", which differ only in case/),
          details: expect.objectContaining({ columns: ['Down', 'down'] }),
        }),
      );
    }
    // TIME beside time was read as a text column and dropped; now it is named as the other's twin.
    expect(() => readTableBytes(csv(`TIME,time,v\n${times[0]},${times[0]},1\n`), 'x.csv')).toThrow(expect.objectContaining({ details: expect.objectContaining({ columns: ['TIME', 'time'] }) }));
    // Names that differ otherwise are read as before.
    expect(readTableBytes(csv(`time,Down,down_2\n${times[0]},1,2\n`), 'x.csv').frame.columns).toEqual(['Down', 'down_2']);
  });

  // Before, a Parquet column "do\0wn" was read and carried on, and "time\0" was no time column, listed as "time ".
  it('refuses a Parquet column name holding a NUL, as a CSV header holding one', () => {
    const times = ['2018-01-01 00:00:00', '2018-01-01 00:02:00'];
    for (const [name, other] of [['do\u0000wn', 'up'], ['time\u0000', 'up'], ['down', 'up\u0000']]) {
      const columns = { [name === 'time\u0000' ? name : 'time']: times, ...(name === 'time\u0000' ? {} : { [name]: [1, 2] }), [other]: [3, 4] };
      const bytes = pl.DataFrame(columns).writeParquet();
      const nul = name.includes('\u0000') ? name : other;
      expect(() => readTableBytes(bytes, 'x.parquet'), JSON.stringify(nul)).toThrow(
        expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: `x.parquet: The Parquet schema names a column ${JSON.stringify(nul)}, with a NUL character in it; name columns with printable text.` }),
      );
    }
    expect(() => readTableBytes(csv(`time,do\u0000wn\n${times[0]},1\n`), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining('NUL') }));
  });

  // Before, each of these names was read and carried on into file names, logs, chart labels and answers: an escape
  // sequence restyled the terminal, a line break forged a log line, U+202E showed the name turned round.
  it('refuses control characters and bidirectional controls in a column name, in CSV and Parquet, the name shown escaped', () => {
    const times = ['2018-01-01 00:00:00', '2018-01-01 00:02:00'];
    const cases: [string, string, string][] = [
      ['do\u0001wn', 'U+0001', 'the control character U+0001'],
      ['do\u001b[31mwn', 'U+001B', 'the control character U+001B'],
      ['do\twn', 'U+0009', 'a tab'],
      ['do\u007fwn', 'U+007F', 'the control character U+007F'],
      ['do\u0085wn', 'U+0085', 'the control character U+0085'],
      ['do\u2028wn', 'U+2028', 'a line break (U+2028)'],
      ['down\u202eanwod', 'U+202E', 'the bidirectional control U+202E'],
      ['\u2067down', 'U+2067', 'the bidirectional control U+2067'],
      ['down\u200f', 'U+200F', 'the bidirectional control U+200F'],
    ];
    for (const [name, character, described] of cases) {
      const escaped = JSON.stringify(name).replace(/[\u007f-\u009f\u200f\u2028\u202e\u2067]/gu, (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`);
      const parquet = pl.DataFrame({ time: times, [name]: [1, 2], up: [3, 4] }).writeParquet();
      for (const [bytes, source, where] of [[csv(`time,"${name}",up\n${times[0]},1,2\n`), 'x.csv', 'header'], [parquet, 'x.parquet', 'Parquet schema']] as const) {
        let thrown: unknown;
        try {
          readTableBytes(bytes, source);
        } catch (error) {
          thrown = error;
        }
        expect(thrown, `${source} ${escaped}`).toMatchObject({
          code: 'FLTS_DATA_UNREADABLE',
          message: `${source}: The ${where} names a column ${escaped}, with ${described} in it; name columns with printable text.`,
          details: expect.objectContaining({ column: name, character }),
        });
        // The message itself holds none of the characters: it prints as itself wherever it is shown.
        expect((thrown as Error).message).not.toMatch(/[\p{Cc}\p{Bidi_Control}\u2028\u2029]/u);
      }
    }
    // Names in other scripts, accents, emoji (a joiner included) and spaces inside are read as before.
    const named = readTableBytes(csv(`time,Bajada ñ,下り,שלום,👩‍💻 rate\n${times[0]},1,2,3,4\n`), 'x.csv');
    expect(named.frame.columns).toEqual(['Bajada ñ', '下り', 'שלום', '👩‍💻 rate']);
  });

  it('shows a one-column header with its bidirectional controls escaped', () => {
    expect(() => readTableBytes(csv('time|do\u202ewn\n2018-01-01 00:00:00|1\n'), 'x.csv')).toThrow(expect.objectContaining({ message: expect.stringContaining('"time|do\\u202ewn" reads as one column') }));
  });

  it('refuses a Parquet schema naming a column twice, as a CSV header', () => {
    // Before, polars kept the second "a" (10, 20, 30) and the first was lost without a word.
    expect(() => readTableBytes(parquetFixture('duplicate-names.parquet'), 'dup.parquet')).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: 'dup.parquet: The Parquet schema names column "a" twice; name each column once.' }),
    );
  });

  it('drops binary and nested Parquet columns unread, and refuses a binary time column', () => {
    // Before, nodejs-polars panicked converting them (its message on stderr) and preprocess failed with FLTS_INTERNAL.
    const table = readTableBytes(parquetFixture('binary-and-nested.parquet'), 'x.parquet');
    expect(table.frame.columns).toEqual(['a', 'b']);
    expect(table.droppedColumns).toEqual(['bytes', 'point', 'pair']);
    expect(Array.from(table.frame.values.b)).toEqual([4, 5, 6]);
    expect(Array.from(table.frame.time)).toEqual([0, 1, 2].map((minute) => Date.UTC(2024, 0, 1, 0, minute)));
    expect(() => readTableBytes(parquetFixture('binary-time.parquet'), 'x.parquet')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', message: expect.stringContaining("column 'time' holds binary") }));
  });

  it('reads a dictionary-encoded (categorical) Parquet text column as the same text unencoded', () => {
    // Before, a categorical column of '1.5', 'NA', '3' was dropped as not numeric; the same strings were read.
    const time = pl.Series('time', [0, 60_000, 120_000], pl.Float64).cast(pl.Int64).cast(pl.Datetime('ms'));
    const bytes = pl.DataFrame([time, pl.Series('a', ['1.5', 'NA', '3']).cast(pl.Categorical), pl.Series('site', ['x', 'y', 'x']).cast(pl.Categorical), pl.Series('grouped', ['1,234.5', '7', '1,000']).cast(pl.Categorical)]).writeParquet();
    const table = readTableBytes(bytes, 'x.parquet');
    expect(table.droppedColumns).toEqual(['site']);
    expect(Array.from(table.frame.values.a)).toEqual([1.5, Number.NaN, 3]);
    expect(Array.from(table.frame.values.grouped)).toEqual([1234.5, 7, 1000]);
  });

  it('reads a time column of epoch numbers by their size, as requests are read, and refuses other types whole', () => {
    // Before, every numeric time column was refused ("a number could be epoch seconds or milliseconds").
    const values = pl.Series('a', [1, 2], pl.Float64);
    const expected = [Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 0, 1)];
    for (const time of [pl.Series('time', [1_704_067_200, 1_704_067_260], pl.Int64), pl.Series('time', [1_704_067_200_000, 1_704_067_260_000], pl.Int64), pl.Series('time', [1_704_067_200e9, 1_704_067_260e9], pl.Float64)]) {
      expect(Array.from(readTableBytes(pl.DataFrame([time, values]).writeParquet(), 'x.parquet').frame.time)).toEqual(expected);
    }
    expect(Array.from(readTableBytes(csv('time,v\n1704067200,1\n1704067260,2\n'), 'x.csv').frame.time)).toEqual(expected);
    expect(() => readTableBytes(pl.DataFrame([pl.Series('time', [1.5, 2.5], pl.Float64), values]).writeParquet(), 'x.parquet')).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', message: expect.stringMatching(/^x\.parquet: row 1 has time "1\.5": a number too small to tell its unit/) }),
    );
    expect(() => readTableBytes(csv('time,v\n1704067200,1\n1704067260000,2\n'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', message: expect.stringContaining('row 2 has time "1704067260000": epoch milliseconds by its size') }));
    expect(() => readTableBytes(pl.DataFrame([pl.Series('time', [true, false]), values]).writeParquet(), 'x.parquet')).toThrow(expect.objectContaining({ message: expect.stringContaining('holds values of type Bool') }));
  });

  it('reads a digits-only time column of a CSV or Parquet file as the dates it spells', () => {
    // Before, this CSV's times were epoch microseconds of 1970-08-23 and the Parquet's yyyyMMdd refused.
    const expected = [Date.UTC(2018, 6, 22, 10, 52, 3), Date.UTC(2018, 6, 22, 10, 54, 3)];
    expect(Array.from(readTableBytes(csv('time,v\n20180722105203,1\n20180722105403,2\n'), 'x.csv').frame.time)).toEqual(expected);
    const days = pl.DataFrame([pl.Series('time', [20_180_722, 20_180_723], pl.Int64), pl.Series('v', [1, 2], pl.Float64)]);
    expect(Array.from(readTableBytes(days.writeParquet(), 'x.parquet').frame.time)).toEqual([Date.UTC(2018, 6, 22), Date.UTC(2018, 6, 23)]);
  });

  it('counts rows out of time order and describes the steps of the times kept', () => {
    const table = readTableBytes(csv('time,v\n2024-01-01 00:04:00,3\n2024-01-01 00:00:00,1\n2024-01-01 00:02:00,2\n2024-01-01 00:30:00,4\n2024-01-01 00:32:00,5\n'), 'x.csv');
    expect(table.unorderedRows).toBe(1);
    expect(table.timeSteps).toEqual({ step_ms: 120_000, gaps: 1, short_steps: 0, largest_gap: { after_row: 2, from: '2024-01-01T00:04:00', to: '2024-01-01T00:30:00', ms: 1_560_000 } });
    expect(readTableBytes(csv('time,v\n2024-01-01 00:00:00,1\n'), 'one.csv').timeSteps).toBeUndefined();
  });

  it('drops a Parquet date or datetime column besides time, as the same column in a CSV is dropped', () => {
    // Before, it became a feature of microseconds (or days) since 1970.
    const time = pl.Series('time', [0, 60_000], pl.Float64).cast(pl.Int64).cast(pl.Datetime('ms'));
    const bytes = pl.DataFrame([time, time.alias('created'), pl.Series('a', [1, 2], pl.Float64)]).writeParquet();
    const table = readTableBytes(bytes, 'x.parquet');
    expect(table.frame.columns).toEqual(['a']);
    expect(table.droppedColumns).toEqual(['created']);
    expect(readTableBytes(csv('time,created,a\n2018-01-01 00:00:00,2018-01-01 00:00:00,1\n'), 'x.csv').droppedColumns).toEqual(['created']);
  });

  it('holds Parquet datetimes to years 0000-9999, as CSV and request times are', () => {
    // Before, a datetime of year 160000 was read (printed as "5000000000000000 ms since the epoch") and failed
    // only when a forecast was asked for after it.
    const parquet = (ms: number[]): Buffer => pl.DataFrame([pl.Series('time', ms, pl.Float64).cast(pl.Int64).cast(pl.Datetime('ms')), pl.Series('a', ms.map((_, i) => i), pl.Float64)]).writeParquet();
    expect(() => readTableBytes(parquet([5e15, 5e15 + 60_000]), 'far.parquet')).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS', message: 'far.parquet: row 1 has time 5000000000000000 ms since the epoch, outside years 0000-9999.' }),
    );
    expect(() => readTableBytes(parquet([-7e13, 0]), 'early.parquet')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_INVALID_TIMESTAMPS' }));
    const edges = readTableBytes(parquet([MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS - 999]), 'edges.parquet');
    expect(Array.from(edges.frame.time)).toEqual([MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS - 999]);
  });

  it('refuses a Parquet file whose footer declares more columns than the limit, before polars reads it', () => {
    // FileMetaData: version (field 1) = 2, then the schema list header (field 2) declaring the root and 10,001 fields.
    const footer = Buffer.from([0x15, 0x04, 0x19, 0xfc, 0x92, 0x4e]);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(footer.length, 0);
    trailer.write('PAR1', 4, 'latin1');
    const declared = Buffer.concat([Buffer.from('PAR1'), footer, trailer]);
    expect(() => readTableBytes(declared, 'wide.parquet')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', details: expect.objectContaining({ columns: MAX_TABLE_COLUMNS + 1 }) }));
  });

  it('reports a missing file with its own code', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-read-'));
    await expect(readTable(path.join(dir, 'absent.csv'))).rejects.toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND' });
    writeFileSync(path.join(dir, 'ok.csv'), 'time,v\n2018-01-01 00:00:00,1\n');
    await expect(readTable(path.join(dir, 'ok.csv'))).resolves.toMatchObject({ format: 'csv' });
  });
});

describe('core > data > read-table input limits', () => {
  it('refuses a device before reading it, and a file over the size limit', async () => {
    await expect(readFileBytes('/dev/zero')).rejects.toMatchObject({ code: 'FLTS_DATA_NOT_A_FILE' });
    await expect(readFileBytes(os.tmpdir())).rejects.toMatchObject({ code: 'FLTS_DATA_NOT_A_FILE', message: /is a directory/ });
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'flts-read-')), 'big.csv');
    writeFileSync(file, 'time,x\n2018-01-01 00:00:00,1\n');
    await expect(readFileBytes(file, 10)).rejects.toMatchObject({ code: 'FLTS_DATA_TOO_LARGE' });
    expect((await readFileBytes(file, 1000)).length).toBeGreaterThan(10);
  });

  it('refuses a CSV of more rows than data.maxInputRows before building its table, blank lines counted, naming the count, limit and setting', async () => {
    const rows = (count: number) => Array.from({ length: count }, (_, i) => `2018-02-05 23:${String(i).padStart(2, '0')}:00,${i}\n`).join('');
    const refused = expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', details: expect.objectContaining({ rows: 4, limit: 3 }) });
    expect(readTableBytes(csv(`time,v\n${rows(3)}`), 'x.csv', { maxRows: 3 }).frame.time).toHaveLength(3);
    expect(() => readTableBytes(csv(`time,v\n${rows(4)}`), 'x.csv', { maxRows: 3 })).toThrow(refused);
    expect(() => readTableBytes(csv(`time,v\n${rows(4)}`), 'x.csv', { maxRows: 3 })).toThrow('x.csv: The file has 4 rows (blank lines included), more than the limit of 3 (FLTS_DATA_MAX_INPUT_ROWS).');
    // Blank lines and rows of empty cells cost the reader a row each: counted, though they are left out once read.
    expect(() => readTableBytes(csv(`time,v\n${rows(2)}\n\n`), 'x.csv', { maxRows: 3 })).toThrow(refused);
    expect(() => readTableBytes(csv(`time,v\n${rows(3)},\n`), 'x.csv', { maxRows: 3 })).toThrow(refused);
    // A last row without a line break is a row; a line break inside a quoted value is not; a semicolon file counts alike.
    expect(() => readTableBytes(csv(`time,v\n${rows(3)}2018-02-06 00:00:00,9`), 'x.csv', { maxRows: 3 })).toThrow(refused);
    expect(readTableBytes(csv(`time,v,note\n${rows(3).replaceAll('\n', ',"a\nb"\n')}`), 'x.csv', { maxRows: 3 }).frame.time).toHaveLength(3);
    expect(() => readTableBytes(csv(`time;v\n${rows(4).replaceAll(',', ';')}`), 'x.csv', { maxRows: 3 })).toThrow(refused);
    // Through readTable and the reading thread too.
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'flts-read-')), 'tall.csv');
    writeFileSync(file, `time,v\n${rows(4)}`);
    await expect(readTable(file, undefined, { maxRows: 3 })).rejects.toMatchObject({ code: 'FLTS_DATA_TOO_LARGE', details: { rows: 4, limit: 3 } });
    await expect(readTableBytesOffThread(csv(`time,v\n${rows(4)}`), 'x.csv', { maxRows: 3 })).rejects.toMatchObject({ code: 'FLTS_DATA_TOO_LARGE', details: { rows: 4, limit: 3 } });
  });

  it('refuses a Parquet file whose footer declares more rows than data.maxInputRows, before polars reads it', () => {
    const time = Float64Array.from({ length: 4 }, (_, i) => Date.UTC(2018, 1, 5, 23, 40 + 2 * i));
    const parquet = encodeFrameParquet({ time, columns: ['v'], values: { v: Float64Array.of(1, 2, 3, 4) } });
    expect(readTableBytes(parquet, 'x.parquet', { maxRows: 4 }).frame.time).toHaveLength(4);
    expect(() => readTableBytes(parquet, 'x.parquet', { maxRows: 3 })).toThrow(expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', message: 'x.parquet: The file has 4 rows (as its footer declares), more than the limit of 3 (FLTS_DATA_MAX_INPUT_ROWS).', details: expect.objectContaining({ rows: 4, limit: 3 }) }));
    // A footer whose total (1 row) is smaller than its row groups' own counts (5 rows) is held to the row groups.
    // FileMetaData: num_rows (field 3) = 1, row_groups (field 4) = [{ num_rows (field 3) = 5 }].
    const footer = Buffer.from([0x36, 0x02, 0x19, 0x1c, 0x36, 0x0a, 0x00, 0x00]);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(footer.length, 0);
    trailer.write('PAR1', 4, 'latin1');
    const understated = Buffer.concat([Buffer.from('PAR1'), footer, trailer]);
    expect(() => readTableBytes(understated, 'x.parquet', { maxRows: 3 })).toThrow(expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', details: expect.objectContaining({ rows: 5, limit: 3 }) }));
  });

  it('refuses a table of more cells than data.maxInputCells before building it, a Parquet file by its footer', () => {
    // Before, only rows were bounded: a Parquet file of constant columns holds millions of rows in kilobytes, and
    // 4 million rows of 50 columns in a 160 kB file took 3.5 GB to read, within every limit.
    const time = Float64Array.from({ length: 4 }, (_, i) => Date.UTC(2018, 1, 5, 23, 40 + 2 * i));
    const parquet = encodeFrameParquet({ time, columns: ['v', 'w'], values: { v: Float64Array.of(1, 2, 3, 4), w: Float64Array.of(1, 1, 1, 1) } });
    expect(readTableBytes(parquet, 'x.parquet', { maxCells: 12 }).frame.time).toHaveLength(4);
    expect(() => readTableBytes(parquet, 'x.parquet', { maxCells: 11 })).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', message: 'x.parquet: The file has 4 rows of 3 columns (12 cells, as its footer declares), more than the limit of 11 cells (FLTS_DATA_MAX_INPUT_CELLS).', details: expect.objectContaining({ rows: 4, columns: 3, cells: 12, limit: 11 }) }),
    );
    const text = csv('time,v,w\n2018-01-01 00:00:00,1,1\n2018-01-01 00:02:00,2,1\n\n');
    expect(readTableBytes(text, 'x.csv', { maxCells: 9 }).frame.time).toHaveLength(2);
    expect(() => readTableBytes(text, 'x.csv', { maxCells: 8 })).toThrow(expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', details: expect.objectContaining({ rows: 3, columns: 3, cells: 9, limit: 8 }) }));
  });

  it('refuses a Parquet file whose pages decompress to more than the bound, whatever rows its footer declares', () => {
    // Before, only the footer's counts were checked: pages are decompressed whole, and a 50 kB file declaring 1000
    // rows over a page of 64 million took 700 MB and most of a second to read (a gigabyte of them, hours).
    const rows = 20_000;
    const table = pl.DataFrame([pl.Series('time', Array.from({ length: rows }, (_, i) => i * 60_000 + 1.5e12), pl.Float64), pl.Series('v', new Float64Array(rows).fill(1), pl.Float64)]);
    const bytes = Buffer.from(table.writeParquet({ compression: 'zstd' }));
    expect(bytes.length).toBeLessThan(100_000);
    expect(readTableBytes(bytes, 'x.parquet', { maxDecodedBytes: 2 * 8 * rows + 1000 }).frame.time).toHaveLength(rows);
    const refused = expect.objectContaining({ code: 'FLTS_DATA_TOO_LARGE', message: expect.stringMatching(/^x\.parquet: The file's pages decompress to \d+ bytes, more than the limit of 100000 flts reads from a Parquet file \(FLTS_DATA_MAX_PARQUET_DECODED_BYTES\)\.$/) });
    expect(() => readTableBytes(bytes, 'x.parquet', { maxDecodedBytes: 100_000 })).toThrow(refused);
    // The footer's counts (20000 rows: 3-byte varints) rewritten to 10 in as many bytes: polars would read 10 rows.
    const footerLength = bytes.readUInt32LE(bytes.length - 8);
    const footerStart = bytes.length - 8 - footerLength;
    const understated = Buffer.from(bytes);
    const count = Buffer.from([0xc0, 0xb8, 0x02]);
    for (let at = understated.indexOf(count, footerStart); at >= 0; at = understated.indexOf(count, at + 3)) understated.set([0x94, 0x80, 0x00], at);
    expect(readTableBytes(understated, 'x.parquet').frame.time).toHaveLength(10);
    expect(() => readTableBytes(understated, 'x.parquet', { maxDecodedBytes: 100_000 })).toThrow(refused);
  });

  it('refuses a Parquet file whose footer or page headers cannot be walked, naming the file and the part, as no bound could hold it', () => {
    // Before, the bounds were skipped for such a file and polars read it unchecked, refusing it (if at all) in its own words.
    const rows = 100;
    const bytes = Buffer.from(pl.DataFrame([pl.Series('time', Array.from({ length: rows }, (_, i) => i * 60_000 + 1.5e12), pl.Float64), pl.Series('v', Array.from({ length: rows }, (_, i) => i), pl.Float64)]).writeParquet({ compression: 'snappy' }));
    expect(readTableBytes(bytes, 'x.parquet').frame.time).toHaveLength(rows);
    const refused = (part: 'footer' | 'pages') =>
      expect.objectContaining({
        code: 'FLTS_DATA_UNREADABLE',
        message: expect.stringMatching(new RegExp(`^cut\\.parquet: cannot read the file as Parquet: its ${part === 'footer' ? 'footer' : 'page headers'} .* cannot be read, so the size of what it decompresses to cannot be bounded\\.`)),
        details: expect.objectContaining({ source: 'cut.parquet', part }),
      });
    // A copy cut short: no footer at the end.
    expect(() => readTableBytes(bytes.subarray(0, bytes.length - 1), 'cut.parquet')).toThrow(refused('footer'));
    // The footer's length pointing before the file's start.
    const longFooter = Buffer.from(bytes);
    longFooter.writeUInt32LE(bytes.length, bytes.length - 8);
    expect(() => readTableBytes(longFooter, 'cut.parquet')).toThrow(refused('footer'));
    // The first page header (at byte 4) made an unknown Thrift type.
    const badHeader = Buffer.from(bytes);
    badHeader[4] = 0xff;
    expect(() => readTableBytes(badHeader, 'cut.parquet')).toThrow(refused('pages'));
    // The first page's uncompressed size (bytes 7-8, a two-byte zigzag varint) made negative.
    expect(bytes[6]).toBe(0x15);
    const negative = Buffer.from(bytes);
    negative.set([0xff, 0x7f], 7);
    expect(() => readTableBytes(negative, 'cut.parquet')).toThrow(refused('pages'));
  });

  it('refuses a CSV with a ragged row, naming the line', () => {
    expect(() => readTableBytes(csv('time,down,up\n2018-02-05 23:40:00,1,2\n2018-02-05 23:42:00,3\n'), 'x.csv')).toThrow(/line 3 has 2 fields, the header has 3/);
    expect(() => readTableBytes(csv('time,down,up\n2018-02-05 23:40:00,1,2,9\n'), 'x.csv')).toThrow(/line 2 has 4 fields/);
    expect(readTableBytes(csv('time,down,note\r\n2018-02-05 23:40:00,1,"a,b"\r\n'), 'x.csv').frame.time).toHaveLength(1);
  });

  it('names the encoding or line ends of a CSV it cannot read: UTF-16, a Latin-1 header, CR-only lines', () => {
    // Before: UTF-16 read as ragged rows or as columns named with NULs, a Latin-1 header as names holding U+FFFD,
    // and CR-only lines as a header with no data rows (FLTS_DATA_EMPTY).
    const text = 'time,v\n2018-01-01 00:00:00,1\n2018-01-01 00:02:00,2\n';
    const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const utf16be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    for (const bytes of [utf16le, utf16be]) expect(() => readTableBytes(bytes, 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining('UTF-16'), hint: expect.stringContaining('UTF-8') }));
    expect(() => readTableBytes(Buffer.from(text, 'utf16le'), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining('NUL bytes') }));
    const latin1 = Buffer.from('time,temp\xe9rature\n2018-01-01 00:00:00,1\n', 'latin1');
    expect(() => readTableBytes(latin1, 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining('not UTF-8') }));
    expect(() => readTableBytes(csv(text.replaceAll('\n', '\r')), 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining('carriage return alone') }));
    // A UTF-8 byte order mark, CRLF lines and a last line without its line break read as the plain file does.
    for (const variant of [`\uFEFF${text}`, text.replaceAll('\n', '\r\n'), text.trimEnd()]) {
      const table = readTableBytes(csv(variant), 'x.csv');
      expect(table.frame.columns).toEqual(['v']);
      expect(Array.from(table.frame.values.v)).toEqual([1, 2]);
    }
  });

  it('refuses a quote inside an unquoted value, which polars counts as opening a quoted field and its parser does not', () => {
    // Before, this file was read with column b dropped, and polars printed "CSV malformed" on stderr.
    expect(() => readTableBytes(csv('time,a,b\n2020-01-01 00:00:00,1,2"x\n2020-01-01 00:01:00,3,y"4\n2020-01-01 00:02:00,5,6\n'), 'x.csv')).toThrow(
      expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining('x.csv: CSV line 2 has a quote (") inside the unquoted value of field 3'), details: expect.objectContaining({ line: 2, field: 3 }) }),
    );
    expect(() => readTableBytes(csv('time,a\n2020-01-01 00:00:00,1\n2020-01-01 00:01:00,4 "\n'), 'x.csv')).toThrow(/CSV line 3 has a quote/);
    // Quotes in pairs keep both counts in step: the value is text, its column dropped as before.
    expect(readTableBytes(csv('time,a,b\n2020-01-01 00:00:00,1,a""b\n2020-01-01 00:01:00,3,4\n'), 'x.csv').droppedColumns).toEqual(['b']);
    // A quoted value may hold a quote (doubled), a separator or a line break.
    const quoted = readTableBytes(csv('time,a,note\n2020-01-01 00:00:00,1,"say ""hi"",\nthen"\n2020-01-01 00:01:00,2,x\n'), 'x.csv');
    expect(Array.from(quoted.frame.values.a)).toEqual([1, 2]);
  });

  it('refuses a NUL byte in the rows, naming its line: a binary file, or the zeros a write cut short leaves', () => {
    const rows = 'time,a,b\n2020-01-01 00:00:00,1,2\n2020-01-01 00:01:00,3,4\n';
    const refused = (bytes: Buffer, line: number) => expect(() => readTableBytes(bytes, 'x.csv')).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining(`x.csv: CSV line ${line} holds a NUL byte`), details: expect.objectContaining({ line }) }));
    // Zeros at the end (was: "line 4 has 1 fields"), in a value (was: column b dropped as not numeric), in a time
    // (was: a time that is not a time), inside a quoted value, and binary bytes after a header (was: a quote inside a value).
    refused(Buffer.concat([csv(rows), Buffer.alloc(64)]), 4);
    refused(csv(rows.replace(',4', ',\u00004')), 3);
    refused(csv(rows.replace('00:01', '00:\u000001')), 3);
    refused(csv(rows.replace(',4', ',"4\u0000"')), 3);
    refused(Buffer.concat([csv('time,a\n'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x22, 0x00, 0x00, 0x08])]), 2);
  });
});
