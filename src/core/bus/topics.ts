import type { BusSettings } from '../config/specs/distributed.js';

/** The reference topic names (each overridable by its reference environment variable, see specs/distributed.ts). */
export const DEFAULT_TOPICS = {
  trainingData: 'training-data',
  inferenceData: 'inference-data',
  modelTraining: 'model-training',
  modelSelected: 'model-selected',
  performanceEval: 'performance-eval',
} as const;

export type TopicNames = { [K in keyof typeof DEFAULT_TOPICS]: string };

/** Message keys of the reference contract. */
export const MESSAGE_KEYS = {
  trainClaim: 'train-claim',
  inferenceClaim: 'inference-claim',
  promotion: 'promotion',
  trainedPrefix: 'trained-',
  /** Ours: the reference had no FAILED message. */
  failedPrefix: 'failed-',
} as const;

export function trainedKey(modelType: string): string {
  return `${MESSAGE_KEYS.trainedPrefix}${modelType}`;
}

export function failedKey(modelType: string): string {
  return `${MESSAGE_KEYS.failedPrefix}${modelType}`;
}

export const DLQ_PREFIX = 'DLQ-';

export function dlqTopic(topic: string): string {
  return `${DLQ_PREFIX}${topic}`;
}

export type DlqRole = 'trainer' | 'promoter' | 'serving' | 'batch';

/**
 * Where a role dead-letters: the reference's services write `DLQ-<the topic they produce>` (trainer ->
 * DLQ-model-training, eval -> DLQ-model-selected, inference -> DLQ-performance-eval), unless set.
 */
export function roleDlq(settings: { bus: BusSettings }, role: DlqRole): { topic: string; role: DlqRole } {
  const { dlq, topics } = settings.bus;
  const topic = role === 'trainer' ? dlq.trainer || dlqTopic(topics.modelTraining) : role === 'promoter' ? dlq.promoter || dlqTopic(topics.modelSelected) : dlq.inference || dlqTopic(topics.performanceEval);
  return { topic, role };
}

/**
 * What a daemon creates at startup: every pipeline topic, and the dead-letter topic of each role (`roleDlq`, renamed
 * ones too), not `DLQ-<every topic>`: nothing writes `DLQ-training-data` or `DLQ-inference-data`, nor does the
 * reference. `DLQ-preprocess` is left to `flts preprocess`, which creates it with its first letter (a daemon's
 * credentials may cover only the configured topics' names). daemon/README.md lists them (test/docs.test.ts).
 */
export function pipelineTopics(settings: { bus: BusSettings }): string[] {
  const roles: DlqRole[] = ['trainer', 'promoter', 'serving'];
  return [...new Set([...Object.values(settings.bus.topics), ...roles.map((role) => roleDlq(settings, role).topic)])];
}

/**
 * One consumer group per trainer model type, so every trainer type receives every claim: `train-gru`,
 * `train-lstm`, and the reference's `nonml-prophet` for PROPHET with the default prefix.
 */
export function trainerGroupId(modelType: string, prefix = 'train-'): string {
  const type = modelType.toLowerCase();
  if (prefix === 'train-' && type === 'prophet') return 'nonml-prophet';
  return `${prefix}${type}`;
}

/**
 * Serving replicas each need their own group: with a shared group only one replica would receive each
 * promotion (reference F11).
 */
export function servingGroupId(replicaId: string, prefix = 'serve-'): string {
  return `${prefix}${replicaId}`;
}

/** One group for every batch replica: each inference claim is forecast once, a redelivered one skipped as a duplicate. */
export const BATCH_INFERENCE_GROUP = 'batch-inference';
