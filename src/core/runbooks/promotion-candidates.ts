import type { Settings } from '../config/settings.js';
import { buildScoreboard, compareScored, targetSetOf, testScore } from '../eval/scoreboard.js';
import type { PromotionRecord } from '../registry/pointers.js';
import { readPromotionInService } from '../registry/promotion-history.js';
import type { RunRecord } from '../registry/run-record.js';
import { findRunRecord, scanRunRecords, type RunRegistryScan } from '../registry/run-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { runProblems, type PromotionProblem } from '../workflows/promotion-checks.js';
import { diffRuns, type RunDiff } from './run-diff.js';
import { orUnlessUnavailable } from '../errors.js';
import { mapBounded } from '../bounded-map.js';

/** Runs whose artifacts are checked at once. */
const CHECK_WIDTH = 32;

export interface PromotionCandidate {
  run_id: string;
  model_type: string;
  experiment: string;
  config_hash: string;
  status: string;
  started_at: string;
  /** Held-out (scaled) test metrics; null when the run has none. */
  metrics: { rmse: number; mae: number; mse: number; r2: number } | null;
  score: number | null;
  /** Place on its config_hash's board of its target set (SUCCESS runs only; each set of targets is ranked on its own). */
  rank: number | null;
  /** The run's target set (its window's, sorted): which board `rank` is a place on. */
  targets: string[];
  is_current: boolean;
  /** Why serving could not load the run (status, missing artifacts); --force does not override these. */
  problems: PromotionProblem[];
  /** Against the promoted run. */
  diff: RunDiff;
}

export interface PromotionCandidates {
  config_hash: string | null;
  current: PromotionRecord | null;
  /** With a config_hash: scoreboard order, unpromotable runs last; otherwise newest first. */
  candidates: PromotionCandidate[];
  /** Runs whose run.json is damaged: they cannot be listed (or promoted), and the operator is told why. */
  corrupt: RunRegistryScan['corrupt'];
  /** Runs older than the `limit` most recent, left out of `candidates` (0 with a config_hash, which lists all its runs). */
  not_listed: number;
}

export interface ListCandidatesInput {
  configHash?: string;
  /** Without a config_hash: how many recent runs (default 50, the reference's LOOKBACK_RUNS). */
  limit?: number;
}

/** Each run's place on its config_hash's scoreboard; each scoreboard is built from its own runs, not from all of them. */
function ranks(runs: readonly RunRecord[]): Map<string, number> {
  const byHash = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const ofHash = byHash.get(run.config_hash);
    if (ofHash) ofHash.push(run);
    else byHash.set(run.config_hash, [run]);
  }
  const out = new Map<string, number>();
  for (const [hash, ofHash] of byHash) for (const row of buildScoreboard(hash, ofHash).rows) out.set(row.run_id, row.rank);
  return out;
}

/** The runs an operator can choose from, each with its metrics, score, problems and difference to the promoted run. */
export async function listPromotionCandidates(input: ListCandidatesInput, settings: Settings, deps: { store: ObjectStore }): Promise<PromotionCandidates> {
  const { records: all, corrupt } = await scanRunRecords(deps.store, settings, { configHash: input.configHash });
  const runs = input.configHash ? all : all.slice(-(input.limit ?? 50)).reverse();
  const inService = await readPromotionInService(deps.store, settings);
  const current = inService ? { pointer: inService, run: await findRunRecord(deps.store, settings, inService.run_id).catch(orUnlessUnavailable(undefined)) } : undefined;
  const rankOf = ranks(all);
  // Every run's artifacts are looked up (a config_hash of a year has hundreds of runs): a bounded number at a time.
  const candidates = await mapBounded(runs, CHECK_WIDTH, async (run): Promise<PromotionCandidate> => {
    const m = run.metrics;
    return {
      run_id: run.run_id,
      model_type: run.model_type,
      experiment: run.experiment,
      config_hash: run.config_hash,
      status: run.status,
      started_at: run.timings.started_at,
      metrics: m ? { rmse: m.test_rmse, mae: m.test_mae, mse: m.test_mse, r2: m.test_r2 } : null,
      score: m ? testScore(m) : null,
      rank: rankOf.get(run.run_id) ?? null,
      targets: targetSetOf(run.window.targets),
      is_current: inService?.run_id === run.run_id,
      problems: await runProblems(deps.store, settings, run),
      diff: diffRuns(run, current),
    };
  });
  if (input.configHash) {
    candidates.sort((a, b) => Number(a.problems.length > 0) - Number(b.problems.length > 0) || compareScored({ score: a.score ?? Number.NaN, started_at: a.started_at, run_id: a.run_id }, { score: b.score ?? Number.NaN, started_at: b.started_at, run_id: b.run_id }));
  }
  return { config_hash: input.configHash ?? null, current: inService ?? null, candidates, corrupt, not_listed: all.length - runs.length };
}
