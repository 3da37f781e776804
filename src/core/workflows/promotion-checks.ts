import type { Settings } from '../config/settings.js';
import { buildScoreboard } from '../eval/scoreboard.js';
import { MODEL_ARTIFACT_FILES } from '../registry/run-artifacts.js';
import { RUN_FILES, type RunRecord } from '../registry/run-record.js';
import { listRunRecords, runKey, runsBucket } from '../registry/run-store.js';
import type { ObjectStore } from '../storage/object-store.js';

export type PromotionProblemKind = 'status' | 'artifact' | 'gate' | 'validation';

/** Why a run may not be promoted: status and artifact problems always, the gate and validation without --force. */
export interface PromotionProblem {
  kind: PromotionProblemKind;
  message: string;
}

/** Every object serving needs to load the run: the model (and weights for networks) and the scaler. */
export function requiredArtifactKeys(run: RunRecord): string[] {
  const model = (MODEL_ARTIFACT_FILES as Record<string, string>)[run.model_type];
  const keys: string[] = [RUN_FILES.scaler];
  if (model) keys.unshift(model);
  if (run.model_type === 'LSTM' || run.model_type === 'GRU') keys.splice(1, 0, `${RUN_FILES.modelDir}/weights.bin`);
  return keys.map((key) => runKey(run.run_id, key));
}

/** Status and artifact presence: what serving would trip over if this run were promoted, so --force never overrides it. */
export async function runProblems(store: ObjectStore, settings: Settings, run: RunRecord): Promise<PromotionProblem[]> {
  const problems: PromotionProblem[] = [];
  if (run.status !== 'SUCCESS') problems.push({ kind: 'status', message: `status is ${run.status}${run.error ? ` (${run.error.message})` : ''}, not SUCCESS` });
  if (!(run.model_type in MODEL_ARTIFACT_FILES)) problems.push({ kind: 'artifact', message: `model type ${run.model_type} has no known artifact` });
  const bucket = runsBucket(settings);
  const present = await Promise.all(requiredArtifactKeys(run).map(async (key) => [key, await store.exists(bucket, key)] as const));
  for (const [key, exists] of present) if (!exists) problems.push({ kind: 'artifact', message: `artifact ${bucket}/${key} is missing` });
  return problems;
}

/** The configured quality gate (eval.minImprovementPct), as promote applies it; none when unset. */
export async function gateProblem(store: ObjectStore, settings: Settings, run: RunRecord): Promise<PromotionProblem | undefined> {
  if (settings.eval.minImprovementPct === null || run.status !== 'SUCCESS') return undefined;
  const board = buildScoreboard(run.config_hash, await listRunRecords(store, settings, { configHash: run.config_hash }), settings.eval.minImprovementPct);
  const gate = board.rows.find((row) => row.run_id === run.run_id)?.gate ?? { passed: false, reason: 'run not on the scoreboard' };
  return gate.passed ? undefined : { kind: 'gate', message: `quality gate: ${gate.reason}` };
}
