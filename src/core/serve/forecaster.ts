import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import { invalidArgument, requireObject } from '../library-arguments.js';
import { silentLogger, type Logger } from '../logger.js';
import { untilAborted } from '../retry.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createForecastAdmission } from './forecast-admission.js';
import { createModelHolder, type ReloadOutcome } from './model-holder.js';
import type { ServedRunInfo } from './model-source.js';
import type { ServedModel } from './served-model.js';
import type { PredictionLogRecord } from './prediction-log.js';
import { createPredictionRecorder } from './prediction-recorder.js';
import { buildPredictResponse, newRequestId, type PredictResponse } from './prediction-response.js';
import { createRegistryModelSource } from './registry-model-source.js';
import { requestedRows, runPrediction, type PredictionInput } from './run-prediction.js';

export interface ForecasterDeps {
  store: ObjectStore;
  logger?: Logger;
  onEvent?: EventSink;
  /** Ends the load when aborted: what was loaded is released and the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Hears each forecast made as the record `flts serve` appends to its prediction log for the same request (its own
   * req_id and timestamp, the run, prediction_hash, samples), through the recorder the server uses, and what the
   * forecast measured (its time, its rows, its run: what the server's metrics count). Awaited before forecast()
   * resolves, as a server's sync log is: a hook that rejects rejects the forecast with its error. Default: nothing is
   * recorded.
   */
  onForecast?: (record: PredictionLogRecord, measures: ForecastMeasures) => void | Promise<void>;
}

/** What a forecast measured, the figures `flts serve` counts a request by in /metrics and /stats: read off the forecast's own work, nothing more is computed for them. */
export interface ForecastMeasures {
  /** The run the forecast was made with (the record's run_id, model_type and config_hash). */
  run: ServedRunInfo;
  /** Milliseconds from the forecast's admission to its answer: reading the rows, the forward passes, the answer's rows; the hook's own time is not counted. */
  durationMs: number;
  /** Of `durationMs`, the milliseconds spent waiting for forward passes, queueing behind other forecasts' included. */
  modelMs: number;
  /** Forecast rows made (the record's metrics.rows_predicted). */
  rowsPredicted: number;
  /** `request`: made from the rows of request.data; `stored-test-data`: from the run's stored test data. */
  source: 'request' | 'stored-test-data';
}

export interface ForecasterOptions {
  /** The run to forecast with; default: `serve.runId` (pinned), else the promoted run, as `flts serve` chooses. A pinned run never moves. */
  runId?: string;
  /**
   * Re-reads the promotion pointer every `pollIntervalMs`, as `flts serve` does with `serve.pollIntervalMs`, and swaps
   * in a newly promoted run (each swap is a `serve.model_loaded` event to `deps.onEvent`). Default: the pointer is read
   * when the forecaster opens and on reload() only.
   */
  followPromotions?: { pollIntervalMs: number };
}

/**
 * What reload() found, as POST /reload_latest answers it (its `result`, and its `message` as `error`): a run that cannot
 * be loaded is an outcome, not a rejection, since the forecaster goes on forecasting with the run it had.
 */
export interface ForecasterReload {
  /**
   * `loaded`: a run was loaded (the promoted one, or the pinned one again); `unchanged`: the promoted run is the one
   * forecasting; `failed`: the run to load (or the pointer) could not be read or loaded, `error` says why; `no_pointer`:
   * nothing is promoted any more. In the last two the run forecasting before goes on.
   */
  result: 'loaded' | 'unchanged' | 'failed' | 'no_pointer';
  /** True when the forecaster now forecasts with another run than before. */
  changed: boolean;
  /** The run forecasts are made with from now on. */
  run: ServedRunInfo;
  /** The run is pinned (`options.runId` or `serve.runId`): the pointer is not read, the run never changes and reload() loads it again (once per `serve.reloadMinIntervalMs` unless forced). */
  pinned: boolean;
  /** Why the run is not the promoted one (the promoted run cannot be loaded, the pointer cannot be read), if so. */
  degraded?: string;
  /** With `result: 'failed'`: the coded error of the load or of the pointer's read (FLTS_RUN_NOT_FOUND, FLTS_STORE_UNAVAILABLE, ...). */
  error?: FltsError;
}

/** What POST /predict takes, by the names a TypeScript caller writes. */
export interface ForecastRequest {
  /** Column name -> values, one per row, in original units, with a timestamp column; absent or null: the run's stored test data. */
  data?: Record<string, readonly unknown[]> | null;
  /** The timestamp column of `data` (default: the first of ts, timestamp, time, date it has). */
  indexCol?: string;
  /** Forecast rows, 1 to 10000; default: serve.inferenceLength, else the model horizon. */
  inferenceLength?: number;
}

/** The body POST /predict answers, without what belongs to an HTTP request (`status`, `req_id`, `cached`). */
export type ForecastAnswer = Omit<PredictResponse, 'status' | 'req_id' | 'cached'>;

