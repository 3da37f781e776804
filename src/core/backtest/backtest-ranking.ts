import type { Settings } from '../config/settings.js';
import { FltsError, orUnlessUnavailable } from '../errors.js';
import type { ConfigHashWithRuns, EvaluateRunsResult } from '../eval/evaluate-runs.js';
import { configHashesWithRuns, hashesWithRunsSaid, resolveEvalConfigHash } from '../eval/evaluate-runs.js';
import { compareTargetSets, isBaselineType, rankRows, sameTargetSet, scoreboardOfBoards, scoreboardRow, targetSetOf, type Scoreboard } from '../eval/scoreboard.js';
import type { RunRecord } from '../registry/run-record.js';
import { damagedRunsAside, runsBucket, scanRunRecords } from '../registry/run-store.js';
import type { ProcessedSidecar } from '../preprocess/processed-layout.js';
import { currentDataOf, runsOnData, trainedOnLineage } from '../registry/trained-data.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { BacktestModelResult } from './backtest-model.js';
import { readBacktestRecord, type BacktestRecord } from './backtest-record.js';

const BACKTEST_GATE = { metric: 'backtest RMSE improvement over the best baseline', noBaseline: 'no baseline backtest to compare with', noMetric: 'no backtest RMSE (not a number) to compare' };

/** A stored metric: backtest.json holds a NaN one (a model that forecast NaN) as null. */
const figure = (value: number | null | undefined): number => (typeof value === 'number' ? value : Number.NaN);

/**
 * The eval scoreboard, ranked on backtest metrics instead of the single test split: each run's score is the
 * reference score of its mean fold metrics (scaled), r2 the pooled one, the coverage that of every fold's
 * actuals against their bands, and the improvement and the quality gate are over the best baseline backtest
 * (the lowest RMSE of NAIVE, a run or the built-in one, SNAIVE and MSTL), as on the test split. Runs the
 * backtest did not cover are left out. Like the test scoreboard, each target set has its own board, ranked from 1
 * against the baselines of that set, the board of `targets` (the configured ones) first: a backtested model's set is
 * its run's targets, and a model without a run (the built-in NAIVE, a type fitted for the backtest) forecast the
 * record's targets (the configured ones for a record that names none, as `flts backtest` fitted it).
 */
export function buildBacktestScoreboard(record: BacktestRecord, runs: readonly RunRecord[], minImprovementPct: number | null = null, targets?: readonly string[]): Scoreboard {
  const byRun = new Map(runs.filter((run) => run.status === 'SUCCESS').map((run) => [run.run_id, run]));
  const fittedTargets = record.targets ?? targets;
  const setOf = (model: BacktestModelResult): readonly string[] | undefined => (model.run_id !== null ? byRun.get(model.run_id)?.window.targets : undefined) ?? fittedTargets;
  const ranked = record.models.filter((model) => model.run_id !== null && byRun.has(model.run_id));
  const sets: string[][] = [];
  for (const model of ranked) {
    const set = targetSetOf(byRun.get(model.run_id as string)!.window.targets);
    if (!sets.some((known) => sameTargetSet(known, set))) sets.push(set);
  }
  sets.sort(compareTargetSets(targets));
  const boards = sets.map((set) => {
    const ofSet = (model: BacktestModelResult): boolean => {
      const of = setOf(model);
      return of !== undefined && sameTargetSet(of, set);
    };
    const naive = record.models.find((model) => model.model_type === 'NAIVE' && ofSet(model));
    const best = record.models
      .filter((model) => isBaselineType(model.model_type) && ofSet(model) && Number.isFinite(figure(model.aggregate.rmse)))
      .sort((a, b) => a.aggregate.rmse - b.aggregate.rmse)[0];
    const baseline = best ? { rmse: best.aggregate.rmse, modelType: best.model_type } : undefined;
    const members = ranked.filter(ofSet);
    const rows = rankRows(
      members.map((model) => {
        const run = byRun.get(model.run_id as string) as RunRecord;
        const { aggregate } = model;
        const target = run.window.targets[0];
        const coverage = Object.fromEntries(Object.entries(aggregate.coverage?.[target] ?? {}).map(([level, counts]) => [level, counts.count > 0 ? counts.coverage : null]));
        const metrics = { rmse: figure(aggregate.rmse), mae: figure(aggregate.mae), mse: figure(aggregate.mse), r2: figure(aggregate.pooled?.r2), score: figure(aggregate.score), coverage };
        return scoreboardRow(run, { ...metrics, rmseOriginal: figure(aggregate.targets?.[target]?.rmse), r2Original: Number.NaN }, naive ? figure(naive.aggregate.rmse) : undefined, minImprovementPct, BACKTEST_GATE, baseline);
      }),
    );
    return { board: { targets: set, runs: members.length, naive_run_id: naive?.run_id ?? null, baseline_run_id: best?.run_id ?? null }, rows };
  });
  return scoreboardOfBoards(record.config_hash, boards, minImprovementPct, targets);
}

/**
 * Whether the folds of `record` scored the rows `sidecar` describes, by the rule a run's rows are compared with
 * (`trainedOnLineage`): a record that names no rows (written before 2026-12) counts, as it always did.
 */
