import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { decodeFrameParquet, encodeFrameParquet } from './frame-parquet.js';
import { addParquetKeyValueMetadata, readParquetKeyValueMetadata, readParquetRowCount, readParquetSchemaSize } from './parquet-footer.js';

const frame = { time: Float64Array.of(Date.UTC(2018, 1, 5, 23, 40), Date.UTC(2018, 1, 5, 23, 42)), columns: ['down', 'up'], values: { down: Float64Array.of(0.25, 0.5), up: Float64Array.of(1, 0) } };

describe('core > data > parquet-footer', () => {
  it('adds entries next to the existing ones and the file stays readable', () => {
    const plain = encodeFrameParquet(frame);
    const before = readParquetKeyValueMetadata(plain);
    const tagged = addParquetKeyValueMetadata(plain, { config_hash: 'abc', preprocess_config: '{"a":1}' });
    const after = readParquetKeyValueMetadata(tagged);
    expect(after).toMatchObject({ ...before, config_hash: 'abc', preprocess_config: '{"a":1}' });
    const df = pl.readParquet(tagged);
    expect(df.columns).toEqual(['time', 'down', 'up']);
    expect(String(df.dtypes[0])).toContain('Datetime');
    expect(Array.from(decodeFrameParquet(tagged, 't').values.down)).toEqual([0.25, 0.5]);
  });

  it('counts the schema fields from the footer alone, and undefined for what is not a Parquet footer', () => {
    expect(readParquetSchemaSize(encodeFrameParquet(frame))).toBe(3);
    expect(readParquetSchemaSize(Buffer.from('PAR1 not a footer PAR1'))).toBeUndefined();
    expect(readParquetSchemaSize(Buffer.from('time,down\n'))).toBeUndefined();
  });

  it('reads the row count the footer declares, and undefined for what is not a Parquet footer', () => {
    expect(readParquetRowCount(encodeFrameParquet(frame))).toBe(2);
    const tall = { time: Float64Array.from({ length: 70_000 }, (_, i) => i * 60_000), columns: ['v'], values: { v: new Float64Array(70_000) } };
    expect(readParquetRowCount(encodeFrameParquet(tall))).toBe(70_000);
    expect(readParquetRowCount(Buffer.from('PAR1 not a footer PAR1'))).toBeUndefined();
  });

  it("writes a value larger than a call's argument limit (the pandas entry of a wide table)", () => {
    const value = 'x'.repeat(2_000_000);
    const tagged = addParquetKeyValueMetadata(encodeFrameParquet(frame), { wide: value });
    expect(readParquetKeyValueMetadata(tagged).wide).toBe(value);
    expect(pl.readParquet(tagged).height).toBe(2);
  });

  it('replaces an existing key, handles many entries and non-ASCII text', () => {
    const first = addParquetKeyValueMetadata(encodeFrameParquet(frame), { config_hash: 'old' });
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(i * 50)]));
    const second = addParquetKeyValueMetadata(first, { config_hash: 'new', note: 'día ✓', ...many });
    const metadata = readParquetKeyValueMetadata(second);
    expect(metadata.config_hash).toBe('new');
    expect(metadata.note).toBe('día ✓');
    expect(metadata.k19).toHaveLength(950);
    expect(pl.readParquet(second).height).toBe(2);
  });

  it('flts Parquet carries pandas metadata naming time as the index', () => {
    const pandas = JSON.parse(readParquetKeyValueMetadata(encodeFrameParquet(frame)).pandas);
    expect(pandas.index_columns).toEqual(['time']);
    expect(pandas.columns.map((c: { name: string }) => c.name)).toEqual(['down', 'up', 'time']);
  });

  it('rejects bytes that are not Parquet', () => {
    expect(() => addParquetKeyValueMetadata(Buffer.from('not parquet at all'), { a: 'b' })).toThrow(/Parquet/);
  });
});
