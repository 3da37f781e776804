import { describe, expect, it } from 'vitest';
import type { PairedFigures } from './live-scorer.js';
import { combinePaired, probationVerdict, rollbackReason } from './probation.js';

const paired = (points: number, candidateSq: number, baselineSq: number): PairedFigures => ({
  candidate_run_id: 'new',
  baseline_run_id: 'old',
  points,
  terms: points,
  candidate_sum_sq: candidateSq,
  baseline_sum_sq: baselineSq,
});

describe('live > probation rule', () => {
  const rule = { points: 100, margin: 0.1 };

  it('waits for the whole window', () => {
    expect(probationVerdict(undefined, rule)).toEqual({ verdict: 'pending', points: 0, needed: 100 });
    expect(probationVerdict(paired(99, 1e9, 1), rule).verdict).toBe('pending');
  });

  it('keeps an equally good run and one within the margin, rolls back one beyond it', () => {
    expect(probationVerdict(paired(100, 400, 400), rule)).toEqual({ verdict: 'keep', points: 100, candidateRmse: 2, baselineRmse: 2 });
    // RMSE 2.2 vs 2.0 is exactly 10 % worse: not more than the margin.
    expect(probationVerdict(paired(100, 484, 400), rule).verdict).toBe('keep');
    const worse = probationVerdict(paired(100, 490, 400), rule);
    expect(worse.verdict).toBe('rollback');
    expect(probationVerdict(paired(100, 1, 400), rule).verdict).toBe('keep');
  });

  it('adds up the replicas and names both figures in the reason', () => {
    const total = combinePaired([paired(60, 600, 60), paired(40, 400, 40)])!;
    expect(total).toMatchObject({ points: 100, terms: 100, candidate_sum_sq: 1000, baseline_sum_sq: 100 });
    const verdict = probationVerdict(total, rule);
    if (verdict.verdict === 'pending') throw new Error('expected a decision');
    expect(verdict.verdict).toBe('rollback');
    const reason = rollbackReason(total, verdict, 0.1);
    expect(reason).toContain('live RMSE 3.162 of run new');
    expect(reason).toContain('1.000 of the previous run old');
    expect(reason).toContain('over 100 matched points (216.2% worse; margin 10%)');
  });

  it('says a kept run is better or equal, never "-x% worse"', () => {
    const better = paired(100, 100, 400);
    const kept = probationVerdict(better, rule);
    if (kept.verdict === 'pending') throw new Error('expected a decision');
    expect(rollbackReason(better, kept, 0.1)).toContain('(50% better; margin 10%)');
    const same = paired(100, 400, 400);
    const equal = probationVerdict(same, rule);
    if (equal.verdict === 'pending') throw new Error('expected a decision');
    expect(rollbackReason(same, equal, 0.1)).toContain('(equal; margin 10%)');
  });
});
