import type { Settings } from '../config/settings.js';
import { isServiceRefusal, toFltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeChoice, promotionScope, readPromotionPointer } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import type { ObjectStore } from '../storage/object-store.js';
import { listLiveReports } from './live-report-reader.js';
import { keeperOf, promotionRefOf, readProbationDecision, reportsPairedFor, samePromotion, writeProbationDecision, type LiveReport, type ProbationDecision, type ProbationKeeper, type PromotionRef } from './live-reports.js';
import { combinePaired, probationTermsOf, probationVerdict, rollbackReason } from './probation.js';

export interface RollbackRequest {
  source: 'auto-rollback';
  /** Both live figures, the window and the margin. */
  reason: string;
  fromRunId: string;
  toRunId: string;
}

/**
 * Undoes the promotion under probation. The runtime fills it with the rollback workflow (history record,
 * pointers, `model-selected`), so an automatic rollback is the same operation as `flts promote --rollback`.
 */
export type RollbackAction = (request: RollbackRequest) => Promise<{ run_id: string; timestamp: string }>;

export interface ProbationDeciderDeps {
  store: ObjectStore;
  settings: Settings;
  rollback: RollbackAction;
  logger: Logger;
  /** Who decides, recorded in the decision (a replica id or the promoter). */
  decidedBy: string;
  /**
   * Every replica's report, when the caller keeps a reader across looks (see createLiveReportReader) or has read them
   * for this look already; by default each look lists and reads them all.
   */
  readReports?: () => Promise<LiveReport[]>;
  onRollback?: (decision: ProbationDecision) => void;
  /** A decision whose new run did worse than the margin allows and stays in service (pinned, rollback off, previous run gone). */
  onWorseKept?: (decision: ProbationDecision) => void;
  /** A probation ended without a comparison: the previous run could not be loaded, and the new run stays in service. */
  onNoBaseline?: (decision: ProbationDecision) => void;
  now?: () => Date;
}

/**
 * Records the decision on a run a person pinned with who pinned it, and no rollback:
 * the daemon never overrides that choice, but a run that does worse live is reported (the decision, /healthz, and a
 * warning in the log) so that the person can roll back themselves.
 */
async function keep(deps: ProbationDeciderDeps, decision: ProbationDecision, keeper: ProbationKeeper): Promise<ProbationDecision> {
  const { store, settings, logger } = deps;
  const worse = decision.verdict === 'rollback';
  const reason = worse ? `${decision.reason}; not rolled back: run ${decision.promotion.run_id} was ${describeChoice(keeper)}, and a pin stands against automatic rollback` : decision.reason;
  const kept: ProbationDecision = { ...decision, action: 'none', reason, kept_by: keeper };
  await writeProbationDecision(store, settings, kept);
  if (worse) {
    logger.warn({ run_id: decision.promotion.run_id, previous_run_id: decision.promotion.previous_run_id, candidate_rmse: decision.candidate_rmse, baseline_rmse: decision.baseline_rmse, points: decision.points, kept_by: keeper, reason }, 'live_probation_worse_kept');
    deps.onWorseKept?.(kept);
  }
  return kept;
}

/** The pin that refused a rollback of `runId` (the scope's newest history record), if it is one. */
async function keeperInHistory(store: ObjectStore, settings: Settings, runId: string): Promise<ProbationKeeper | undefined> {
  const newest = (await listPromotionHistory(store, settings, promotionScope(settings))).at(-1);
  return newest?.run_id === runId ? keeperOf(newest) : undefined;
}

async function finishRollback(deps: ProbationDeciderDeps, decision: ProbationDecision): Promise<ProbationDecision> {
  const { store, settings, logger } = deps;
  const pointer = await readPromotionPointer(store, settings);
  const stillCurrent = pointer !== undefined && samePromotion(promotionRefOf(pointer), decision.promotion);
  if (!stillCurrent) {
    // Someone promoted or rolled back meanwhile: that newer decision stands.
    const superseded: ProbationDecision = { ...decision, action: 'none', reason: `${decision.reason}; not rolled back: the pointer moved on to run ${pointer?.run_id ?? 'none'}` };
    await writeProbationDecision(store, settings, superseded);
    return superseded;
  }
  // Someone pinned the run between the decision and its rollback (or a restart left the rollback pending): they decide.
  const keeper = keeperOf(pointer);
  if (keeper) return keep(deps, decision, keeper);
  let record: { run_id: string; timestamp: string };
  try {
    record = await deps.rollback({ source: 'auto-rollback', reason: decision.reason, fromRunId: decision.promotion.run_id, toRunId: decision.promotion.previous_run_id });
  } catch (error) {
    const flts = toFltsError(error);
    // Another decider rolled back first (or someone promoted): whoever moved the history records what happened.
    if (flts.code === 'FLTS_PROMOTE_ROLLBACK_STALE') return (await readProbationDecision(store, settings, decision.promotion)) ?? decision;
    // Pinned after the look at the pointer above: the history already says so, the pointer may not yet.
    if (flts.code === 'FLTS_PROMOTE_CHOSEN_RUN_STANDS') {
      const chooser = await keeperInHistory(store, settings, decision.promotion.run_id);
      return chooser ? keep(deps, decision, chooser) : decision;
    }
    // A store or bus outage (or refusal of the credentials) passes: the decision stays pending and the next look retries.
    if (flts.retriable || flts.kind === 'unavailable' || flts.kind === 'internal' || isServiceRefusal(flts)) throw error;
    // The previous run is gone or no longer servable: no retry can restore it, so the decision says why it stands.
    const refused: ProbationDecision = { ...decision, action: 'none', reason: `${decision.reason}; not rolled back: ${flts.message} (${flts.code})` };
    await writeProbationDecision(store, settings, refused);
    logger.error({ run_id: decision.promotion.run_id, previous_run_id: decision.promotion.previous_run_id, code: flts.code, err: flts.message }, 'live_auto_rollback_refused');
    deps.onWorseKept?.(refused);
    return refused;
  }
  const done: ProbationDecision = { ...decision, action: 'rolled-back', rollback_timestamp: record.timestamp };
  await writeProbationDecision(store, settings, done);
  logger.warn({ run_id: decision.promotion.run_id, restored_run_id: record.run_id, reason: decision.reason }, 'live_auto_rollback');
  deps.onRollback?.(done);
  return done;
}

