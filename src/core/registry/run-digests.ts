import { createHash } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../logger.js';
import type { ObjectBody, ObjectStore } from '../storage/object-store.js';
import { RUN_FILES, type RunRecord } from './run-record.js';
import { brokenRecordSeal, corruptRun, runKey, runsBucket } from './run-store.js';

const sha256 = (body: ObjectBody | Buffer): string => createHash('sha256').update(body).digest('hex');

/**
 * The files of a run its model predicts from (relative to the run): the model's own files, the scaler and the
 * interval calibration. Their digests are recorded, because a weights file swapped for another run's or with a
 * flipped bit still loads, and only forecasts garbage.
 */
export function isPredictingFile(file: string): boolean {
  return file.startsWith(`${RUN_FILES.modelDir}/`) || file === RUN_FILES.scaler || file === RUN_FILES.intervals;
}

/**
 * `store`, recording the SHA-256 of every file of run `runId` that its model predicts from as it is written: the
 * bytes hashed are the bytes put, so the digests say what the trainer wrote, not what was read back.
 */
export function digestingStore(store: ObjectStore, settings: Settings, runId: string): { store: ObjectStore; digests: () => Record<string, string> } {
  const bucket = runsBucket(settings);
  const prefix = runKey(runId, '');
  const digests = new Map<string, string>();
  const recording = new Proxy(store, {
    get(target, name, receiver) {
      if (name !== 'put') return Reflect.get(target, name, receiver);
      return async (...args: Parameters<ObjectStore['put']>) => {
        const [putBucket, key, body] = args;
        await target.put(...args);
        const file = putBucket === bucket && key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
        if (file !== undefined && isPredictingFile(file)) digests.set(file, sha256(body));
      };
    },
  });
  return { store: recording, digests: () => Object.fromEntries([...digests].sort(([a], [b]) => a.localeCompare(b))) };
}

/**
 * `store`, refusing with FLTS_RUN_CORRUPT any file of `record`'s run read through it whose bytes differ from the
 * SHA-256 its record holds. Each file is hashed once, from the bytes the loader reads anyway. A run recorded without
 * digests (trained before they were kept, or written by another system) reads exactly as before.
 */
export function verifiedRunStore(store: ObjectStore, settings: Settings, record: RunRecord): ObjectStore {
  const expected = record.artifact_sha256;
  if (!expected || Object.keys(expected).length === 0) return store;
  const bucket = runsBucket(settings);
  const prefix = runKey(record.run_id, '');
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name !== 'get') return Reflect.get(target, name, receiver);
      return async (...args: Parameters<ObjectStore['get']>) => {
        const [getBucket, key] = args;
        const bytes = await target.get(...args);
        const file = getBucket === bucket && key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
        const digest = file !== undefined && Object.hasOwn(expected, file) ? expected[file] : undefined;
        if (digest !== undefined && sha256(bytes) !== digest) throw corruptRun(record.run_id, `${bucket}/${key}`, 'does not have the SHA-256 its run recorded (changed or swapped since training)');
        return bytes;
      };
    },
  });
}

/** Runs this process has loaded without a sealed record, each said once. */
const unsealedRunsSaid = new Set<string>();

/**
 * Refuses with FLTS_RUN_CORRUPT a record whose content is not what training sealed: its window, targets, floors,
 * params and the artifact digests themselves are what serving builds its inputs and checks its files by, and an
 * edit of run.json would otherwise be served as is. A record without a seal (a run trained before records were
 * sealed, or written by another system) loads as before, said once per run in `logger`. Listings of runs leave out
 * such a record by the same check (scanRunRecords), so that no edited record is ranked or chosen either.
 */
export function verifyRunRecordSeal(settings: Settings, record: RunRecord, logger?: Logger): void {
  const key = `${runsBucket(settings)}/${runKey(record.run_id, RUN_FILES.record)}`;
  if (record.record_sha256 === undefined) {
    if (logger && !unsealedRunsSaid.has(key)) {
      unsealedRunsSaid.add(key);
      logger.info({ run_id: record.run_id, key }, 'run_record_unsealed');
    }
    return;
  }
  const broken = brokenRecordSeal(settings, record);
  if (broken) throw broken;
}
