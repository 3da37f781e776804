import type { Settings } from '../config/settings.js';
import { orUnlessUnavailable, toFltsError } from '../errors.js';
import { readProcessedSidecar } from '../preprocess/processed-data.js';
import { processedCreatedAt } from '../preprocess/processed-layout.js';
import { readCandidateLists } from '../registry/candidate-lists.js';
import { describeChoice, isAutomaticChoice, namesEvery, promotionScope, readPointerAt, scopedPointerKey, type PromotionRecord } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import type { RunRecord } from '../registry/run-record.js';
import { findRunRecord, scanRunRecords, type RunRegistryScan } from '../registry/run-store.js';
import { runsOnCurrentData } from '../registry/trained-data.js';
import type { ObjectStore } from '../storage/object-store.js';
import { buildScoreboard, rowsOfTargets, runsOfTargets } from '../eval/scoreboard.js';
import { bestChoice, promoteBest, type PromotionDeps, type PromotionResult } from './promote.js';

/**
 * Runs of the config_hash that a decision made without promoting left out because their run.json is damaged
 * (unreadable, or edited since training sealed it; see scanRunRecords); absent when none was. A decision that went on
 * to promoteBest (promoted, gated, refused) does not carry them: promoteBest logs them (`promotion_runs_left_out`) and
 * its result names them.
 */
export interface RunsLeftOut {
  corrupt_runs?: RunRegistryScan['corrupt'];
}

/** Whether a promotion's MLflow mark was written, and which: see AutoPromotionOutcome. */
export type MlflowMark = 'alias' | 'tag' | 'not_written' | 'off';

/** The MLflow mark of a promotion's result, as its outcome names it. */
export function mlflowMarkOf(tracking: PromotionResult['tracking']): { mlflow_mark: MlflowMark; mlflow_mark_code?: string } {
  if (tracking.status === 'ok' && tracking.marker) return { mlflow_mark: tracking.marker.marker };
  if (tracking.status === 'disabled') return { mlflow_mark: 'off' };
  return { mlflow_mark: 'not_written', ...(tracking.code ? { mlflow_mark_code: tracking.code } : {}) };
}

export type AutoPromotionOutcome = (
  /**
   * `published`: whether `model-selected` was acknowledged (null without a bus). `mlflow_mark`: the MLflow mark
   * written (`alias` or `tag`), `not_written` (MLflow failed or refused it, `mlflow_mark_code` says how; a later sync
   * writes it) or `off` (no tracking URI), so that the promotion's log line says whether MLflow shows it.
   */
  | { result: 'promoted'; record: PromotionRecord; published?: PromotionResult['published']; mlflow_mark: MlflowMark; mlflow_mark_code?: string }
  | { result: 'waiting'; missing: string[] }
  | { result: 'already-promoted'; record: PromotionRecord }
  /** The data is older than what this scope serves: the SUCCESS is recorded in the registry, never promoted. */
  | { result: 'superseded'; current: PromotionRecord; reason: string }
  /** Someone chose the current run (manual, best, rollback, auto-rollback) for data at least as new, or a person or an automatic rollback chose it with every run of the newer data already a SUCCESS: it stands. */
  | { result: 'chosen-run-stands'; current: PromotionRecord; reason: string }
  | { result: 'gated'; reason: string }
  /** The winner failed its check (it cannot be loaded or forecasts non-finite values). */
  | { result: 'refused'; code: string; reason: string }
) &
  RunsLeftOut;

