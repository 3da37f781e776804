import { forecastWithIntervals, type RowIntervals } from '../forecast/forecast-intervals.js';
import { FltsError, isFltsError, isServiceRefusal } from '../errors.js';
import { historyFromFrame, type Forecast, type PredictWindows, type ScaledHistory } from '../forecast/recursive-forecast.js';
import type { ModelHolder } from './model-holder.js';
import type { ServedRunInfo } from './model-source.js';
import type { IgnoredColumnsWarning } from './ignored-fields.js';
import { parseRequestSeriesInTurns, type RequestSeries } from './request-frame.js';
import type { ServedModel, StoredTestWindow } from './served-model.js';

export interface PredictionInput {
  /** Column-oriented raw data; absent = forecast from the latest window of the stored test data. */
  data?: unknown;
  indexCol?: string;
  /** Forecast rows; absent = the configured default, or the model horizon. */
  inferenceLength?: number;
}

export interface PredictionResult {
  run: ServedRunInfo;
  targets: readonly string[];
  horizon: number;
  forecast: Forecast;
  /** Per forecast row, the prediction intervals (null past the calibrated steps); absent without a calibration. */
  intervals?: RowIntervals[];
  source: 'request' | 'stored-test-data';
  /** The request's rows as parsed (absent for stored test data): they carry the actuals of earlier forecasts. */
  series?: RequestSeries;
  /** The request's columns the model answering it does not read (absent when there are none, no rows were sent, or the caller did not ask: PredictionOptions). */
  ignoredColumns?: IgnoredColumnsWarning;
  /** Milliseconds spent waiting for forward passes (queueing included). */
  modelMs: number;
}

/** What a forecast is made with beyond its input: `signal` (the client left), and what its answer says besides the rows. */
export interface PredictionOptions {
  signal?: AbortSignal;
  /**
   * Whether the answer names the request's columns the model does not read (`ignoredColumns`): a /predict answer and a
   * library forecast do; an inference request names its unread inputs itself (`ignored_inputs`) and a shadow forecast
   * answers no one, so for them the warning was worked out, and its column set remembered, for nothing.
   */
  ignoredColumns?: boolean;
}

/** How long a client is told to wait when the store cannot give the test data: a store outage is seldom over in a second. */
const TEST_DATA_RETRY_AFTER_SEC = 5;

/**
 * The store failing the read of the test data (down, or refusing the server's credentials, certificate or access) is
 * the server's problem, not the client's: a 503 to retry, whose message names the cause's code only. Its message names
 * the store's endpoint and access key id, which the log keeps (the cause) and an open route does not show.
 */
function testDataUnavailable(served: ServedModel, error: unknown): unknown {
  if (!isFltsError(error) || !(error.kind === 'unavailable' || isServiceRefusal(error))) return error;
  return new FltsError(
    'FLTS_SERVE_TEST_DATA_UNAVAILABLE',
    `The stored test data of run ${served.run.runId} cannot be read from the object store now (${error.code}); retry later, or send the rows to forecast as data.`,
    { cause: error, details: { retryAfterSec: TEST_DATA_RETRY_AFTER_SEC, retryAfterMs: TEST_DATA_RETRY_AFTER_SEC * 1000 } },
  );
}

/**
 * The model input of each stored test window, made at its first forecast and kept as long as the window is: one per
 * loaded model, gone with it. A forecast reads it and never writes it (the batcher and the inference thread copy the
 * windows they are given), so every forecast without data shares one. Failures are not kept: each request meets the
 * check again and is answered as before.
 */
const storedHistories = new WeakMap<StoredTestWindow, ScaledHistory>();

async function storedHistory(served: ServedModel): Promise<ScaledHistory> {
  let stored: StoredTestWindow;
  try {
    stored = await served.testWindow();
  } catch (error) {
    throw testDataUnavailable(served, error);
  }
  const kept = storedHistories.get(stored);
  if (kept) return kept;
  const { frame, cadenceMs } = stored;
  const missing = served.plan.window.features.filter((feature) => !frame.values[feature]);
  if (missing.length > 0) {
    throw new FltsError('FLTS_DATA_NOT_PROCESSED', `The stored test data of config_hash ${served.run.configHash} lacks the run's features: ${missing.join(', ')}.`);
  }
  const history = historyFromFrame(served.plan, frame, cadenceMs, true);
  storedHistories.set(stored, history);
  return history;
}

