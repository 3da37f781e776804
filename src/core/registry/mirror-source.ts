import type { Settings } from '../config/settings.js';
import { RUN_FILES, type RunRecord } from './run-record.js';
import { readRunRecord, runKey, runsBucket } from './run-store.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { TrainedDataLineage } from './trained-data.js';

/**
 * What the mirror needs of one run, read from the run registry in the object store (`<run_id>/run.json`,
 * `<run_id>/metrics.json` and the artifacts beside them). Reading the store, not hooking into training,
 * keeps the mirror independent: it can run right after training, later from the catch-up, or elsewhere.
 */
export interface MirrorSource {
  runId: string;
  modelType: string;
  configHash: string;
  status: 'RUNNING' | 'SUCCESS' | 'FAILED' | 'KILLED';
  /** Who trained the run (its record's `user`); absent on runs recorded before it was kept. */
  user?: string;
  startTime: number;
  endTime?: number;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Final metrics by MLflow name (test_rmse, test_mae, test_mse, test_r2, ...). */
  metrics: Record<string, number>;
  /** Per-epoch history; step = epoch number starting at 1, like the reference trainers. */
  history: Array<{ step: number; timestamp: number; values: Record<string, number> }>;
  /** Store key (inside the runs bucket) -> artifact path in MLflow. */
  artifacts: Array<{ key: string; artifactPath: string }>;
}

/** The tag of a mirror carrying the run's `data.processed_sha256`: the processed rows and scaler it was trained on. */
export const PROCESSED_SHA256_TAG = 'flts.data.processed_sha256';
const inputSha256Tag = (side: string): string => `flts.data.${side}_sha256`;

/**
 * What the tags of a mirror say of the data its run was trained on (nothing, for a run a reference trainer logged),
 * to compare with the data its config_hash holds now as the run's own record would be.
 */
export function mirroredLineage(configHash: string, tags: Readonly<Record<string, string>>): TrainedDataLineage {
  const train = tags[inputSha256Tag('train')];
  const test = tags[inputSha256Tag('test')];
  return { configHash, processedSha256: tags[PROCESSED_SHA256_TAG], inputs: train && test ? { train: { sha256: train }, test: { sha256: test } } : undefined };
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
const pick = (source: unknown, ...names: string[]): unknown => (isObject(source) ? names.map((n) => source[n]).find((v) => v !== undefined) : undefined);

function toTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === null) return Number.NaN;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  if (value === 'NaN') return Number.NaN;
  return undefined;
}

