import { FltsError, toFltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { promotionScope, readPointerAt, scopedPointerKey, type PromotionRecord } from '../registry/pointers.js';
import { autoPromote, decideAutoPromotion, type AutoPromotionOutcome } from '../workflows/auto-promote.js';
import { announcePromotion, completeInterruptedPromotion } from '../workflows/announce-promotion.js';
import type { RoleContext } from './role-registry.js';
import { roleTracking } from './role-tracking.js';
import type { RunRegistryScan } from '../registry/run-store.js';
import { acquireLease, leaseKey, readLease, waitForLeaseFree, type HeldLease } from '../registry/work-lease.js';

/** `announced` on an `already-promoted` outcome: this step sent its `model-selected` notice (it had been owed). */
export type PromotionOutcome = (AutoPromotionOutcome & { announced?: true }) | { result: 'busy'; reason: string };

/** Damaged runs whose damage the promoter has logged, remembered past this many only for the newest. */
export const REPORTED_DAMAGED_RUNS_LIMIT = 1024;

/**
 * The damaged runs (run.json unreadable, or edited since training sealed it) one promoter has told its operator of:
 * every look at a config_hash leaves them out of its decision, and a promoter that looks at the latest data at each
 * resync would otherwise log the same runs for ever, or (as a decision to wait or to keep the run in service did)
 * never. Kept in this process, at most `limit` run ids (the oldest reported forgotten first, logged again if seen).
 */
export interface DamagedRunReports {
  /** Logs the runs of `corrupt` not told of yet (`daemon_promotion_runs_left_out`), and remembers them. */
  report(logger: Logger, configHash: string, corrupt: RunRegistryScan['corrupt']): void;
  /** Remembers runs someone else told of (promoteBest logs those it leaves out, `promotion_runs_left_out`). */
  told(corrupt: RunRegistryScan['corrupt']): void;
}

export function createDamagedRunReports(limit = REPORTED_DAMAGED_RUNS_LIMIT): DamagedRunReports {
  const reported = new Set<string>();
  const remember = (runId: string): void => {
    reported.delete(runId);
    reported.add(runId);
    for (const oldest of reported) {
      if (reported.size <= limit) break;
      reported.delete(oldest);
    }
  };
  return {
    report(logger, configHash, corrupt) {
      const fresh = corrupt.filter((run) => !reported.has(run.run_id));
      if (fresh.length === 0) return;
      logger.warn({ config_hash: configHash, runs: fresh.map(({ run_id, code, message }) => ({ run_id, code, message })) }, 'daemon_promotion_runs_left_out');
      for (const run of fresh) remember(run.run_id);
    },
    told(corrupt) {
      for (const run of corrupt) if (!reported.has(run.run_id)) remember(run.run_id);
    },
  };
}

type Step = (result: Parameters<RoleContext['metrics']['countStep']>[2], outcome: PromotionOutcome) => PromotionOutcome;

/**
 * The promoter's step for one config_hash: the `autoPromote` workflow (forward-only in data versions, a chosen
 * run stands), under a lease so two promoters never promote the same data twice. The workflow publishes
 * `model-selected` and marks MLflow.
 */
export async function reconcilePromotion(context: RoleContext, configHash: string, signal: AbortSignal, damaged: DamagedRunReports = createDamagedRunReports()): Promise<PromotionOutcome> {
  const { store, settings, bus, logger, metrics } = context;
  const step: Step = (result, outcome) => {
    metrics.countStep('promoter', 'promote', result);
    // The runs left out are told of once (damaged.report), not at every step that looks at their config_hash.
    const { corrupt_runs: corrupt, ...logged } = outcome as PromotionOutcome & { corrupt_runs?: RunRegistryScan['corrupt'] };
    if (corrupt) damaged.report(logger, configHash, corrupt);
    logger.info({ config_hash: configHash, ...logged }, `daemon_promotion_${outcome.result.replace(/-/g, '_')}`);
    return outcome;
  };
  const leaseWork = promotionLeaseWork(settings, configHash);
  for (;;) {
    const first = await decideAutoPromotion(store, settings, configHash);
    if (first.result !== 'promote') return settle(context, configHash, first, step, signal);
    const lease = await acquireLease({ store, settings, owner: context.owner, logger, monotonic: context.monotonic }, leaseWork, signal);
    if (lease) {
      const outcome = await promoteUnder(context, configHash, lease, signal, step);
      // Decided again under the lease: either that decision's outcome named them (and the step told of them), or
      // promoteBest chose without them and logged them itself.
      damaged.told(first.corrupt_runs ?? []);
      return outcome;
    }
    // Another promoter holds it: wait until it finishes (then decide again: it may have promoted this data) or its
    // lease goes stale (a promoter that died), rather than until the next resync.
    logger.info({ config_hash: configHash }, 'daemon_promotion_waiting_for_lease');
    const key = leaseKey(leaseWork.step, configHash, leaseWork.modelType);
    if (!(await waitForLeaseFree(store, settings, key, signal, context.monotonic))) return step('skipped', { result: 'busy', reason: 'another promoter holds the lease for this config_hash' });
  }
}

function promotionLeaseWork(settings: RoleContext['settings'], configHash: string): { step: string; configHash: string; modelType: string } {
  return { step: `promote-${promotionScope(settings)}`, configHash, modelType: '' };
}

async function settle(context: RoleContext, configHash: string, first: AutoPromotionOutcome, step: Step, signal: AbortSignal): Promise<PromotionOutcome> {
  const { store, settings, bus, logger } = context;
  if (first.result === 'already-promoted') {
    // A promotion stopped between its history record and its pointers counts as made: it is finished here.
    const finished = await completeInterruptedPromotion(settings, { store, bus, logger: logger.child({ config_hash: configHash }) });
    // A promoter killed between its history record and its pointers left its lease too: finishing the promotion
    // announced it, so the lease is only cleared, or the next look at this data (the redelivered SUCCESS beside the
    // startup resync) would take it for a notice still owed and announce the promotion a second time.
    const announced = (await announceAbandonedPromotion(context, configHash, first.record, signal, finished !== undefined)) || finished !== undefined;
    if (announced) return step('skipped', { ...first, announced: true });
  }
  return step(first.result === 'waiting' ? 'waiting' : 'skipped', first);
}

/**
 * A promoter that died after moving the pointers but before its `model-selected` notice left its lease behind (one
 * that finished, or failed and had its SUCCESS retried, released it), and the pointers alone do not say whether the
 * notice went out. Its promotion, when still the one in service, is announced again under the lease taken over:
 * replicas that follow the topic without a pointer poll would otherwise serve the previous run until the next
 * promotion. A notice sent twice costs a replica one pointer read. `announcedAlready`: this look finished the
 * promotion's pointers and announced it (completeInterruptedPromotion), so the lease is taken over and released only.
 */
async function announceAbandonedPromotion(context: RoleContext, configHash: string, record: PromotionRecord, signal: AbortSignal, announcedAlready = false): Promise<boolean> {
  const { store, settings, bus, logger } = context;
  const work = promotionLeaseWork(settings, configHash);
  const key = leaseKey(work.step, configHash, work.modelType);
  for (;;) {
    // One of this promoter's own is left only by a step whose notice the broker refused (its steps run one at a
    // time): taken over at once, as any lease of its owner is.
    const left = await readLease(store, settings, key);
    if (!left) return false;
    const inService = await readPointerAt(store, settings, scopedPointerKey(settings));
    if (inService?.run_id !== record.run_id || inService.timestamp !== record.timestamp) return false;
    const lease = await acquireLease({ store, settings, owner: context.owner, logger, monotonic: context.monotonic }, work, signal);
    if (lease) {
      if (announcedAlready) {
        logger.info({ config_hash: configHash, run_id: record.run_id, timestamp: record.timestamp, lease_owner: left.owner }, 'daemon_promotion_lease_cleared');
        await lease.release();
        return true;
      }
      try {
        await announcePromotion(record, settings, bus);
      } catch (error) {
        // Still owed: left for the next look, as the step that first owed it left it.
        await lease.abandon();
        throw error;
      }
      logger.warn({ config_hash: configHash, run_id: record.run_id, timestamp: record.timestamp, lease_owner: left.owner }, 'daemon_promotion_reannounced');
      await lease.release();
      return true;
    }
    // Its holder may still be at work (it announces itself and releases the lease) or dead (its lease goes stale).
    if (!(await waitForLeaseFree(store, settings, key, signal, context.monotonic))) return false;
  }
}

async function promoteUnder(context: RoleContext, configHash: string, lease: HeldLease, signal: AbortSignal, step: Step): Promise<PromotionOutcome> {
  const { store, settings, bus, logger, metrics } = context;
  const done = metrics.beginWork({ role: 'promoter', step: 'promote', configHash, modelType: '' });
  let noticeOwed = false;
  try {
    // Decided again under the lease: another promoter may have finished just before we took it.
    const outcome = await autoPromote(configHash, `daemon:${context.owner}`, settings, { store, bus, logger, onEvent: context.onEvent, tracking: roleTracking(context, 'promoter', signal) });
    if (outcome.result === 'promoted' && outcome.published?.ok === false) {
      // Committing the SUCCESS now would lose the notice for good (replicas without a pointer poll never reload):
      // the message is retried instead, finds the promotion made, and the role announces it again. A resync's step
      // has no message to retry: its lease is left behind, so the next look at this data announces it
      // (announceAbandonedPromotion), in this process or another.
      noticeOwed = true;
      throw new FltsError('FLTS_BUS_UNAVAILABLE', `Run ${outcome.record.run_id} was promoted, but ${settings.bus.topics.modelSelected} could not be told: ${outcome.published.error ?? 'unknown error'}`, {
        details: { runId: outcome.record.run_id, topic: settings.bus.topics.modelSelected },
      });
    }
    return step(outcome.result === 'promoted' ? 'done' : 'skipped', outcome);
  } catch (error) {
    metrics.countStep('promoter', 'promote', signal.aborted ? 'aborted' : 'failed');
    throw error instanceof FltsError ? error : toFltsError(error);
  } finally {
    done();
    await (noticeOwed ? lease.abandon() : lease.release());
  }
}
