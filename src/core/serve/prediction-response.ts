import { hash, randomUUID } from 'node:crypto';
import type { MatchedError } from '../live/live-scorer.js';
import type { PredictionLogRecord } from './prediction-log.js';
import type { PredictionResult } from './run-prediction.js';
import { formatTimestamp } from '../data/timestamps.js';
import type { RowIntervals } from '../forecast/forecast-intervals.js';
import { timeStepsWarning, type DataWarning } from '../data/time-steps.js';
import type { IgnoredColumnsWarning, IgnoredFieldsWarning } from './ignored-fields.js';

/** What a served answer may warn of: the request's fields and columns it did not read, and its rows' uneven steps. */
export type ResponseWarning = IgnoredFieldsWarning | IgnoredColumnsWarning | DataWarning;

/** Per target, per level key: [lower, upper], or [null, null] for a level the run had too few calibration windows for. */
export type ResponseIntervals = Record<string, Record<string, [number | null, number | null]>>;

/** One forecast row: the timestamp, each target's value and, on the steps its run calibrated, its prediction intervals. */
export type PredictionRow = { ts: string; intervals?: ResponseIntervals } & Record<string, number | null | string | ResponseIntervals>;

export interface PredictResponse {
  status: 'SUCCESS';
  identifier: string;
  run_id: string;
  model_type: string;
  config_hash: string;
  predictions: PredictionRow[];
  req_id: string;
  cached: false;
  inference_length: number;
  horizon: number;
  recursive: boolean;
  note?: string;
  source: PredictionResult['source'];
  /** Only when there is one: fields and columns of the request not read, the input window's uneven time steps (the forecast is made all the same). */
  warnings?: ResponseWarning[];
}

export function newRequestId(): string {
  // randomUUID draws from a pooled entropy buffer; a 4-byte randomBytes call per request costs a syscall.
  return randomUUID().slice(0, 8);
}

const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** A row's intervals with a level that has no band (NaN ends) as nulls, which JSON can carry; copied only then. */
function responseIntervals(intervals: NonNullable<RowIntervals>): ResponseIntervals {
  const unbanded = Object.values(intervals).some((levels) => Object.values(levels).some(([lower, upper]) => !Number.isFinite(lower) || !Number.isFinite(upper)));
  if (!unbanded) return intervals;
  return Object.fromEntries(Object.entries(intervals).map(([target, levels]) => [target, Object.fromEntries(Object.entries(levels).map(([level, [lower, upper]]) => [level, [finiteOrNull(lower), finiteOrNull(upper)]]))]));
}

export function predictionRows(result: PredictionResult): PredictionRow[] {
  const { time, values } = result.forecast;
  const rows: PredictionRow[] = new Array(time.length);
  for (let i = 0; i < time.length; i++) {
    const row: PredictionRow = { ts: formatTimestamp(time[i]) };
    result.targets.forEach((target, t) => (row[target] = finiteOrNull(values[t][i])));
    const intervals = result.intervals?.[i];
    if (intervals) row.intervals = responseIntervals(intervals);
    rows[i] = row;
  }
  return rows;
}

/**
 * What a forecast from request rows should come with: a warning when the rows the model reads are unevenly
 * spaced. Answered, not refused: a feed that drops a sample now and then still needs its forecast, and the
 * step, counts and largest gap let the client find the rows that are missing.
 */
export function predictionWarnings(result: PredictionResult): DataWarning[] {
  const warning = result.series && timeStepsWarning(result.series.timeSteps, "The rows the model reads (the request's last rows, its input window)");
  return warning ? [warning] : [];
}

/**
 * The reference response shape (7.4), plus which model answered and whether the forecast was recursive. `ignored`:
 * the request's fields the route did not read, warned of first, as they concern the request before its rows; then
 * the columns of its rows the model did not read, before what its rows' times say.
 */
export function buildPredictResponse(result: PredictionResult, identifier: string, reqId: string, ignored?: IgnoredFieldsWarning): PredictResponse {
  const length = result.forecast.time.length;
  const warnings: ResponseWarning[] = predictionWarnings(result);
  if (result.ignoredColumns) warnings.unshift(result.ignoredColumns);
  if (ignored) warnings.unshift(ignored);
  return {
    status: 'SUCCESS',
    identifier: identifier || 'default',
    run_id: result.run.runId,
    model_type: result.run.modelType,
    config_hash: result.run.configHash,
    predictions: predictionRows(result),
    req_id: reqId,
    cached: false,
    inference_length: length,
    horizon: result.horizon,
    recursive: result.forecast.recursive,
    ...(result.forecast.recursive
      ? { note: `inference_length ${length} exceeds the model horizon ${result.horizon}: steps after the first ${result.horizon} were forecast recursively from earlier predictions.` }
      : result.forecast.direct
        ? { note: `inference_length ${length} exceeds the model horizon ${result.horizon}: the model forecast every step from one fit of the input window.` }
        : {}),
    source: result.source,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** First 16 hex characters of SHA-256 over the first three prediction rows (the reference's fingerprint length). */
export function predictionHash(rows: readonly PredictionRow[]): string {
  // The one-shot form: no Hash object per request.
  return hash('sha256', JSON.stringify(rows.slice(0, 3)), 'hex').slice(0, 16);
}

/** Sample rows at the reference's positions {0, n/10, n/2, 9n/10, n-1}, first three target columns. */
function samples(rows: readonly PredictionRow[], targets: readonly string[]): unknown[] {
  const n = rows.length;
  // In ascending order for any n, so dropping repeats of the previous one leaves each position once.
  const positions: number[] = [];
  for (const p of [0, Math.floor(n / 10), Math.floor(n / 2), Math.floor((9 * n) / 10), n - 1]) if (p >= 0 && p < n && p !== positions[positions.length - 1]) positions.push(p);
  const columns = targets.slice(0, 3);
  return positions.map((step) => ({
    step,
    ts: rows[step].ts,
    pred: Object.fromEntries(columns.map((c) => [c, rows[step][c]])),
    actual: null,
    abs_err: null,
  }));
}

/**
 * The reference JSONL record. Forecasts always start after the last input row, so no actuals overlap them
 * and `metrics` carries only the fingerprint and row count (the reference's no-overlap case). `liveMatched`:
 * the earlier forecasts this request's rows completed, with their error per run (`live_matched`).
 */
export function buildPredictionLogRecord(response: PredictResponse, targets: readonly string[], now: Date, liveMatched: readonly MatchedError[] = []): PredictionLogRecord {
  const hash = predictionHash(response.predictions);
  return {
    timestamp: now.toISOString(),
    identifier: response.identifier,
    run_id: response.run_id,
    model_type: response.model_type,
    config_hash: response.config_hash,
    status: 'SUCCESS',
    req_id: response.req_id,
    prediction_hash: hash,
    metrics: { prediction_hash: hash, rows_predicted: response.predictions.length },
    samples: samples(response.predictions, targets),
    ...(liveMatched.length > 0 ? { live_matched: [...liveMatched] } : {}),
  };
}
