import type { DataClaim } from '../bus/messages.js';
import type { Settings } from '../config/settings.js';
import { runBatchInference, type BatchInferenceDeps, type BatchInferenceResult } from './run-batch-inference.js';

export interface InferenceClaimDeps extends BatchInferenceDeps {
  settings: Settings;
}

/**
 * The serving role's answer to an `inference-data` claim: batch inference over the claimed object, read as the
 * data version the claim names, with the promoted (or pinned) run, whichever version that run was trained on. Safe to run again for the same claim (redelivery, a restart, another replica):
 * an already recorded result is skipped as a duplicate.
 */
export async function handleInferenceClaim(claim: DataClaim, deps: InferenceClaimDeps): Promise<BatchInferenceResult> {
  const { settings, ...rest } = deps;
  return runBatchInference(settings, rest, {
    data: { bucket: claim.bucket, key: claim.object, configHash: claim.configHash },
    identifier: claim.identifier || settings.identifier,
  });
}
