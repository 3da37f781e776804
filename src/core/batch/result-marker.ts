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
   */
  state?: 'pending' | 'done';
}

export const BATCH_DIR = 'batch-inference';

export function resultMarkerKey(runId: string, predictionHash: string): string {
  return runKey(runId, BATCH_DIR, `${predictionHash}.json`);
}

export function forecastObjectKey(runId: string, predictionHash: string, format: 'parquet' | 'csv'): string {
  return runKey(runId, BATCH_DIR, `${predictionHash}.${format}`);
}

export async function readResultMarker(store: ObjectStore, settings: Settings, runId: string, predictionHash: string): Promise<ResultMarker | undefined> {
  return getJsonIfExists<ResultMarker>(store, runsBucket(settings), resultMarkerKey(runId, predictionHash));
}

export async function writeResultMarker(store: ObjectStore, settings: Settings, marker: ResultMarker): Promise<void> {
  await putJson(store, runsBucket(settings), resultMarkerKey(marker.run_id, marker.prediction_hash), marker);
}

/**
 * `<identifier|default>/<YYYYMMDD>/batch-<run_id>-<prediction_hash>.jsonl`: one new object per result, never
 * read back and rewritten (F22), and the same key for the same result on any replica.
 */
export function resultLogKey(identifier: string, now: Date, runId: string, predictionHash: string): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `${identifier || 'default'}/${day}/batch-${runId}-${predictionHash}.jsonl`;
}
