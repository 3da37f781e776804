import { BASELINE_MODEL_TYPES, type ModelType } from '../models/forecast-model.js';
import type { IntervalScore } from '../models/prediction-intervals.js';
import type { RunMetrics, RunRecord } from '../registry/run-record.js';

export const SCORE_WEIGHTS = { rmse: 0.5, mae: 0.3, mse: 0.2 } as const;

export interface ScoreboardRow {
  rank: number;
  run_id: string;
  model_type: string;
  experiment: string;
  started_at: string;
  /** Scaled test metrics (the reference's `test_*`). */
  rmse: number;
  mae: number;
  mse: number;
  r2: number;
  /** 0.5 rmse + 0.3 mae + 0.2 mse; lower is better. */
  score: number;
  /** First target in original units. */
  target: string;
  /** The run's targets (its window's): it is ranked, and compared with baselines, only among runs of the same set. */
  targets: string[];
  rmse_original: number;
  r2_original: number;
  /** % RMSE reduction against the NAIVE run of the same config_hash and target set (null without one). */
  improvement_over_naive_pct: number | null;
  /** % RMSE reduction against the best baseline of the same target set (lowest RMSE of NAIVE, SNAIVE, MSTL); what the gate uses. */
  improvement_over_baseline_pct: number | null;
  baseline_model_type: string | null;
  /** First target, original units: RMSE / mean of the actuals. */
  nrmse_original: number | null;
  /** First target: share of test actuals inside each prediction interval, by level key ("0.8"); null for a level without a band. */
  coverage: Record<string, number | null>;
  /** First target: why a level has no band (too few calibration windows), by level key; only such levels. */
  uncalibrated?: Record<string, string>;
  gate: { passed: boolean; reason: string };
}

/** One target set's board: its runs are ranked among themselves, against its own baselines. */
export interface TargetSetBoard {
  /** Sorted: `down,up` and `up,down` forecast the same columns and pool the same errors. */
  targets: string[];
  /** Its SUCCESS runs (rows may show fewer, cut at the scoreboard limit). */
  runs: number;
  naive_run_id: string | null;
  baseline_run_id: string | null;
}

export interface Scoreboard {
  config_hash: string;
  /**
   * Every target set's rows, board after board (the `targets` board first, the others by target names), each ranked
   * from 1 in score order: runs forecasting other columns pool other errors, so they never share a ranking.
   */
  rows: ScoreboardRow[];
  /** NAIVE of the first board. */
  naive_run_id: string | null;
  /** The best baseline run of the first board (lowest RMSE among NAIVE, SNAIVE, MSTL): what its gate compares with. */
  baseline_run_id?: string | null;
  gate_min_improvement_pct: number | null;
  /** The target set promotion chooses from (`training.targets`), when it was given; its board comes first. */
  targets?: string[] | null;
  /** One entry per target set with SUCCESS runs, in the order of `rows`. */
  target_sets?: TargetSetBoard[];
}

/** The reference score: a missing metric counts as +Infinity, a NaN one makes the score NaN. */
export function referenceScore(metrics: { rmse?: number; mae?: number; mse?: number }): number {
  const part = (value: number | undefined): number => (value === undefined || value === null ? Number.POSITIVE_INFINITY : value);
  return SCORE_WEIGHTS.rmse * part(metrics.rmse) + SCORE_WEIGHTS.mae * part(metrics.mae) + SCORE_WEIGHTS.mse * part(metrics.mse);
}

/** The reference score of a run's held-out test metrics. */
export function testScore(metrics: RunMetrics): number {
  return referenceScore({ rmse: metrics.test_rmse, mae: metrics.test_mae, mse: metrics.test_mse });
}

/** A score JSON brought back as null (it stores NaN so) or not at all ranks with NaN, never as 0. */
const unscored = (score: number): boolean => typeof score !== 'number' || Number.isNaN(score);

