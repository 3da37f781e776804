import * as tf from '@tensorflow/tfjs';
import type { Settings } from '../config/settings.js';
import type { ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import { INTERVALS_FORMAT, type IntervalCalibration } from '../models/prediction-intervals.js';
import { buildRecurrentNetwork } from '../models/recurrent-model.js';
import { readProcessedSidecar } from '../preprocess/processed-data.js';
import { writeProcessedOutputs } from '../preprocess/write-processed.js';
import { MODEL_ARTIFACT_FILES, saveModelJson, saveNetwork } from '../registry/run-artifacts.js';
import { digestingStore } from '../registry/run-digests.js';
import { sealRunRecord } from '../registry/run-record-seal.js';
import { RUN_FILES, type RunRecord } from '../registry/run-record.js';
import { runKey, runsBucket, saveRunRecord } from '../registry/run-store.js';
import { putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';

const SCALER: ScalerParams = { method: 'MinMaxScaler', columns: ['down'], offset: [0], scale: [1] };
const HOUR = 3_600_000;

function series(rows: number, startMs: number): TimeFrame {
  const time = Float64Array.from({ length: rows }, (_, i) => startMs + i * HOUR);
  return { time, columns: ['down'], values: { down: Float64Array.from({ length: rows }, (_, i) => 0.5 + 0.4 * Math.sin(i / 3)) } };
}

/** Processed data for a config_hash (40 train rows, 12 test rows of one column `down`), written like `flts preprocess`. */
export async function addProcessedData(store: ObjectStore, settings: Settings, configHash: string, createdAt = new Date('2025-01-01T00:00:00Z')): Promise<void> {
  if (await readProcessedSidecar(store, settings, configHash)) return;
  const start = Date.UTC(2025, 0, 1);
  const fingerprint = { file: 'fixture.csv', sha256: configHash, bytes: 0 };
  await writeProcessedOutputs(store, settings, {
    configHash,
    canonicalConfig: '{}',
    train: series(40, start),
    test: series(12, start + 40 * HOUR),
    trainSource: 'fixture.csv',
    testSource: 'fixture_test.csv',
    createdAt,
    extras: { version: 'test', fingerprints: { train: fingerprint, test: fingerprint }, sample_seed: 42, sample_strategy: 'none', scaler: SCALER, time_column: 'time', dropped_columns: [], imputed_cells: 0 },
  });
}

/**
 * An interval calibration as training writes one for `window`: per target, a floor and one step of sorted error
 * ratios per forecast step (20 calibration windows, enough for a band at 0.8 and 0.95).
 */
export function fixtureCalibration(window: RunRecord['window']): IntervalCalibration {
  const ratios = Array.from({ length: 20 }, (_, i) => 0.1 * (i + 1));
  return {
    format: INTERVALS_FORMAT,
    method: 'split-conformal',
    calibration: 'validation-tail',
    windows: ratios.length,
    horizon: window.outputSeqLen,
    floors: Object.fromEntries(window.targets.map((target) => [target, 0.01])),
    errors: Object.fromEntries(window.targets.map((target) => [target, Array.from({ length: window.outputSeqLen }, () => ratios)])),
  };
}

/**
 * Saves a run whose model serving can really load and forecast: a NAIVE artifact, or an untrained LSTM/GRU
 * network (optionally with every weight NaN, a broken run), plus its scaler and processed data. With `intervals`,
 * also its interval calibration (fixtureCalibration), named among its artifacts as training names it.
 */
export async function addLoadableRun(registry: ObjectStore, settings: Settings, given: RunRecord, options: { nanWeights?: boolean; digests?: boolean; intervals?: boolean } = {}): Promise<void> {
  const run = options.intervals ? { ...given, artifacts: { ...given.artifacts, intervals: RUN_FILES.intervals } } : given;
  await addProcessedData(registry, settings, run.config_hash, run.data.processed_created_at ? new Date(run.data.processed_created_at) : undefined);
  await saveRunRecord(registry, settings, run);
  // With `digests`, the record holds the SHA-256 of the files written and is sealed, as training records them.
  const written = digestingStore(registry, settings, run.run_id);
  const store = written.store;
  await putJson(store, runsBucket(settings), runKey(run.run_id, RUN_FILES.scaler), SCALER);
  if (run.model_type === 'LSTM' || run.model_type === 'GRU') {
    const network = buildRecurrentNetwork(run.model_type, run.window, { hiddenSize: 4, numLayers: 1 }, 7);
    if (options.nanWeights) network.setWeights(network.getWeights().map((w) => tf.fill(w.shape, Number.NaN)));
    await saveNetwork(store, settings, run.run_id, network);
    network.dispose();
  } else if (run.model_type === 'NAIVE') {
    await saveModelJson(store, settings, run.run_id, MODEL_ARTIFACT_FILES.NAIVE, { format: 'flts-naive-v1', window: run.window });
  }
  if (options.intervals) await putJson(store, runsBucket(settings), runKey(run.run_id, RUN_FILES.intervals), fixtureCalibration(run.window));
  if (options.digests) await saveRunRecord(registry, settings, sealRunRecord({ ...run, artifact_sha256: written.digests() }));
}
