import { buildDlqEnvelope } from './delivery.js';
import type { OutgoingMessage } from './message-bus.js';
import {
  encodeFields,
  invalidMessage,
  optionalIdentifier,
  optionalNumber,
  optionalString,
  parseMessageBody,
  quoted,
  requireBucket,
  requireKeySegment,
  requireObjectKey,
  requireString,
  type EncodedMessage,
  type JsonRecord,
} from './message-fields.js';
import { DEFAULT_TOPICS, MESSAGE_KEYS, failedKey, trainedKey } from './topics.js';

/**
 * Codecs of the reference message contract (reference-system.md 3.2). Encoders emit exactly the reference
 * fields in its order; decoders accept what the reference's Python producers send (`object` or
 * `object_key`, NaN tokens, a train claim without `operation`) and reject anything else with
 * FLTS_BUS_MESSAGE_INVALID, which sends the message to the DLQ without retries. A field a consumer addresses the
 * store with is checked as what it addresses (config_hash and run_id as key segments, a claim's bucket, object and
 * identifier as a bucket name, an object key and a folder name), so a hostile one is set aside with its field named
 * instead of reaching the store; a field flts does not use is carried or ignored, and an error quotes any value clipped.
 */

/** A claim check: where processed data lives and which configuration produced it. */
export interface DataClaim {
  bucket: string;
  object: string;
  /** Bytes (or the row count, on the reference's idempotent re-emit); 0 when absent. */
  size: number;
  configHash: string;
  /** Deployment identifier ("" = global). */
  identifier: string;
}

const CLAIM_VERSION = 1;
const TRAIN_OPERATION = 'post: train data';
const INFERENCE_OPERATION = 'post: test data';

function decodeClaim(message: EncodedMessage, topic: string, acceptedOperation: string): DataClaim {
  const body = parseMessageBody(message, topic);
  const operation = body.operation;
  if (operation !== undefined && operation !== null && operation !== acceptedOperation) {
    throw invalidMessage(topic, `operation ${quoted(operation)} is not "${acceptedOperation}"`);
  }
  const version = optionalNumber(body, topic, 'v');
  if (version !== null && version !== CLAIM_VERSION) throw invalidMessage(topic, `claim version ${version} is not supported (expected ${CLAIM_VERSION})`);
  return {
    bucket: requireBucket(body, topic, 'bucket'),
    object: requireObjectKey(body, topic, 'object', 'object_key'),
    size: optionalNumber(body, topic, 'size') ?? 0,
    configHash: requireKeySegment(body, topic, 'config_hash'),
    identifier: optionalIdentifier(body, topic),
  };
}

/** `training-data`, key `train-claim`: bucket, object, size, v, config_hash, identifier (no operation). */
export function encodeTrainClaim(claim: DataClaim): OutgoingMessage {
  return {
    key: MESSAGE_KEYS.trainClaim,
    value: encodeFields({ bucket: claim.bucket, object: claim.object, size: claim.size, v: CLAIM_VERSION, config_hash: claim.configHash, identifier: claim.identifier }),
  };
}

export function decodeTrainClaim(message: EncodedMessage): DataClaim {
  return decodeClaim(message, message.topic ?? DEFAULT_TOPICS.trainingData, TRAIN_OPERATION);
}

/** `inference-data`, key `inference-claim`: the train claim's fields plus object_key and operation. */
export function encodeInferenceClaim(claim: DataClaim): OutgoingMessage {
  return {
    key: MESSAGE_KEYS.inferenceClaim,
    value: encodeFields({
      bucket: claim.bucket,
      object: claim.object,
      object_key: claim.object,
      size: claim.size,
      operation: INFERENCE_OPERATION,
      v: CLAIM_VERSION,
      config_hash: claim.configHash,
      identifier: claim.identifier,
    }),
  };
}