export function backtestOfData(record: BacktestRecord, sidecar: ProcessedSidecar | undefined): boolean {
  return trainedOnLineage({ configHash: record.config_hash, processedSha256: record.data?.processed_sha256, inputs: record.data?.fingerprints }, sidecar);
}

/** What ranking by backtest needs, in place of FLTS_EVAL_NO_RUNS' own hint (which asks for training alone). */
const NO_BACKTEST_HINT = 'Run `flts backtest` on this data (after `flts train`, when it has no runs of the rows it holds now), then rank again; `flts eval` alone ranks by the held-out test split.';

/**
 * The config_hashes but `configHash` that `flts eval --rank-by backtest` can rank: those with SUCCESS runs and a stored
 * backtest, newest run first, as the test scoreboard's refusal names those with runs. One more listing, of the
 * backtests, on a refusal only.
 */
async function backtestedHashesWithRuns(store: ObjectStore, settings: Settings, configHash: string): Promise<ConfigHashWithRuns[]> {
  const records = await store.list(runsBucket(settings), 'backtests/').catch(orUnlessUnavailable([]));
  const backtested = new Set(records.filter((object) => object.key.endsWith('/backtest.json')).map((object) => object.key.split('/')[1]));
  return configHashesWithRuns(store, settings, configHash, (runs) => runs.filter((run) => backtested.has(run.config_hash)));
}

/** The end of a refusal naming the other config_hashes ranked by backtest, and the details field that lists them. */
async function otherBacktestedHashes(store: ObjectStore, settings: Settings, configHash: string): Promise<{ said: string; details: { configHashesWithRuns?: ConfigHashWithRuns[] } }> {
  const others = await backtestedHashesWithRuns(store, settings, configHash);
  return { said: hashesWithRunsSaid(others, 'flts eval --rank-by backtest --config-hash <hash>'), details: others.length > 0 ? { configHashesWithRuns: others } : {} };
}

/**
 * `flts eval --rank-by backtest`: the scoreboard from the stored backtest of a config_hash, of the runs it covers that
 * were trained on the rows the config_hash holds now, as `flts eval` ranks. A run of rows that new data under the same
 * file names replaced is no candidate of this data, whatever its folds scored; and folds that scored replaced rows rank
 * no run of the rows held now, even one that records no rows of its own (which counts as trained on any).
 */
export async function evaluateRunsByBacktest(input: { configHash?: string }, settings: Settings, deps: { store: ObjectStore }): Promise<EvaluateRunsResult> {
  const configHash = await resolveEvalConfigHash(deps.store, settings, input.configHash);
  const record = await readBacktestRecord(deps.store, settings, configHash);
  if (!record) {
    const others = await otherBacktestedHashes(deps.store, settings, configHash);
    throw new FltsError('FLTS_EVAL_NO_RUNS', `No backtest recorded for config_hash ${configHash}; run \`flts backtest\` first${others.said}.`, { details: { configHash, ...others.details }, hint: NO_BACKTEST_HINT });
  }
  const { records, corrupt } = await scanRunRecords(deps.store, settings, { configHash });
  const sidecar = await currentDataOf(deps.store, settings, configHash);
  const ofRowsHeld = backtestOfData(record, sidecar);
  const runs = ofRowsHeld ? runsOnData(sidecar, configHash, records) : [];
  const board = buildBacktestScoreboard(record, runs, settings.eval.minImprovementPct, settings.training.targets);
  const replaced = buildBacktestScoreboard(record, records).rows.length - board.rows.length;
  if (!ofRowsHeld) {
    const others = await otherBacktestedHashes(deps.store, settings, configHash);
    throw new FltsError('FLTS_EVAL_NO_RUNS', `The backtest of config_hash ${configHash} scored rows that new data under the same file names replaced: its ${replaced} SUCCESS run(s) are left out (\`flts backtest\` scores the rows held now)${others.said}.`, {
      details: { configHash, backtestOfReplacedRows: true, runsOfReplacedRows: replaced, ...others.details },
      hint: NO_BACKTEST_HINT,
    });
  }
  if (board.rows.length === 0) {
    const why = replaced > 0 ? ` trained on the rows it holds now: its ${replaced} SUCCESS run(s) are of rows that new data under the same file names replaced (\`flts train\` then \`flts backtest\` score the new rows)` : '';
    const others = await otherBacktestedHashes(deps.store, settings, configHash);
    throw new FltsError('FLTS_EVAL_NO_RUNS', `The backtest of config_hash ${configHash} covers no SUCCESS run${why}${damagedRunsAside(corrupt)}${others.said}.`, {
      details: { configHash, ...(replaced > 0 ? { runsOfReplacedRows: replaced } : {}), corrupt_runs: corrupt, ...others.details },
      hint: NO_BACKTEST_HINT,
    });
  }
  return {
    ...board,
    // The limit holds per target set, as on the test scoreboard.
    rows: board.rows.filter((row) => row.rank <= settings.eval.scoreboardLimit),
    plots: [],
    store_location: deps.store.location,
    corrupt_runs: corrupt,
    ...(replaced > 0 ? { runs_of_replaced_rows: replaced } : {}),
  };
}