/** Ends a probation that has nothing to compare with: the new run stays, there being no servable run to roll back to. */
async function decideWithoutBaseline(deps: ProbationDeciderDeps, ref: PromotionRef, replicas: string[], points: number, code: string): Promise<ProbationDecision> {
  const decision: ProbationDecision = {
    promotion: ref,
    verdict: 'no-baseline',
    candidate_rmse: null,
    baseline_rmse: null,
    points,
    replicas,
    reason: `no baseline to compare: the previous run ${ref.previous_run_id} could not be loaded (${code}); run ${ref.run_id} stays in service, there is no run to roll back to`,
    action: 'none',
    decided_by: deps.decidedBy,
    decided_at: (deps.now?.() ?? new Date()).toISOString(),
  };
  await writeProbationDecision(deps.store, deps.settings, decision);
  deps.logger.warn({ run_id: ref.run_id, previous_run_id: ref.previous_run_id, code, reason: decision.reason }, 'live_probation_no_baseline');
  deps.onNoBaseline?.(decision);
  return decision;
}

/** The promotion whose probation still needs a decision (or a recorded rollback finished), if any. */
export async function probationAwaitingDecision(store: ObjectStore, settings: Settings): Promise<PromotionRef | undefined> {
  const pointer = await readPromotionPointer(store, settings);
  const ref = pointer && promotionRefOf(pointer);
  if (!ref) return undefined;
  const existing = await readProbationDecision(store, settings, ref);
  return !existing || existing.action === 'rollback-pending' ? ref : undefined;
}

/**
 * One look at the promotion under probation: sums every replica's paired figures for it and, once they
 * cover the probation window, records the one decision for that promotion and, when the new run is worse
 * by more than the margin, rolls back, unless a person pinned the run (the pointer is a pin: `kept_by`). Level-triggered and safe to repeat, from durable state only (the pointer and the decision):
 * an existing decision is never taken again, and a rollback recorded as pending (a crash between decision and
 * rollback) is finished, or kept when a person pinned the run meanwhile.
 */
export async function decideProbation(deps: ProbationDeciderDeps): Promise<ProbationDecision | undefined> {
  const { store, settings, logger } = deps;
  const pointer = await readPromotionPointer(store, settings);
  const ref: PromotionRef | undefined = pointer && promotionRefOf(pointer);
  if (!pointer || !ref) return undefined;
  const existing = await readProbationDecision(store, settings, ref);
  if (existing) return existing.action === 'rollback-pending' ? finishRollback(deps, existing) : existing;

  const reports = reportsPairedFor(await (deps.readReports?.() ?? listLiveReports(store, settings)), ref);
  const paired = combinePaired(reports.map((report) => report.probation!.paired));
  // The promotion's own terms, which its replicas pair up to: a decider that waited for more would wait for good.
  const terms = probationTermsOf(pointer, settings);
  const verdict = probationVerdict(paired, terms);
  if (verdict.verdict === 'pending' || !paired) {
    // A previous run that cannot be loaded never pairs a point: waiting would leave the probation running for good.
    const unloadable = reports.find((report) => report.probation?.baseline_unloadable)?.probation?.baseline_unloadable;
    return unloadable ? decideWithoutBaseline(deps, ref, reports.map((report) => report.replica), paired?.points ?? 0, unloadable.code) : undefined;
  }
  // A pinned run is decided like any other (the figures are what the operator needs), never undone.
  const keeper = keeperOf(pointer);
  const act = verdict.verdict === 'rollback' && settings.live.rollback && !keeper;
  const decision: ProbationDecision = {
    promotion: ref,
    verdict: verdict.verdict,
    candidate_rmse: verdict.candidateRmse,
    baseline_rmse: verdict.baselineRmse,
    points: verdict.points,
    replicas: reports.map((report) => report.replica),
    // A worse run left in place says why, as a pinned one does (`keep` adds its own reason).
    reason: `${rollbackReason(paired, verdict, terms.margin)}${verdict.verdict === 'rollback' && !settings.live.rollback && !keeper ? '; not rolled back: automatic rollback is off (FLTS_LIVE_ROLLBACK=false)' : ''}`,
    action: act ? 'rollback-pending' : 'none',
    decided_by: deps.decidedBy,
    decided_at: (deps.now?.() ?? new Date()).toISOString(),
  };
  logger.info({ run_id: ref.run_id, previous_run_id: ref.previous_run_id, verdict: decision.verdict, action: decision.action, candidate_rmse: decision.candidate_rmse, baseline_rmse: decision.baseline_rmse, points: decision.points, kept_by: keeper }, 'live_probation_decided');
  if (keeper) return keep(deps, decision, keeper);
  await writeProbationDecision(store, settings, decision);
  if (act) return finishRollback(deps, decision);
  // FLTS_LIVE_ROLLBACK=false: decided worse, left in place.
  if (decision.verdict === 'rollback') deps.onWorseKept?.(decision);
  return decision;
}
