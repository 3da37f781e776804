import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import type { RunOwner, RunRecord } from '../registry/run-record.js';
import { othersRunningRuns, settleRunLiveness, waitForRunEnd, whyRunDead, type MonotonicClock } from '../registry/run-liveness.js';
import { markRunKilled } from '../registry/run-store.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * What training does about a model type another process is training on the same processed data (a daemon's
 * trainer, another `flts train`): `refuse` (FLTS_TRAIN_IN_PROGRESS), `wait` until that run ends, then train, or
 * `train` a second run beside it.
 */
export type InProgressPolicy = 'refuse' | 'wait' | 'train';

/** Another process's run (or claim, its run about to start) that training the same model type would duplicate. */
export interface RunInProgress {
  /** Null while the holder of the training claim has not started its run yet. */
  run_id: string | null;
  model_type: string;
  config_hash: string;
  owner: RunOwner | null;
  started_at: string;
}

export interface ClearToTrainDeps {
  store: ObjectStore;
  signal?: AbortSignal;
  onEvent?: EventSink;
  logger?: Logger;
  /** This process's monotonic clock, which alone decides when another process's run is dead (tests pin it). */
  monotonic?: MonotonicClock;
}

const trainer = (run: RunRecord): string => (run.owner ? `pid ${run.owner.pid} on ${run.owner.host}` : 'another process');

export function runInProgress(run: RunRecord): RunInProgress {
  return { run_id: run.run_id, model_type: run.model_type, config_hash: run.config_hash, owner: run.owner ?? null, started_at: run.timings.started_at };
}

/**
 * FLTS_TRAIN_IN_PROGRESS for `progress`; `holder` names who trains it when no process is recorded. `ended`: it was
 * being trained when this process asked, and has finished since.
 */
export function inProgressError(progress: RunInProgress, holder = 'another process', ended = false): FltsError {
  const who = progress.owner ? `pid ${progress.owner.pid} on ${progress.owner.host}` : holder;
  const by = progress.run_id === null ? `${who} (claimed ${progress.started_at}, its run about to start)` : `run ${progress.run_id} (${who}, started ${progress.started_at})`;
  const what = ended ? 'was being trained' : 'is already being trained';
  const since = ended ? ', which has finished since this process asked' : '';
  return new FltsError('FLTS_TRAIN_IN_PROGRESS', `${progress.model_type} ${what} on config_hash ${progress.config_hash.slice(0, 12)} by ${by}${since}; not trained a second time.`, {
    details: { modelType: progress.model_type, configHash: progress.config_hash, inProgress: progress },
  });
}

/** FLTS_TRAIN_ABORTED for a model type that waited for `what` (a run, a claim's holder) when the signal aborted. */
export function abortedWhileWaiting(modelType: string, what: string, waitedFor: string | null): FltsError {
  return new FltsError('FLTS_TRAIN_ABORTED', `Training was stopped while ${modelType} waited for ${what} to end.`, { details: { waitedFor } });
}

const abortedWaitingForRun = (run: RunRecord): FltsError => abortedWhileWaiting(run.model_type, `run ${run.run_id} (${trainer(run)})`, run.run_id);

/** Tells about a run found dead and recorded as KILLED before training. */
export function reportDeadRunKilled(run: RunRecord, deps: Pick<ClearToTrainDeps, 'onEvent' | 'logger'>): void {
  deps.onEvent?.({ type: 'log', level: 'warn', message: `${run.model_type} run ${run.run_id} was left RUNNING by a process that stopped (${trainer(run)}); recorded as KILLED.` });
  deps.logger?.warn({ run_id: run.run_id, model_type: run.model_type, owner: run.owner }, 'train_dead_run_killed');
}

/** Records a run nobody trains any more as KILLED (unless it ended meanwhile), as the daemon's trainer does. */
async function markDead(run: RunRecord, reason: string, settings: Settings, deps: ClearToTrainDeps): Promise<void> {
  if (await markRunKilled(deps.store, settings, run.run_id, reason)) reportDeadRunKilled(run, deps);
}

/** Refuses when a RUNNING run of the type is seen alive; dead ones are marked KILLED and do not count. */
async function refuseIfLive(running: RunRecord[], settings: Settings, deps: ClearToTrainDeps, signal: AbortSignal): Promise<void> {
  const names = running.map((run) => `run ${run.run_id} (${trainer(run)})`).join(', ');
  deps.onEvent?.({ type: 'log', level: 'info', message: `${running[0].model_type}: ${names} RUNNING on the same data; checking that ${running.length === 1 ? 'it is' : 'they are'} alive (a heartbeat, at most ${settings.daemon.leaseStaleMs} ms).` });
  const verdicts = await Promise.all(running.map((run) => settleRunLiveness(deps.store, settings, run, signal, deps.monotonic)));
  let live: RunRecord | undefined;
  for (const [index, run] of running.entries()) {
    const verdict = verdicts[index];
    if (!verdict) throw abortedWaitingForRun(run);
    if (verdict.state === 'dead') await markDead(run, verdict.reason, settings, deps);
    if (verdict.state === 'live') live ??= run;
  }
  if (live) throw inProgressError(runInProgress(live));
}

/**
 * Lets a model type train under `policy` when another process records a RUNNING run of it on the same processed
 * data, judged as the daemon's trainer judges it (run-liveness.ts): a run whose process is gone, or whose heartbeat
 * this process has seen unchanged for `daemon.leaseStaleMs`, is dead, recorded as KILLED, and blocks nothing.
 * `refuse` throws FLTS_TRAIN_IN_PROGRESS for a live one (it takes up to a heartbeat to see one beat); `wait` returns
 * once none is left (FLTS_TRAIN_ABORTED when the signal aborts first). Runs of this process never count.
 */
export async function clearToTrain(target: { modelType: string; configHash: string }, policy: InProgressPolicy, settings: Settings, deps: ClearToTrainDeps): Promise<void> {
  if (policy === 'train') return;
  const signal = deps.signal ?? new AbortController().signal;
  for (;;) {
    const running = await othersRunningRuns(deps.store, settings, target);
    if (running.length === 0) return;
    if (policy === 'refuse') return refuseIfLive(running, settings, deps, signal);
    let live: RunRecord | undefined;
    for (const run of running) {
      const reason = await whyRunDead(deps.store, settings, run, deps.monotonic);
      if (reason === undefined) live ??= run;
      else await markDead(run, reason, settings, deps);
    }
    if (!live) return;
    deps.onEvent?.({ type: 'log', level: 'info', message: `${live.model_type}: waiting for run ${live.run_id} (${trainer(live)}) to end before training.` });
    if (!(await waitForRunEnd(deps.store, settings, live.run_id, signal, deps.monotonic))) throw abortedWaitingForRun(live);
  }
}
