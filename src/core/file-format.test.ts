import { describe, expect, it } from 'vitest';
import { formatByExtension } from './file-format.js';

const FORMATS = { '.csv': 'csv', '.parquet': 'parquet' } as const;

describe('core > file-format', () => {
  it('reads the format from the extension, in any case', () => {
    expect(formatByExtension('out/Forecast.CSV', FORMATS, 'out')).toBe('csv');
    expect(formatByExtension('forecast.parquet', FORMATS, 'out')).toBe('parquet');
  });

  it('names the accepted extensions for another one', () => {
    expect(() => formatByExtension('forecast.txt', FORMATS, 'out')).toThrow('--out "forecast.txt": the extension decides the format written; end the name in .csv or .parquet.');
  });

  it('asks for a name before the extension when the name is only an extension', () => {
    // Before: '--out "out/.csv": ... end the name in .csv or .parquet', of a name that does end in .csv.
    expect(() => formatByExtension('out/.csv', FORMATS, 'out')).toThrow('--out "out/.csv": the name is only an extension; put a name before it (out/<name>.csv).');
  });
});
