import type { Settings } from '../config/settings.js';
import { FltsError, repeatedFailureFields } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import { RUN_FILES, type RunOwner } from './run-record.js';
import { runKey, runsBucket } from './run-store.js';

/**
 * `<run_id>/heartbeat.json`, rewritten every `daemon.heartbeatMs` while the run trains, whoever trains it, under a
 * training claim or not (`--allow-concurrent`). Another process tells a live run from one whose process died by seeing this object change, on
 * its own clock: the run's timestamps come from the writer's clock and are never compared with the reader's. It is
 * an object of its own, never run.json, so no late beat can overwrite the run's final record; it is removed once
 * that record is written (a reader that finds it gone then reads the final record, or judges the run by its start
 * and marks it KILLED only at the RUNNING record's version, which the final record replaced).
 */
export interface RunHeartbeat {
  run_id: string;
  owner: RunOwner;
  /** Counts the writes, so that every beat changes the object even when the writer's clock stands still. */
  beats: number;
  /** The writer's clock, for people reading it. */
  heartbeat_at: string;
}

export interface RunHeartbeatHandle {
  /** Stops the beats and waits for one in flight: no beat is written once this resolves. */
  stop(): Promise<void>;
  /** Stops, then deletes the heartbeat: once the run's final record is written, nothing reads it any more. */
  remove(): Promise<void>;
}

export function runHeartbeatKey(runId: string): string {
  return runKey(runId, RUN_FILES.heartbeat);
}

/**
 * Writes the first beat (before the run's RUNNING record, so that every run recorded with heartbeats has one),
 * then one every `daemon.heartbeatMs` until stopped. A failed beat is only logged: readers judge a run dead only
 * after a whole `daemon.leaseStaleMs` without a change.
 */
export async function startRunHeartbeat(store: ObjectStore, settings: Settings, runId: string, options: { owner: RunOwner; now?: () => Date; logger?: Logger }): Promise<RunHeartbeatHandle> {
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? silentLogger;
  const bucket = runsBucket(settings);
  const key = runHeartbeatKey(runId);
  let beats = 0;
  const write = (): Promise<void> => store.put(bucket, key, JSON.stringify({ run_id: runId, owner: options.owner, beats: beats++, heartbeat_at: now().toISOString() } satisfies RunHeartbeat), { contentType: 'application/json' });
  await write();
  let stopped = false;
  let writing: Promise<void> | undefined;
  const timer = setInterval(() => {
    // A store slower than the beat skips beats rather than queueing them.
    if (stopped || writing) return;
    writing = write()
      .catch((error: unknown) => logger.warn({ run_id: runId, ...repeatedFailureFields(error) }, 'train_heartbeat_failed'))
      .finally(() => (writing = undefined));
  }, settings.daemon.heartbeatMs);
  timer.unref();
  const stop = async (): Promise<void> => {
    stopped = true;
    clearInterval(timer);
    await writing;
  };
  return {
    stop,
    async remove() {
      await stop();
      await store.delete(bucket, key).catch((error: unknown) => logger.warn({ run_id: runId, ...repeatedFailureFields(error) }, 'train_heartbeat_remove_failed'));
    },
  };
}

/** The run's heartbeat as stored (compared as written, never parsed); undefined for a run recorded before heartbeats. */
export async function readRunHeartbeat(store: ObjectStore, settings: Settings, runId: string): Promise<string | undefined> {
  try {
    return (await store.get(runsBucket(settings), runHeartbeatKey(runId))).toString('utf8');
  } catch (error) {
    if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return undefined;
    throw error;
  }
}
