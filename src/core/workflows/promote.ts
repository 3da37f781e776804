import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { ignoreEvents, type EventSink } from '../events.js';
import { buildScoreboard, SCORE_WEIGHTS, type ScoreboardRow, testScore } from '../eval/scoreboard.js';
import { resolveEvalConfigHash } from '../eval/evaluate-runs.js';
import type { ObjectStore } from '../storage/object-store.js';
import { promotionScope, readPointerAt, scopedPointerKey, type PromotionRecord, type PromotionSource } from '../registry/pointers.js';
import { appendHistory, historyKey, listPromotionHistory, promotionTimestamp, syncPointers } from '../registry/promotion-history.js';
import { MODEL_ARTIFACT_FILES } from '../registry/run-artifacts.js';
import type { RunRecord } from '../registry/run-record.js';
import { listRunRecords, readRunRecord, runKey, runsBucket } from '../registry/run-store.js';

export interface PromoteDeps {
  store: ObjectStore;
  onEvent?: EventSink;
  now?: () => Date;
}

export interface PromoteOptions {
  /** Promote even when the quality gate fails. */
  force?: boolean;
  reason?: string;
  source?: PromotionSource;
}

export interface PromoteResult {
  record: PromotionRecord;
  history_key: string;
  pointers: string[];
  gate: ScoreboardRow['gate'] | null;
}

function nowTimestamp(now: () => Date): string {
  const date = now();
  // Microseconds from the high-resolution clock make same-millisecond promotions sort correctly.
  const micros = Math.floor(((performance.timeOrigin + performance.now()) * 1000) % 1000);
  return promotionTimestamp(date, micros);
}

export interface PromotionRecordFields {
  source: PromotionSource;
  reason: string;
  action: 'promote' | 'rollback';
  previousRunId: string | null;
  now?: () => Date;
}

/** The reference promotion record (fields in the reference order) plus flts's source, previous run and reason. */
export function buildPromotionRecord(run: RunRecord, settings: Settings, fields: PromotionRecordFields): PromotionRecord {
  const m = run.metrics;
  return {
    identifier: settings.identifier,
    config_hash: run.config_hash,
    run_id: run.run_id,
    model_type: run.model_type,
    experiment: run.experiment,
    model_uri: `runs:/${run.run_id}/${run.model_type}`,
    rmse: m?.test_rmse ?? null,
    mae: m?.test_mae ?? null,
    mse: m?.test_mse ?? null,
    score: m ? testScore(m) : null,
    timestamp: nowTimestamp(fields.now ?? (() => new Date())),
    weights: { ...SCORE_WEIGHTS },
    source: fields.source,
    previous_run_id: fields.previousRunId,
    reason: fields.reason,
    action: fields.action,
  };
}

