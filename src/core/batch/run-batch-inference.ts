import { encodeInferenceNotice } from '../bus/messages.js';
import type { MessageBus } from '../bus/message-bus.js';
import type { Settings } from '../config/settings.js';
import { ignoreEvents, type EventSink } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import { loadRunForServing } from '../registry/load-run.js';
import { createIntervalSource } from '../forecast/forecast-intervals.js';
import { parseIntervalLevels } from '../models/prediction-intervals.js';
import { resolveServedRunId } from '../registry/pointers.js';
import { runsBucket } from '../registry/run-store.js';
import { createFeaturePlan, unscaleTarget, type FeaturePlan } from '../forecast/feature-plan.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { DataWarning } from '../data/time-steps.js';
import { batchPredictionHash, forecastEveryWindow, type BatchForecast } from './batch-forecast.js';
import { encodeForecastTable, forecastFileFormat, writeForecastFile } from './forecast-table.js';
import { forecastPlotFiles, renderForecastPlot, type ForecastPlotLabels } from './forecast-plot.js';
import { formatByExtension } from '../file-format.js';
import { writeFileWhole, type WaitingForReader } from '../write-file-whole.js';
import { assertInferenceDataPresent, loadInferenceInput, type InferenceDataRef, type InferenceInput, type InputScale } from './inference-input.js';
import { readTableBytesOffThread } from '../data/read-table-off-thread.js';
import { forecastObjectKey, readResultMarker, resultLogKey, writePendingMarker, writeResultMarker, type ResultMarker } from './result-marker.js';
import { batchMetrics, batchSamples, type BatchMetrics, type BatchResultRecord } from './result-record.js';

export interface BatchInferenceDeps {
  store: ObjectStore;
  /** When given, each new result is announced on `performance-eval`. */
  bus?: MessageBus;
  logger?: Logger;
  onEvent?: EventSink;
  signal?: AbortSignal;
  now?: () => Date;
  /**
   * Given, the data is read through it as `runId` reads it: a daemon that also serves shares the read of a claim
   * with its claim-actuals follower (ClaimReads).
   */
  shareRead?: (runId: string, read: () => Promise<InferenceInput>) => Promise<InferenceInput>;
  /**
   * Parse the table on a worker thread (readTableBytesOffThread), so that the thread stays free while it is parsed:
   * a long-lived process (the daemon's batch role, beside its health server and other roles) sets it. Default false:
   * a one-shot command has nothing else on its thread, and parses a PobleSec file 2-4x faster on it than a worker
   * does (the worker's start, about 250 ms, outweighs the 30-200 ms parse).
   */
  parseOffThread?: boolean;
  /**
   * The caller says the data's warnings itself, from the result's `warnings` (`flts predict`'s report): they are
   * not logged as well. Default false: a daemon has no report but its log.
   */
  saysDataWarnings?: boolean;
  /** Told when `outFile` or a plot file is a named pipe that waits for its reader (writeFileWhole): a command says so. */
  onWaitingForReader?: WaitingForReader;
}

export interface BatchInferenceInput {
  data: InferenceDataRef;
  /** Default: `serve.runId` when pinned, else the promoted run. */
  runId?: string;
  /** Scopes the log key; default the `identifier` setting. */
  identifier?: string;
  scale?: InputScale;
  /** Also write the forecast table to this local file: .parquet (or .pq), .csv, .json or .jsonl. */
  outFile?: string;
  /**
   * Also plot the forecast to this local .svg file (the data's tail, the latest forecast of each time and its
   * interval bands); a further target's plot goes beside it (`forecastPlotFiles`).
   */
  plotFile?: string;
}

export interface BatchInferenceResult {
  /** `duplicate`: this (run_id, prediction_hash) was logged before, so nothing was written or published again. */
  status: 'written' | 'duplicate';
  run_id: string;
  model_type: string;
  config_hash: string;
  prediction_hash: string;
  rows_predicted: number;
  windows: number;
  horizon: number;
  scaled_input: boolean;
  source: string;
  log_bucket: string;
  log_object_key: string;
  forecast_bucket: string;
  forecast_key: string;
  published: boolean;
  metrics: BatchMetrics;
  out_file?: string;
  /** The plots written, one per target, when a plot was asked for. */
  plot_files?: string[];
  /** The data's uneven time steps, rows that came out of time order; empty when there are none. */
  warnings: DataWarning[];
  duration_ms: number;
}

