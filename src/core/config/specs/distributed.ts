import type { SettingSpec } from './setting-spec.js';

/**
 * Distributed mode: the S3-compatible object store and the message bus. Environment names are the
 * reference system's first (MINIO_*, AWS_*, KAFKA_BOOTSTRAP_SERVERS, the topic and group variables), then
 * flts' own. Reference variables whose meaning differs between its services (PRODUCER_TOPIC,
 * CONSUMER_GROUP_ID) are not read.
 */
export const DISTRIBUTED_SPECS: readonly SettingSpec[] = [
  { path: 'store.s3.endpoint', type: 'string', default: 'localhost:9000', envCase: 'trim', env: ['MINIO_ENDPOINT', 'MLFLOW_S3_ENDPOINT_URL', 'FLTS_S3_ENDPOINT'], description: 'S3 endpoint: host:port, or a URL (http:// or https://) whose scheme sets TLS.' },
  { path: 'store.s3.accessKey', type: 'string', default: 'minioadmin', env: ['MINIO_ROOT_USER', 'MINIO_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'], description: 'S3 access key.' },
  { path: 'store.s3.secretKey', type: 'string', default: 'minioadmin', secret: true, env: ['MINIO_ROOT_PASSWORD', 'MINIO_SECRET_KEY', 'AWS_SECRET_ACCESS_KEY'], description: 'S3 secret key.' },
  { path: 'store.s3.secure', type: 'boolean', default: null, nullable: true, env: ['MINIO_SECURE'], description: 'Use TLS; unset = https only when the endpoint URL says so.' },
  { path: 'store.s3.region', type: 'string', default: 'us-east-1', envCase: 'trim', env: ['AWS_DEFAULT_REGION', 'AWS_REGION', 'MINIO_REGION'], description: 'S3 region (also the region new buckets are made in).' },
  { path: 'store.s3.idleTimeoutMs', type: 'integer', default: 10_000, min: 100, max: 600_000, env: ['FLTS_S3_IDLE_TIMEOUT_MS'], description: 'Longest silence of the S3 server within one request: to connect, to answer, or between two parts of a body. A server that accepts connections and never answers fails with FLTS_STORE_UNAVAILABLE after this long.' },
  { path: 'store.s3.requestTimeoutMs', type: 'integer', default: 60_000, min: 100, max: 3_600_000, env: ['FLTS_S3_REQUEST_TIMEOUT_MS'], description: 'Time limit of one whole S3 request, its body included (large objects go in 64 MiB parts, one request each); raise it for large objects over a slow link.' },

  { path: 'bus.kind', type: 'string', emptyIsUnset: true, default: 'none', choices: ['none', 'fs', 'kafka'], envCase: 'lower', env: ['FLTS_BUS'], description: 'none = no messages; fs = durable topic logs under <home>/bus (any process may publish; one consumer per group at a time); kafka = a Kafka cluster.' },
  { path: 'bus.kafka.brokers', type: 'list', default: [], env: ['KAFKA_BOOTSTRAP_SERVERS'], description: 'Kafka bootstrap servers, host:port[,host:port...]. Required when bus.kind is kafka.' },
  { path: 'bus.kafka.clientId', type: 'string', default: 'flts', env: ['FLTS_KAFKA_CLIENT_ID'], description: 'Kafka client id (shows in broker logs and metrics).' },
  { path: 'bus.kafka.connectionTimeoutMs', type: 'integer', default: 3000, min: 100, max: 600_000, env: ['FLTS_KAFKA_CONNECTION_TIMEOUT_MS'], description: 'Timeout of one broker connection attempt.' },
  { path: 'bus.kafka.requestTimeoutMs', type: 'integer', default: 30_000, min: 100, max: 600_000, env: ['FLTS_KAFKA_REQUEST_TIMEOUT_MS'], description: 'Longest wait for a broker\'s answer to one request; a broker that accepts connections and never answers fails with FLTS_BUS_UNAVAILABLE after about this long.' },
  { path: 'bus.partitions', type: 'integer', default: 1, min: 1, max: 1000, env: ['FLTS_BUS_PARTITIONS'], description: 'Partitions of every topic flts creates (existing topics are left as they are).' },
  { path: 'bus.replicationFactor', type: 'integer', default: -1, min: -1, env: ['FLTS_BUS_REPLICATION_FACTOR'], description: 'Replication factor of created topics; -1 = the broker default.' },
  { path: 'bus.topics.trainingData', type: 'string', default: 'training-data', env: ['PRODUCER_TOPIC_0', 'CONSUMER_TOPIC'], description: 'Topic of training claims.' },
  { path: 'bus.topics.inferenceData', type: 'string', default: 'inference-data', env: ['PRODUCER_TOPIC_1', 'CONSUMER_TOPIC_0'], description: 'Topic of inference (test data) claims.' },
  { path: 'bus.topics.modelTraining', type: 'string', default: 'model-training', env: ['MODEL_TRAINING_TOPIC', 'CONSUMER_TOPIC_1'], description: 'Topic of training status (RUNNING, SUCCESS, FAILED).' },
  { path: 'bus.topics.modelSelected', type: 'string', default: 'model-selected', env: ['MODEL_SELECTED_TOPIC', 'PROMOTION_TOPIC'], description: 'Topic of promotions.' },
  { path: 'bus.topics.performanceEval', type: 'string', default: 'performance-eval', env: ['FLTS_PERFORMANCE_EVAL_TOPIC'], description: 'Topic of inference result notices.' },
  { path: 'bus.groups.trainerPrefix', type: 'string', default: 'train-', env: ['FLTS_TRAINER_GROUP_PREFIX'], description: 'Trainer consumer groups are <prefix><model type, lower case> (train-gru, train-lstm); PROPHET keeps the reference name nonml-prophet.' },
  { path: 'bus.groups.promoter', type: 'string', default: 'eval-promoter', env: ['EVAL_GROUP_ID'], description: 'Consumer group of the promoter.' },
  { path: 'bus.groups.servingPrefix', type: 'string', default: 'serve-', env: ['FLTS_SERVING_GROUP_PREFIX'], description: 'Every serving replica has its own group <prefix><replica id>, so each receives every promotion.' },
  { path: 'bus.dlq.trainer', type: 'string', default: '', env: ['FLTS_TRAINER_DLQ_TOPIC'], description: 'Dead-letter topic of the trainer role; empty = DLQ-<model-training topic>, where the reference trainers write.' },
  { path: 'bus.dlq.promoter', type: 'string', default: '', env: ['FLTS_PROMOTER_DLQ_TOPIC'], description: 'Dead-letter topic of the promoter role; empty = DLQ-<model-selected topic>, where the reference eval service writes.' },
  { path: 'bus.dlq.inference', type: 'string', default: '', env: ['FLTS_INFERENCE_DLQ_TOPIC'], description: 'Dead-letter topic of the serving and batch roles; empty = DLQ-<performance-eval topic>, where the reference inference service writes.' },
  { path: 'bus.retry.maxAttempts', type: 'integer', default: 3, min: 1, max: 100, env: ['FAILURE_MAX_RETRIES'], description: 'Attempts of a failing message handler before the message goes to its dead-letter topic.' },
  { path: 'bus.retry.initialBackoffMs', type: 'integer', default: 500, min: 0, max: 3_600_000, env: ['FLTS_BUS_RETRY_BACKOFF_MS'], description: 'Wait before the second attempt; doubles per attempt.' },
  { path: 'bus.retry.maxBackoffMs', type: 'integer', default: 10_000, min: 0, max: 3_600_000, env: ['FLTS_BUS_RETRY_MAX_BACKOFF_MS'], description: 'Upper bound of the wait between attempts.' },
];

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  secure: boolean | null;
  region: string;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface BusSettings {
  kind: 'none' | 'fs' | 'kafka';
  kafka: { brokers: string[]; clientId: string; connectionTimeoutMs: number; requestTimeoutMs: number };
  partitions: number;
  replicationFactor: number;
  topics: { trainingData: string; inferenceData: string; modelTraining: string; modelSelected: string; performanceEval: string };
  groups: { trainerPrefix: string; promoter: string; servingPrefix: string };
  retry: { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number };
  dlq: { trainer: string; promoter: string; inference: string };
}