/** A run loaded from the store, forecasting in this process as the inference API does; close() releases the model. */
export interface Forecaster {
  /** The run forecasts are made with now (it changes on reload() or with `followPromotions`). */
  readonly run: ServedRunInfo;
  /** Why the run is not the promoted one (a corrupt or unloadable pointer passed over, as `flts serve` would), if so. */
  readonly degraded?: string;
  /**
   * What POST /reload_latest does: reads the promotion pointer now and swaps in the promoted run if it changed (a
   * pinned forecaster loads its run again). Forecasts already under way finish with the run they started on, which is
   * released after them. Resolves with the outcome whether or not a run was loaded: a run that cannot be loaded is
   * `result: 'failed'` with its coded `error`, and the current run goes on forecasting (`degraded` says why). Rejects
   * only after close().
   *
   * Calls in a loop cost no more than the pointer's reads: calls made while a reload runs share one reload started
   * when it ends (each call's outcome is read after the call, so a run promoted just before it is found), and within
   * `serve.reloadMinIntervalMs` (2 s by default) of the last reload that could load a model again, a reload loads only a
   * newly promoted run: the pinned run is not loaded again (`unchanged`) nor is a run that failed retried (`failed`,
   * with the error it failed with). The forecaster's opening counts as such a reload. `force: true` loads again anyway.
   */
  reload(options?: { force?: boolean }): Promise<ForecasterReload>;
  /**
   * `signal`: a forecast still running when it is aborted rejects with the signal's reason before its next forward pass.
   * Refused at once with FLTS_SERVE_OVERLOADED when the rows of the forecasts in flight and its own would pass
   * `serve.maxQueuedRows`, as POST /predict is (details.retryAfterMs says when to try again).
   */
  forecast(request?: ForecastRequest, options?: { signal?: AbortSignal }): Promise<ForecastAnswer>;
  /** Releases the model once the forecasts in flight are done; forecast() is refused afterwards. */
  close(): Promise<void>;
}

/** The bound POST /predict's schema puts on inference_length. */
const MAX_INFERENCE_LENGTH = 10_000;

const runInfo = ({ run: { runId, modelType, configHash } }: ServedModel): ServedRunInfo => ({ runId, modelType, configHash });

const isSignal = (value: unknown): boolean => value instanceof Object && typeof (value as { aborted?: unknown }).aborted === 'boolean' && typeof (value as { throwIfAborted?: unknown }).throwIfAborted === 'function';

/** What the route's schema checks of a body, for a caller no schema stands in front of. The rows themselves are read by the parser /predict uses. */
function predictionInput(request: unknown): PredictionInput {
  const fn = 'forecaster.forecast';
  if (request === undefined) return {};
  requireObject(fn, 'request', request, 'an object ({ data, indexCol, inferenceLength }) or undefined');
  const { data, indexCol, inferenceLength } = request;
  if (data !== undefined && data !== null && (typeof data !== 'object' || Array.isArray(data))) throw invalidArgument(fn, 'request.data', 'an object of columns (column name -> array of values), null or undefined', data);
  if (indexCol !== undefined && (typeof indexCol !== 'string' || indexCol === '')) throw invalidArgument(fn, 'request.indexCol', 'a column name', indexCol);
  if (inferenceLength !== undefined && (!Number.isInteger(inferenceLength) || (inferenceLength as number) < 1 || (inferenceLength as number) > MAX_INFERENCE_LENGTH)) {
    throw invalidArgument(fn, 'request.inferenceLength', `a whole number from 1 to ${MAX_INFERENCE_LENGTH}`, inferenceLength);
  }
  return { data: data ?? undefined, indexCol: indexCol as string | undefined, inferenceLength: inferenceLength as number | undefined };
}

/**
 * Loads the run `flts serve` would serve (or the one named) from the store, through the model holder serving uses, and
 * forecasts with it through runPrediction and buildPredictResponse, the functions POST /predict calls: the values and
 * intervals are the ones the API answers for the same rows. Nothing listens; a forecast is recorded only to
 * `deps.onForecast` (no prediction log of its own, metrics or live scoring). The promotion pointer is read again on
 * reload(), and polled with `followPromotions`, by the holder's own reload and polling.
 */
