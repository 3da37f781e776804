import type { Settings } from '../config/settings.js';
import { pollUntil } from '../retry.js';
import type { ObjectStore } from '../storage/object-store.js';
import { seenUnchangedMs } from '../storage/seen-unchanged.js';
import { readRunHeartbeat, runHeartbeatKey } from './run-heartbeat.js';
import type { RunRecord } from './run-record.js';
import { findRunRecord, listRunRecords, ownerSharesProcesses, runOwnerGone } from './run-store.js';

/**
 * Whether another process still trains a RUNNING run, told the same way by every trainer: the daemon's (which waits
 * for it) and `trainModels` (which refuses or waits). Only the reader's own clock decides; see seen-unchanged.ts.
 */

/** This process's monotonic clock, which alone decides when another process's run is dead (tests pin it). */
export type MonotonicClock = () => number;

/** Whether `run` is recorded by this very process (an attempt of its own, never another trainer's). */
export function runOfThisProcess(run: RunRecord): boolean {
  return run.owner !== undefined && ownerSharesProcesses(run.owner) && run.owner.pid === process.pid;
}

/** The RUNNING runs of one model type on one processed data version that other processes record. */
export async function othersRunningRuns(store: ObjectStore, settings: Settings, target: { configHash: string; modelType: string }): Promise<RunRecord[]> {
  const runs = await listRunRecords(store, settings, { configHash: target.configHash });
  return runs.filter((run) => run.status === 'RUNNING' && run.model_type === target.modelType && !runOfThisProcess(run));
}

/**
 * Reads the run's heartbeat (undefined when it has none) and how long this process has seen it unchanged, on its own
 * clock: every look counts towards judging the run dead, whoever looks (whyRunDead, a claim's watcher).
 */
export async function lookAtRunHeartbeat(store: ObjectStore, settings: Settings, runId: string, monotonic?: MonotonicClock): Promise<{ beat: string; unchangedMs: number } | undefined> {
  const beat = await readRunHeartbeat(store, settings, runId);
  return beat === undefined ? undefined : { beat, unchangedMs: seenUnchangedMs(store, runHeartbeatKey(runId), beat, monotonic) };
}

/**
 * Why another process's RUNNING run is no longer being trained, or undefined while it is, as far as this process can
 * tell. On this host a pid that is gone says so at once, as does a run of an earlier instance of this process's
 * container, restarted in place by the kubelet or Docker (settings `instance.*`, ownerIsPredecessor). Otherwise the heartbeat does: the run is dead once this
 * process has seen it unchanged for `daemon.leaseStaleMs` of its own monotonic time, like a lease, whatever the
 * writer's clock says. A run recorded before heartbeats keeps the earlier rule: alive while its pid is on this
 * host, else for `daemon.leaseStaleMs` from its start.
 */
export async function whyRunDead(store: ObjectStore, settings: Settings, run: RunRecord, monotonic?: MonotonicClock): Promise<string | undefined> {
  const staleMs = settings.daemon.leaseStaleMs;
  if (runOwnerGone(run, settings.instance)) return `The process training this run (pid ${run.owner?.pid}) is gone; the model is retrained.`;
  const heartbeat = await lookAtRunHeartbeat(store, settings, run.run_id, monotonic);
  if (heartbeat !== undefined) {
    return heartbeat.unchangedMs < staleMs ? undefined : `The run's heartbeat did not change for ${staleMs} ms: the process training it stopped; the model is retrained.`;
  }
  if (run.owner && ownerSharesProcesses(run.owner)) return undefined;
  return Date.now() - Date.parse(run.timings.started_at) < staleMs ? undefined : `No heartbeat for over ${staleMs} ms: the process training this run stopped; the model is retrained.`;
}

/**
 * Returns once another process's run has ended or is found dead (false when `signal` aborts first), looking once per
 * heartbeat: two reads, whatever the size of the registry.
 */
export async function waitForRunEnd(store: ObjectStore, settings: Settings, runId: string, signal: AbortSignal, monotonic?: MonotonicClock): Promise<boolean> {
  return pollUntil(settings.daemon.heartbeatMs, signal, async () => {
    const run = await findRunRecord(store, settings, runId).catch(() => undefined);
    return run?.status !== 'RUNNING' || (await whyRunDead(store, settings, run, monotonic)) !== undefined;
  });
}

export type RunVerdict = { state: 'live' } | { state: 'dead'; reason: string } | { state: 'ended' };

/**
 * Settles whether another process still trains `run`, for a caller that must answer now rather than wait for the
 * run's end: live once its heartbeat is seen to change (within about one `daemon.heartbeatMs`), dead by
 * `whyRunDead` (at the latest after `daemon.leaseStaleMs` unchanged), ended when its record is no longer RUNNING.
 * A run without a heartbeat (recorded before them) is settled by `whyRunDead` at once. Undefined when `signal`
 * aborts first.
 */
export async function settleRunLiveness(store: ObjectStore, settings: Settings, run: RunRecord, signal: AbortSignal, monotonic?: MonotonicClock): Promise<RunVerdict | undefined> {
  const first = await readRunHeartbeat(store, settings, run.run_id);
  let verdict: RunVerdict | undefined;
  const look = async (): Promise<boolean> => {
    const current = await findRunRecord(store, settings, run.run_id).catch(() => undefined);
    if (current?.status !== 'RUNNING') verdict = { state: 'ended' };
    else {
      const reason = await whyRunDead(store, settings, current, monotonic);
      if (reason !== undefined) verdict = { state: 'dead', reason };
      // Without a heartbeat there is nothing to see change: whyRunDead's answer is the whole verdict.
      else if (first === undefined) verdict = { state: 'live' };
      else {
        const now = await readRunHeartbeat(store, settings, run.run_id);
        // A heartbeat goes only after the run's final record is written: gone means ended.
        if (now === undefined) verdict = { state: 'ended' };
        else if (now !== first) verdict = { state: 'live' };
      }
    }
    return verdict !== undefined;
  };
  if (await look()) return verdict;
  return (await pollUntil(settings.daemon.heartbeatMs, signal, look)) ? verdict : undefined;
}
