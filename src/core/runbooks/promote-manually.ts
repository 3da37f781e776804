import type { Settings } from '../config/settings.js';
import { FltsError, orUnlessUnavailable } from '../errors.js';
import { readPromotionInService } from '../registry/promotion-history.js';
import { findRunRecord } from '../registry/run-store.js';
import { promote, type PromotionDeps, type PromotionResult } from '../workflows/promote.js';
import { diffRuns, sameRunDiff, type RunDiff } from './run-diff.js';

export interface ManualPromotionInput {
  runId: string;
  /** Required: why the operator overrides the automatic choice. */
  reason: string;
  /** Promote despite the problems found (recorded in the promotion record). */
  force?: boolean;
  /** Who decided (FLTS_OPERATOR or the OS user, as the command passes it). */
  operator?: string;
  /**
   * The run in service the operator compared the choice with (null: none). When given and another promotion
   * has replaced it since, nothing is written (FLTS_PROMOTE_CURRENT_CHANGED): the decision was about another run.
   */
  expectedCurrentRunId?: string | null;
  /** Pin the run against automatic promotion of the same data and automatic rollback (see `PromotionDecision.pin`). */
  pin?: boolean;
}

export type ManualPromotionDeps = PromotionDeps;

export interface ManualPromotionResult extends PromotionResult {
  diff: RunDiff;
}

/**
 * The manual promotion runbook: a reason is required, the run is compared with the promoted one, and the
 * promotion itself is the one `promote` workflow with `source: "manual"` and the operator as the actor.
 */
export async function promoteManually(input: ManualPromotionInput, settings: Settings, deps: ManualPromotionDeps): Promise<ManualPromotionResult> {
  const reason = input.reason.trim();
  if (!reason) throw new FltsError('FLTS_USAGE_INVALID_FLAG', 'A manual promotion needs a reason (--reason "...").');
  // A run whose run.json is gone is refused by `promote` (FLTS_RUN_NOT_FOUND), unless it is the run in service: then,
  // as from `flts promote --run`, naming it changes nothing or pins it.
  const run = await findRunRecord(deps.store, settings, input.runId);
  const inService = await readPromotionInService(deps.store, settings);
  if (input.expectedCurrentRunId !== undefined) {
    const current = inService?.run_id ?? null;
    if (current !== input.expectedCurrentRunId) {
      throw new FltsError(
        'FLTS_PROMOTE_CURRENT_CHANGED',
        `Run ${input.runId} not promoted: it was compared with ${input.expectedCurrentRunId ? `run ${input.expectedCurrentRunId}` : 'no promoted run'}, but ${current ? `run ${current}` : 'no run'} is in service now (another promotion came in between).`,
        { details: { runId: input.runId, expectedCurrentRunId: input.expectedCurrentRunId, currentRunId: current } },
      );
    }
  }
  const diff = run ? diffRuns(run, inService ? { pointer: inService, run: await findRunRecord(deps.store, settings, inService.run_id).catch(orUnlessUnavailable(undefined)) } : undefined) : undefined;
  const result = await promote({ runId: input.runId, source: 'manual', actor: input.operator ?? 'unknown operator', reason, force: input.force, pin: input.pin }, settings, deps);
  return { ...result, diff: diff ?? sameRunDiff(result.record) };
}