/**
 * Finite inputs far outside the training range (1e60 bytes) can overflow a model's float32 arithmetic: such a
 * forecast is refused with a coded 400 instead of answering NaN, or null, as a result. A band that cannot be
 * computed is answered as [null, null], as an uncalibrated level is.
 */
function assertFiniteForecast(forecast: Forecast, targets: readonly string[]): void {
  const target = targets.find((_, t) => !forecast.values[t].every(Number.isFinite));
  if (target === undefined) return;
  throw new FltsError('FLTS_FORECAST_NOT_FINITE', `The forecast of ${target} is not a finite number: the input values are too far outside what the model was trained on.`, { details: { target } });
}

/** Forecast rows a request asks for: its own length, else the configured default, else the model horizon. */
export function forecastLength(input: PredictionInput, defaultLength: number, horizon: number): number {
  return input.inferenceLength ?? (defaultLength > 0 ? defaultLength : horizon);
}

/** The rows a request will be forecast, on the model current now (what the admission bound counts). */
export function requestedRows(holder: ModelHolder, input: PredictionInput, defaultLength: number): number {
  return forecastLength(input, defaultLength, holder.current()?.plan.window.outputSeqLen ?? 1);
}

/**
 * One forecast with a given served model (the current one, or a run forecasting in shadow). `signal` (the client
 * left) stops it before its next forward pass: the passes are where a long forecast spends its time.
 */
export async function forecastWith(served: ServedModel, input: PredictionInput, defaultLength: number, { signal, ignoredColumns: warnColumns = false }: PredictionOptions = {}): Promise<PredictionResult> {
  const { window } = served.plan;
  const length = forecastLength(input, defaultLength, window.outputSeqLen);
  const hasData = input.data !== undefined && input.data !== null;
  let history: ScaledHistory;
  let series: RequestSeries | undefined;
  let ignoredColumns: IgnoredColumnsWarning | undefined;
  if (hasData) {
    series = await parseRequestSeriesInTurns(input.data, served.plan.rawColumns, window.inputSeqLen, input.indexCol);
    // Against the model this forecast is made with: a reload since the request arrived may read other columns.
    if (warnColumns) ignoredColumns = served.ignoredColumns(input.data, series.timestampColumn);
    history = historyFromFrame(served.plan, series.frame, series.cadenceMs, false);
  } else {
    history = await storedHistory(served);
  }
  let modelMs = 0;
  const predict: PredictWindows = async (windows, times, size, spreads, steps) => {
    signal?.throwIfAborted();
    const started = performance.now();
    try {
      return await served.batcher.predict(windows, times, size, spreads, steps);
    } finally {
      modelMs += performance.now() - started;
    }
  };
  const { forecast, intervals } = await forecastWithIntervals(served.plan, history, length, predict, served.intervals, served.model.predictSteps !== undefined);
  assertFiniteForecast(forecast, window.targets);
  // Nor is an answer built for a client that left meanwhile.
  signal?.throwIfAborted();
  return { run: served.run, targets: window.targets, horizon: window.outputSeqLen, forecast, ...(intervals ? { intervals } : {}), source: hasData ? 'request' : 'stored-test-data', series, ...(ignoredColumns ? { ignoredColumns } : {}), modelMs };
}

/**
 * One prediction, start to end, on the model current when it starts: the model is held for the whole
 * request, so a hot reload meanwhile neither changes nor disposes it under the request.
 */
export async function runPrediction(holder: ModelHolder, input: PredictionInput, defaultLength: number, options: PredictionOptions = {}): Promise<PredictionResult> {
  const { served, release } = holder.acquire();
  try {
    return await forecastWith(served, input, defaultLength, options);
  } finally {
    release();
  }
}