export async function openForecaster(settings: Settings, deps: ForecasterDeps, options: ForecasterOptions = {}): Promise<Forecaster> {
  deps.signal?.throwIfAborted();
  const serve = settings.serve;
  const holder = createModelHolder({
    source: createRegistryModelSource(deps.store, settings, deps.logger),
    pinnedRunId: options.runId || serve.runId || undefined,
    pollIntervalMs: options.followPromotions?.pollIntervalMs ?? 0,
    batching: { maxBatch: serve.batchMaxSize, maxWaitMs: serve.batchMaxWaitMs },
    logger: deps.logger ?? silentLogger,
    onEvent: deps.onEvent,
  });
  // When a reload last could load the run it serves again, or retry one that failed (serve.reloadMinIntervalMs).
  let lastForcedAt = Number.NEGATIVE_INFINITY;
  const reloadHolder = async (force: boolean): Promise<ReloadOutcome> => {
    const forced = force || performance.now() - lastForcedAt >= serve.reloadMinIntervalMs;
    const outcome = await holder.reloadFromPointer({ force: forced });
    if (forced) lastForcedAt = performance.now();
    return outcome;
  };
  try {
    const loading = reloadHolder(true);
    const outcome = await (deps.signal ? untilAborted(loading, deps.signal) : loading);
    if (outcome.result === 'no_pointer') {
      throw new FltsError('FLTS_SERVE_NO_MODEL', 'No run given and no promotion pointer found (<identifier>/current.json, current.json, global/current.json): promote a run, or pass options.runId.');
    }
    if (outcome.result === 'failed' && !holder.current()) throw outcome.error;
  } catch (error) {
    // An aborted load goes on in the holder: stop() waits for it and releases what it loaded.
    void holder.stop();
    throw error;
  }
  holder.followPointer();
  const pinned = Boolean(holder.status().pinnedRunId);
  // close() empties the holder: the run last forecast with is still the one to name.
  let lastRun = runInfo(holder.current()!);
  const currentRun = (): ServedRunInfo => {
    const served = holder.current();
    if (served) lastRun = runInfo(served);
    return lastRun;
  };
  // The bound POST /predict puts on rows in flight, for the same reason: forecasts piled up hold their memory.
  const admission = createForecastAdmission({ maxRows: serve.maxQueuedRows, subject: 'forecaster' });
  const { onForecast } = deps;
  // The recorder hands its sink the record alone: the measures of each forecast wait for it under its req_id.
  const measuresOf = new Map<string, ForecastMeasures>();
  const recorder =
    onForecast &&
    createPredictionRecorder({
      predictionLog: { durability: 'sync', append: async (record) => onForecast(record, measuresOf.get(record.req_id) as ForecastMeasures) },
      logger: deps.logger ?? silentLogger,
      identifier: settings.identifier,
    });
  // The reload waiting for the one running to end, which every call made meanwhile joins (forced if one of them asks).
  let waiting: Promise<ReloadOutcome> | undefined;
  let waitingForced = false;
  let reloads: Promise<unknown> = Promise.resolve();
  const sharedReload = (force: boolean): Promise<ReloadOutcome> => {
    waitingForced ||= force;
    if (waiting) return waiting;
    waiting = reloads.then(() => {
      const forced = waitingForced;
      waiting = undefined;
      waitingForced = false;
      return reloadHolder(forced);
    });
    reloads = waiting.catch(() => undefined);
    return waiting;
  };
  let closed = false;
  const refuseClosed = (fn: string): void => {
    if (closed) throw new FltsError('FLTS_USAGE_INVALID_ARGUMENT', `${fn}(): the forecaster was closed (close() released its model); open another with openForecaster().`, { details: { function: fn } });
  };
  return {
    get run() {
      return currentRun();
    },
    get degraded() {
      return holder.status().degraded?.detail;
    },
    async reload(reloadOptions) {
      refuseClosed('forecaster.reload');
      if (reloadOptions !== undefined) requireObject('forecaster.reload', 'options', reloadOptions, 'an object ({ force }) or undefined');
      const force: unknown = reloadOptions?.force;
      if (force !== undefined && typeof force !== 'boolean') throw invalidArgument('forecaster.reload', 'options.force', 'true, false or undefined', force);
      const before = currentRun();
      const outcome = await sharedReload(force === true);
      const run = currentRun();
      const degraded = holder.status().degraded?.detail;
      return { result: outcome.result, changed: run.runId !== before.runId, run, pinned, ...(degraded ? { degraded } : {}), ...(outcome.result === 'failed' ? { error: outcome.error } : {}) };
    },
    async forecast(request, forecastOptions) {
      refuseClosed('forecaster.forecast');
      const input = predictionInput(request);
      if (forecastOptions !== undefined) requireObject('forecaster.forecast', 'options', forecastOptions, 'an object ({ signal }) or undefined');
      const signal: unknown = forecastOptions?.signal;
      if (signal !== undefined && !isSignal(signal)) throw invalidArgument('forecaster.forecast', 'options.signal', 'an AbortSignal', signal);
      const rows = requestedRows(holder, input, serve.inferenceLength);
      // Recorded before the rows are given back, as POST /predict records.
      const response = await admission.run('forecaster.forecast', rows, signal as AbortSignal | undefined, async () => {
        const started = recorder ? performance.now() : 0;
        const result = await runPrediction(holder, input, serve.inferenceLength, { signal: signal as AbortSignal | undefined, ignoredColumns: true });
        const built = buildPredictResponse(result, settings.identifier, recorder ? newRequestId() : '');
        if (!recorder) return built;
        const { runId, modelType, configHash } = result.run;
        const measures = { run: { runId, modelType, configHash }, durationMs: performance.now() - started, modelMs: result.modelMs, rowsPredicted: result.forecast.time.length, source: result.source };
        measuresOf.set(built.req_id, measures);
        try {
          await recorder.record({ identifier: settings.identifier, input, result, response: built });
        } finally {
          measuresOf.delete(built.req_id);
        }
        return built;
      });
      const { status: _status, req_id: _reqId, cached: _cached, ...answer } = response;
      return answer;
    },
    async close() {
      closed = true;
      await holder.stop();
    },
  };
}
