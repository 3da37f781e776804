import type pl from 'nodejs-polars';
import { polars } from '../data/polars-module.js';
import { formatTimestamp } from '../data/timestamps.js';
import { formatByExtension } from '../file-format.js';
import type { BatchForecast } from './batch-forecast.js';
import { writeFileWhole, type WriteFileWholeOptions } from '../write-file-whole.js';

/** What the store keeps with a run (`batch.format`). */
export type ForecastTableFormat = 'parquet' | 'csv';
/** What a local forecast file may also be: JSON, an array of rows or one row a line. */
export type ForecastFileFormat = ForecastTableFormat | 'json' | 'jsonl';

const FORECAST_FILE_FORMATS: Readonly<Record<string, ForecastFileFormat>> = { '.parquet': 'parquet', '.pq': 'parquet', '.csv': 'csv', '.json': 'json', '.jsonl': 'jsonl' };

/** The format of a local forecast file (`flts predict --out`), by its extension. */
export function forecastFileFormat(file: string): ForecastFileFormat {
  return formatByExtension(file, FORECAST_FILE_FORMATS, 'out');
}

/**
 * How the times of a forecast table are written: Parquet keeps them typed (datetime, ms); a text format writes them
 * as the ISO text POST /predict answers with ("2024-01-10T00:00:00"), which polars would write otherwise in a way
 * of its own for each format (CSV with milliseconds, JSON with a space).
 */
export type ForecastTimes = 'datetime' | 'text';

/**
 * The forecasts next to the actuals: `time` (forecast timestamp), `origin` (last input row of the window),
 * `step`, then per target `<target>` (forecast) and `<target>_actual` (null where the data ends), and per target
 * and interval level `<target>_lower_<level>` / `<target>_upper_<level>` when the run has intervals.
 */
export function forecastTable(forecast: BatchForecast, times: ForecastTimes = 'datetime'): pl.DataFrame {
  const timeColumn = (name: string, values: Float64Array): pl.Series =>
    times === 'text' ? polars().Series(name, Array.from(values, formatTimestamp), polars().Utf8) : polars().Series(name, values, polars().Float64).cast(polars().Int64).cast(polars().Datetime('ms'));
  const nullable = (values: Float64Array): (number | null)[] => Array.from(values, (v) => (Number.isFinite(v) ? v : null));
  return polars().DataFrame([
    timeColumn('time', forecast.time),
    timeColumn('origin', forecast.origin),
    polars().Series('step', forecast.step, polars().Int32),
    ...forecast.targets.flatMap((target, t) => [polars().Series(target, nullable(forecast.predicted[t]), polars().Float64), polars().Series(`${target}_actual`, nullable(forecast.actual[t]), polars().Float64)]),
    ...forecast.targets.flatMap((target) =>
      Object.entries(forecast.intervals?.[target] ?? {}).flatMap(([level, band]) => [polars().Series(`${target}_lower_${level}`, nullable(band.lower), polars().Float64), polars().Series(`${target}_upper_${level}`, nullable(band.upper), polars().Float64)]),
    ),
  ]);
}

export function encodeForecastTable(forecast: BatchForecast, format: ForecastFileFormat): Buffer {
  if (format === 'parquet') return forecastTable(forecast).writeParquet({ compression: 'snappy' });
  const table = forecastTable(forecast, 'text');
  if (format === 'json') return table.writeJSON({ format: 'json' });
  if (format === 'jsonl') return table.writeJSON({ format: 'lines' });
  return Buffer.from(table.writeCSV().toString());
}

export async function writeForecastFile(forecast: BatchForecast, file: string, options: WriteFileWholeOptions = {}): Promise<ForecastFileFormat> {
  const format = forecastFileFormat(file);
  await writeFileWhole(file, encodeForecastTable(forecast, format), options);
  return format;
}
