import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { redactSecrets } from '../redact.js';
import type { ObjectStore } from '../storage/object-store.js';
import { guardTracking, type GuardedTracking } from '../tracking/guard-tracking.js';
import { markPromoted, type PromotedRun, type PromotionMarker } from './mark-promoted.js';
import { markPromotionLeftOut, recordPromotionMarked, type PromotionMarkRepair } from './promotion-mark.js';
import { mirrorPendingRuns, type MirrorPendingOptions, type MirrorPendingResult } from '../registry/mirror-pending-runs.js';
import { trackingBudgetMs } from '../tracking/mlflow-client.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';

/**
 * The one call commands and the daemon make after writing runs: mirrors the given runs, then any other
 * run a previous outage left unmirrored, and never throws. A dead tracking server costs at most one
 * call's time budget and comes back as `unavailable`, so it cannot fail or stall a training run that
 * otherwise succeeded (F4). A slow one that still answers gets the given runs mirrored, and the backlog
 * only for one call's time budget more (`backlogBudgetMs` unless given): the registry stays the source
 * of truth and later syncs take the rest. A server that goes away once the given runs are mirrored cuts the
 * catch-up short, not the sync: `ok` with `interrupted` (logged, and sent as a `tracking.unavailable` event
 * when no run's failure already reports it), and the next sync resumes.
 */
export type TrackingSyncResult = MirrorPendingResult & {
  /** The MLflow mark of the promotion in service, written now because the promotion left it out (promotion-mark.ts). */
  promotionMarked?: PromotionMarkRepair;
};

export async function syncRunsToTracking(store: ObjectStore, settings: Settings, options: MirrorPendingOptions = {}, deps: TrackingDeps = {}): Promise<GuardedTracking<TrackingSyncResult>> {
  return guardTracking(settings, deps, async () => {
    // The caller's client, if any, serves every call; without one, the sync builds its own from the settings, and
    // the backlog one whose calls its budget aborts.
    const backlogBudgetMs = options.backlogBudgetMs ?? deps.client?.budgetMs ?? trackingBudgetMs(settings.tracking);
    const result = await mirrorPendingRuns(store, settings, { ...options, backlogBudgetMs }, deps);
    const given = new Set(options.runIds ?? []);
    // The runs asked for not mirrored for the outage: the sync failed at what it was called for.
    const outage = result.failed.find((failure) => failure.code === 'FLTS_TRACKING_UNAVAILABLE' && given.has(failure.runId));
    if (outage) throw new FltsError('FLTS_TRACKING_UNAVAILABLE', outage.message, { details: { runId: outage.runId, deferred: result.deferred, mirrored: result.mirrored.length } });
    if (result.interrupted) {
      reportInterrupted(settings, deps, result);
      return result;
    }
    // A promotion stopped after its pointers moved, or made while MLflow was down, left its mark out: caught up here.
    const promotionMarked = deps.signal?.aborted ? undefined : await markPromotionLeftOut(store, settings, deps);
    return promotionMarked ? { ...result, promotionMarked } : result;
  });
}

function reportInterrupted(settings: Settings, deps: TrackingDeps, result: MirrorPendingResult): void {
  const { step, code, message } = result.interrupted!;
  const uri = redactSecrets(settings.tracking.uri);
  (deps.logger ?? silentLogger).warn({ uri, step, code, err: redactSecrets(message), mirrored: result.mirrored.length, deferred: result.deferred.length }, 'mlflow_catch_up_interrupted');
  if (!result.failed.some((failure) => failure.code === code)) deps.onEvent?.({ type: 'tracking.unavailable', code, message: redactSecrets(message) });
}

/** `markPromoted` for commands: off without a tracking URI, never throws. */
export async function trackPromotion(store: ObjectStore | undefined, settings: Settings, promotion: PromotedRun & { timestamp?: string }, deps: TrackingDeps = {}): Promise<GuardedTracking<PromotionMarker>> {
  return guardTracking(
    settings,
    deps,
    async () => {
      const marker = await markPromoted(store, settings, promotion, deps);
      // Recorded so that the syncs that follow leave it (markPromotionLeftOut); a record not written costs one mark again.
      const { timestamp } = promotion;
      if (store && timestamp) await recordPromotionMarked(store, settings, { run_id: promotion.run_id, timestamp }).catch(() => undefined);
      return marker;
    },
    { runId: promotion.run_id },
  );
}
