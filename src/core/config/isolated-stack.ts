import { randomUUID } from 'node:crypto';

/** A stack whose buckets, topics and consumer groups are its own: `env` names them all after `prefix`. */
export interface IsolatedStack {
  prefix: string;
  env: Record<string, string>;
}

/**
 * Names for a stack sharing one Kafka and one S3 server with others (tests, benchmarks, teams on one cluster):
 * every bucket, topic and consumer group is `<name>-<random>-<role>`, so no stack sees another's messages or
 * objects and no stack consumes from another's group. The dataset bucket is only recorded in lineage, never
 * written, so it keeps its name.
 */
export function isolatedStack(name: string): IsolatedStack {
  const prefix = `${name}-${randomUUID().slice(0, 6)}`.toLowerCase();
  return {
    prefix,
    env: {
      OUTPUT_BUCKET: `${prefix}-processed`,
      FLTS_RUNS_BUCKET: `${prefix}-runs`,
      PROMOTION_BUCKET: `${prefix}-promotion`,
      INFERENCE_LOG_BUCKET: `${prefix}-logs`,
      PRODUCER_TOPIC_0: `${prefix}-training-data`,
      PRODUCER_TOPIC_1: `${prefix}-inference-data`,
      MODEL_TRAINING_TOPIC: `${prefix}-model-training`,
      MODEL_SELECTED_TOPIC: `${prefix}-model-selected`,
      FLTS_PERFORMANCE_EVAL_TOPIC: `${prefix}-performance-eval`,
      FLTS_TRAINER_GROUP_PREFIX: `${prefix}-train-`,
      EVAL_GROUP_ID: `${prefix}-eval-promoter`,
      FLTS_SERVING_GROUP_PREFIX: `${prefix}-serve-`,
    },
  };
}
