import { BATCH_INFERENCE_GROUP, roleDlq } from '../bus/topics.js';
import { isOutage } from '../bus/delivery.js';
import { decodeInferenceClaim, type DataClaim } from '../bus/messages.js';
import { invalidMessage, quoted } from '../bus/message-fields.js';
import { isInvalidMessage } from '../bus/delivery.js';
import { toFltsError } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { STEP_RESULTS } from './daemon-metrics.js';
import type { RoleContext, RoleHandle } from './role-registry.js';
import { handleInferenceClaim } from '../batch/inference-claim-handler.js';
import { namesNoVersion } from '../preprocess/processed-version.js';
import type { Settings } from '../config/settings.js';
import type { BatchInferenceResult } from '../batch/run-batch-inference.js';
import type { InferenceInput } from '../batch/inference-input.js';
import { startLogRetention } from '../serve/prediction-log-retention.js';

/**
 * A claim whose config_hash names no version of the processed data's own file it claims (upper case, the reference
 * trainer's "default_cfg") is refused by the read itself (FLTS_DATA_VERSION_GONE); asked here first, it is the
 * producer's error, dead-lettered at once as an invalid message, not tried again nor kept waiting for a model. A
 * claim of other data (a CSV in a bucket of its own) has no version to name, and its config_hash is not looked at.
 */
function forecastableClaim(claim: DataClaim, topic: string, settings: Settings): DataClaim {
  if (namesNoVersion(settings, claim.object, claim.configHash)) {
    throw invalidMessage(topic, `field "config_hash" must be 64 lower-case hex characters (the version of the processed data ${quoted(claim.object)} to forecast), got ${quoted(claim.configHash)}`, { field: 'config_hash' });
  }
  return claim;
}

/** How many failed claims the role remembers so as to count each once, whichever partitions their attempts interleave with. */
const FAILED_CLAIMS_KEPT = 256;

/** The daemon role answering `inference-data` claims with batch inference (`--roles batch`). */
export async function startBatchInferenceRole(context: RoleContext): Promise<RoleHandle> {
  const { settings, store, bus, onEvent } = context;
  // Named by the daemon's logger already (a second binding writes the key twice).
  const { logger } = context;
  const topic = settings.bus.topics.inferenceData;
  await bus.ensureTopics([topic, settings.bus.topics.performanceEval]);
  let last: Pick<BatchInferenceResult, 'status' | 'run_id' | 'prediction_hash' | 'log_object_key'> | undefined;
  let handled = 0;
  // Failures too: a role whose every claim fails otherwise showed claims_handled 0 and the last success, which said
  // nothing was wrong.
  let failed = 0;
  // The claims counted as failed, by where each is on its topic: a failed claim is tried again (three attempts by
  // default) before it is dead-lettered, and counting each attempt said three claims failed where one had.
  const failedClaims = new Set<string>();
  let lastError: { code: string; message: string; at: string } | undefined;
  // A claim waiting for a model, the store or the broker is retried without end and counted neither handled nor
  // failed: without this, /status showed an idle role while claims queued behind it.
  let waiting: { code: string; message: string; since: string } | undefined;
  context.metrics.declareSteps('batch', 'infer', STEP_RESULTS);
  const subscription = await bus.subscribe({ group: BATCH_INFERENCE_GROUP, topics: [topic], dlqOperation: 'Data Fetch/Inference', dlq: roleDlq(settings, 'batch') }, async (message, { signal }) => {
    let result: BatchInferenceResult;
    let done = (): void => {};
    try {
      const claim = forecastableClaim(decodeInferenceClaim(message), topic, settings);
      // Shown in /status's current_work as the trainer's and the promoter's steps are: a forecast of a large claim
      // can take long, and an idle-looking daemon meanwhile said nothing was under way.
      done = context.metrics.beginWork({ role: 'batch', step: 'infer', configHash: claim.configHash, modelType: '' });
      const { claimReads } = context;
      // The serving role's follower in this process reads the claim too: one read for both.
      const shareRead = claimReads && ((runId: string, read: () => Promise<InferenceInput>) => claimReads.read(message, runId, read));
      // Parsed off this thread, which answers the health checks and runs the other roles, with or without a share.
      result = await handleInferenceClaim(claim, { settings, store, bus, logger, onEvent, signal, parseOffThread: true, ...(shareRead ? { shareRead } : {}) });
    } catch (error) {
      // The bus waits out a store or broker that is down (or refuses the credentials) without using up the claim's
      // attempts: that is no failure of the claim. A failed one is tried again, then dead-lettered; an invalid one
      // is dead-lettered at once, counted as the other roles count theirs.
      const outcome = signal.aborted ? 'aborted' : isOutage(error) ? 'waiting' : isInvalidMessage(error) ? 'invalid' : 'failed';
      context.metrics.countStep('batch', 'infer', outcome);
      if (outcome === 'waiting') {
        const coded = toFltsError(error);
        waiting = { code: coded.code, message: redactSecrets(coded.message), since: waiting?.since ?? new Date().toISOString() };
      } else if (outcome !== 'aborted') waiting = undefined;
      if (outcome === 'failed' || outcome === 'invalid') {
        const where = `${message.topic}/${message.partition}/${message.offset}`;
        if (!failedClaims.has(where)) {
          failed++;
          failedClaims.add(where);
          // Its attempts follow one another within its partition: the few last seen are all a later attempt can be.
          if (failedClaims.size > FAILED_CLAIMS_KEPT) failedClaims.delete(failedClaims.values().next().value!);
        }
        const coded = toFltsError(error);
        lastError = { code: coded.code, message: redactSecrets(coded.message), at: new Date().toISOString() };
      }
      throw error;
    } finally {
      done();
    }
    waiting = undefined;
    context.metrics.countStep('batch', 'infer', result.status === 'duplicate' ? 'skipped' : 'done');
    last = { status: result.status, run_id: result.run_id, prediction_hash: result.prediction_hash, log_object_key: result.log_object_key };
    handled++;
  });
  // A serving role in the same process sweeps the same bucket already.
  const sweeps = !settings.daemon.roles.includes('serving');
  const retention = startLogRetention({ store, bucket: settings.store.buckets.inferenceLogs, retentionDays: sweeps ? settings.serve.predictionLog.retentionDays : 0, logger });
  return {
    name: 'batch',
    subscriptions: [subscription],
    status: () => ({ claims_handled: handled, last_result: last ?? null, claims_failed: failed, last_error: lastError ?? null, waiting: waiting ?? null }),
    async stop() {
      await retention.stop();
      await subscription.stop();
    },
  };
}
