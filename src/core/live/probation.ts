import type { Settings } from '../config/settings.js';
import type { PromotionRecord, ProbationTerms } from '../registry/pointers.js';
import type { PairedFigures } from './live-scorer.js';

/** Paired points the decision needs, and the relative margin by which the candidate's RMSE may exceed the baseline's. */
export type ProbationRule = ProbationTerms;

/** The terms a promotion written now fixes for its probation: this process's settings. */
export function probationTermsFrom(settings: Settings): ProbationTerms {
  return { points: settings.live.probationPoints, margin: settings.live.rollbackMargin };
}

const wellFormedTerms = (terms: unknown): terms is ProbationTerms => {
  const candidate = terms as Partial<ProbationTerms> | null;
  return typeof candidate === 'object' && candidate !== null && Number.isSafeInteger(candidate.points) && candidate.points! >= 1 && Number.isFinite(candidate.margin) && candidate.margin! >= 0;
};

/**
 * The terms of the probation `record` puts in service: its own (the promoting process fixed them, so replicas and
 * the decider agree whatever their settings), or this process's settings for a record written before records carried
 * them (or edited into something no promotion writes).
 */
export function probationTermsOf(record: Pick<PromotionRecord, 'probation'>, settings: Settings): ProbationTerms {
  return recordedProbationTerms(record) ?? probationTermsFrom(settings);
}

/** The terms `record` itself carries; undefined for a record without (a rollback, a first promotion, an older flts). */
export function recordedProbationTerms(record: Pick<PromotionRecord, 'probation'>): ProbationTerms | undefined {
  return wellFormedTerms(record.probation) ? { points: record.probation.points, margin: record.probation.margin } : undefined;
}

export type ProbationVerdict =
  | { verdict: 'pending'; points: number; needed: number }
  | { verdict: 'keep' | 'rollback'; points: number; candidateRmse: number; baselineRmse: number };

/** The paired figures of several replicas (same candidate and baseline) as one. */
export function combinePaired(parts: readonly PairedFigures[]): PairedFigures | undefined {
  if (parts.length === 0) return undefined;
  const total: PairedFigures = { ...parts[0], points: 0, terms: 0, candidate_sum_sq: 0, baseline_sum_sq: 0 };
  for (const part of parts) {
    total.points += part.points;
    total.terms += part.terms;
    total.candidate_sum_sq += part.candidate_sum_sq;
    total.baseline_sum_sq += part.baseline_sum_sq;
  }
  return total;
}

export function pairedRmse(figures: PairedFigures): { candidate: number; baseline: number } {
  const terms = Math.max(1, figures.terms);
  return { candidate: Math.sqrt(figures.candidate_sum_sq / terms), baseline: Math.sqrt(figures.baseline_sum_sq / terms) };
}

/**
 * The probation rule. Both runs are scored on the same points (forecasts from the same origins for the same
 * timestamps), so an equally good run gives equal figures and is kept: only an RMSE worse than the
 * baseline's by more than the margin rolls back.
 */
export function probationVerdict(figures: PairedFigures | undefined, rule: ProbationRule): ProbationVerdict {
  const points = figures?.points ?? 0;
  if (!figures || points < rule.points) return { verdict: 'pending', points, needed: rule.points };
  const { candidate, baseline } = pairedRmse(figures);
  const worse = candidate > baseline * (1 + rule.margin);
  return { verdict: worse ? 'rollback' : 'keep', points, candidateRmse: candidate, baselineRmse: baseline };
}

const figure = (value: number): string => value.toPrecision(4);

/** The reason a decision (and a rollback record) carries: both figures, how they compare, the window and the margin. */
export function rollbackReason(figures: PairedFigures, verdict: Extract<ProbationVerdict, { verdict: 'rollback' | 'keep' }>, margin: number): string {
  const pct = Math.round((verdict.candidateRmse / Math.max(verdict.baselineRmse, Number.MIN_VALUE) - 1) * 1000) / 10;
  // A better run reads "12.5% better", never "-12.5% worse".
  const comparison = pct > 0 ? `${pct}% worse` : pct < 0 ? `${-pct}% better` : 'equal';
  return (
    `live RMSE ${figure(verdict.candidateRmse)} of run ${figures.candidate_run_id} vs ${figure(verdict.baselineRmse)} of the previous run ${figures.baseline_run_id} ` +
    `over ${verdict.points} matched points (${comparison}; margin ${Math.round(margin * 1000) / 10}%)`
  );
}
