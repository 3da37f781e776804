import type { Settings } from '../config/settings.js';
import type { Logger } from '../logger.js';
import { createIntervalSource } from '../forecast/forecast-intervals.js';
import { parseIntervalLevels } from '../models/prediction-intervals.js';
import { loadProcessedTestFrame } from '../preprocess/processed-data.js';
import { loadRunForServing } from '../registry/load-run.js';
import { pointerCascade, readPromotionPointers, readPromotionPointerWithSource } from '../registry/pointers.js';
import { readRunRecord } from '../registry/run-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ModelSource } from './model-source.js';

/**
 * The run registry as a model source: runs (model, scaler, window) from the runs bucket, the promoted run
 * from the reference pointer cascade, test data from the processed-data bucket under the run's config_hash.
 */
export function createRegistryModelSource(store: ObjectStore, settings: Settings, logger?: Logger): ModelSource {
  return {
    pointerLocation: { bucket: settings.store.buckets.promotion, keys: pointerCascade(settings) },
    async loadRun(runId) {
      const { run, model, scaler, intervals } = await loadRunForServing(store, settings, runId, { inferenceThread: settings.serve.inferenceThread, engine: settings.serve.engine, logger });
      const source = intervals ? await createIntervalSource(intervals, parseIntervalLevels(settings.eval.intervalLevels)) : undefined;
      return { run: { runId: run.run_id, modelType: run.model_type, configHash: run.config_hash }, model, scaler, ...(source ? { intervals: source } : {}) };
    },
    async readRun(runId) {
      const run = await readRunRecord(store, settings, runId);
      return { runId: run.run_id, modelType: run.model_type, configHash: run.config_hash };
    },
    async readPointer() {
      const found = await readPromotionPointerWithSource(store, settings);
      if (!found) return undefined;
      const { record, key, skipped } = found;
      return { runId: record.run_id, configHash: record.config_hash, modelType: record.model_type, source: key, timestamp: record.timestamp, skipped };
    },
    async readPointerCascade() {
      return (await readPromotionPointers(store, settings)).map(({ record, key }) => ({ runId: record.run_id, configHash: record.config_hash, modelType: record.model_type, source: key, timestamp: record.timestamp }));
    },
    async loadTestFrame(configHash) {
      return loadProcessedTestFrame(store, settings, { configHash });
    },
  };
}
