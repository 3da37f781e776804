import { BUS_CLOSE_END_MS, DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS, DAEMON_SHUTDOWN_GRACE_MS, DAEMON_STOP_MARGIN_MS } from '../../stop-budget.js';
import type { SettingSpec } from './setting-spec.js';

/**
 * Distributed mode: the S3-compatible object store and the message bus. Environment names are the
 * reference system's first (MINIO_*, AWS_*, KAFKA_BOOTSTRAP_SERVERS, the topic and group variables), then
 * flts' own. Reference variables whose meaning differs between its services (PRODUCER_TOPIC,
 * CONSUMER_GROUP_ID) are not read.
 */
export const DISTRIBUTED_SPECS: readonly SettingSpec[] = [
  { path: 'store.s3.endpoint', type: 'string', carriesCredentials: true, default: 'localhost:9000', envCase: 'trim', env: ['MINIO_ENDPOINT', 'MLFLOW_S3_ENDPOINT_URL', 'FLTS_S3_ENDPOINT'], description: 'S3 endpoint: host:port, or a URL (http:// or https://) whose scheme sets TLS.' },
  { path: 'store.s3.credentials', type: 'string', emptyIsUnset: true, default: 'static', choices: ['static', 'aws'], envCase: 'lower', env: ['FLTS_S3_CREDENTIALS'], description: 'Where the S3 credentials come from. static = store.s3.accessKey and store.s3.secretKey; aws = the temporary credentials of an IAM role, from the standard AWS environment, in this order: a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN: EKS IRSA), a container credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI: ECS, EKS Pod Identity), the EC2 instance metadata service (IMDSv2). They are renewed before they expire, and the static key settings are not used.' },
  { path: 'store.s3.accessKey', type: 'string', default: 'minioadmin', env: ['MINIO_ROOT_USER', 'MINIO_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'], description: 'S3 access key (store.s3.credentials static).' },
  { path: 'store.s3.secretKey', type: 'string', default: 'minioadmin', secret: true, env: ['MINIO_ROOT_PASSWORD', 'MINIO_SECRET_KEY', 'AWS_SECRET_ACCESS_KEY'], description: 'S3 secret key (store.s3.credentials static).' },
  { path: 'store.s3.sessionToken', type: 'string', default: '', secret: true, envCase: 'trim', env: ['AWS_SESSION_TOKEN'], description: 'Session token of temporary static credentials (store.s3.credentials static), sent with every request beside store.s3.accessKey and store.s3.secretKey, which must be the key it was issued with; empty = a long-term key. It is not renewed: when it expires, S3 refuses every request (FLTS_STORE_AUTH_FAILED) until a restart with new credentials. Read from AWS_SESSION_TOKEN, which a shell keeps from its last AWS session, it is left out with an AWS long-term key (AKIA...), which never takes one, and from the first request S3 refuses it on (InvalidTokenId, InvalidToken) while answering the key without it, with one warning (s3_session_token_ignored); an AWS temporary key (ASIA...) always sends it. Set in the config file, it is always sent.' },
  { path: 'store.s3.secure', type: 'boolean', default: null, nullable: true, env: ['MINIO_SECURE'], description: 'Use TLS; unset = https only when the endpoint URL says so.' },
  { path: 'store.s3.region', type: 'string', default: 'us-east-1', envCase: 'trim', env: ['AWS_DEFAULT_REGION', 'AWS_REGION', 'MINIO_REGION'], description: 'S3 region (also the region new buckets are made in).' },
  { path: 'store.s3.caFile', type: 'string', default: '', envCase: 'trim', env: ['FLTS_S3_CA_FILE'], description: 'PEM file of the CA certificate(s) that signed an https endpoint\'s certificate (a private CA), trusted instead of Node\'s public CAs; empty = the public CAs plus NODE_EXTRA_CA_CERTS.' },
  // The AWS environment that store.s3.credentials aws reads: the standard names, which EKS, ECS and EC2 set themselves.
  { path: 'store.s3.aws.webIdentityTokenFile', type: 'string', default: '', envCase: 'trim', env: ['AWS_WEB_IDENTITY_TOKEN_FILE'], description: 'File of the web identity token (OIDC JWT) exchanged with STS AssumeRoleWithWebIdentity for the role AWS_ROLE_ARN; read again at every renewal, since Kubernetes rotates it. EKS IRSA sets it.' },
  { path: 'store.s3.aws.roleArn', type: 'string', default: '', envCase: 'trim', env: ['AWS_ROLE_ARN'], description: 'IAM role assumed with the web identity token. EKS IRSA sets it from the service account\'s eks.amazonaws.com/role-arn annotation.' },
  { path: 'store.s3.aws.roleSessionName', type: 'string', default: '', envCase: 'trim', env: ['AWS_ROLE_SESSION_NAME'], description: 'Session name of the assumed role (shows in CloudTrail); empty = flts-<time>.' },
  { path: 'store.s3.aws.stsEndpoint', type: 'string', carriesCredentials: true, default: '', envCase: 'trim', env: ['AWS_ENDPOINT_URL_STS'], description: 'STS endpoint URL for AssumeRoleWithWebIdentity; empty = the regional endpoint of store.s3.region (https://sts.<region>.amazonaws.com).' },
  { path: 'store.s3.aws.containerCredentialsRelativeUri', type: 'string', default: '', envCase: 'trim', env: ['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'], description: 'Path of the ECS task role credentials on http://169.254.170.2. ECS sets it.' },
  { path: 'store.s3.aws.containerCredentialsFullUri', type: 'string', carriesCredentials: true, default: '', envCase: 'trim', env: ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], description: 'URL of a container credentials endpoint: https, or http to a loopback address, 169.254.170.2 or EKS Pod Identity\'s 169.254.170.23 / fd00:ec2::23. EKS Pod Identity sets it.' },
  { path: 'store.s3.aws.containerAuthorizationTokenFile', type: 'string', default: '', envCase: 'trim', env: ['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'], description: 'File whose content is sent as the Authorization header to the container credentials endpoint, read again at every renewal; wins over AWS_CONTAINER_AUTHORIZATION_TOKEN. EKS Pod Identity sets it.' },
  { path: 'store.s3.aws.containerAuthorizationToken', type: 'string', default: '', secret: true, env: ['AWS_CONTAINER_AUTHORIZATION_TOKEN'], description: 'Authorization header sent to the container credentials endpoint.' },
  { path: 'store.s3.aws.imdsEndpoint', type: 'string', carriesCredentials: true, default: '', envCase: 'trim', env: ['AWS_EC2_METADATA_SERVICE_ENDPOINT'], description: 'URL of the EC2 instance metadata service; empty = http://169.254.169.254.' },
  { path: 'store.s3.aws.imdsDisabled', type: 'boolean', default: false, env: ['AWS_EC2_METADATA_DISABLED'], description: 'Never ask the EC2 instance metadata service for credentials.' },
  { path: 'store.s3.idleTimeoutMs', type: 'integer', default: 10_000, min: 100, max: 600_000, env: ['FLTS_S3_IDLE_TIMEOUT_MS'], description: 'Longest silence of the S3 server within one request: to connect, to answer, or between two parts of a body. A server that accepts connections and never answers fails with FLTS_STORE_UNAVAILABLE after this long.' },
  { path: 'store.s3.requestTimeoutMs', type: 'integer', default: 60_000, min: 100, max: 3_600_000, env: ['FLTS_S3_REQUEST_TIMEOUT_MS'], description: 'Time limit of one whole S3 request, its body included (large objects go in 64 MiB parts, one request each); raise it for large objects over a slow link.' },

  { path: 'bus.kind', type: 'string', emptyIsUnset: true, default: 'none', choices: ['none', 'fs', 'kafka'], envCase: 'lower', env: ['FLTS_BUS'], description: 'none = no messages; fs = durable topic logs under <home>/bus (any process may publish; one consumer per group at a time); kafka = a Kafka cluster.' },
  { path: 'bus.kafka.brokers', type: 'list', carriesCredentials: true, default: [], env: ['KAFKA_BOOTSTRAP_SERVERS'], description: 'Kafka bootstrap servers, host:port[,host:port...]. Required when bus.kind is kafka. An entry that is not host:port is refused (FLTS_CONFIG_INVALID_VALUE): a login goes in FLTS_KAFKA_SASL_USERNAME and FLTS_KAFKA_SASL_PASSWORD, a protocol (SASL_SSL://) in FLTS_KAFKA_SECURITY_PROTOCOL. When none of them answers, every command and service says so in the same words, naming them.' },
  { path: 'bus.kafka.clientId', type: 'string', default: 'flts', env: ['FLTS_KAFKA_CLIENT_ID'], description: 'Kafka client id (shows in broker logs and metrics).' },
  { path: 'bus.kafka.connectionTimeoutMs', type: 'integer', default: 3000, min: 100, max: 600_000, env: ['FLTS_KAFKA_CONNECTION_TIMEOUT_MS'], description: 'Timeout of one broker connection attempt.' },
  { path: 'bus.kafka.commandConnectTimeoutMs', type: 'integer', default: 10_000, min: 100, max: 600_000, env: ['FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS'], description: 'Longest time a one-shot command (flts preprocess, train, predict, promote, replay-offsets) spends reaching the brokers, its retries included, before it fails with FLTS_BUS_UNAVAILABLE naming the brokers and this setting, as a Kafka producer\'s max.block.ms bounds its wait for metadata: the bootstrap brokers, then the addresses they advertise for the cluster (advertised.listeners), each named when it does not answer; a refused connection is tried again about once a second, one that does not answer waits bus.kafka.connectionTimeoutMs per attempt. The services (flts daemon, flts serve) are not bound by it: they wait for the brokers as long as it takes; `flts daemon` says why it still waits after as long (daemon_startup_retrying, /readyz\'s startup) and waits on, and `flts serve`, serving the promoted model from the store meanwhile, says it does not follow promotions yet (serve_promotions_unavailable) and tries again. Creating the command\'s topics once the brokers answered is bound by bus.kafka.topicCreationTimeoutMs instead.' },
  { path: 'bus.kafka.topicCreationTimeoutMs', type: 'integer', default: 60_000, min: 100, max: 600_000, env: ['FLTS_KAFKA_TOPIC_CREATION_TIMEOUT_MS'], description: 'Longest time a one-shot command waits for the brokers to create the topics it is the first to use (and to serve their metadata), once they answered within bus.kafka.commandConnectTimeoutMs: a cluster slow to create topics (a controller moving, many partitions) is waited for this long before the command fails with FLTS_BUS_UNAVAILABLE naming this setting, while brokers that cannot be reached still fail it within bus.kafka.commandConnectTimeoutMs. The services are not bound by it.' },
  { path: 'bus.kafka.requestTimeoutMs', type: 'integer', default: 30_000, min: 100, max: 600_000, env: ['FLTS_KAFKA_REQUEST_TIMEOUT_MS'], description: 'Longest wait for a broker\'s answer to one request; a broker that accepts connections and never answers fails with FLTS_BUS_UNAVAILABLE after about this long.' },
  { path: 'bus.kafka.sessionTimeoutMs', type: 'integer', default: 10_000, min: 6_000, max: 1_800_000, env: ['FLTS_KAFKA_SESSION_TIMEOUT_MS'], description: 'A consumer group member silent for this long is dropped from its group and its partitions move to the others; also how long a consumer waits for its group join before it goes on. A process killed without leaving its group (kill -9, an OOM kill, a lost node) holds its partitions this long: its replacement (a restarted daemon) joins, and is ready, only then, and /readyz says which group it waits for meanwhile. A stop that leaves its groups (SIGTERM) is not waited for. Heartbeats go every third of it, at most every 3 s (Kafka\'s session.timeout.ms and heartbeat.interval.ms; kafkajs has no static membership, group.instance.id). Raise it where a member may go silent longer (a network that drops for seconds, a node under heavy load), at the cost of a longer wait after a crash; brokers refuse less than their group.min.session.timeout.ms (6 s by default) and more than group.max.session.timeout.ms (30 min).' },
  { path: 'bus.kafka.closeTimeoutMs', type: 'integer', default: 5_000, min: 0, max: 600_000, env: ['FLTS_KAFKA_CLOSE_TIMEOUT_MS'], description: 'Longest time a stopping process (SIGTERM, the end of a command) spends leaving the brokers: its consumers leaving their groups, its per-replica groups deleted, its producer and admin disconnected, all side by side. With the brokers away these wait for answers that never come; past this time the bus gives up (bus_close_gave_up), ends its connections and commits nothing more, so what was not committed is delivered again. Keeps a stop within a Kubernetes grace period (30 s by default). One deadline for the whole stop: `flts serve`\'s promotion follower and `flts daemon`\'s roles (which get up to 2 s before the close begins beside them, a role still starting when the stop comes included) wait for the brokers within this same time, not each on top of the other. ' + `\`flts daemon\` refuses more than ${DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS} (FLTS_CONFIG_INVALID_VALUE): its ${DAEMON_SHUTDOWN_GRACE_MS / 1000} s shutdown grace less ${BUS_CLOSE_END_MS / 1000} s for the bus, given up at the deadline, to end its connections, ${BUS_CLOSE_END_MS / 1000} s more for a role start that this ended to stop the roles it had started, and ${DAEMON_STOP_MARGIN_MS / 1000} s of margin.` },
  { path: 'bus.kafka.securityProtocol', type: 'string', default: 'PLAINTEXT', choices: ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'], envCase: 'upper', emptyIsUnset: true, env: ['FLTS_KAFKA_SECURITY_PROTOCOL'], description: 'How flts talks to the brokers, as Kafka\'s security.protocol: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT (a SASL login without TLS) or SASL_SSL (a SASL login over TLS: MSK, Confluent Cloud, Strimzi with SCRAM).' },
  { path: 'bus.kafka.sasl.mechanism', type: 'string', default: '', choices: ['', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], envCase: 'upper', env: ['FLTS_KAFKA_SASL_MECHANISM'], description: 'SASL mechanism, as Kafka\'s sasl.mechanism (Confluent Cloud: PLAIN; MSK and Strimzi: SCRAM-SHA-512). Required with SASL_PLAINTEXT and SASL_SSL, refused with the other protocols.' },
  { path: 'bus.kafka.sasl.username', type: 'string', default: '', env: ['FLTS_KAFKA_SASL_USERNAME'], description: 'SASL user (Confluent Cloud: the API key). Required with a SASL protocol.' },
  { path: 'bus.kafka.sasl.password', type: 'string', default: '', secret: true, env: ['FLTS_KAFKA_SASL_PASSWORD'], description: 'SASL password (Confluent Cloud: the API secret). Required with a SASL protocol; never shown (`flts config show` masks it).' },
  { path: 'bus.kafka.ssl.caFile', type: 'string', default: '', envCase: 'trim', env: ['FLTS_KAFKA_SSL_CA_FILE'], description: 'PEM file of the CA certificate(s) that signed the brokers\' certificates (Strimzi: ca.crt of <cluster>-cluster-ca-cert), trusted instead of Node\'s public CAs; empty = the public CAs plus NODE_EXTRA_CA_CERTS, enough for MSK and Confluent Cloud. SSL and SASL_SSL only.' },
  { path: 'bus.kafka.ssl.certFile', type: 'string', default: '', envCase: 'trim', env: ['FLTS_KAFKA_SSL_CERT_FILE'], description: 'PEM client certificate (chain) for mutual TLS, with bus.kafka.ssl.keyFile (Strimzi: user.crt of a KafkaUser with tls authentication). SSL and SASL_SSL only.' },
  { path: 'bus.kafka.ssl.keyFile', type: 'string', default: '', envCase: 'trim', env: ['FLTS_KAFKA_SSL_KEY_FILE'], description: 'PEM private key of bus.kafka.ssl.certFile (Strimzi: user.key).' },
  { path: 'bus.kafka.ssl.keyPassword', type: 'string', default: '', secret: true, env: ['FLTS_KAFKA_SSL_KEY_PASSWORD'], description: 'Passphrase of an encrypted bus.kafka.ssl.keyFile; empty = the key is not encrypted.' },
  { path: 'bus.kafka.ssl.insecureSkipHostnameVerification', type: 'boolean', default: false, env: ['FLTS_KAFKA_SSL_INSECURE_SKIP_HOSTNAME_VERIFICATION'], description: 'INSECURE: accept a broker certificate issued for another host name, like an empty ssl.endpoint.identification.algorithm (the certificate must still chain to a trusted CA). Only for brokers reached through an address their certificates do not name (a tunnel, a port-forward).' },
  { path: 'bus.fs.retentionHours', type: 'integer', default: 168, min: -1, max: 876_000, env: ['FLTS_BUS_FS_RETENTION_HOURS'], description: 'bus.kind fs: how long each topic keeps its messages, as Kafka\'s log.retention.hours (the same default, 7 days); -1 = for ever. Messages appended longer ago go, oldest first, whether or not every consumer group consumed them: a group that had not resumes at the first offset left, as a Kafka consumer whose offset fell out of range resets to the earliest, and says so (bus_fs_offset_reset_by_retention, flts_bus_messages_lost_to_retention_total). Offsets stay what they were: the topic\'s first offset moves forward. As Kafka deletes whole segments, a topic is cut only once what goes is at least 16 MiB or more than what stays, so a small topic keeps older messages a while longer; each cut writes what stays anew.' },
  { path: 'bus.fs.retentionBytes', type: 'integer', default: -1, min: -1, max: 2 ** 50, env: ['FLTS_BUS_FS_RETENTION_BYTES'], description: 'bus.kind fs: the most each topic\'s log keeps, as Kafka\'s log.retention.bytes (per topic here, per partition there); -1 = no limit, Kafka\'s default. A log past it by 16 MiB (or by as much as the limit, when smaller) loses its oldest messages until it fits, at the publish that took it there, consumed or not, said as for bus.fs.retentionHours.' },
  { path: 'bus.fs.retentionCheckIntervalMs', type: 'integer', default: 300_000, min: 1_000, max: 86_400_000, env: ['FLTS_BUS_FS_RETENTION_CHECK_INTERVAL_MS'], description: 'bus.kind fs: how often a process consuming from the bus (flts daemon, flts serve) applies bus.fs.retentionHours and bus.fs.retentionBytes to every topic, as Kafka\'s log.retention.check.interval.ms; also once as it starts consuming.' },
  { path: 'bus.partitions', type: 'integer', default: 1, min: 1, max: 1000, env: ['FLTS_BUS_PARTITIONS'], description: 'Partitions of every topic flts creates (existing topics are left as they are).' },
  { path: 'bus.replicationFactor', type: 'integer', default: -1, min: -1, env: ['FLTS_BUS_REPLICATION_FACTOR'], description: 'Replication factor of created topics; -1 = the broker default. One the brokers refuse (more replicas than brokers, or against their topic creation policy) fails with FLTS_BUS_TOPIC_REFUSED naming the topics and the broker\'s reason, and ends a daemon\'s startup rather than being retried.' },
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

