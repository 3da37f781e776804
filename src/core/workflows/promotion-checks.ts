import type { Settings } from '../config/settings.js';
import { buildScoreboard } from '../eval/scoreboard.js';
import { MODEL_ARTIFACT_FILES } from '../registry/run-artifacts.js';
import { recordsIntervals, RUN_FILES, type RunRecord } from '../registry/run-record.js';
import { runKey, runsBucket, scanRunRecords, type RunRegistryScan } from '../registry/run-store.js';
import type { ObjectStore } from '../storage/object-store.js';

export type PromotionProblemKind = 'status' | 'artifact' | 'gate' | 'validation';

/** Why a run may not be promoted: status and artifact problems always, the gate and validation without --force. */
export interface PromotionProblem {
  kind: PromotionProblemKind;
  message: string;
  /**
   * A gate problem only: the runs of the config_hash left out of the gate's scoreboard because their run.json is
   * damaged (unreadable, or edited since training sealed it), as scanRunRecords reports them; absent when none was.
   * A baseline among them would have been what the run is compared with.
   */
  corrupt_runs?: RunRegistryScan['corrupt'];
}

/** What the quality gate found for a run: its problem (undefined when it passes) and the runs its scoreboard left out. */
export interface GateCheck {
  problem: PromotionProblem | undefined;
  /** The damaged runs of the config_hash left out of the scoreboard the run was judged on; empty when none was. */
  corrupt_runs: RunRegistryScan['corrupt'];
}

/** How a gate's verdict names the damaged runs its scoreboard was built without; '' when none was. */
export function leftOutOfGate(corrupt: RunRegistryScan['corrupt']): string {
  return corrupt.length > 0 ? ` (judged without damaged run(s) left out of its scoreboard: ${corrupt.map((run) => run.run_id).join(', ')})` : '';
}

/**
 * Every object serving needs to load the run: the model (and weights for networks), the scaler and, for a run
 * trained with one, its interval calibration (serving refuses the run without it).
 */
export function requiredArtifactKeys(run: RunRecord): string[] {
  const model = (MODEL_ARTIFACT_FILES as Record<string, string>)[run.model_type];
  const keys: string[] = [RUN_FILES.scaler, ...(recordsIntervals(run) ? [RUN_FILES.intervals] : [])];
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

/**
 * The configured quality gate (eval.minImprovementPct) as promote applies it, or undefined when none applies (unset,
 * or a run that is not SUCCESS). Judged on the usable runs of the config_hash alone: a damaged one (the baseline the
 * run would be compared with, say) is left out, and never silently: the problem's message and `corrupt_runs` name it.
 */
export async function checkGate(store: ObjectStore, settings: Settings, run: RunRecord): Promise<GateCheck | undefined> {
  if (settings.eval.minImprovementPct === null || run.status !== 'SUCCESS') return undefined;
  const { records, corrupt } = await scanRunRecords(store, settings, { configHash: run.config_hash });
  const board = buildScoreboard(run.config_hash, records, settings.eval.minImprovementPct);
  const gate = board.rows.find((row) => row.run_id === run.run_id)?.gate ?? { passed: false, reason: 'run not on the scoreboard' };
  const problem: PromotionProblem | undefined = gate.passed ? undefined : { kind: 'gate', message: `quality gate: ${gate.reason}${leftOutOfGate(corrupt)}`, ...(corrupt.length > 0 ? { corrupt_runs: corrupt } : {}) };
  return { problem, corrupt_runs: corrupt };
}

/** The configured quality gate (eval.minImprovementPct), as promote applies it; none when unset. See checkGate. */
export async function gateProblem(store: ObjectStore, settings: Settings, run: RunRecord): Promise<PromotionProblem | undefined> {
  return (await checkGate(store, settings, run))?.problem;
}
