import type { MessageBus } from '../bus/message-bus.js';
import { encodePromotion } from '../bus/messages.js';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { ignoreEvents, type EventSink } from '../events.js';
import { readPointerAt, scopedPointerKey, ROOT_POINTER, type PromotionRecord } from '../registry/pointers.js';
import { appendHistory, historyKey, syncPointers } from '../registry/promotion-history.js';
import { buildPromotionRecord } from '../workflows/promote.js';
import type { RunRecord } from '../registry/run-record.js';
import { findRunRecord, readRunRecord } from '../registry/run-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { gateProblem, runProblems, type PromotionProblem } from './promotion-checks.js';
import { diffRuns, type RunDiff } from './run-diff.js';

export interface ManualPromotionInput {
  runId: string;
  /** Required: why the operator overrides the automatic choice. */
  reason: string;
  /** Promote despite the problems found (recorded in the promotion record). */
  force?: boolean;
  /** Who decided (FLTS_OPERATOR or the OS user, as the command passes it). */
  operator?: string;
}

export interface ManualPromotionDeps {
  store: ObjectStore;
  /** When configured, the record is also published on `model-selected`. */
  bus?: MessageBus;
  onEvent?: EventSink;
  now?: () => Date;
}

/** The reference record plus who promoted manually, and what --force overrode. */
export type ManualPromotionRecord = PromotionRecord & { operator: string | null; forced: boolean; forced_over: string[] };

export interface ManualPromotionResult {
  record: ManualPromotionRecord;
  history_key: string;
  pointers: string[];
  diff: RunDiff;
  /** null without a bus; otherwise whether the `model-selected` message was acknowledged. */
  published: { topic: string; ok: boolean; error?: string } | null;
}

const CODE_BY_KIND = { status: 'FLTS_RUN_NOT_SUCCESSFUL', artifact: 'FLTS_MODEL_ARTIFACT_MISSING', gate: 'FLTS_EVAL_GATE_FAILED' } as const;

function refusal(run: RunRecord, problems: PromotionProblem[]): FltsError {
  return new FltsError(CODE_BY_KIND[problems[0].kind], `Run ${run.run_id} (${run.model_type}) cannot be promoted: ${problems.map((p) => p.message).join('; ')}. Pass --force to promote it anyway (recorded in the promotion record).`, {
    details: { runId: run.run_id, problems },
  });
}


/**
 * The manual promotion runbook as one call: validates the run (status, artifacts, quality gate), refuses
 * problems unless forced, writes the history record with `source: "manual"` and the reason, syncs both
 * pointers, then publishes `model-selected`. The pointers are the source of truth: a failed publish is
 * reported, not undone (serving also reads the pointers).
 */
export async function promoteManually(input: ManualPromotionInput, settings: Settings, deps: ManualPromotionDeps): Promise<ManualPromotionResult> {
  const reason = input.reason.trim();
  if (!reason) throw new FltsError('FLTS_USAGE_INVALID_FLAG', 'A manual promotion needs a reason (--reason "...").');
  const run = await readRunRecord(deps.store, settings, input.runId);
  const gate = await gateProblem(deps.store, settings, run);
  const problems = [...(await runProblems(deps.store, settings, run)), ...(gate ? [gate] : [])];
  if (problems.length > 0 && !input.force) throw refusal(run, problems);

  const previous = await readPointerAt(deps.store, settings, scopedPointerKey(settings));
  const diff = diffRuns(run, previous ? { pointer: previous, run: await findRunRecord(deps.store, settings, previous.run_id).catch(() => undefined) } : undefined);
  const record: ManualPromotionRecord = {
    ...buildPromotionRecord(run, settings, { source: 'manual', reason, action: 'promote', previousRunId: previous?.run_id ?? null, now: deps.now }),
    operator: input.operator ?? null,
    forced: problems.length > 0,
    forced_over: problems.map((p) => p.message),
  };
  await deps.store.ensureBucket(settings.store.buckets.promotion);
  const written = (await appendHistory(deps.store, settings, record)) as ManualPromotionRecord;
  await syncPointers(deps.store, settings);
  (deps.onEvent ?? ignoreEvents)({ type: 'promote.done', runId: run.run_id, configHash: run.config_hash, modelType: run.model_type, source: 'manual', previousRunId: record.previous_run_id });

  let published: ManualPromotionResult['published'] = null;
  if (deps.bus) {
    const topic = settings.bus.topics.modelSelected;
    try {
      await deps.bus.publish(topic, encodePromotion({ ...written }));
      published = { topic, ok: true };
    } catch (error) {
      published = { topic, ok: false, error: (error as Error).message };
    }
  }
  return { record: written, history_key: `${settings.store.buckets.promotion}/${historyKey(written)}`, pointers: [scopedPointerKey(settings), ROOT_POINTER], diff, published };
}
