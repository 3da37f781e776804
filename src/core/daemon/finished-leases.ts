import { RUN_FILES, type RunStatus } from '../registry/run-record.js';
import { findRunRecord, runKey, runsBucket } from '../registry/run-store.js';
import { acquireLease, isLeaseHeld, leaseKey, readLease, type LeaseRecord } from '../registry/work-lease.js';
import type { RoleContext } from './role-registry.js';

const TRAIN_LEASES = 'leases/train/';
const FINISHED: readonly RunStatus[] = ['SUCCESS', 'FAILED', 'KILLED'];

export interface RemovedLease {
  key: string;
  runId: string;
  status: RunStatus;
  owner: string;
}

/**
 * Removes the training leases that a holder killed outright (SIGKILL, OOM) left behind after its run had ended: its
 * release never ran, and no trainer ever takes the lease over, since a run recorded done, failed or killed decides its
 * work before any lease is looked at. Only a lease nobody holds any more (isLeaseHeld: stale on this process's clock,
 * or its process gone from this host) and whose run is recorded finished goes; it is taken over first, with the
 * lease's own conditional write, so a trainer taking it at the same moment keeps it. A lease naming no run yet, or a
 * RUNNING one, is work the trainer's reconcile takes over and finishes.
 */
export async function removeFinishedLeases(context: Pick<RoleContext, 'settings' | 'store' | 'logger' | 'owner' | 'monotonic' | 'signal'>): Promise<RemovedLease[]> {
  const { settings, store, logger } = context;
  const removed: RemovedLease[] = [];
  for (const { key } of await store.list(runsBucket(settings), TRAIN_LEASES)) {
    if (context.signal.aborted) break;
    const lease = await readLease(store, settings, key);
    // This process's own leases are released by the trainer holding them; one at another key names other work.
    if (!lease?.run_id || lease.owner === context.owner || leaseKey(lease.step, lease.config_hash, lease.model_type) !== key) continue;
    // Still held: its holder may yet release it itself.
    if (isLeaseHeld(store, key, lease as LeaseRecord | undefined, settings.daemon.leaseStaleMs, context.monotonic, settings.instance)) continue;
    const run = await findRunRecord(store, settings, lease.run_id).catch(() => undefined);
    if (!run || !FINISHED.includes(run.status)) continue;
    const taken = await acquireLease({ store, settings, owner: context.owner, logger, monotonic: context.monotonic }, { step: lease.step, configHash: lease.config_hash, modelType: lease.model_type }, context.signal);
    if (!taken) continue;
    await taken.release();
    // Killed between its final record and its heartbeat's removal, the holder left that too: no beat follows a final
    // record, and no reader looks at a finished run's heartbeat, so nothing else would ever remove it.
    await store.delete(runsBucket(settings), runKey(run.run_id, RUN_FILES.heartbeat)).catch(() => undefined);
    removed.push({ key, runId: run.run_id, status: run.status, owner: lease.owner });
    logger.info({ key, run_id: run.run_id, status: run.status, lease_owner: lease.owner }, 'daemon_finished_lease_removed');
  }
  return removed;
}