export function decodeInferenceClaim(message: EncodedMessage): DataClaim {
  return decodeClaim(message, message.topic ?? DEFAULT_TOPICS.inferenceData, INFERENCE_OPERATION);
}

// ------------------------------------------------------------------------------------------ model-training

interface TrainingEventBase {
  /** Upper case, as the reference's eval compares it. */
  modelType: string;
  /** MLflow experiment name ("Default" for NN models, "NonML" for Prophet in the reference). */
  experiment: string;
  /** The reference sets run_name = model type. */
  runName: string;
  configHash: string;
}

export type TrainingEvent =
  | (TrainingEventBase & { status: 'RUNNING' })
  | (TrainingEventBase & { status: 'SUCCESS'; runId: string })
  | (TrainingEventBase & { status: 'FAILED'; runId: string | null; error: string });

/** What a trainer publishes; run_name defaults to the model type, as in the reference. */
export type TrainingEventInput = TrainingEvent extends infer E ? (E extends TrainingEvent ? Omit<E, 'runName'> & { runName?: string } : never) : never;

const OPERATION_PREFIX = { RUNNING: 'Training Started: ', SUCCESS: 'Trained: ', FAILED: 'Training Failed: ' } as const;

/**
 * RUNNING: no key; SUCCESS: key `trained-<MT>` with run_id; FAILED (ours; the reference only logged
 * failures): key `failed-<MT>` with run_id (null when no run was created) and the error.
 */
export function encodeTrainingEvent(event: TrainingEventInput): OutgoingMessage {
  const modelType = event.modelType.toUpperCase();
  const fields: JsonRecord = {
    operation: `${OPERATION_PREFIX[event.status]}${modelType}`,
    status: event.status,
    experiment: event.experiment,
    run_name: event.runName ?? modelType,
    config_hash: event.configHash,
  };
  if (event.status === 'RUNNING') return { key: null, value: encodeFields(fields) };
  if (event.status === 'SUCCESS') return { key: trainedKey(modelType), value: encodeFields({ ...fields, run_id: event.runId }) };
  return { key: failedKey(modelType), value: encodeFields({ ...fields, run_id: event.runId, error: event.error }) };
}

export function decodeTrainingEvent(message: EncodedMessage): TrainingEvent {
  const topic = message.topic ?? DEFAULT_TOPICS.modelTraining;
  const body = parseMessageBody(message, topic);
  const status = typeof body.status === 'string' ? body.status.toUpperCase() : '';
  if (status !== 'RUNNING' && status !== 'SUCCESS' && status !== 'FAILED') {
    throw invalidMessage(topic, `status ${quoted(body.status)} is not RUNNING, SUCCESS or FAILED`);
  }
  const operation = optionalString(body, 'operation');
  const prefix = OPERATION_PREFIX[status];
  const fromOperation = operation.startsWith(prefix) ? operation.slice(prefix.length).trim() : '';
  const modelType = (fromOperation || optionalString(body, 'run_name') || optionalString(body, 'model_type')).toUpperCase();
  if (!modelType) throw invalidMessage(topic, `no model type: operation ${quoted(operation)} lacks "${prefix}<TYPE>" and run_name is empty`);
  const base: TrainingEventBase = {
    modelType,
    experiment: optionalString(body, 'experiment'),
    runName: optionalString(body, 'run_name', modelType),
    configHash: requireKeySegment(body, topic, 'config_hash'),
  };
  if (status === 'RUNNING') return { ...base, status };
  if (status === 'SUCCESS') return { ...base, status, runId: requireKeySegment(body, topic, 'run_id') };
  return { ...base, status, runId: typeof body.run_id === 'string' && body.run_id !== '' ? body.run_id : null, error: optionalString(body, 'error', 'unknown error') };
}

// ------------------------------------------------------------------------------------------ model-selected

/**
 * The promotion record (reference 6.3), which is also the `model-selected` value. Fields beyond the
 * reference's are carried through untouched.
 */