/** Score ascending, NaN (or missing) last, ties to the newest run (then run id, so the order is total). */
export function compareScored(a: { score: number; started_at: string; run_id: string }, b: { score: number; started_at: string; run_id: string }): number {
  const aNaN = unscored(a.score);
  const bNaN = unscored(b.score);
  if (aNaN !== bNaN) return aNaN ? 1 : -1;
  if (!aNaN && a.score !== b.score) return a.score < b.score ? -1 : 1;
  if (a.started_at !== b.started_at) return a.started_at > b.started_at ? -1 : 1;
  return a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : 0;
}

/** How a gate explains itself: what the improvement is measured on, and what is missing without a baseline. */
export interface GateWording {
  metric: string;
  noBaseline: string;
  /** The run's own RMSE is missing or not a number. */
  noMetric: string;
}

const TEST_SPLIT_GATE: GateWording = { metric: 'RMSE improvement over the best baseline', noBaseline: 'no baseline run (NAIVE, SNAIVE or MSTL) to compare with', noMetric: 'no test RMSE (missing or not a number) to compare' };

export function isBaselineType(modelType: string): boolean {
  return BASELINE_MODEL_TYPES.includes(modelType as ModelType);
}

function gateFor(improvement: number | null, minImprovementPct: number | null, isBaseline: boolean, wording: GateWording, rmse: number): ScoreboardRow['gate'] {
  if (minImprovementPct === null) return { passed: true, reason: 'no quality gate' };
  if (isBaseline) return { passed: false, reason: 'baselines (NAIVE, SNAIVE, MSTL) are what the gate compares with' };
  if (!Number.isFinite(rmse)) return { passed: false, reason: wording.noMetric };
  if (improvement === null) return { passed: false, reason: wording.noBaseline };
  if (!(improvement >= minImprovementPct)) return { passed: false, reason: `${wording.metric} ${improvement.toFixed(2)}% < ${minImprovementPct}%` };
  return { passed: true, reason: `${wording.metric} ${improvement.toFixed(2)}% >= ${minImprovementPct}%` };
}

export interface RowMetrics {
  rmse: number;
  mae: number;
  mse: number;
  r2: number;
  score: number;
  rmseOriginal: number;
  r2Original: number;
  nrmseOriginal?: number;
  coverage?: Record<string, number | null>;
  uncalibrated?: Record<string, string>;
}

/** The RMSE a gate compares with, and which model type it came from. */
export interface BaselineScore {
  rmse: number;
  modelType: string;
}

function improvementOver(baselineRmse: number | undefined, rmse: number): number | null {
  return baselineRmse !== undefined && baselineRmse > 0 && Number.isFinite(rmse) ? ((baselineRmse - rmse) / baselineRmse) * 100 : null;
}

/**
 * One unranked row: `run` with `metrics`, its % RMSE improvement over NAIVE and over the best baseline, and
 * its gate (against the best baseline; NAIVE when no other baseline is given).
 */
export function scoreboardRow(
  run: RunRecord,
  metrics: RowMetrics,
  naiveRmse: number | undefined,
  minImprovementPct: number | null,
  wording: GateWording = TEST_SPLIT_GATE,
  baseline: BaselineScore | undefined = naiveRmse === undefined ? undefined : { rmse: naiveRmse, modelType: 'NAIVE' },
): ScoreboardRow {
  const improvement = improvementOver(baseline?.rmse, metrics.rmse);
  const metric = baseline ? `${wording.metric} (${baseline.modelType})` : wording.metric;
  return {
    rank: 0,
    run_id: run.run_id,
    model_type: run.model_type,
    experiment: run.experiment,
    started_at: run.timings.started_at,
    rmse: metrics.rmse,
    mae: metrics.mae,
    mse: metrics.mse,
    r2: metrics.r2,
    score: metrics.score,
    target: run.window.targets[0],
    targets: [...run.window.targets],
    rmse_original: metrics.rmseOriginal,
    r2_original: metrics.r2Original,
    improvement_over_naive_pct: improvementOver(naiveRmse, metrics.rmse),
    improvement_over_baseline_pct: improvement,
    baseline_model_type: baseline?.modelType ?? null,
    nrmse_original: metrics.nrmseOriginal ?? null,
    coverage: metrics.coverage ?? {},
    ...(metrics.uncalibrated && Object.keys(metrics.uncalibrated).length > 0 ? { uncalibrated: metrics.uncalibrated } : {}),
    gate: gateFor(improvement, minImprovementPct, isBaselineType(run.model_type), { ...wording, metric }, metrics.rmse),
  };
}

