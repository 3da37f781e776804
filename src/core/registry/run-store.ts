import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { RUN_FILES, type RunRecord } from './run-record.js';

const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function assertRunId(runId: string): void {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new FltsError('FLTS_RUN_NOT_FOUND', `Run ${JSON.stringify(runId)} does not exist: run ids are letters, digits, "-" and "_".`, { details: { runId } });
  }
}

export function runKey(runId: string, ...parts: string[]): string {
  assertRunId(runId);
  return [runId, ...parts].join('/');
}

export function runsBucket(settings: Settings): string {
  return settings.store.buckets.runs;
}

export async function saveRunRecord(store: ObjectStore, settings: Settings, record: RunRecord): Promise<void> {
  await putJson(store, runsBucket(settings), runKey(record.run_id, RUN_FILES.record), record);
}

export async function findRunRecord(store: ObjectStore, settings: Settings, runId: string): Promise<RunRecord | undefined> {
  return getJsonIfExists<RunRecord>(store, runsBucket(settings), runKey(runId, RUN_FILES.record));
}

/** Throws FLTS_RUN_NOT_FOUND when the run does not exist. */
export async function readRunRecord(store: ObjectStore, settings: Settings, runId: string): Promise<RunRecord> {
  const record = await findRunRecord(store, settings, runId);
  if (!record) {
    throw new FltsError('FLTS_RUN_NOT_FOUND', `Run ${runId} not found in bucket '${runsBucket(settings)}'.`, { details: { runId, bucket: runsBucket(settings) } });
  }
  return record;
}

/** Every run record (optionally of one config_hash), oldest first. */
export async function listRunRecords(store: ObjectStore, settings: Settings, filter: { configHash?: string } = {}): Promise<RunRecord[]> {
  const bucket = runsBucket(settings);
  const keys = (await store.list(bucket)).map((info) => info.key).filter((key) => key.split('/').length === 2 && key.endsWith(`/${RUN_FILES.record}`));
  const records = await Promise.all(keys.map((key) => getJsonIfExists<RunRecord>(store, bucket, key)));
  return records
    .filter((record): record is RunRecord => record !== undefined && (!filter.configHash || record.config_hash === filter.configHash))
    .sort((a, b) => a.timings.started_at.localeCompare(b.timings.started_at) || a.run_id.localeCompare(b.run_id));
}
