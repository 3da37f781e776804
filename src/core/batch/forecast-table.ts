import { writeFile } from 'node:fs/promises';
import pl from 'nodejs-polars';
import type { BatchForecast } from './batch-forecast.js';

export type ForecastTableFormat = 'parquet' | 'csv';

export function tableFormatOf(file: string, fallback: ForecastTableFormat): ForecastTableFormat {
  if (/\.(parquet|pq)$/i.test(file)) return 'parquet';
  if (/\.csv$/i.test(file)) return 'csv';
  return fallback;
}

/**
 * The forecasts next to the actuals: `time` (forecast timestamp), `origin` (last input row of the window),
 * `step`, then per target `<target>` (forecast) and `<target>_actual` (null where the data ends), and per target
 * and interval level `<target>_lower_<level>` / `<target>_upper_<level>` when the run has intervals.
 */
export function forecastTable(forecast: BatchForecast): pl.DataFrame {
  const datetime = (name: string, values: Float64Array): pl.Series => pl.Series(name, values, pl.Float64).cast(pl.Int64).cast(pl.Datetime('ms'));
  const nullable = (values: Float64Array): (number | null)[] => Array.from(values, (v) => (Number.isFinite(v) ? v : null));
  return pl.DataFrame([
    datetime('time', forecast.time),
    datetime('origin', forecast.origin),
    pl.Series('step', forecast.step, pl.Int32),
    ...forecast.targets.flatMap((target, t) => [pl.Series(target, nullable(forecast.predicted[t]), pl.Float64), pl.Series(`${target}_actual`, nullable(forecast.actual[t]), pl.Float64)]),
    ...forecast.targets.flatMap((target) =>
      Object.entries(forecast.intervals?.[target] ?? {}).flatMap(([level, band]) => [pl.Series(`${target}_lower_${level}`, nullable(band.lower), pl.Float64), pl.Series(`${target}_upper_${level}`, nullable(band.upper), pl.Float64)]),
    ),
  ]);
}

export function encodeForecastTable(forecast: BatchForecast, format: ForecastTableFormat): Buffer {
  const table = forecastTable(forecast);
  if (format === 'parquet') return table.writeParquet({ compression: 'snappy' });
  return Buffer.from(table.writeCSV().toString());
}

export async function writeForecastFile(forecast: BatchForecast, file: string, fallback: ForecastTableFormat): Promise<ForecastTableFormat> {
  const format = tableFormatOf(file, fallback);
  await writeFile(file, encodeForecastTable(forecast, format));
  return format;
}
