import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { readParquetDecodedBytes } from './parquet-pages.js';

describe('core > data > parquet-pages', () => {
  it('sums the bytes every page of every row group decompresses to, dictionary pages included', () => {
    const rows = 10_000;
    const table = pl.DataFrame([pl.Series('v', new Float64Array(rows).fill(1), pl.Float64), pl.Series('site', Array.from({ length: rows }, (_, i) => `site ${i % 3}`), pl.Utf8)]);
    for (const compression of ['uncompressed', 'zstd'] as const) {
      const one = readParquetDecodedBytes(table.writeParquet({ compression })) ?? 0;
      // The float64 values themselves, and a dictionary of three names with an index per row besides.
      expect(one).toBeGreaterThanOrEqual(rows * 8 + 3 * 6);
      expect(one).toBeLessThan(rows * 8 + rows * 2);
      // Past polars' row group size (512 x 512 rows), a second row group.
      const tall = 600_000;
      expect(readParquetDecodedBytes(pl.DataFrame([pl.Series('v', new Float64Array(tall).fill(1), pl.Float64)]).writeParquet({ compression }))).toBeGreaterThanOrEqual(tall * 8);
    }
  });

  it('reads no size from a file it cannot walk, leaving the reader to name the problem', () => {
    const bytes = Buffer.from(pl.DataFrame({ v: [1.5, 2.5] }).writeParquet());
    expect(readParquetDecodedBytes(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(readParquetDecodedBytes(Buffer.from('PAR1 not a parquet file PAR1'))).toBeUndefined();
  });
});
