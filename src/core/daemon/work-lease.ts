import type { Settings } from '../config/settings.js';
import { sleep } from '../retry.js';
import type { Logger } from '../logger.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * A lease says "this process is working on this step right now". It lives in the runs bucket beside the
 * runs, so it survives the process: a lease whose heartbeat stopped belongs to a process that died, and
 * its work may be taken over. Object stores have no compare-and-swap, so taking a lease writes, waits a
 * moment and reads back: of two processes racing for one lease, only the last writer proceeds.
 */
export interface LeaseRecord {
  owner: string;
  step: string;
  config_hash: string;
  model_type: string;
  acquired_at: string;
  heartbeat_at: string;
  /** The run being trained, once it exists. */
  run_id?: string;
}

export interface LeaseOptions {
  store: ObjectStore;
  settings: Settings;
  owner: string;
  logger: Logger;
  now?: () => number;
}

export interface HeldLease {
  readonly key: string;
  /** Records the run id in the lease (written with the next heartbeat, and at once). */
  attachRun(runId: string): void;
  release(): Promise<void>;
}

const SETTLE_MS = 250;

export function leaseKey(step: string, configHash: string, modelType: string): string {
  return `leases/${step}/${configHash}/${modelType.toLowerCase() || 'all'}.json`;
}

export function isLeaseFresh(lease: LeaseRecord | undefined, staleMs: number, nowMs: number): lease is LeaseRecord {
  return lease !== undefined && nowMs - Date.parse(lease.heartbeat_at) < staleMs;
}

export async function readLease(store: ObjectStore, settings: Settings, key: string): Promise<LeaseRecord | undefined> {
  return getJsonIfExists<LeaseRecord>(store, settings.store.buckets.runs, key).catch(() => undefined);
}

/**
 * Takes the lease unless another owner holds a fresh one; undefined when someone else has it. While held,
 * a heartbeat refreshes it every `daemon.heartbeatMs`.
 */
export async function acquireLease(options: LeaseOptions, work: { step: string; configHash: string; modelType: string }, signal?: AbortSignal): Promise<HeldLease | undefined> {
  const { store, settings, owner, logger } = options;
  const now = options.now ?? Date.now;
  const bucket = settings.store.buckets.runs;
  const key = leaseKey(work.step, work.configHash, work.modelType);
  const existing = await readLease(store, settings, key);
  if (existing && existing.owner !== owner && isLeaseFresh(existing, settings.daemon.leaseStaleMs, now())) return undefined;
  const stamp = new Date(now()).toISOString();
  let record: LeaseRecord = { owner, step: work.step, config_hash: work.configHash, model_type: work.modelType, acquired_at: stamp, heartbeat_at: stamp };
  await store.ensureBucket(bucket);
  await putJson(store, bucket, key, record);
  await sleep(SETTLE_MS, signal);
  const check = await readLease(store, settings, key);
  if (check?.owner !== owner) return undefined;

  let released = false;
  const beat = async (): Promise<void> => {
    if (released) return;
    record = { ...record, heartbeat_at: new Date(now()).toISOString() };
    await putJson(store, bucket, key, record).catch((error: unknown) => logger.warn({ key, err: error }, 'daemon_lease_heartbeat_failed'));
  };
  const timer = setInterval(() => void beat(), settings.daemon.heartbeatMs);
  timer.unref();
  return {
    key,
    attachRun(runId) {
      record = { ...record, run_id: runId };
      void beat();
    },
    async release() {
      released = true;
      clearInterval(timer);
      const current = await readLease(store, settings, key);
      if (current?.owner === owner) await store.delete(bucket, key).catch((error: unknown) => logger.warn({ key, err: error }, 'daemon_lease_release_failed'));
    },
  };
}
