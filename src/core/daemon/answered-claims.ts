import type { ReceivedMessage } from '../bus/message-bus.js';
import { trainerGroupId } from '../bus/topics.js';
import { FltsError } from '../errors.js';
import { RUN_FILES } from '../registry/run-record.js';
import { runKey, runsBucket } from '../registry/run-store.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import { announceTrainedRun } from '../workflows/train.js';
import type { RoleContext } from './role-registry.js';

/**
 * `<run_id>/answered-claims.json` in the runs bucket: where each partition of `training-data` ended just before the
 * run's latest `model-training` SUCCESS went out. Every claim below those ends was published before that notice,
 * so the promoter heard of the run after the claim: the claim is answered, by whichever trainer sent the notice.
 */
export interface AnsweredClaimsRecord {
  run_id: string;
  topic: string;
  /** Per partition, the first offset published after the notice was about to go out. */
  ends: Array<{ partition: number; offset: number }>;
  announced_at: string;
  owner: string;
}

export interface TrainedRunNotice {
  modelType: string;
  configHash: string;
  runId: string;
}

type AnswerContext = Pick<RoleContext, 'settings' | 'store' | 'bus' | 'logger' | 'owner'>;

function recordKey(runId: string): string {
  return runKey(runId, RUN_FILES.answeredClaims);
}

async function readRecord(context: AnswerContext, runId: string): Promise<AnsweredClaimsRecord | undefined> {
  const record = await getJsonIfExists<AnsweredClaimsRecord>(context.store, runsBucket(context.settings), recordKey(runId)).catch((error: unknown) => {
    // Unreadable (cut short, edited): the claims it named are answered again, which costs the promoter one look.
    if (error instanceof FltsError && error.code === 'FLTS_DATA_UNREADABLE') return undefined;
    throw error;
  });
  const usable = record !== undefined && record !== null && typeof record === 'object' && record.run_id === runId && Array.isArray(record.ends);
  if (!usable) return undefined;
  const isEnd = (end: unknown): end is AnsweredClaimsRecord['ends'][number] =>
    typeof end === 'object' && end !== null && Number.isInteger((end as { partition?: unknown }).partition) && Number.isFinite((end as { offset?: unknown }).offset);
  return { ...record, ends: record.ends.filter(isEnd) };
}

/** Where each partition of the claims' topic ends now; undefined when the bus cannot tell (the notice still goes out). */
async function claimTopicEnds(context: AnswerContext, modelType: string): Promise<AnsweredClaimsRecord['ends'] | undefined> {
  const { settings, bus, logger } = context;
  try {
    const partitions = await bus.lag(trainerGroupId(modelType, settings.bus.groups.trainerPrefix), [settings.bus.topics.trainingData]);
    return partitions.map((partition) => ({ partition: partition.partition, offset: partition.endOffset }));
  } catch (error) {
    logger.warn({ err: error, topic: settings.bus.topics.trainingData }, 'daemon_claim_ends_unread');
    return undefined;
  }
}

/** Each partition at its furthest end of both: a notice another trainer sent later answers up to where it read. */
function furthest(ends: AnsweredClaimsRecord['ends'], earlier: AnsweredClaimsRecord['ends'] = []): AnsweredClaimsRecord['ends'] {
  const merged = new Map(earlier.map((end) => [end.partition, end.offset]));
  for (const end of ends) merged.set(end.partition, Math.max(end.offset, merged.get(end.partition) ?? -1));
  return [...merged].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ partition, offset }));
}

/**
 * Sends a trained run's `model-training` SUCCESS (throwing when the bus does not take it), then records which claims
 * it answered: those published before it, read just before it went out, so a claim published meanwhile counts as
 * unanswered (a second notice, never a lost one). The record is kept in the store, not in this process: a replica or
 * a restarted trainer that finds the run for a claim decides alike. Failing to record it only costs a second notice.
 */
export async function announceAnsweringClaims(context: AnswerContext, run: TrainedRunNotice): Promise<void> {
  const { settings, store, bus, logger } = context;
  const ends = await claimTopicEnds(context, run.modelType);
  await announceTrainedRun(bus, settings, run);
  if (!ends) return;
  try {
    const earlier = await readRecord(context, run.runId);
    const record: AnsweredClaimsRecord = { run_id: run.runId, topic: settings.bus.topics.trainingData, ends: furthest(ends, earlier?.ends), announced_at: new Date().toISOString(), owner: context.owner };
    await putJson(store, runsBucket(settings), recordKey(run.runId), record);
  } catch (error) {
    logger.warn({ err: error, run_id: run.runId }, 'daemon_answered_claims_unrecorded');
  }
}

/**
 * How much later than the notice, on the clocks of their two hosts, a claim may be stamped and still be taken for one
 * published before it: beyond it the claim is news whatever its offset (offsets that began again, on a topic made
 * anew or another cluster keeping the same store). A clock ahead by more only costs a second notice.
 */
const STAMP_SKEW_MS = 60_000;

/**
 * Whether `claim`, which found `runId` already trained on its data, was published before a SUCCESS notice of that
 * run went out (announceAnsweringClaims): the promoter heard of the run after the claim, and need not hear again. A
 * claim published after every notice is news (the config_hash back on rows trained before, a `flts preprocess` that
 * found its data cached) and is answered with another.
 */
export async function claimAnswered(context: AnswerContext, runId: string, claim: Pick<ReceivedMessage, 'topic' | 'partition' | 'offset' | 'timestamp'>): Promise<boolean> {
  const record = await readRecord(context, runId);
  if (!record || record.topic !== claim.topic) return false;
  const end = record.ends.find((entry) => entry.partition === claim.partition);
  if (end === undefined || Number(claim.offset) >= end.offset) return false;
  const announcedAt = Date.parse(record.announced_at);
  return !(Number.isFinite(announcedAt) && claim.timestamp > announcedAt + STAMP_SKEW_MS);
}
