import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { guardTracking, type GuardedTracking } from '../tracking/guard-tracking.js';
import { markPromoted, type PromotedRun, type PromotionMarker } from './mark-promoted.js';
import { mirrorPendingRuns, type MirrorPendingOptions, type MirrorPendingResult } from '../registry/mirror-pending-runs.js';
import { trackingClientFor } from '../tracking/tracking-deps.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';

/**
 * The one call commands and the daemon make after writing runs: mirrors the given runs, then any other
 * run a previous outage left unmirrored, and never throws. A dead tracking server costs at most one
 * call's time budget and comes back as `unavailable`, so it cannot fail or stall a training run that
 * otherwise succeeded (F4). A slow one that still answers gets the given runs mirrored, and the backlog
 * only for one call's time budget more (`backlogBudgetMs` unless given): the registry stays the source
 * of truth and later syncs take the rest.
 */
export async function syncRunsToTracking(store: ObjectStore, settings: Settings, options: MirrorPendingOptions = {}, deps: TrackingDeps = {}): Promise<GuardedTracking<MirrorPendingResult>> {
  return guardTracking(settings, deps, async () => {
    const client = trackingClientFor(settings, deps);
    const result = await mirrorPendingRuns(store, settings, { ...options, backlogBudgetMs: options.backlogBudgetMs ?? client.budgetMs }, { ...deps, client });
    const outage = result.failed.find((failure) => failure.code === 'FLTS_TRACKING_UNAVAILABLE');
    if (outage) throw new FltsError('FLTS_TRACKING_UNAVAILABLE', outage.message, { details: { runId: outage.runId, deferred: result.deferred, mirrored: result.mirrored.length } });
    return result;
  });
}

/** `markPromoted` for commands: off without a tracking URI, never throws. */
export async function trackPromotion(store: ObjectStore | undefined, settings: Settings, promotion: PromotedRun, deps: TrackingDeps = {}): Promise<GuardedTracking<PromotionMarker>> {
  return guardTracking(settings, deps, () => markPromoted(store, settings, promotion, deps), { runId: promotion.run_id });
}
