import type { Settings } from '../config/settings.js';
import { runKey, runsBucket } from '../registry/run-store.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * A durable record that the result (run_id, prediction_hash) was logged and announced. It lives with the
 * run in the object store, so every replica and every restart sees it (unlike the reference's in-memory
 * set, F23), and its key is a function of the pair alone, so concurrent writers converge on one object.
 */
export interface ResultMarker {
  run_id: string;
  prediction_hash: string;
  log_bucket: string;
  log_object_key: string;
  forecast_bucket: string;
  forecast_key: string;
  rows_predicted: number;
  created_at: string;
  /**
   * `pending` from before the result is written until it is announced: a redelivery after a crash between the two
   * finishes the same result (same log object, same day) instead of writing another. Markers without it are done.
   * A pending marker is kept at its own key (`pendingMarkerKey`): flts before 2026-12 takes any object at the
   * marker's key for a finished result, so an older replica given the redelivery would skip it for good.
   */
  state?: 'pending' | 'done';
}

export const BATCH_DIR = 'batch-inference';

export function resultMarkerKey(runId: string, predictionHash: string): string {
  return runKey(runId, BATCH_DIR, `${predictionHash}.json`);
}

export function pendingMarkerKey(runId: string, predictionHash: string): string {
  return runKey(runId, BATCH_DIR, `${predictionHash}.pending.json`);
}

export function forecastObjectKey(runId: string, predictionHash: string, format: 'parquet' | 'csv'): string {
  return runKey(runId, BATCH_DIR, `${predictionHash}.${format}`);
}

/**
 * The result's marker once it is done; else the pending marker of a result a crash left half written, at its own key
 * or (as flts wrote it until the key was split) at the marker's key with `state: 'pending'`; undefined for a new result.
 */
export async function readResultMarker(store: ObjectStore, settings: Settings, runId: string, predictionHash: string): Promise<ResultMarker | undefined> {
  const bucket = runsBucket(settings);
  const marker = await getJsonIfExists<ResultMarker>(store, bucket, resultMarkerKey(runId, predictionHash));
  if (marker && marker.state !== 'pending') return marker;
  const pending = await getJsonIfExists<ResultMarker>(store, bucket, pendingMarkerKey(runId, predictionHash));
  return pending ? { ...pending, state: 'pending' } : marker;
}

export async function writePendingMarker(store: ObjectStore, settings: Settings, marker: ResultMarker): Promise<void> {
  await putJson(store, runsBucket(settings), pendingMarkerKey(marker.run_id, marker.prediction_hash), { ...marker, state: 'pending' });
}

/** Marks the result done; its pending marker goes, though one left behind is harmless (a done marker is read first). */
export async function writeResultMarker(store: ObjectStore, settings: Settings, marker: ResultMarker): Promise<void> {
  await putJson(store, runsBucket(settings), resultMarkerKey(marker.run_id, marker.prediction_hash), { ...marker, state: 'done' });
  await store.delete(runsBucket(settings), pendingMarkerKey(marker.run_id, marker.prediction_hash)).catch(() => undefined);
}

/**
 * `<identifier|default>/<YYYYMMDD>/batch-<run_id>-<prediction_hash>.jsonl`: one new object per result, never
 * read back and rewritten (F22), and the same key for the same result on any replica.
 */
export function resultLogKey(identifier: string, now: Date, runId: string, predictionHash: string): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `${identifier || 'default'}/${day}/batch-${runId}-${predictionHash}.jsonl`;
}
