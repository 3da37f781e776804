import { encodePromotion } from '../bus/messages.js';
import { FltsError, toFltsError } from '../errors.js';
import { promotionScope, type PromotionRecord } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import { promoteBest } from '../workflows/promote.js';
import type { RunRecord } from '../registry/run-record.js';
import { listRunRecords } from '../registry/run-store.js';
import { trackPromotion } from '../workflows/sync-runs-to-tracking.js';
import type { RoleContext } from './role-registry.js';
import { acquireLease } from './work-lease.js';

export type PromotionOutcome =
  | { result: 'promoted'; record: PromotionRecord }
  | { result: 'waiting'; missing: string[] }
  | { result: 'already-promoted'; record: PromotionRecord }
  | { result: 'gated'; reason: string }
  | { result: 'busy'; reason: string };

/** Promotion timestamps carry microseconds; Date.parse wants at most milliseconds. */
function timeOf(timestamp: string): number {
  return Date.parse(timestamp.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}

/** The automatic promotion already made for these runs: one newer than the newest SUCCESS run of the hash. */
export function findAutoPromotion(history: readonly PromotionRecord[], configHash: string, successRuns: readonly RunRecord[]): PromotionRecord | undefined {
  const newestRun = Math.max(...successRuns.map((run) => Date.parse(run.timings.finished_at ?? run.timings.started_at)));
  return history.filter((record) => record.config_hash === configHash && record.source === 'auto' && timeOf(record.timestamp) >= newestRun).at(-1);
}

export function missingModelTypes(expected: readonly string[], successRuns: readonly RunRecord[]): string[] {
  const have = new Set(successRuns.map((run) => run.model_type.toUpperCase()));
  return expected.map((type) => type.toUpperCase()).filter((type) => !have.has(type));
}

async function decide(context: RoleContext, configHash: string): Promise<PromotionOutcome | { result: 'promote' }> {
  const { store, settings } = context;
  const success = (await listRunRecords(store, settings, { configHash })).filter((run) => run.status === 'SUCCESS');
  const missing = missingModelTypes(settings.daemon.expectedModelTypes, success);
  if (missing.length > 0) return { result: 'waiting', missing };
  const done = findAutoPromotion(await listPromotionHistory(store, settings, promotionScope(settings)), configHash, success);
  if (done) return { result: 'already-promoted', record: done };
  return { result: 'promote' };
}

/**
 * Promotes the scoreboard winner of a config_hash once every expected model type has a SUCCESS run and
 * no automatic promotion was made since the newest of those runs. Decided from the run registry and the
 * promotion history alone, so a restarted promoter catches up (F1) and a replayed SUCCESS never promotes
 * twice. Publishes `model-selected` (key `promotion`) with the promotion record.
 */
export async function reconcilePromotion(context: RoleContext, configHash: string, signal: AbortSignal): Promise<PromotionOutcome> {
  const { store, settings, bus, logger, metrics } = context;
  const step = (result: Parameters<typeof metrics.countStep>[2], outcome: PromotionOutcome): PromotionOutcome => {
    metrics.countStep('promoter', 'promote', result);
    logger.info({ configHash, ...outcome }, `daemon_promotion_${outcome.result.replace('-', '_')}`);
    return outcome;
  };
  const first = await decide(context, configHash);
  if (first.result !== 'promote') return step(first.result === 'waiting' ? 'waiting' : 'skipped', first);
  const lease = await acquireLease({ store, settings, owner: context.owner, logger }, { step: `promote-${promotionScope(settings)}`, configHash, modelType: '' }, signal);
  if (!lease) return step('skipped', { result: 'busy', reason: 'another promoter holds the lease for this config_hash' });
  const done = metrics.beginWork({ role: 'promoter', step: 'promote', configHash, modelType: '' });
  try {
    // Re-checked under the lease: another promoter may have finished just before we took it.
    const second = await decide(context, configHash);
    if (second.result !== 'promote') return step('skipped', second);
    let promoted;
    try {
      promoted = await promoteBest(configHash, settings, { store, onEvent: context.onEvent }, { source: 'auto' });
    } catch (error) {
      const flts = toFltsError(error);
      if (flts.code === 'FLTS_EVAL_GATE_FAILED') return step('skipped', { result: 'gated', reason: flts.message });
      throw flts;
    }
    await bus.publish(settings.bus.topics.modelSelected, encodePromotion({ ...promoted.record }));
    await trackPromotion(store, settings, promoted.record, { logger, signal });
    return step('done', { result: 'promoted', record: promoted.record });
  } catch (error) {
    metrics.countStep('promoter', 'promote', signal.aborted ? 'aborted' : 'failed');
    throw error instanceof FltsError ? error : toFltsError(error);
  } finally {
    done();
    await lease.release();
  }
}
