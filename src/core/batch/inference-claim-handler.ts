import type { DataClaim } from '../bus/messages.js';
import type { Settings } from '../config/settings.js';
import type { InferenceDataRef } from './inference-input.js';
import { runBatchInference, type BatchInferenceDeps, type BatchInferenceResult } from './run-batch-inference.js';

export interface InferenceClaimDeps extends BatchInferenceDeps {
  settings: Settings;
}

/** The claimed object, read as the data version the claim names. */
export function claimDataRef(claim: DataClaim): InferenceDataRef {
  return { bucket: claim.bucket, key: claim.object, configHash: claim.configHash };
}

/** The series a claim's rows belong to: its own identifier, else the deployment's. */
export function claimIdentifier(claim: DataClaim, settings: Settings): string {
  return claim.identifier || settings.identifier;
}

/**
 * The serving role's answer to an `inference-data` claim: batch inference over the claimed object, read as the
 * data version the claim names, with the promoted (or pinned) run, whichever version that run was trained on. Safe to run again for the same claim (redelivery, a restart, another replica):
 * an already recorded result is skipped as a duplicate.
 */
export async function handleInferenceClaim(claim: DataClaim, deps: InferenceClaimDeps): Promise<BatchInferenceResult> {
  const { settings, ...rest } = deps;
  return runBatchInference(settings, rest, { data: claimDataRef(claim), identifier: claimIdentifier(claim, settings) });
}