/**
 * Windowed forecasts over a whole dataset with the promoted (or pinned) run, in original units. A new result
 * is stored as a forecast table with the run, one JSONL record in `inference-logs` and a `performance-eval`
 * notice; a result already recorded (same run, same predictions) is reported as a duplicate instead.
 *
 * Order: a pending marker, table, log record, notice, then the marker. A crash before the marker repeats the
 * sequence on redelivery under the pending marker's time, rewriting the same keys (no second record) and announcing
 * again (at-least-once notices, each naming the same log object). Replicas racing on one claim converge the same way.
 */
export async function runBatchInference(settings: Settings, deps: BatchInferenceDeps, input: BatchInferenceInput): Promise<BatchInferenceResult> {
  const started = performance.now();
  const logger = (deps.logger ?? silentLogger).child({ component: 'batch-inference' });
  const emit = deps.onEvent ?? ignoreEvents;
  const now = deps.now ?? (() => new Date());
  const { store } = deps;
  // A name that decides no format is refused before the forecast, not after it was computed and logged.
  if (input.outFile !== undefined) forecastFileFormat(input.outFile);
  if (input.plotFile !== undefined) formatByExtension(input.plotFile, { '.svg': 'svg' }, 'plot');
  // The data named is looked for before the run: a mistyped path is not reported as a missing promotion.
  await assertInferenceDataPresent(store, settings, input.data);
  const runId = await resolveServedRunId(store, settings, input.runId);
  const { run, model, scaler, intervals } = await loadRunForServing(store, settings, runId, { logger });
  try {
    const plan = createFeaturePlan(model.window, scaler);
    const read = (): Promise<InferenceInput> => loadInferenceInput(store, settings, plan, input.data, input.scale, run.config_hash, deps.parseOffThread ? readTableBytesOffThread : undefined);
    const data = await (deps.shareRead ? deps.shareRead(run.run_id, read) : read());
    const intervalSource = intervals ? await createIntervalSource(intervals, parseIntervalLevels(settings.eval.intervalLevels)) : undefined;
    const forecast = await forecastEveryWindow(plan, model, data, {
      chunkSize: settings.batch.chunkSize,
      signal: deps.signal,
      onChunk: (windows, total) => emit({ type: 'batch.progress', windows, total }),
      ...(intervalSource ? { intervals: intervalSource } : {}),
    });
    const identifier = input.identifier ?? settings.identifier;
    const predictionHash = batchPredictionHash(forecast);
    const metrics = batchMetrics(forecast, predictionHash, settings.batch.maxErrorSteps);
    const outFile = input.outFile ? (await writeForecastFile(forecast, input.outFile, { onWaitingForReader: deps.onWaitingForReader }), input.outFile) : undefined;
    const plotFiles = input.plotFile ? await writeForecastPlots(forecast, plan, data, input.plotFile, { runId: run.run_id, modelType: run.model_type, configHash: run.config_hash, inputRows: plan.window.inputSeqLen }, deps.onWaitingForReader) : undefined;
    const summary = {
      run_id: run.run_id,
      model_type: run.model_type,
      config_hash: run.config_hash,
      prediction_hash: predictionHash,
      rows_predicted: forecast.time.length,
      windows: forecast.windows,
      horizon: forecast.horizon,
      scaled_input: data.scaled,
      source: data.source,
      metrics,
      ...(outFile ? { out_file: outFile } : {}),
      ...(plotFiles ? { plot_files: plotFiles } : {}),
      warnings: data.warnings,
    };
    if (!deps.saysDataWarnings) for (const warning of data.warnings) logger.warn({ event: warning.code, source: data.source, reason: warning.message, ...warning.details }, warning.code);

    const existing = await readResultMarker(store, settings, run.run_id, predictionHash);
    if (existing && existing.state !== 'pending') {
      logger.info({ run_id: run.run_id, prediction_hash: predictionHash, log_object_key: existing.log_object_key }, 'duplicate_prediction_skip');
      emit({ type: 'batch.done', runId: run.run_id, predictionHash, duplicate: true, rows: forecast.time.length });
      return { status: 'duplicate', ...summary, ...markerLocation(existing), published: false, duration_ms: performance.now() - started };
    }

    // A result a crash left half done keeps its first time, so its log object stays the one of that day.
    const at = existing ? new Date(existing.created_at) : now();
    const marker: ResultMarker = existing ?? {
      run_id: run.run_id,
      prediction_hash: predictionHash,
      log_bucket: settings.store.buckets.inferenceLogs,
      log_object_key: resultLogKey(identifier, at, run.run_id, predictionHash),
      forecast_bucket: runsBucket(settings),
      forecast_key: forecastObjectKey(run.run_id, predictionHash, settings.batch.format),
      rows_predicted: forecast.time.length,
      created_at: at.toISOString(),
      state: 'pending',
    };
    if (!existing) await writePendingMarker(store, settings, marker);
    await store.put(marker.forecast_bucket, marker.forecast_key, encodeForecastTable(forecast, settings.batch.format), {
      contentType: settings.batch.format === 'parquet' ? 'application/vnd.apache.parquet' : 'text/csv',
    });
    const record: BatchResultRecord = {
      timestamp: at.toISOString(),
      identifier: identifier || 'default',
      run_id: run.run_id,
      model_type: run.model_type,
      config_hash: run.config_hash,
      status: 'SUCCESS',
      metrics,
      samples: batchSamples(forecast, settings.batch.logFeatureLimit),
      prediction_hash: predictionHash,
      rows_predicted: forecast.time.length,
      source: data.source,
      scaled_input: data.scaled,
      windows: forecast.windows,
      horizon: forecast.horizon,
      forecast_object: `${marker.forecast_bucket}/${marker.forecast_key}`,
    };
    await store.ensureBucket(marker.log_bucket);
    await store.put(marker.log_bucket, marker.log_object_key, `${JSON.stringify(record)}\n`, { contentType: 'application/x-ndjson' });
    if (deps.bus) {
      await deps.bus.publish(
        settings.bus.topics.performanceEval,
        encodeInferenceNotice({ identifier, logBucket: marker.log_bucket, logObjectKey: marker.log_object_key, runId: run.run_id, modelType: run.model_type, configHash: run.config_hash, rows: forecast.time.length }),
      );
    }
    await writeResultMarker(store, settings, marker);
    logger.info({ run_id: run.run_id, prediction_hash: predictionHash, rows: forecast.time.length, log_object_key: marker.log_object_key, rmse: metrics.rmse }, 'batch_inference_logged');
    emit({ type: 'batch.done', runId: run.run_id, predictionHash, duplicate: false, rows: forecast.time.length });
    return { status: 'written', ...summary, ...markerLocation(marker), published: deps.bus !== undefined, duration_ms: performance.now() - started };
  } finally {
    model.dispose();
  }
}

/** One forecast plot per target; the history is the data's own rows, in original units as the forecasts are. */
async function writeForecastPlots(forecast: BatchForecast, plan: FeaturePlan, data: InferenceInput, file: string, labels: ForecastPlotLabels, onWaitingForReader?: WaitingForReader): Promise<string[]> {
  const { frame } = data;
  const values = forecast.targets.map((target, t) => (data.scaled ? Float64Array.from(frame.values[target], (value) => unscaleTarget(plan, t, value)) : frame.values[target]));
  const files = forecastPlotFiles(file, forecast.targets);
  for (const [t, plotFile] of files.entries()) await writeFileWhole(plotFile, renderForecastPlot(forecast, { time: frame.time, values }, t, labels), { onWaitingForReader });
  return files;
}

function markerLocation(marker: ResultMarker): Pick<BatchInferenceResult, 'log_bucket' | 'log_object_key' | 'forecast_bucket' | 'forecast_key'> {
  return { log_bucket: marker.log_bucket, log_object_key: marker.log_object_key, forecast_bucket: marker.forecast_bucket, forecast_key: marker.forecast_key };
}