/** A target set as boards and promotions compare it: the names sorted, since their order changes no forecast or error. */
export function targetSetOf(targets: readonly string[]): string[] {
  return [...targets].sort();
}

/** Whether two target lists name the same set of columns. */
export function sameTargetSet(a: readonly string[], b: readonly string[]): boolean {
  const left = targetSetOf(a);
  const right = targetSetOf(b);
  return left.length === right.length && left.every((name, i) => name === right[i]);
}

/** The runs among `runs` forecasting `targets` (as a set): those a promotion of those targets chooses from. */
export function runsOfTargets<T extends Pick<RunRecord, 'window'>>(runs: readonly T[], targets: readonly string[]): T[] {
  return runs.filter((run) => sameTargetSet(run.window.targets, targets));
}

/** Rows in scoreboard order (`compareScored`), ranked from 1. */
export function rankRows(rows: readonly ScoreboardRow[]): ScoreboardRow[] {
  return [...rows].sort(compareScored).map((row, index) => ({ ...row, rank: index + 1 }));
}

/**
 * A level's test coverage as the scoreboard shows it: none, with the reason, for a level the calibration could not
 * bound. Runs trained before such levels were recorded as unscored stored their band's coverage (every actual
 * inside an unbounded band) beside a width that JSON could only write as null, which is how they are told apart.
 */
export function levelCoverage(score: IntervalScore): { coverage: number | null; reason?: string } {
  if (score.uncalibrated) return { coverage: null, reason: score.uncalibrated };
  if (score.coverage !== null && score.mean_width === null) return { coverage: null, reason: 'unbounded band: too few calibration windows' };
  return { coverage: score.coverage };
}

/** The newest SUCCESS run of a model type among `runs`. */
function newestOfType(runs: readonly RunRecord[], modelType: string): RunRecord | undefined {
  return runs.filter((run) => run.model_type === modelType).sort((a, b) => compareScored({ score: 0, started_at: a.timings.started_at, run_id: a.run_id }, { score: 0, started_at: b.timings.started_at, run_id: b.run_id }))[0];
}

