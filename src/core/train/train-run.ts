import { randomUUID } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import type { TrainableModelType } from '../config/specs/training.js';
import { FltsError, toFltsError } from '../errors.js';
import { ignoreEvents, type EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { ProcessedData } from '../preprocess/processed-data.js';
import { processedCreatedAt } from '../preprocess/processed-layout.js';
import { toolVersion } from '../preprocess/tool-version.js';
import { putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { RUN_FILES, runExperiment, type RunOwner, type RunRecord } from '../registry/run-record.js';
import { currentRunOwner, runKey, runsBucket, saveRunRecord } from '../registry/run-store.js';
import { startRunHeartbeat } from '../registry/run-heartbeat.js';
import { digestingStore } from '../registry/run-digests.js';
import { sealRunRecord } from '../registry/run-record-seal.js';
import { fitModel, modelWindow, postFitProgress } from './fit-model.js';
import { prepareWindows } from './prepare-windows.js';
import { evaluateForecasts } from '../forecast/metrics.js';
import { renderLossCurve } from './loss-curve.js';
import { buildPredictionsArtifact } from './predictions-artifact.js';
import { parseIntervalLevels } from '../models/prediction-intervals.js';
import { fittedCalibration, predictWithScales, scoreTestIntervals, stageProgress, uncalibratedLevels } from './run-intervals.js';

export interface TrainRunDeps {
  store: ObjectStore;
  logger?: Logger;
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Clock for timestamps (tests pin it). */
  now?: () => Date;
  /** Networks run their training engine on a worker thread, leaving this one free for other models. */
  offThread?: boolean;
}

function modelParams(modelType: TrainableModelType, settings: Settings, inputSize: number): RunRecord['params'] {
  const t = settings.training;
  const common = {
    model_type: modelType,
    input_size: inputSize,
    input_sequence_length: t.inputSeqLen,
    output_sequence_length: t.outputSeqLen,
    targets: [...t.targets],
    seed: t.seed,
  };
  if (modelType === 'LSTM' || modelType === 'GRU') {
    return { ...common, hidden_size: t.hiddenSize, num_layers: t.numLayers, batch_size: t.batchSize, epochs: t.epochs, learning_rate: t.learningRate, early_stopping: t.earlyStopping, patience: t.patience, validation_split: t.validationSplit, lr_drops: t.lrDrops, refit: t.refit, ...(t.refit === 'continue' || t.refit === 'tail' ? { refit_epochs: t.refitEpochs } : {}), target_form: t.targetForm, ...(t.targetForm === 'change' ? { change_weight: t.changeWeight } : {}), calendar_features: t.calendarFeatures, input_scaling: t.inputScaling };
  }
  if (modelType === 'PROPHET') {
    const p = t.prophet;
    return { ...common, n_changepoints: p.nChangepoints, changepoint_range: p.changepointRange, changepoint_prior_scale: p.changepointPriorScale, seasonality_prior_scale: p.seasonalityPriorScale, seasonality_mode: p.seasonalityMode };
  }
  return common;
}

function initialRecord(runId: string, modelType: TrainableModelType, data: ProcessedData, settings: Settings, startedAt: Date, owner: RunOwner): RunRecord {
  const sidecar = data.sidecar;
  const window = modelWindow(modelType, data, settings);
  return {
    run_id: runId,
    model_type: modelType,
    experiment: runExperiment(modelType),
    config_hash: data.configHash,
    status: 'RUNNING',
    params: modelParams(modelType, settings, window.features.length),
    window,
    data: {
      processed_bucket: settings.store.buckets.processed,
      processed_created_at: processedCreatedAt(sidecar),
      train_rows: data.train.time.length,
      test_rows: data.test.time.length,
      train_source_object: sidecar.train_source_object,
      test_source_object: sidecar.test_source_object,
      ...(sidecar.flts?.fingerprints ? { fingerprints: sidecar.flts.fingerprints } : {}),
      ...(sidecar.flts?.data_sha256 ? { processed_sha256: sidecar.flts.data_sha256 } : {}),
      test_windows: 'prepend-train-history',
    },
    seed: settings.training.seed,
    timings: { started_at: startedAt.toISOString() },
    artifacts: {},
    flts_version: toolVersion(),
    ...(settings.tracking.user ? { user: settings.tracking.user } : {}),
    owner,
  };
}

/**
 * Trains one model on processed data and records it as a run: RUNNING first, then the artifacts, then
 * SUCCESS with held-out metrics; FAILED or KILLED with the error otherwise (and the error is rethrown).
 * While it is RUNNING its heartbeat (run-heartbeat.ts) tells other processes that it is still being trained.
 */
export async function trainRun(modelType: TrainableModelType, data: ProcessedData, settings: Settings, deps: TrainRunDeps): Promise<RunRecord> {
  const now = deps.now ?? (() => new Date());
  const logger = (deps.logger ?? silentLogger).child({ model_type: modelType });
  const emit = deps.onEvent ?? ignoreEvents;
  const runId = randomUUID().replace(/-/g, '');
  const bucket = runsBucket(settings);
  const started = now();
  const owner = currentRunOwner(settings.instance);
  let record = initialRecord(runId, modelType, data, settings, started, owner);
  await deps.store.ensureBucket(bucket);
  const heartbeat = await startRunHeartbeat(deps.store, settings, runId, { owner, now, logger });
  try {
    await saveRunRecord(deps.store, settings, record);
  } catch (error) {
    await heartbeat.remove();
    throw error;
  }
  logger.info({ run_id: runId, config_hash: data.configHash }, 'train_start');
  try {
    const windows = prepareWindows(data, record.window, settings.training.validationSplit);
    // Every file the model predicts from is hashed as it is written, and the digests go into the SUCCESS record.
    const written = digestingStore(deps.store, settings, runId);
    const fitted = await fitModel(modelType, data, windows, settings, { store: written.store, runId, signal: deps.signal, onEvent: emit, logger, offThread: deps.offThread });
    try {
      const progress = postFitProgress(runId, deps.signal, emit);
      const calibration = await fittedCalibration(fitted, data.train, windows.validation, record.window, data.scaler, settings.eval.intervalSteps, progress);
      const { predicted, scales } = await predictWithScales(fitted.model, windows.test, record.window, calibration.scale ?? 'volatility', stageProgress(progress, 'test'));
      const test = evaluateForecasts(windows.test.y, predicted, record.window.outputSeqLen, record.window.targets, data.scaler);
      const bands = scoreTestIntervals(calibration, parseIntervalLevels(settings.eval.intervalLevels), windows.test, predicted, scales, record.window, data.scaler, test);
      const uncalibrated = uncalibratedLevels(test);
      if (uncalibrated.length > 0) {
        emit({ type: 'log', level: 'warn', message: `${modelType} run ${runId}: no prediction band (and no coverage) at ${uncalibrated.join('; ')}` });
        logger.warn({ run_id: runId, uncalibrated }, 'train_intervals_uncalibrated');
      }
      await putJson(written.store, bucket, runKey(runId, RUN_FILES.scaler), data.scaler);
      await putJson(written.store, bucket, runKey(runId, RUN_FILES.intervals), calibration);
      await putJson(deps.store, bucket, runKey(runId, RUN_FILES.history), { run_id: runId, model_type: modelType, epochs: fitted.history ?? [] });
      await putJson(deps.store, bucket, runKey(runId, RUN_FILES.predictions), buildPredictionsArtifact(windows.test, predicted, record.window, data.scaler, bands));
      const artifacts: Record<string, string> = { model: fitted.artifact, scaler: RUN_FILES.scaler, intervals: RUN_FILES.intervals, metrics: RUN_FILES.history, predictions: RUN_FILES.predictions };
      if (fitted.history && fitted.history.length > 0) {
        await deps.store.put(bucket, runKey(runId, RUN_FILES.lossCurve), renderLossCurve(modelType, runId, fitted.history, fitted.bestEpoch), { contentType: 'image/svg+xml' });
        artifacts.loss_curve = RUN_FILES.lossCurve;
      }
      const finished = now();
      // Sealed last: the record serving loads, with the digests that check its files, is checked whole in turn.
      record = sealRunRecord({
        ...record,
        status: 'SUCCESS',
        backend: fitted.backend,
        best_epoch: fitted.bestEpoch,
        epochs_run: fitted.history?.length,
        metrics: { test_mse: test.overall.mse, test_rmse: test.overall.rmse, test_mae: test.overall.mae, test_r2: test.overall.r2, ...(fitted.bestValLoss !== undefined ? { val_loss: fitted.bestValLoss } : {}), test },
        timings: { ...record.timings, finished_at: finished.toISOString(), duration_ms: finished.getTime() - started.getTime(), fit_ms: Math.round(fitted.fitMs), ...(fitted.samplesPerSec ? { samples_per_sec: fitted.samplesPerSec } : {}) },
        artifacts,
        artifact_sha256: written.digests(),
      });
      // SUCCESS is written last, only once every artifact exists and the heartbeat has stopped.
      await heartbeat.stop();
      await saveRunRecord(deps.store, settings, record);
      await heartbeat.remove();
      emit({ type: 'train.done', runId, status: 'SUCCESS' });
      logger.info({ run_id: runId, test_rmse: test.overall.rmse, test_r2: test.overall.r2 }, 'train_complete');
      return record;
    } finally {
      fitted.model.dispose();
    }
  } catch (error) {
    const flts = toFltsError(error);
    const status = flts.code === 'FLTS_TRAIN_ABORTED' || deps.signal?.aborted ? 'KILLED' : 'FAILED';
    await heartbeat.stop();
    const finished = now();
    record = { ...record, status, error: { code: flts.code, message: flts.message }, timings: { ...record.timings, finished_at: finished.toISOString(), duration_ms: finished.getTime() - started.getTime() } };
    await saveRunRecord(deps.store, settings, record);
    await heartbeat.remove();
    emit({ type: 'train.done', runId, status });
    // A stop asked for (SIGTERM, an abort) is no failure: the daemon's shutdown would otherwise log an error.
    if (status === 'KILLED') logger.warn({ run_id: runId, status, code: flts.code }, 'train_killed');
    else logger.error({ run_id: runId, status, code: flts.code, err: flts.message }, 'train_failed');
    throw status === 'KILLED'
      ? new FltsError('FLTS_TRAIN_ABORTED', `Run ${runId} was stopped and is recorded as KILLED.`, { cause: error, details: { runId } })
      : new FltsError(flts.code, flts.message, { cause: flts.cause ?? error, details: { ...flts.details, runId, status }, hint: flts.hint });
  }
}
