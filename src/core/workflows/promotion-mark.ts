import type { Settings } from '../config/settings.js';
import { toFltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { redactSecrets } from '../redact.js';
import { promotionMarkKey } from '../registry/mirror-markers.js';
import { promotionScope, readPromotionPointer, type PromotionRecord } from '../registry/pointers.js';
import { runsBucket } from '../registry/run-store.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';
import { markPromoted, type PromotionMarker } from './mark-promoted.js';

/** The promotion whose MLflow mark was last written for a pointer scope, as the store keeps it. */
interface MarkedPromotion {
  run_id: string;
  timestamp: string;
}

/** The mark a sync wrote for the promotion in service, which the promotion itself left out. */
export type PromotionMarkRepair = PromotionMarker & { runId: string };

/** Records that the MLflow mark of `promotion` (a promotion record) is written, so that syncs leave it. */
export async function recordPromotionMarked(store: ObjectStore, settings: Settings, promotion: MarkedPromotion): Promise<void> {
  const marked: MarkedPromotion = { run_id: promotion.run_id, timestamp: promotion.timestamp };
  await putJson(store, runsBucket(settings), promotionMarkKey(settings, promotionScope(settings)), marked);
}

/**
 * Writes the MLflow mark (alias or tag, markPromoted) of the promotion in service when no mark of it is recorded: a
 * promotion stopped after its pointers moved, or made while MLflow was down, left it out, and nothing else writes it.
 * Level-triggered, from the pointers: a sync with nothing to do reads one small object and asks MLflow nothing. Never
 * throws: a mark MLflow fails is logged and reported as a tracking failure, and the next sync tries again.
 */
export async function markPromotionLeftOut(store: ObjectStore, settings: Settings, deps: TrackingDeps): Promise<PromotionMarkRepair | undefined> {
  const logger = (deps.logger ?? silentLogger).child({ component: 'tracking' });
  const current = await inServiceUnmarked(store, settings).catch((error: unknown) => {
    // The pointers' or the store's own trouble, which serving and the promoter report: no tracking failure.
    logger.debug({ err: redactSecrets(toFltsError(error).message) }, 'mlflow_promotion_mark_unchecked');
    return undefined;
  });
  if (!current) return undefined;
  let marking = current;
  try {
    for (let pass = 1; ; pass += 1) {
      const marker = await markPromoted(store, settings, marking, deps);
      // A promotion that landed since the pointers were read may have moved the alias already, and this mark has just
      // moved it back to the run it replaced: the run in service now is marked again, whatever its own record says.
      const now = await readPromotionPointer(store, settings);
      if (!now || samePromotion(now, marking) || pass === MARK_PASSES) {
        await recordPromotionMarked(store, settings, marking);
        logger.info({ run_id: marking.run_id, timestamp: marking.timestamp, marker: marker.marker }, 'mlflow_promotion_mark_written');
        return { ...marker, runId: marking.run_id };
      }
      marking = now;
    }
  } catch (error) {
    if (deps.signal?.aborted) return undefined;
    const flts = toFltsError(error);
    const message = redactSecrets(flts.message);
    // A run neither in the registry nor in MLflow (a pointer to a deleted run) is the pointers' trouble, which serving
    // and the promoter report: said at info, not counted as an MLflow failure at every sync.
    if (!flts.code.startsWith('FLTS_TRACKING_')) {
      logger.info({ run_id: marking.run_id, code: flts.code, err: message }, 'mlflow_promotion_mark_not_written');
      return undefined;
    }
    logger.warn({ run_id: marking.run_id, code: flts.code, err: message }, 'mlflow_promotion_mark_failed');
    deps.onEvent?.({ type: 'tracking.unavailable', runId: marking.run_id, code: flts.code, message });
    return undefined;
  }
}

/** Marks written by one catch-up when promotions keep landing beside it; the last is recorded even if overtaken again. */
const MARK_PASSES = 3;

const samePromotion = (a: MarkedPromotion, b: MarkedPromotion): boolean => a.run_id === b.run_id && a.timestamp === b.timestamp;

/** The promotion in service when the store records no MLflow mark of it. */
async function inServiceUnmarked(store: ObjectStore, settings: Settings): Promise<PromotionRecord | undefined> {
  const current = await readPromotionPointer(store, settings);
  if (!current) return undefined;
  const marked = await getJsonIfExists<MarkedPromotion>(store, runsBucket(settings), promotionMarkKey(settings, promotionScope(settings)));
  return marked && samePromotion(marked, current) ? undefined : current;
}