async function assertPromotable(store: ObjectStore, settings: Settings, run: RunRecord): Promise<void> {
  if (run.status !== 'SUCCESS') {
    throw new FltsError('FLTS_RUN_NOT_SUCCESSFUL', `Run ${run.run_id} (${run.model_type}) has status ${run.status}${run.error ? ` (${run.error.message})` : ''}; only SUCCESS runs can be promoted.`, {
      details: { runId: run.run_id, status: run.status },
    });
  }
  const key = runKey(run.run_id, MODEL_ARTIFACT_FILES[run.model_type]);
  if (!(await store.exists(runsBucket(settings), key))) {
    throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${run.run_id} has no model at ${runsBucket(settings)}/${key}.`, { details: { runId: run.run_id, key } });
  }
}

async function writePromotion(run: RunRecord, settings: Settings, deps: PromoteDeps, fields: { source: PromotionSource; reason: string; action: 'promote' | 'rollback' }, gate: PromoteResult['gate']): Promise<PromoteResult> {
  const previous = await readPointerAt(deps.store, settings, scopedPointerKey(settings));
  const record = buildPromotionRecord(run, settings, { ...fields, previousRunId: previous?.run_id ?? null, now: deps.now });
  await deps.store.ensureBucket(settings.store.buckets.promotion);
  const written = await appendHistory(deps.store, settings, record);
  await syncPointers(deps.store, settings);
  (deps.onEvent ?? ignoreEvents)({ type: 'promote.done', runId: run.run_id, configHash: run.config_hash, modelType: run.model_type, source: fields.source, previousRunId: record.previous_run_id });
  return { record: written, history_key: `${settings.store.buckets.promotion}/${historyKey(written)}`, pointers: [scopedPointerKey(settings), 'current.json'], gate };
}

async function gateOf(store: ObjectStore, settings: Settings, run: RunRecord): Promise<ScoreboardRow['gate'] | null> {
  if (settings.eval.minImprovementPct === null) return null;
  const board = buildScoreboard(run.config_hash, await listRunRecords(store, settings, { configHash: run.config_hash }), settings.eval.minImprovementPct);
  return board.rows.find((row) => row.run_id === run.run_id)?.gate ?? { passed: false, reason: 'run not on the scoreboard' };
}

function assertGate(run: RunRecord, gate: PromoteResult['gate'], force: boolean | undefined): void {
  if (gate && !gate.passed && !force) {
    throw new FltsError('FLTS_EVAL_GATE_FAILED', `Run ${run.run_id} (${run.model_type}) fails the quality gate: ${gate.reason}.`, { details: { runId: run.run_id, gate } });
  }
}

/** Promotes one run (manual by default): refuses unknown and non-SUCCESS runs and, unless forced, gate failures. */
export async function promoteRun(runId: string, settings: Settings, deps: PromoteDeps, options: PromoteOptions = {}): Promise<PromoteResult> {
  const run = await readRunRecord(deps.store, settings, runId);
  await assertPromotable(deps.store, settings, run);
  const gate = await gateOf(deps.store, settings, run);
  assertGate(run, gate, options.force);
  return writePromotion(run, settings, deps, { source: options.source ?? 'manual', reason: options.reason ?? `run ${run.run_id} promoted by request`, action: 'promote' }, gate);
}

/** Promotes the scoreboard winner of a config_hash (the latest processed data's by default). */
export async function promoteBest(configHash: string | undefined, settings: Settings, deps: PromoteDeps, options: PromoteOptions = {}): Promise<PromoteResult> {
  const hash = await resolveEvalConfigHash(deps.store, settings, configHash);
  const runs = await listRunRecords(deps.store, settings, { configHash: hash });
  const board = buildScoreboard(hash, runs, settings.eval.minImprovementPct);
  const winner = board.rows[0];
  if (!winner) throw new FltsError('FLTS_EVAL_NO_RUNS', `No SUCCESS runs for config_hash ${hash} to promote.`, { details: { configHash: hash } });
  const run = runs.find((r) => r.run_id === winner.run_id)!;
  await assertPromotable(deps.store, settings, run);
  const gate = settings.eval.minImprovementPct === null ? null : winner.gate;
  assertGate(run, gate, options.force);
  const reason = options.reason ?? `best score ${winner.score.toPrecision(6)} of ${board.rows.length} run(s) for config_hash ${hash}`;
  return writePromotion(run, settings, deps, { source: options.source ?? 'auto', reason, action: 'promote' }, gate);
}

/**
 * The runs promoted in this scope as a stack: a promotion pushes its run, a rollback pops. The current run
 * is the top; rollback returns to the one below, so repeated rollbacks walk back through the history.
 */
export function promotionStack(history: readonly PromotionRecord[]): PromotionRecord[] {
  const stack: PromotionRecord[] = [];
  for (const record of history) {
    if (record.action === 'rollback') {
      stack.pop();
      if (stack.at(-1)?.run_id !== record.run_id) stack.push(record);
    } else if (stack.at(-1)?.run_id !== record.run_id) stack.push(record);
  }
  return stack;
}

/** Restores the previously promoted run of this scope from the promotion history. */
export async function rollbackPromotion(settings: Settings, deps: PromoteDeps, options: PromoteOptions = {}): Promise<PromoteResult> {
  const stack = promotionStack(await listPromotionHistory(deps.store, settings, promotionScope(settings)));
  const current = stack.at(-1);
  const target = stack.at(-2);
  if (!current || !target) {
    throw new FltsError('FLTS_PROMOTE_NOTHING_TO_ROLLBACK', `No earlier promotion in scope '${promotionScope(settings)}' to return to.`, { details: { scope: promotionScope(settings), current: current?.run_id ?? null } });
  }
  const run = await readRunRecord(deps.store, settings, target.run_id);
  await assertPromotable(deps.store, settings, run);
  return writePromotion(run, settings, deps, { source: options.source ?? 'manual', reason: options.reason ?? `rollback from run ${current.run_id}`, action: 'rollback' }, null);
}
