import type { Settings } from '../config/settings.js';
import type { ObjectStore } from '../storage/object-store.js';
import { listRunRecords } from './run-store.js';

export type TrainingDecision = { action: 'skip'; runId: string; reason: string } | { action: 'train'; reason: string };

/**
 * Whether a train claim still needs training, decided from the run registry alone (never from process
 * memory, reference F8): a SUCCESS run of the same config_hash and model type means the work is done, so a
 * redelivered or replayed claim is skipped and can be committed.
 */
export async function decideTraining(store: ObjectStore, settings: Settings, claim: { configHash: string; modelType: string }): Promise<TrainingDecision> {
  const modelType = claim.modelType.toUpperCase();
  const done = (await listRunRecords(store, settings, { configHash: claim.configHash })).filter((run) => run.status === 'SUCCESS' && run.model_type === modelType).at(-1);
  if (done) return { action: 'skip', runId: done.run_id, reason: `run ${done.run_id} already trained ${modelType} for config_hash ${claim.configHash}` };
  return { action: 'train', reason: `no SUCCESS ${modelType} run for config_hash ${claim.configHash}` };
}
