import { setImmediate as nextTurn } from 'node:timers/promises';
import { claimDataRef, claimIdentifier } from '../batch/inference-claim-handler.js';
import { readInferenceActuals, type TableActuals } from '../batch/inference-actuals.js';
import { isOutage } from '../bus/delivery.js';
import { decodeInferenceClaim, type DataClaim } from '../bus/messages.js';
import type { MessageBus, Subscription } from '../bus/message-bus.js';
import { roleDlq } from '../bus/topics.js';
import type { Settings } from '../config/settings.js';
import { toFltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LiveMonitor } from '../serve/live-monitor.js';
import type { ModelHolder } from '../serve/model-holder.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface ClaimActualsDeps {
  settings: Settings;
  bus: MessageBus;
  store: ObjectStore;
  holder: ModelHolder;
  live: LiveMonitor;
  logger: Logger;
}

/** Rows scored between two turns of the event loop: a claim of a million rows leaves requests waiting milliseconds, not a second. */
const SCORE_SLICE_ROWS = 16_384;

/** The replica's own group on `inference-data`, beside its promotion group (same prefix, so the same broker ACL covers it). */
export function claimActualsGroup(promotionGroup: string): string {
  return `${promotionGroup}-actuals`;
}

/**
 * Every serving replica scores its remembered forecasts with the actual values of each `inference-data` claim,
 * wherever the batch role that forecasts the claim runs (the same process, another Deployment). The replica reads
 * the claimed object itself, as batch inference with its served run reads it, in a group of its own from the latest
 * offset: a claim published while it was away found none of its forecasts anyway. It only observes: a claim it
 * cannot read is logged and skipped, never retried or dead-lettered (the batch role owns the claim and reports it);
 * a store outage is waited out by the bus as for any handler.
 */
export async function followClaimActuals(deps: ClaimActualsDeps, group: string): Promise<Subscription> {
  const { settings, bus, store, holder, live } = deps;
  const topic = settings.bus.topics.inferenceData;
  const logger = deps.logger.child({ component: 'live-claims', group });
  // The promotion subscription's DLQ, which exists already: a subscription's DLQ topic is created with it, and the
  // serve principal may not create others. Nothing is sent there (the handler throws only outages, which are waited out).
  const subscription = await bus.subscribe({ group, topics: [topic], fromBeginning: false, ephemeral: true, dlq: roleDlq(settings, 'serving') }, async (message, { signal }) => {
    let claim: DataClaim;
    try {
      claim = decodeInferenceClaim(message);
    } catch (error) {
      logger.warn({ offset: message.offset, code: toFltsError(error).code, err: toFltsError(error).message }, 'live_claim_skipped');
      return;
    }
    const where = { bucket: claim.bucket, object: claim.object };
    const served = holder.current();
    // Nothing remembered, nothing to match: the object is not even read.
    if (!served || live.scorer.memory().points === 0) {
      logger.debug(where, 'live_claim_nothing_to_score');
      return;
    }
    try {
      const info = await store.stat(claim.bucket, claim.object);
      if (info && info.size > settings.live.claimMaxBytes) {
        logger.warn({ ...where, bytes: info.size, maxBytes: settings.live.claimMaxBytes }, 'live_claim_too_large');
        return;
      }
      const actuals = await readInferenceActuals(store, settings, { plan: served.plan, configHash: served.run.configHash }, claimDataRef(claim), claimIdentifier(claim, settings));
      const points = await scoreInSlices(live, actuals, signal);
      logger.info({ ...where, rows: actuals.time.length, points }, 'live_claim_scored');
    } catch (error) {
      if (isOutage(error) && !signal.aborted) throw error;
      const flts = toFltsError(error);
      logger.warn({ ...where, code: flts.code, err: flts.message }, 'live_claim_skipped');
    }
  });
  logger.info({ topic }, 'live_claims_subscribed');
  return subscription;
}

/** Scores the actuals a slice at a time, yielding between slices so requests are answered meanwhile. */
async function scoreInSlices(live: LiveMonitor, actuals: TableActuals, signal: AbortSignal): Promise<number> {
  const { time } = actuals;
  let points = 0;
  for (let from = 0; from < time.length; from += SCORE_SLICE_ROWS) {
    if (from > 0) await nextTurn();
    if (signal.aborted) break;
    const to = Math.min(time.length, from + SCORE_SLICE_ROWS);
    const values = Object.fromEntries(Object.entries(actuals.values).map(([name, column]) => [name, column.subarray(from, to)]));
    for (const run of live.observeActuals({ identifier: actuals.identifier, time: time.subarray(from, to), values })) points += run.points;
  }
  return points;
}