/** Nested objects become dotted keys; arrays and scalars become their JSON text. */
export function flattenParams(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) flattenParams(child, prefix ? `${prefix}.${key}` : key, out);
  } else if (value !== undefined && prefix) {
    out[prefix] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/**
 * `test_*` are the run's scaled test metrics as the score ranks them (the reference trainers' names);
 * per-target values follow in scaled and original units.
 */
function finalMetrics(record: RunRecord): Record<string, number> {
  const metrics = record.metrics;
  if (!metrics) return {};
  const out: Record<string, number> = { test_rmse: metrics.test_rmse, test_mae: metrics.test_mae, test_mse: metrics.test_mse, test_r2: metrics.test_r2 };
  if (metrics.val_loss !== undefined) out.best_val_loss = metrics.val_loss;
  for (const [target, values] of Object.entries(metrics.test?.targets ?? {})) {
    for (const name of ['rmse', 'mae', 'mse', 'r2'] as const) {
      out[`test_${name}_${target}`] = values.scaled[name];
      out[`test_${name}_${target}_original`] = values.original[name];
    }
  }
  return out;
}

function historyOf(metricsFile: unknown, startTime: number): MirrorSource['history'] {
  const rows = Array.isArray(metricsFile) ? metricsFile : (pick(metricsFile, 'epochs', 'history') as unknown);
  if (!Array.isArray(rows)) return [];
  const epochRows = rows.filter(isObject);
  // Steps start at 1 (the reference logged step = epoch + 1), whether the history counts epochs from 0 or 1.
  const zeroBased = epochRows.some((row) => toNumber(pick(row, 'epoch')) === 0);
  let elapsed = 0;
  return epochRows.map((row, index) => {
    const epoch = toNumber(pick(row, 'epoch'));
    const step = epoch === undefined ? index + 1 : epoch + (zeroBased ? 1 : 0);
    const values: Record<string, number> = {};
    const trainLoss = toNumber(pick(row, 'train_loss', 'trainLoss', 'loss'));
    const valLoss = toNumber(pick(row, 'val_loss', 'valLoss'));
    if (trainLoss !== undefined) values.train_loss = trainLoss;
    if (valLoss !== undefined) values.val_loss = valLoss;
    // Timestamps must be deterministic: MLflow drops a re-logged point only when (step, timestamp, value) match.
    elapsed += toNumber(pick(row, 'duration_ms')) ?? 1;
    return { step, timestamp: toTime(pick(row, 'ended_at', 'timestamp')) ?? startTime + Math.round(elapsed), values };
  });
}

const ARTIFACT_RULES: Array<{ match: (key: string) => boolean; to: (key: string, modelType: string) => string }> = [
  { match: (key) => key.startsWith('model/'), to: (key, modelType) => `${modelType}/${key.slice('model/'.length)}` },
  { match: (key) => key === 'scaler.json', to: () => 'scaler/scaler.json' },
  { match: (key) => key === 'loss-curve.svg', to: () => 'plots/loss_curve.svg' },
  { match: (key) => key === 'run.json' || key === 'metrics.json', to: (key) => `flts/${key}` },
];

export async function loadMirrorSource(store: ObjectStore, settings: Settings, runId: string): Promise<MirrorSource> {
  const record = await readRunRecord(store, settings, runId);
  const bucket = runsBucket(settings);
  const metricsFile = await getJsonIfExists<unknown>(store, bucket, runKey(runId, RUN_FILES.history));
  const startTime = toTime(record.timings?.started_at) ?? 0;
  const endTime = toTime(record.timings?.finished_at);
  const params: Record<string, string> = {
    ...flattenParams(record.params),
    input_sequence_length: String(record.window.inputSeqLen),
    output_sequence_length: String(record.window.outputSeqLen),
    features: record.window.features.join(','),
    targets: record.window.targets.join(','),
    seed: String(record.seed),
    config_hash: record.config_hash,
    model_type: record.model_type,
  };
  if (record.backend !== undefined) params.backend = record.backend;
  const tags: Record<string, string> = { 'flts.run_id': runId, 'flts.seed': String(record.seed), 'flts.version': String(record.flts_version ?? '') };
  if (record.backend !== undefined) tags['flts.backend'] = record.backend;
  for (const [side, fingerprint] of Object.entries(record.data?.fingerprints ?? {})) {
    tags[inputSha256Tag(side)] = fingerprint.sha256;
    tags[`flts.data.${side}_file`] = fingerprint.file;
  }
  if (record.data?.processed_sha256) tags[PROCESSED_SHA256_TAG] = record.data.processed_sha256;
  if (record.data?.train_source_object) tags['flts.data.train_object'] = record.data.train_source_object;
  if (record.error) tags['flts.error'] = `${record.error.code}: ${record.error.message}`.slice(0, 5000);
  const objects = await store.list(bucket, `${runId}/`);
  const artifacts = objects.flatMap(({ key }) => {
    const relative = key.slice(runId.length + 1);
    const rule = ARTIFACT_RULES.find((r) => r.match(relative));
    return rule ? [{ key, artifactPath: rule.to(relative, record.model_type) }] : [];
  });
  return {
    runId,
    modelType: record.model_type,
    configHash: record.config_hash,
    status: record.status,
    ...(typeof record.user === 'string' && record.user !== '' ? { user: record.user } : {}),
    startTime,
    endTime,
    params,
    tags,
    metrics: finalMetrics(record),
    history: historyOf(metricsFile, startTime),
    artifacts,
  };
}
