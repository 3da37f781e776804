import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { RunDataLineage } from '../registry/run-record.js';
import { runKey, runsBucket } from '../registry/run-store.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { BacktestModelResult } from './backtest-model.js';

/** Everything one backtest of a config_hash found, as stored in the runs bucket. */
export interface BacktestRecord {
  config_hash: string;
  /**
   * The rows the folds scored, as the processed data's sidecar recorded them (`flts.data_sha256`, `flts.fingerprints`),
   * under the names a run.json gives them. config_hash names the file names, not their rows: new rows under the same
   * names keep it, and a ranking on this record is then one of rows no longer held. Absent in records of flts before
   * 2026-12, which tell nothing of their rows.
   */
  data?: Pick<RunDataLineage, 'processed_sha256' | 'fingerprints'>;
  /**
   * The target set backtested (sorted): every model's run forecasts it, and so does every model fitted without one.
   * Absent in records of flts before target sets, whose models took each type's newest run whatever its targets.
   */
  targets?: string[];
  created_at: string;
  horizon: number;
  stride: number;
  refit_every: number;
  /** Timestamps of the fold origins, oldest first. */
  origins: string[];
  models: BacktestModelResult[];
  /** Model types by aggregate score, best first. */
  ranking: { rank: number; model_type: string; run_id: string | null; score: number; rmse: number }[];
}

/** `backtests/<config_hash>/` in the runs bucket; run records live at `<run_id>/run.json`, so the two never mix. */
export function backtestKeys(configHash: string): { record: string; chart: string } {
  return { record: `backtests/${configHash}/backtest.json`, chart: `backtests/${configHash}/error-over-time.svg` };
}

/** A run's own backtest, next to its run.json. */
export function runBacktestKey(runId: string): string {
  return runKey(runId, 'backtest.json');
}

/** The rows a record names, when it names them: each digest is text (the input files' both there, or neither). */
function isRowsLineage(data: unknown): boolean {
  if (data === undefined) return true;
  if (typeof data !== 'object' || data === null) return false;
  const { processed_sha256: processed, fingerprints } = data as { processed_sha256?: unknown; fingerprints?: { train?: { sha256?: unknown }; test?: { sha256?: unknown } } | null };
  if (processed !== undefined && typeof processed !== 'string') return false;
  return fingerprints === undefined || (typeof fingerprints?.train?.sha256 === 'string' && typeof fingerprints.test?.sha256 === 'string');
}

/** The targets a record names, when it names them: column names. */
const isTargetSet = (targets: unknown): boolean => targets === undefined || (Array.isArray(targets) && targets.length > 0 && targets.every((name) => typeof name === 'string'));

/** What ranking on a record reads: its models, each with a type, a run (or null) and an aggregate, and the rows it scored when it names them. */
function isBacktestRecord(value: unknown): value is BacktestRecord {
  const models = (value as Partial<BacktestRecord> | null)?.models;
  return (
    Array.isArray(models) &&
    isRowsLineage((value as Partial<BacktestRecord>).data) &&
    isTargetSet((value as Partial<BacktestRecord>).targets) &&
    models.every((model: Partial<BacktestModelResult> | null) => typeof model?.model_type === 'string' && (model.run_id === null || typeof model.run_id === 'string') && typeof model.aggregate === 'object' && model.aggregate !== null)
  );
}

const REWRITE_HINT = 'The stored backtest was cut short or edited; run `flts backtest` again for this config_hash to write it anew.';

export async function readBacktestRecord(store: ObjectStore, settings: Settings, configHash: string): Promise<BacktestRecord | undefined> {
  const bucket = runsBucket(settings);
  const key = backtestKeys(configHash).record;
  const record = await getJsonIfExists<unknown>(store, bucket, key).catch((error: unknown) => {
    throw error instanceof FltsError && error.code === 'FLTS_DATA_UNREADABLE' ? new FltsError('FLTS_DATA_UNREADABLE', error.message, { cause: error, details: { bucket, key }, hint: REWRITE_HINT }) : error;
  });
  if (record === undefined || isBacktestRecord(record)) return record;
  throw new FltsError('FLTS_DATA_UNREADABLE', `Object ${bucket}/${key} is not a backtest record (its models, each with a type, a run and an aggregate, the digests of its rows or its targets are missing or damaged).`, { details: { bucket, key }, hint: REWRITE_HINT });
}

export async function saveBacktestRecord(store: ObjectStore, settings: Settings, record: BacktestRecord): Promise<string[]> {
  const bucket = runsBucket(settings);
  const keys = [backtestKeys(record.config_hash).record];
  await putJson(store, bucket, keys[0], record);
  for (const model of record.models) {
    if (!model.run_id) continue;
    const key = runBacktestKey(model.run_id);
    const { models: _models, ranking: _ranking, ...context } = record;
    await putJson(store, bucket, key, { ...context, run_id: model.run_id, result: model });
    keys.push(key);
  }
  return keys;
}
