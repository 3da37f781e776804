import { encodeDeadLetter, encodeInferenceClaim, encodeTrainClaim, type DataClaim } from '../bus/messages.js';
import type { MessageBus } from '../bus/message-bus.js';
import { dlqTopic } from '../bus/topics.js';
import { computeConfigHash } from '../config/config-hash.js';
import type { Settings } from '../config/settings.js';
import { FltsError, toFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { processedKeys } from '../preprocess/processed-layout.js';
import { runPreprocess, type PreprocessDeps, type PreprocessResult } from '../preprocess/run-preprocess.js';
import { MSTL_WINDOW_ROWS } from '../models/mstl-window.js';
import { dailyPeriodOfStep } from '../models/seasonal-naive-model.js';
import { formatDurationMs } from '../data/time-steps.js';
import { modelTypesTooShort } from '../train/training-rows.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface PreprocessClaims {
  train: DataClaim;
  inference: DataClaim;
}

/**
 * The reference preprocess's two claim checks: the root objects (what reference consumers read), with
 * `size` in bytes, or the row count when the run was cached (the reference's idempotent re-emit).
 */
export async function buildPreprocessClaims(result: PreprocessResult, settings: Settings, store: ObjectStore): Promise<PreprocessClaims> {
  const keys = processedKeys(settings);
  const sizeOf = async (key: string, rows: number): Promise<number> => (result.status === 'cached' ? rows : ((await store.stat(result.bucket, key))?.size ?? 0));
  const base = { bucket: result.bucket, configHash: result.configHash, identifier: settings.identifier };
  return {
    train: { ...base, object: keys.trainParquet, size: await sizeOf(keys.trainParquet, result.train.rows) },
    inference: { ...base, object: keys.testParquet, size: await sizeOf(keys.testParquet, result.test.rows) },
  };
}

/** Publishes `training-data` (key `train-claim`) then `inference-data` (key `inference-claim`). */
export async function publishPreprocessClaims(bus: MessageBus, result: PreprocessResult, settings: Settings, store: ObjectStore): Promise<PreprocessClaims> {
  const claims = await buildPreprocessClaims(result, settings, store);
  await bus.publish(settings.bus.topics.trainingData, encodeTrainClaim(claims.train));
  await bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim(claims.inference));
  return claims;
}

/**
 * Like the reference: a failed preprocess leaves `{config_hash}` in DLQ-preprocess. Never throws: the preprocess's own
 * failure is what its caller is told; a dead letter the bus refuses is said in `logger` (bus_dead_letter_refused),
 * as a consumer's is.
 */
export async function publishPreprocessFailure(bus: MessageBus, error: unknown, settings: Settings, logger: Logger = silentLogger): Promise<void> {
  let configHash: string | null = null;
  try {
    configHash = computeConfigHash(settings.preprocess, settings.data).configHash;
  } catch {
    // Invalid settings have no hash; the envelope still records the error.
  }
  const dlq = dlqTopic('preprocess');
  await bus.publish(dlq, encodeDeadLetter('preprocess', error, { config_hash: configHash })).catch((refusal: unknown) => {
    const coded = toFltsError(refusal);
    logger.error({ dlq_topic: dlq, config_hash: configHash, code: coded.code, reason: coded.message }, 'bus_dead_letter_refused');
  });
}

export interface PreprocessWorkflowDeps extends PreprocessDeps {
  /** When configured, the claims go out like the reference preprocess's (also when cached), a failure to DLQ-preprocess. */
  bus?: MessageBus;
}

/** Processed training rows too few for model types `flts train` is set to train: it will refuse them. */
export interface TrainingRowsWarning {
  code: 'too_few_training_rows';
  message: string;
  details: { rows: number; needed: Record<string, number> };
}

export interface PreprocessOutcome extends Omit<PreprocessResult, 'warnings'> {
  /** The data's warnings (uneven time steps, rows out of order), then what the training settings cannot do with its rows. */
  warnings: Array<PreprocessResult['warnings'][number] | TrainingRowsWarning>;
  /** What was published on `training-data` and `inference-data`; null without a bus. */
  claims: PreprocessClaims | null;
}

/**
 * A sample cut shorter than the model types to train need (SAMPLE_TRAIN_ROWS) is told when it is processed, since the
 * training settings may still change before `flts train`, which refuses those types with the same rows.
 */
function trainingRowsWarning(trainRows: number, settings: Settings, stepMs: number | undefined): TrainingRowsWarning | undefined {
  const short = modelTypesTooShort(trainRows, settings.training, stepMs);
  if (short.length === 0) return undefined;
  const { inputSeqLen, outputSeqLen } = settings.training;
  const needs = short.map(({ modelType, needed }) => `${modelType} ${needed}`).join(', ');
  const season = stepMs !== undefined && short.some(({ modelType }) => modelType === 'SNAIVE') ? `, SNAIVE a day: ${dailyPeriodOfStep(stepMs)} rows at its ${formatDurationMs(stepMs)} step` : '';
  return {
    code: 'too_few_training_rows',
    message: `The processed training data has ${trainRows} rows, fewer than these model types need under the training settings (INPUT_SEQ_LEN ${inputSeqLen}, OUTPUT_SEQ_LEN ${outputSeqLen}; MSTL reads ${MSTL_WINDOW_ROWS} rows${season}): ${needs}. \`flts train\` refuses them; sample more rows (SAMPLE_TRAIN_ROWS, --sample-train-rows; 0 keeps all), shorten the window, or train other types (MODEL_TYPE).`,
    details: { rows: trainRows, needed: Object.fromEntries(short.map(({ modelType, needed }) => [modelType, needed])) },
  };
}

/**
 * The data version is stored by then: an operator told only that the broker is away does not know that the rows
 * are safe, nor that the daemon heard nothing, nor that a rerun (cached) is all it takes to announce them.
 */
function claimsNotPublished(error: unknown, result: PreprocessResult): FltsError {
  const failure = toFltsError(error);
  return new FltsError(failure.code, `processed data ${result.configHash.slice(0, 12)} is stored, but its claims were not published: ${failure.message}`, {
    details: { ...failure.details, config_hash: result.configHash, claims_published: false },
    hint: `${failure.hint} Then run the same preprocess again: it finds the stored version and publishes its claims.`,
    cause: failure,
  });
}

/**
 * Preprocessing, the same from the CLI and the library: reads, transforms and writes one processed data version
 * under its config_hash (or finds it cached), then announces it on the bus when one is configured.
 */
export async function preprocess(settings: Settings, deps: PreprocessWorkflowDeps): Promise<PreprocessOutcome> {
  let result: PreprocessResult;
  try {
    result = await runPreprocess(settings, deps);
  } catch (error) {
    if (deps.bus) await publishPreprocessFailure(deps.bus, error, settings, deps.logger);
    throw error;
  }
  const claims = deps.bus ? await publishPreprocessClaims(deps.bus, result, settings, deps.store).catch((error: unknown) => Promise.reject(claimsNotPublished(error, result))) : null;
  const tooShort = trainingRowsWarning(result.train.rows, settings, result.trainStepMs);
  return { ...result, warnings: tooShort ? [...result.warnings, tooShort] : result.warnings, claims };
}