/** Name by name, a set that is the start of another first (`down` before `down,up` before `up`). */
function compareNames(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

/** The order of the boards of a scoreboard: the set of `first` (the configured targets) first, the others by target names. */
export function compareTargetSets(first?: readonly string[]): (a: readonly string[], b: readonly string[]) => number {
  return (a, b) => (first && sameTargetSet(a, first) ? -1 : first && sameTargetSet(b, first) ? 1 : compareNames(targetSetOf(a), targetSetOf(b)));
}

/** One target set's rows, ranked among themselves against the baselines of that set. */
function rankTargetSet(targets: string[], runs: readonly RunRecord[], minImprovementPct: number | null): { board: TargetSetBoard; rows: ScoreboardRow[] } {
  const naive = newestOfType(runs, 'NAIVE');
  const best = BASELINE_MODEL_TYPES.map((type) => newestOfType(runs, type))
    .filter((run): run is RunRecord => run !== undefined && Number.isFinite(run.metrics!.test_rmse))
    .sort((a, b) => a.metrics!.test_rmse - b.metrics!.test_rmse)[0];
  const baseline = best ? { rmse: best.metrics!.test_rmse, modelType: best.model_type } : undefined;
  const rows = rankRows(
    runs.map((run) => {
      const m = run.metrics!;
      // Optional: a record with its test details cut still ranks on the flat metrics.
      const target = m.test?.targets?.[run.window.targets[0]];
      const original = target?.original;
      const levels = Object.entries(target?.intervals ?? {}).map(([level, score]) => [level, levelCoverage(score)] as const);
      const coverage = Object.fromEntries(levels.map(([level, { coverage }]) => [level, coverage]));
      const uncalibrated = Object.fromEntries(levels.flatMap(([level, { reason }]) => (reason ? [[level, reason]] : [])));
      const metrics = { rmse: m.test_rmse, mae: m.test_mae, mse: m.test_mse, r2: m.test_r2, score: testScore(m) };
      const row = { ...metrics, rmseOriginal: original?.rmse ?? Number.NaN, r2Original: original?.r2 ?? Number.NaN, nrmseOriginal: original?.nrmse, coverage, uncalibrated };
      return scoreboardRow(run, row, naive?.metrics?.test_rmse, minImprovementPct, TEST_SPLIT_GATE, baseline);
    }),
  );
  return { board: { targets, runs: runs.length, naive_run_id: naive?.run_id ?? null, baseline_run_id: best?.run_id ?? null }, rows };
}

/**
 * Ranks every SUCCESS run of one config_hash on its held-out test metrics, each among the runs of its own target set
 * (its window's targets): a run forecasting `down` and one forecasting `down,up` pool the errors of other columns, so
 * neither beats the other, and the one serving would change what /predict returns. Baseline runs (NAIVE, SNAIVE,
 * MSTL) compete like any other; within a target set the newest of each type is a candidate baseline, and the one
 * with the lowest RMSE is what the improvement column and the quality gate compare with. `targets` (the configured
 * `training.targets`, what promotion chooses from) puts its board first, so `rows[0]` is the winner `promoteBest`
 * promotes; without it the boards go by target names.
 */
export function buildScoreboard(configHash: string, runs: readonly RunRecord[], minImprovementPct: number | null = null, targets?: readonly string[]): Scoreboard {
  const eligible = runs.filter((run) => run.status === 'SUCCESS' && run.config_hash === configHash && run.metrics);
  const bySet = new Map<string, { targets: string[]; runs: RunRecord[] }>();
  for (const run of eligible) {
    const set = targetSetOf(run.window.targets);
    const key = JSON.stringify(set);
    const group = bySet.get(key);
    if (group) group.runs.push(run);
    else bySet.set(key, { targets: set, runs: [run] });
  }
  const order = [...bySet.values()].sort((a, b) => compareTargetSets(targets)(a.targets, b.targets));
  return scoreboardOfBoards(configHash, order.map((set) => rankTargetSet(set.targets, set.runs, minImprovementPct)), minImprovementPct, targets);
}

/**
 * The scoreboard of target-set boards already ranked and in order (the configured `targets` first): their rows board
 * after board, the first board's baselines as the scoreboard's. The test scoreboard's and the backtest's.
 */
export function scoreboardOfBoards(configHash: string, boards: ReadonlyArray<{ board: TargetSetBoard; rows: ScoreboardRow[] }>, minImprovementPct: number | null, targets?: readonly string[]): Scoreboard {
  const lead = boards[0]?.board;
  return {
    config_hash: configHash,
    rows: boards.flatMap(({ rows }) => rows),
    naive_run_id: lead?.naive_run_id ?? null,
    baseline_run_id: lead?.baseline_run_id ?? null,
    gate_min_improvement_pct: minImprovementPct,
    targets: targets ? targetSetOf(targets) : null,
    target_sets: boards.map(({ board }) => board),
  };
}

/** The rows of `board` of one target set: the runs a promotion of those targets chooses from, best first. */
export function rowsOfTargets(board: Scoreboard, targets: readonly string[]): ScoreboardRow[] {
  return board.rows.filter((row) => sameTargetSet(row.targets, targets));
}