export interface PromotionNotice {
  identifier: string;
  config_hash: string;
  run_id: string;
  model_type: string;
  experiment?: string;
  model_uri?: string;
  rmse?: number | null;
  mae?: number | null;
  mse?: number | null;
  score?: number | null;
  timestamp?: string;
  weights?: Record<string, number>;
  [field: string]: unknown;
}

export function encodePromotion(record: PromotionNotice): OutgoingMessage {
  return { key: MESSAGE_KEYS.promotion, value: encodeFields(record) };
}

export function decodePromotion(message: EncodedMessage): PromotionNotice {
  const topic = message.topic ?? DEFAULT_TOPICS.modelSelected;
  const body = parseMessageBody(message, topic);
  return {
    ...body,
    identifier: optionalString(body, 'identifier'),
    config_hash: requireKeySegment(body, topic, 'config_hash'),
    run_id: requireKeySegment(body, topic, 'run_id'),
    model_type: requireString(body, topic, 'model_type').toUpperCase(),
  };
}

// ------------------------------------------------------------------------------------------ performance-eval

export interface InferenceNotice {
  identifier: string;
  logBucket: string;
  logObjectKey: string;
  runId: string;
  modelType: string;
  configHash: string;
  rows: number;
}

/** `performance-eval`, no key: operation "Inference", status "SUCCESS", then the log location and the run. */
export function encodeInferenceNotice(notice: InferenceNotice): OutgoingMessage {
  return {
    key: null,
    value: encodeFields({
      operation: 'Inference',
      status: 'SUCCESS',
      identifier: notice.identifier,
      log_bucket: notice.logBucket,
      log_object_key: notice.logObjectKey,
      run_id: notice.runId,
      model_type: notice.modelType,
      config_hash: notice.configHash,
      rows: notice.rows,
    }),
  };
}

export function decodeInferenceNotice(message: EncodedMessage): InferenceNotice {
  const topic = message.topic ?? DEFAULT_TOPICS.performanceEval;
  const body = parseMessageBody(message, topic);
  return {
    identifier: optionalString(body, 'identifier'),
    logBucket: requireString(body, topic, 'log_bucket'),
    logObjectKey: requireString(body, topic, 'log_object_key'),
    runId: requireKeySegment(body, topic, 'run_id'),
    modelType: requireString(body, topic, 'model_type'),
    configHash: optionalString(body, 'config_hash'),
    rows: optionalNumber(body, topic, 'rows') ?? 0,
  };
}

// ------------------------------------------------------------------------------------------ DLQ

export interface DeadLetter {
  operation: string;
  error: string;
  payload: unknown;
  /** Unix seconds (float), as the reference writes it. */
  timestamp: number;
  /** The consumer group and role that dead-lettered it (flts envelopes; absent in the reference's). */
  group?: string;
  role?: string;
}

/** A DLQ envelope for a failure outside a consumer (e.g. preprocess publishing `{config_hash}` as payload). */
export function encodeDeadLetter(operation: string, error: unknown, payload: unknown, nowMs = Date.now()): OutgoingMessage {
  return { key: null, value: encodeFields(buildDlqEnvelope(operation, error, payload, nowMs) as unknown as JsonRecord) };
}

export function decodeDeadLetter(message: EncodedMessage): DeadLetter {
  const topic = message.topic ?? 'DLQ';
  const body = parseMessageBody(message, topic);
  if (body.status !== 'Failure') throw invalidMessage(topic, `status ${quoted(body.status)} is not "Failure"`);
  return {
    operation: optionalString(body, 'operation'),
    error: optionalString(body, 'error'),
    payload: body.payload,
    timestamp: optionalNumber(body, topic, 'timestamp') ?? 0,
    ...(typeof body.group === 'string' ? { group: body.group } : {}),
    ...(typeof body.role === 'string' ? { role: body.role } : {}),
  };
}
