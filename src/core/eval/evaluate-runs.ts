import type { Settings } from '../config/settings.js';
import { FltsError, orUnlessUnavailable } from '../errors.js';
import { readProcessedSidecar } from '../preprocess/processed-data.js';
import { assertConfigHash } from '../preprocess/processed-layout.js';
import { damagedRunsAside, listRunRecords, runsBucket, scanRunRecords, type RunRegistryScan } from '../registry/run-store.js';
import type { RunRecord } from '../registry/run-record.js';
import { runsOnCurrentData } from '../registry/trained-data.js';
import type { ObjectStore } from '../storage/object-store.js';
import { writeForecastPlots } from './forecast-plots.js';
import { buildScoreboard, type Scoreboard } from './scoreboard.js';

export interface EvaluateRunsInput {
  /** Default: the latest processed data's config_hash, else the newest run's. */
  configHash?: string;
  /** Write forecast/residual plots for the top runs. */
  plot?: boolean;
}

export interface EvaluateRunsResult extends Scoreboard {
  /** Plots written, as `<bucket>/<key>` plus where the store keeps them. */
  plots: { run_id: string; objects: string[] }[];
  store_location: string;
  /**
   * Runs left out because their run.json is damaged (unreadable, or edited since training sealed it), of those that
   * could be of this config_hash: the runs bucket's index lists them under it or under none (a damaged record does
   * not say which).
   */
  corrupt_runs: RunRegistryScan['corrupt'];
  /** SUCCESS runs of the config_hash left off the board: trained on rows that new data under its file names replaced (absent when none). */
  runs_of_replaced_rows?: number;
}

/**
 * Where runs were looked for, for a message that finds none: a mistyped FLTS_RUNS_BUCKET, or a store other than the
 * one trained into, reads just like nothing trained yet.
 */
export function runsLookedFor(store: ObjectStore, settings: Settings): { where: string; details: { bucket: string; store: string } } {
  const bucket = runsBucket(settings);
  return { where: `in bucket '${bucket}' of the store at ${store.location}`, details: { bucket, store: store.location } };
}

/** ": the bucket holds nothing at all ..." when the runs bucket is empty or not there (one bounded listing); else "". */
export async function emptyRunsBucket(store: ObjectStore, settings: Settings): Promise<string> {
  const any = await store.list(runsBucket(settings), '', { limit: 1 });
  return any.length === 0 ? ': the bucket holds nothing at all (it is not there, or nothing was trained into it)' : '';
}

/** Config hashes a refusal names beside the one without runs: the newest few, enough to find the version meant. */
const HASHES_WITH_RUNS_NAMED = 3;

/** A config_hash that has SUCCESS runs, as a refusal to rank another names it. */
export interface ConfigHashWithRuns {
  config_hash: string;
  success_runs: number;
  /** When the newest of them started. */
  newest_started_at: string;
}

/**
 * The config_hashes but `configHash` with SUCCESS runs (of those `keep` keeps: promote --best's of the configured
 * targets), newest run first, at most HASHES_WITH_RUNS_NAMED, from one listing of the registry. Said when
 * `configHash` has none: new processed data without runs yet is what eval and promote --best take by default, and
 * "no SUCCESS runs" then hid the versions that have some.
 */
export async function configHashesWithRuns(store: ObjectStore, settings: Settings, configHash: string, keep: (runs: RunRecord[]) => RunRecord[] = (runs) => runs): Promise<ConfigHashWithRuns[]> {
  const runs = keep((await listRunRecords(store, settings).catch(orUnlessUnavailable([]))).filter((run) => run.status === 'SUCCESS' && run.config_hash !== configHash));
  return newestConfigHashes(runs.map((run) => ({ config_hash: run.config_hash, started_at: run.timings.started_at })));
}

/**
 * The config_hashes of `runs` (each a finished run, of the registry or of MLflow), by their newest run, with how many
 * runs each has: at most HASHES_WITH_RUNS_NAMED, the few a refusal names.
 */
export function newestConfigHashes(runs: Iterable<{ config_hash: string; started_at: string }>): ConfigHashWithRuns[] {
  const byHash = new Map<string, ConfigHashWithRuns>();
  for (const { config_hash: hash, started_at: startedAt } of runs) {
    const seen = byHash.get(hash);
    if (!seen) byHash.set(hash, { config_hash: hash, success_runs: 1, newest_started_at: startedAt });
    else byHash.set(hash, { ...seen, success_runs: seen.success_runs + 1, newest_started_at: startedAt > seen.newest_started_at ? startedAt : seen.newest_started_at });
  }
  return [...byHash.values()].sort((a, b) => b.newest_started_at.localeCompare(a.newest_started_at) || a.config_hash.localeCompare(b.config_hash)).slice(0, HASHES_WITH_RUNS_NAMED);
}