/** The standard AWS environment that a role's temporary credentials are found through (store.s3.credentials aws). */
export interface AwsCredentialSettings {
  webIdentityTokenFile: string;
  roleArn: string;
  roleSessionName: string;
  stsEndpoint: string;
  containerCredentialsRelativeUri: string;
  containerCredentialsFullUri: string;
  containerAuthorizationTokenFile: string;
  containerAuthorizationToken: string;
  imdsEndpoint: string;
  imdsDisabled: boolean;
}

export interface S3Settings {
  endpoint: string;
  credentials: 'static' | 'aws';
  aws: AwsCredentialSettings;
  accessKey: string;
  secretKey: string;
  sessionToken: string;
  secure: boolean | null;
  region: string;
  caFile: string;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
}

export type KafkaSecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
export type KafkaSaslMechanism = '' | 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** How a Kafka client proves who it is and checks whom it talks to. */
export interface KafkaSecuritySettings {
  securityProtocol: KafkaSecurityProtocol;
  sasl: { mechanism: KafkaSaslMechanism; username: string; password: string };
  ssl: { caFile: string; certFile: string; keyFile: string; keyPassword: string; insecureSkipHostnameVerification: boolean };
}

export interface BusSettings {
  kind: 'none' | 'fs' | 'kafka';
  fs: { retentionHours: number; retentionBytes: number; retentionCheckIntervalMs: number };
  kafka: { brokers: string[]; clientId: string; connectionTimeoutMs: number; commandConnectTimeoutMs: number; topicCreationTimeoutMs: number; requestTimeoutMs: number; sessionTimeoutMs: number; closeTimeoutMs: number } & KafkaSecuritySettings;
  partitions: number;
  replicationFactor: number;
  topics: { trainingData: string; inferenceData: string; modelTraining: string; modelSelected: string; performanceEval: string };
  groups: { trainerPrefix: string; promoter: string; servingPrefix: string };
  retry: { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number };
  dlq: { trainer: string; promoter: string; inference: string };
}
