import type { Settings } from '../config/settings.js';
import type { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { lookAtRunHeartbeat, type MonotonicClock } from '../registry/run-liveness.js';
import { acquireLease, isLeaseBeatingHere, isLeaseHeld, leaseKey, readLease, uniqueLeaseOwner, type HeldLease, type LeaseRecord } from '../registry/work-lease.js';
import { pollUntil } from '../retry.js';
import type { ObjectStore } from '../storage/object-store.js';
import { abortedWhileWaiting, inProgressError, type ClearToTrainDeps, type InProgressPolicy, type RunInProgress } from './train-in-progress.js';

/**
 * The training claim of a (config_hash, model type): the daemon trainer's `train` work lease (registry/work-lease.ts,
 * `leases/train/<config_hash>/<type>.json` in the runs bucket), taken by `trainModels` for the CLI and the library
 * too. Taking it is one conditional write, so of any number of trainers that start at once exactly one trains;
 * looking for other processes' RUNNING runs could not tell, as a run is recorded only once its training has begun.
 */

/** `ended`: the holder let the claim go after this process found it held, its training over since. */
type ClaimVerdict = { state: 'live' | 'ended'; claim: LeaseRecord } | { state: 'free' };

function claimInProgress(claim: LeaseRecord): RunInProgress {
  return { run_id: claim.run_id ?? null, model_type: claim.model_type, config_hash: claim.config_hash, owner: claim.process ?? null, started_at: claim.acquired_at };
}

function holderName(claim: LeaseRecord): string {
  const who = claim.process ? `pid ${claim.process.pid} on ${claim.process.host}` : claim.owner;
  return claim.run_id ? `run ${claim.run_id} (${who})` : who;
}

/**
 * Looks at the claim another holder had when this process failed to take it, `seen` being what this process read
 * just before its attempt. Free once its holder stopped: the claim stale or its process gone (isLeaseHeld, the rule
 * of run-liveness.ts). Live once it is seen to change (created, rewritten, or released and gone: its holder wrote it
 * at work, as with a heartbeat seen to change), or its holder is known to beat on this host (isLeaseBeatingHere);
 * `ended` rather than live when it was released. Else undecided. The holder's run beats too: its heartbeat seen to
 * change also says live, and looking at it starts this process's clock on it, so that once the claim is found stale
 * its run is judged dead without waiting a second stale limit.
 */
function claimWatcher(store: ObjectStore, settings: Settings, key: string, seen: LeaseRecord | undefined, monotonic?: MonotonicClock): () => Promise<ClaimVerdict | undefined> {
  const staleMs = settings.daemon.leaseStaleMs;
  let last = seen;
  // While the claim is as seen, its run is the same one: the beat first read is the one to see change.
  let firstBeat: string | undefined;
  return async () => {
    const claim = await readLease(store, settings, key);
    if (claim === undefined) return last ? { state: 'ended', claim: last } : { state: 'free' };
    last = claim;
    if (!isLeaseHeld(store, key, claim, staleMs, monotonic, settings.instance)) return { state: 'free' };
    const run = claim.run_id === undefined ? undefined : await lookAtRunHeartbeat(store, settings, claim.run_id, monotonic);
    firstBeat ??= run?.beat;
    const changed = JSON.stringify(claim) !== JSON.stringify(seen) || (run !== undefined && run.beat !== firstBeat);
    return changed || isLeaseBeatingHere(claim, staleMs) ? { state: 'live', claim } : undefined;
  };
}

/**
 * Takes the training claim of `target` before it trains, under `policy`: `train` takes none (a run beside another);
 * `refuse` throws FLTS_TRAIN_IN_PROGRESS while another holder is at work (seen the moment its claim appears or
 * changes between two looks of this process, else within about one `daemon.heartbeatMs`), and takes over a claim
 * whose holder stopped (its process gone from this host, or the claim unchanged for `daemon.leaseStaleMs` on this
 * process's clock); `wait` waits until the claim is free, then takes it. The caller releases the claim once its
 * run has ended, whatever the outcome. FLTS_TRAIN_ABORTED when the signal aborts first.
 */
export async function claimTraining(target: { modelType: string; configHash: string }, policy: InProgressPolicy, settings: Settings, deps: ClearToTrainDeps): Promise<HeldLease | undefined> {
  if (policy === 'train') return undefined;
  const { store, monotonic } = deps;
  const signal = deps.signal ?? new AbortController().signal;
  const work = { step: 'train', configHash: target.configHash, modelType: target.modelType };
  const key = leaseKey(work.step, work.configHash, work.modelType);
  const options = { store, settings, owner: uniqueLeaseOwner(), logger: deps.logger ?? silentLogger, monotonic };
  for (;;) {
    const seen = await readLease(store, settings, key);
    const claim = await acquireLease(options, work, signal);
    if (claim) return claim;
    const named = seen ?? (await readLease(store, settings, key));
    const holder = named ? holderName(named) : 'another trainer';
    const stopped = (): FltsError => abortedWhileWaiting(target.modelType, holder, named?.run_id ?? null);
    if (signal.aborted) throw stopped();
    const look = claimWatcher(store, settings, key, seen, monotonic);
    if (policy === 'wait') {
      deps.onEvent?.({ type: 'log', level: 'info', message: `${target.modelType}: waiting for ${holder} to end before training.` });
      const over = async (): Promise<boolean> => {
        const verdict = await look();
        return verdict !== undefined && verdict.state !== 'live';
      };
      if (!(await pollUntil(settings.daemon.heartbeatMs, signal, over))) throw stopped();
      continue;
    }
    let verdict = await look();
    if (verdict === undefined) {
      deps.onEvent?.({ type: 'log', level: 'info', message: `${target.modelType}: ${holder} holds the training claim on the same data; checking that it is alive (a heartbeat, at most ${settings.daemon.leaseStaleMs} ms).` });
      const settled = await pollUntil(settings.daemon.heartbeatMs, signal, async () => (verdict = await look()) !== undefined);
      if (!settled) throw stopped();
    }
    // Trained by another process while this one asked: a second run now would duplicate it as surely as one beside it.
    if (verdict !== undefined && verdict.state !== 'free') throw inProgressError(claimInProgress(verdict.claim), verdict.claim.owner, verdict.state === 'ended');
  }
}
