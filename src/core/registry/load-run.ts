import type { Settings } from '../config/settings.js';
import type { ScalerParams } from '../data/scaler.js';
import { FltsError } from '../errors.js';
import type { ForecastModel } from '../models/forecast-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { loadRunModel, type LoadRunModelOptions } from './run-artifacts.js';
import { RUN_FILES, type RunRecord } from './run-record.js';
import { readRunRecord, runKey, runsBucket } from './run-store.js';

export interface LoadedRunForServing {
  run: RunRecord;
  model: ForecastModel;
  scaler: ScalerParams;
  /** The run's prediction-interval calibration; absent for runs trained before intervals existed. */
  intervals?: IntervalCalibration;
}

/**
 * Everything serving needs, read from the run alone: the record, the fitted model and the scaler the model
 * was trained with. Throws FLTS_RUN_NOT_FOUND for an unknown run and FLTS_MODEL_ARTIFACT_MISSING when the
 * run did not succeed or an artifact is gone.
 */
export async function loadRunForServing(store: ObjectStore, settings: Settings, runId: string, options: LoadRunModelOptions = {}): Promise<LoadedRunForServing> {
  const run = await readRunRecord(store, settings, runId);
  if (run.status !== 'SUCCESS') {
    throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${runId} has status ${run.status}; only SUCCESS runs have a usable model.`, { details: { runId, status: run.status } });
  }
  const scalerKey = runKey(runId, RUN_FILES.scaler);
  const scaler = await getJsonIfExists<ScalerParams>(store, runsBucket(settings), scalerKey);
  if (!scaler) throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${runId} has no scaler at ${scalerKey}.`, { details: { runId, key: scalerKey } });
  const intervals = await getJsonIfExists<IntervalCalibration>(store, runsBucket(settings), runKey(runId, RUN_FILES.intervals));
  const model = await loadRunModel(store, settings, run, options);
  return { run, model, scaler, ...(intervals ? { intervals } : {}) };
}