/** Promotion timestamps carry microseconds; Date.parse wants at most milliseconds. */
function timeOf(timestamp: string): number {
  return Date.parse(timestamp.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}

/**
 * The automatic promotion already made for these runs: one that chose among every SUCCESS run of the hash (runs gone
 * since, deleted or of rows new data replaced, take nothing from its choice; only a run it did not see does). Its
 * candidates say so without comparing the clocks of the hosts that trained and promoted (a trainer's clock ahead of
 * the promoter's would otherwise have every check promote again): its `candidate_runs` when it lists them, else the
 * list of its `candidate_set` kept beside the history (`listedSets`, by digest), else that set itself (the same runs,
 * none added and none gone); a record with neither (older flts) counts when it is newer than the newest SUCCESS run.
 */
export function findAutoPromotion(history: readonly PromotionRecord[], configHash: string, successRuns: readonly RunRecord[], listedSets: ReadonlyMap<string, readonly string[]> = new Map()): PromotionRecord | undefined {
  const newestRun = Math.max(...successRuns.map((run) => Date.parse(run.timings.finished_at ?? run.timings.started_at)));
  const successIds = successRuns.map((run) => run.run_id);
  const covers = (record: PromotionRecord): boolean => namesEvery(record.candidate_runs, record.candidate_set, successIds, listedSets) ?? timeOf(record.timestamp) >= newestRun;
  // Only the latest automatic promotion of the hash counts: one made before other rows of it were promoted (inputs
  // that went A -> B -> A) no longer says what is served.
  const latest = history.filter((record) => record.config_hash === configHash && record.source === 'auto').at(-1);
  return latest !== undefined && covers(latest) ? latest : undefined;
}

/** The kept lists of the candidate sets of automatic promotions of `configHash` that list none, by digest. */
async function listedCandidateSets(store: ObjectStore, settings: Settings, history: readonly PromotionRecord[], configHash: string): Promise<Map<string, readonly string[]>> {
  const sets = history.filter((record) => record.config_hash === configHash && record.source === 'auto' && !Array.isArray(record.candidate_runs)).map((record) => record.candidate_set);
  return readCandidateLists(store, settings, sets);
}

/**
 * Whether `current`, a person's choice or an automatic rollback (recordsSeenRuns), was made with every one of
 * `candidates` already a SUCCESS in the registry (its `seen_runs`, or the list its `seen_set` names): it was chosen
 * against them. false for a record that names no runs it saw (flts before it) or whose list is gone.
 */
async function sawEvery(store: ObjectStore, settings: Settings, current: PromotionRecord, candidates: readonly RunRecord[]): Promise<boolean> {
  const runIds = candidates.map((run) => run.run_id);
  const listed = Array.isArray(current.seen_runs) ? new Map<string, readonly string[]>() : await readCandidateLists(store, settings, [current.seen_set]);
  return namesEvery(current.seen_runs, current.seen_set, runIds, listed) ?? false;
}

export function missingModelTypes(expected: readonly string[], successRuns: readonly RunRecord[]): string[] {
  const have = new Set(successRuns.map((run) => run.model_type.toUpperCase()));
  return expected.map((type) => type.toUpperCase()).filter((type) => !have.has(type));
}

/** When the processed data of a config_hash was created (epoch ms), from its runs or else its sidecar; undefined when unknown. */
async function dataCreatedAt(store: ObjectStore, settings: Settings, configHash: string, runs: readonly RunRecord[]): Promise<number | undefined> {
  const fromRuns = runs.map((run) => Date.parse(run.data?.processed_created_at ?? '')).filter(Number.isFinite);
  if (fromRuns.length > 0) return Math.max(...fromRuns);
  const sidecar = await readProcessedSidecar(store, settings, configHash).catch(orUnlessUnavailable(undefined));
  const parsed = Date.parse(sidecar ? processedCreatedAt(sidecar) : '');
  return Number.isFinite(parsed) ? parsed : undefined;
}

async function currentDataCreatedAt(store: ObjectStore, settings: Settings, current: PromotionRecord): Promise<number | undefined> {
  const recorded = Date.parse(current.data_created_at ?? '');
  if (Number.isFinite(recorded)) return recorded;
  const run = await findRunRecord(store, settings, current.run_id).catch(orUnlessUnavailable(undefined));
  return dataCreatedAt(store, settings, current.config_hash, run ? [run] : []);
}

/**
 * Whether the daemon's promoter should promote the scoreboard winner of `configHash` now, decided from the run
 * registry, the processed-data sidecars and this scope's pointer alone (so restarts, resyncs and replays agree):
 * - wait until every expected model type has a SUCCESS run of the configured targets (`training.targets`) on the
 *   data the config_hash holds now (runsOnCurrentData); only those runs are candidates;
 * - never move to data created before the data of the run this scope serves (a late SUCCESS for an older
 *   config_hash is `superseded`), whatever order the messages came in;
 * - a run someone chose (any source but `auto`, a pin of an automatic promotion included) stands against automatic
 *   promotion of the same or older data; a person's choice or an automatic rollback (recordsSeenRuns) stands against
 *   newer data too while every candidate of it is among the SUCCESS runs the choice saw (`seen_runs`, `seen_set`);
 * - for the data already served automatically, promote again only for a SUCCESS newer than that promotion, and
 *   only when the scoreboard winner is not the run in service already.
 */
export async function decideAutoPromotion(store: ObjectStore, settings: Settings, configHash: string): Promise<AutoPromotionOutcome | ({ result: 'promote' } & RunsLeftOut)> {
  const { records, corrupt } = await scanRunRecords(store, settings, { configHash });
  const outcome = await decideOn(store, settings, configHash, records.filter((run) => run.status === 'SUCCESS'));
  // Every decision is made without them: one that promotes nothing is the only word of them the caller gets.
  return corrupt.length > 0 ? { ...outcome, corrupt_runs: corrupt } : outcome;
}

/** decideAutoPromotion's decision over the SUCCESS records of the config_hash that could be read. */
async function decideOn(store: ObjectStore, settings: Settings, configHash: string, recorded: readonly RunRecord[]): Promise<AutoPromotionOutcome | { result: 'promote' }> {
  // New rows under the same file names keep the config_hash: only runs of the rows it holds now are its candidates.
  const success = await runsOnCurrentData(store, settings, configHash, recorded);
  // The daemon trains the configured targets, and promotes among their runs only: a run of other targets (trained by
  // hand) neither stands in for a model type still training nor competes with them (promoteBest).
  const candidates = runsOfTargets(success, settings.training.targets);
  const missing = missingModelTypes(settings.daemon.expectedModelTypes, candidates);
  // With no expected types, a SUCCESS of other targets alone still leaves nothing to choose from.
  if (missing.length > 0 || candidates.length === 0) return { result: 'waiting', missing };
  const current = await readPointerAt(store, settings, scopedPointerKey(settings));
  if (current) {
    const candidateTime = await dataCreatedAt(store, settings, configHash, success);
    const currentTime = await currentDataCreatedAt(store, settings, current);
    // The same data is the same rows, not only the same config_hash: a run of rows since replaced serves older data.
    const sameData = current.config_hash === configHash && success.some((run) => run.run_id === current.run_id);
    // The rows a config_hash holds now replaced the ones its served run was trained on, whenever they were first
    // processed: going back to earlier inputs restores their version with its own (older) created_at.
    const replacedRows = current.config_hash === configHash && !sameData;
    const older = candidateTime !== undefined && currentTime !== undefined && candidateTime < currentTime;
    if (!sameData && !replacedRows && older) {
      return { result: 'superseded', current, reason: `processed data ${configHash} is older than ${current.config_hash}, which run ${current.run_id} serves` };
    }
    const notNewer = sameData || (!replacedRows && candidateTime !== undefined && currentTime !== undefined && candidateTime <= currentTime);
    if (notNewer && !isAutomaticChoice(current)) {
      return { result: 'chosen-run-stands', current, reason: `run ${current.run_id} was promoted by ${current.source} (${current.actor ?? 'unknown'}) for data at least as new` };
    }
  }
  const history = await listPromotionHistory(store, settings, promotionScope(settings));
  const done = findAutoPromotion(history, configHash, candidates) ?? findAutoPromotion(history, configHash, candidates, await listedCandidateSets(store, settings, history, configHash));
  if (done) return { result: 'already-promoted', record: done };
  // Newer data, or the new rows of the hash in service: a person who chose the run in service with every one of its
  // candidates there to choose chose against them, and a failed probation that rolled back to it ruled on them (the
  // promoter had them all to choose from). Only a SUCCESS the choice did not see is news.
  if (current && !isAutomaticChoice(current) && (await sawEvery(store, settings, current, candidates))) {
    return { result: 'chosen-run-stands', current, reason: `run ${current.run_id} was ${describeChoice(current)} with every SUCCESS run of ${configHash} already in the registry` };
  }
  // A new SUCCESS that does not beat the run in service: promoting the winner again would change nothing.
  const board = buildScoreboard(configHash, candidates, settings.eval.minImprovementPct, settings.training.targets);
  if (current && bestChoice(rowsOfTargets(board, settings.training.targets), current.run_id)?.run_id === current.run_id) return { result: 'already-promoted', record: current };
  return { result: 'promote' };
}

const REFUSALS = new Set<string>(['FLTS_PROMOTE_CANDIDATE_INVALID', 'FLTS_PROMOTE_NO_TEST_WINDOWS', 'FLTS_MODEL_ARTIFACT_MISSING', 'FLTS_RUN_CORRUPT', 'FLTS_RUN_NOT_SUCCESSFUL']);

/** Promotes the winner of `configHash` with source `auto` when `decideAutoPromotion` says so; a gate failure is an outcome, not an error. */
export async function autoPromote(configHash: string, actor: string, settings: Settings, deps: PromotionDeps): Promise<AutoPromotionOutcome> {
  const decision = await decideAutoPromotion(deps.store, settings, configHash);
  if (decision.result !== 'promote') return decision;
  // promoteBest reads the config_hash again, and logs and returns the runs it leaves out itself.
  try {
    const promoted = await promoteBest({ configHash, source: 'auto', actor }, settings, deps);
    if (!promoted.changed) return { result: 'already-promoted', record: promoted.record };
    return { result: 'promoted', record: promoted.record, published: promoted.published, ...mlflowMarkOf(promoted.tracking) };
  } catch (error) {
    const flts = toFltsError(error);
    if (flts.code === 'FLTS_EVAL_GATE_FAILED') return { result: 'gated', reason: flts.message };
    if (REFUSALS.has(flts.code)) return { result: 'refused', code: flts.code, reason: flts.message };
    throw flts;
  }
}
