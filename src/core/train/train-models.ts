import type { Settings } from '../config/settings.js';
import type { TrainableModelType } from '../config/specs/training.js';
import { FltsError, toFltsError } from '../errors.js';
import { loadProcessedData } from '../preprocess/processed-data.js';
import type { RunRecord } from '../registry/run-record.js';
import { trainRun, type TrainRunDeps } from './train-run.js';

export interface TrainModelsInput {
  models: readonly TrainableModelType[];
  /** Processed data version; the latest when omitted. */
  configHash?: string;
}

export interface TrainModelsResult {
  configHash: string;
  runs: RunRecord[];
}

/**
 * Trains each requested model on one processed data version, one run per model. A failed model does not
 * stop the others (every outcome is recorded); the first failure is rethrown at the end. Ctrl-C stops at once.
 */
export async function trainModels(input: TrainModelsInput, settings: Settings, deps: TrainRunDeps): Promise<TrainModelsResult> {
  const data = await loadProcessedData(deps.store, settings, { configHash: input.configHash });
  const runs: RunRecord[] = [];
  const failures: FltsError[] = [];
  for (const modelType of [...new Set(input.models)]) {
    if (deps.signal?.aborted) break;
    try {
      runs.push(await trainRun(modelType, data, settings, deps));
    } catch (error) {
      const flts = toFltsError(error);
      if (flts.code === 'FLTS_TRAIN_ABORTED') throw flts;
      failures.push(flts);
    }
  }
  if (failures.length > 0) {
    const first = failures[0];
    throw new FltsError(first.code, failures.length === 1 ? first.message : `${first.message} (${failures.length} of ${input.models.length} models failed)`, {
      cause: first,
      details: { ...first.details, succeeded: runs.map((r) => r.run_id), failed: failures.map((f) => f.details.runId) },
    });
  }
  return { configHash: data.configHash, runs };
}