/**
 * The end of a refusal naming `hashes` and the command line that takes one (`command` holds `<hash>`); '' for none.
 * `runs` says what was counted: the registry's SUCCESS runs, or MLflow's finished ones.
 */
export function hashesWithRunsSaid(hashes: readonly ConfigHashWithRuns[], command: string, runs = 'SUCCESS runs'): string {
  if (hashes.length === 0) return '';
  const named = hashes.map((hash) => `${hash.config_hash} (${hash.success_runs} run(s), newest started ${hash.newest_started_at})`).join(', ');
  return `; config_hashes with ${runs}, newest first: ${named}: pass one with \`${command}\``;
}

/**
 * The config_hash asked for, else the latest processed data's, else the newest run's. One asked for must be a
 * whole hash: it becomes part of store keys and of the MLflow filter, and a prefix or a typo matched no run.
 */
export async function resolveEvalConfigHash(store: ObjectStore, settings: Settings, configHash?: string): Promise<string> {
  if (configHash) {
    assertConfigHash(configHash);
    return configHash;
  }
  const sidecar = await readProcessedSidecar(store, settings).catch(orUnlessUnavailable(undefined));
  if (sidecar?.config_hash) return sidecar.config_hash;
  const runs = await listRunRecords(store, settings);
  const newest = runs[runs.length - 1];
  if (!newest) {
    const looked = runsLookedFor(store, settings);
    throw new FltsError('FLTS_EVAL_NO_RUNS', `No runs ${looked.where} and no processed data to name a config_hash.`, { details: looked.details });
  }
  return newest.config_hash;
}

/**
 * The scoreboard of the SUCCESS runs of a config_hash trained on the rows it holds now (FLTS_EVAL_NO_RUNS when there
 * is none), one board per target set, the configured targets' first: the board `flts promote --best` and the promoter
 * choose from. A run of rows that new data under the same
 * file names replaced was scored on another test file, so its place on this board would mean nothing.
 */
export async function evaluateRuns(input: EvaluateRunsInput, settings: Settings, deps: { store: ObjectStore }): Promise<EvaluateRunsResult> {
  const configHash = await resolveEvalConfigHash(deps.store, settings, input.configHash);
  const { records: recorded, corrupt } = await scanRunRecords(deps.store, settings, { configHash });
  const runs = await runsOnCurrentData(deps.store, settings, configHash, recorded);
  const scoreboard = buildScoreboard(configHash, runs, settings.eval.minImprovementPct, settings.training.targets);
  if (scoreboard.rows.length === 0) {
    const replaced = buildScoreboard(configHash, recorded).rows.length;
    const looked = runsLookedFor(deps.store, settings);
    const empty = recorded.length === 0 && corrupt.length === 0 ? await emptyRunsBucket(deps.store, settings) : '';
    const why = replaced > 0 ? ` on the rows it holds now: its ${replaced} SUCCESS run(s) are of rows that new data under the same file names replaced (\`flts train\` trains the new rows)` : empty || ` (${runs.length} run(s) in other states)`;
    const others = empty ? [] : await configHashesWithRuns(deps.store, settings, configHash);
    throw new FltsError('FLTS_EVAL_NO_RUNS', `No SUCCESS runs for config_hash ${configHash} ${looked.where}${why}${damagedRunsAside(corrupt)}${hashesWithRunsSaid(others, 'flts eval --config-hash <hash>')}.`, {
      details: { configHash, ...looked.details, runs: runs.map((r) => ({ run_id: r.run_id, status: r.status })), corrupt_runs: corrupt, ...(replaced > 0 ? { runsOfReplacedRows: replaced } : {}), ...(others.length > 0 ? { configHashesWithRuns: others } : {}) },
    });
  }
  const plots: EvaluateRunsResult['plots'] = [];
  if (input.plot) {
    for (const row of scoreboard.rows.filter((r) => r.rank <= settings.eval.plotTop)) {
      const keys = await writeForecastPlots(deps.store, settings, row.run_id, `#${row.rank} ${row.model_type} ${row.run_id.slice(0, 8)}`);
      plots.push({ run_id: row.run_id, objects: keys.map((key) => `${runsBucket(settings)}/${key}`) });
    }
  }
  const replaced = buildScoreboard(configHash, recorded).rows.length - scoreboard.rows.length;
  return {
    ...scoreboard,
    // The limit holds per target set: a board of many runs leaves the others their rows.
    rows: scoreboard.rows.filter((row) => row.rank <= settings.eval.scoreboardLimit),
    plots,
    store_location: deps.store.location,
    corrupt_runs: corrupt,
    ...(replaced > 0 ? { runs_of_replaced_rows: replaced } : {}),
  };
}
