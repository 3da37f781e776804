import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Settings } from '../config/settings.js';
import type { InstanceSettings } from '../config/specs/runtime.js';
import type { Logger } from '../logger.js';
import { getJsonIfExists, parseLenientJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { orUnlessUnavailable, repeatedFailureFields } from '../errors.js';
import { pollUntil } from '../retry.js';
import { seenUnchangedMs } from '../storage/seen-unchanged.js';
import type { RunOwner } from './run-record.js';
import { currentRunOwner, ownerProcessGone, ownerSharesProcesses } from './run-store.js';

/**
 * A lease says "this process is working on this step right now". It lives in the runs bucket beside the
 * runs, so it survives the process: a lease whose heartbeat stopped belongs to a process that died, and
 * its work may be taken over. Taking one is a conditional write: create it only when absent, or replace a
 * stale one only at the version read (S3 If-None-Match / If-Match; O_EXCL link and a locked compare on the
 * filesystem), so of any number of racing processes exactly one holds it. Heartbeats are conditional too:
 * a holder whose lease was taken over stops writing it.
 *
 * Staleness is judged on the reader's clock alone: a lease is stale once this process has seen it unchanged
 * (no heartbeat, no new holder) for `daemon.leaseStaleMs` of its own monotonic time. Comparing the holder's
 * heartbeat timestamp with the reader's clock would let a holder whose clock runs behind lose a live lease,
 * and two trainers train the same model. A holder on this host whose process is gone (its pid unused, or another
 * process's) is known to have stopped at once, as a run's trainer is (runOwnerGone), and so is an earlier instance of
 * this process's container (settings `instance.*`: the same pod and container, or the same Docker container by its id
 * file, restarted in place) without waiting.
 *
 * The `train` lease of a (config_hash, model type) is also the training claim that `trainModels` takes for the CLI
 * and the library (workflows/train-claim.ts): the daemon's trainer and every `flts train` exclude each other by it.
 */
export interface LeaseRecord {
  owner: string;
  step: string;
  config_hash: string;
  model_type: string;
  acquired_at: string;
  /** The holder's clock, for people reading the lease; staleness never compares it with another clock. */
  heartbeat_at: string;
  /** Counts the holder's writes, so that every heartbeat changes the lease even when its clock stands still. */
  beats?: number;
  /** The run being trained, once it exists. */
  run_id?: string;
  /** The holder's process (absent on leases written before it was kept): one gone from this host holds nothing. */
  process?: RunOwner;
}

export interface LeaseOptions {
  store: ObjectStore;
  settings: Settings;
  owner: string;
  logger: Logger;
  /** Wall clock of the timestamps written into the lease. */
  now?: () => number;
  /** This process's monotonic clock, which alone decides staleness (default `performance.now`, see seenUnchangedMs). */
  monotonic?: () => number;
}

export interface HeldLease {
  readonly key: string;
  /** Records the run id in the lease (written with the next heartbeat, and at once). */
  attachRun(runId: string): void;
  release(): Promise<void>;
  /**
   * Stops heartbeating and leaves the lease in place, as a holder that died would: whoever looks next finds the work
   * unfinished (its lease abandoned) and finishes it, this holder included.
   */
  abandon(): Promise<void>;
}

/** An owner id unique to one holder: its host and pid, for people reading the lease, and a random part. */
export function uniqueLeaseOwner(): string {
  return `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export function leaseKey(step: string, configHash: string, modelType: string): string {
  return `leases/${step}/${configHash}/${modelType.toLowerCase() || 'all'}.json`;
}

/** A lease is fresh until this process has seen it unchanged for `staleMs`; see `seenUnchangedMs`. */
export function isLeaseFresh(store: ObjectStore, key: string, lease: LeaseRecord | undefined, staleMs: number, monotonic?: () => number): lease is LeaseRecord {
  const unchangedMs = seenUnchangedMs(store, key, lease, monotonic);
  return lease !== undefined && unchangedMs < staleMs;
}

/**
 * Whether the lease read at `key` still has a holder at work: fresh (isLeaseFresh), and its process not known gone
 * (ownerProcessGone; `instance` is this process's settings `instance.*`).
 */
export function isLeaseHeld(store: ObjectStore, key: string, lease: LeaseRecord | undefined, staleMs: number, monotonic?: () => number, instance?: InstanceSettings): lease is LeaseRecord {
  return isLeaseFresh(store, key, lease, staleMs, monotonic) && !(lease.process && ownerProcessGone(lease.process, lease.acquired_at, instance));
}

/**
 * Whether the lease's holder is known to be at work without waiting to see the lease change: a process on this host
 * that still runs (the very process, told from one given its pid since by its recorded start) and beat within
 * `staleMs` by this host's clock, the one clock it shares with the reader. Only ever a reason to leave a lease alone,
 * never to take one: elsewhere, or when in doubt, a change seen on this process's own clock decides (isLeaseFresh).
 */
export function isLeaseBeatingHere(lease: LeaseRecord, staleMs: number, now: number = Date.now()): boolean {
  const holder = lease.process;
  if (holder?.started === undefined || !ownerSharesProcesses(holder) || ownerProcessGone(holder, lease.acquired_at)) return false;
  const age = now - Date.parse(lease.heartbeat_at);
  return age >= 0 && age < staleMs;
}

/**
 * Returns once the lease at `key` is released, stale (unchanged for `daemon.leaseStaleMs` as this process sees it)
 * or its holder's process is gone (false when `signal` aborts first). A look per heartbeat keeps a dead holder's
 * takeover within about one heartbeat of that.
 */
export async function waitForLeaseFree(store: ObjectStore, settings: Settings, key: string, signal: AbortSignal, monotonic?: () => number): Promise<boolean> {
  return pollUntil(settings.daemon.heartbeatMs, signal, async () => !isLeaseHeld(store, key, await readLease(store, settings, key), settings.daemon.leaseStaleMs, monotonic, settings.instance));
}

export async function readLease(store: ObjectStore, settings: Settings, key: string): Promise<LeaseRecord | undefined> {
  return getJsonIfExists<LeaseRecord>(store, settings.store.buckets.runs, key).catch(orUnlessUnavailable(undefined));
}

/**
 * Takes the lease unless another owner holds it (isLeaseHeld); undefined when someone else has it. While held,
 * a heartbeat refreshes it every `daemon.heartbeatMs`.
 */
export async function acquireLease(options: LeaseOptions, work: { step: string; configHash: string; modelType: string }, signal?: AbortSignal): Promise<HeldLease | undefined> {
  const { store, settings, owner, logger } = options;
  if (signal?.aborted) return undefined;
  const now = options.now ?? Date.now;
  const bucket = settings.store.buckets.runs;
  const key = leaseKey(work.step, work.configHash, work.modelType);
  const stamp = new Date(now()).toISOString();
  let record: LeaseRecord = { owner, step: work.step, config_hash: work.configHash, model_type: work.modelType, acquired_at: stamp, heartbeat_at: stamp, beats: 0, process: currentRunOwner(settings.instance) };
  await store.ensureBucket(bucket);
  let version = await store.putIfAbsent(bucket, key, JSON.stringify(record));
  if (version === undefined) {
    const existing = await store.getVersioned(bucket, key);
    if (!existing) return undefined; // released between our two calls: the next attempt creates it
    const lease = parseLease(existing.body);
    if (lease && lease.owner !== owner && isLeaseHeld(store, key, lease, settings.daemon.leaseStaleMs, options.monotonic, settings.instance)) return undefined;
    version = await store.putIfVersion(bucket, key, JSON.stringify(record), existing.version);
    if (version === undefined) return undefined;
  }

  let released = false;
  let lost = false;
  let held: string = version;
  const write = async (): Promise<void> => {
    record = { ...record, heartbeat_at: new Date(now()).toISOString(), beats: (record.beats ?? 0) + 1 };
    try {
      const next = await store.putIfVersion(bucket, key, JSON.stringify(record), held);
      if (next === undefined) {
        lost = true;
        logger.warn({ key, owner }, 'daemon_lease_lost');
      } else held = next;
    } catch (error) {
      // Repeated every beat while the store is away: an outage by its code and reason (the lease is judged stale only
      // after a whole daemon.leaseStaleMs without a beat, so a short one costs nothing).
      logger.warn({ key, ...repeatedFailureFields(error) }, 'daemon_lease_heartbeat_failed');
    }
  };
  // One write at a time: two writes at the version held would make the second fail as if the lease were taken
  // over, and the holder would stop heartbeating while it works. A beat asked for meanwhile follows the current one.
  let writing: Promise<void> | undefined;
  let again = false;
  const beat = (): Promise<void> => {
    if (released || lost) return Promise.resolve();
    if (writing) {
      again = true;
      return writing;
    }
    writing = (async () => {
      do {
        again = false;
        await write();
      } while (again && !released && !lost);
    })().finally(() => (writing = undefined));
    return writing;
  };
  const timer = setInterval(() => void beat(), settings.daemon.heartbeatMs);
  timer.unref();
  return {
    key,
    attachRun(runId) {
      record = { ...record, run_id: runId };
      void beat();
    },
    async abandon() {
      released = true;
      clearInterval(timer);
      await writing;
    },
    async release() {
      released = true;
      clearInterval(timer);
      await writing;
      const current = await store.getVersioned(bucket, key).catch(() => undefined);
      if (current && parseLease(current.body)?.owner === owner) await store.delete(bucket, key).catch((error: unknown) => logger.warn({ key, err: error }, 'daemon_lease_release_failed'));
    },
  };
}

function parseLease(body: Buffer): LeaseRecord | undefined {
  try {
    return parseLenientJson(body.toString()) as LeaseRecord;
  } catch {
    return undefined;
  }
}
