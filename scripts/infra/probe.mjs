// Readiness probe for infra.sh: exits 0 when the named server answers a real request.
//   kafka: a metadata request (describeCluster) succeeds
//   kafka-secure: the same through its SASL_PLAINTEXT listener, logged in with SCRAM-SHA-256
//   s3:    a bucket list succeeds with the configured credentials
// Endpoints come from the environment written to .infra/env.
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'minio';

const TIMEOUT_MS = 3000;

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function probeKafka(servers = process.env.KAFKA_BOOTSTRAP_SERVERS, sasl = undefined) {
  const brokers = (servers ?? '').split(',').filter(Boolean);
  const admin = new Kafka({ clientId: 'flts-infra-probe', brokers, sasl, logLevel: logLevel.NOTHING, connectionTimeout: 1000, retry: { retries: 0 } }).admin();
  try {
    await withTimeout(admin.connect(), 'kafka connect');
    const cluster = await withTimeout(admin.describeCluster(), 'kafka metadata');
    if (cluster.brokers.length === 0) throw new Error('no brokers in metadata');
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function probeS3() {
  const [host, port] = (process.env.MINIO_ENDPOINT ?? '').split(':');
  const client = new Client({
    endPoint: host,
    port: Number(port),
    useSSL: false,
    accessKey: process.env.MINIO_ROOT_USER,
    secretKey: process.env.MINIO_ROOT_PASSWORD,
    region: process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  });
  await withTimeout(client.listBuckets(), 's3 list buckets');
}

const name = process.argv[2];
try {
  if (name === 'kafka') await probeKafka();
  else if (name === 'kafka-secure') {
    await probeKafka(process.env.KAFKA_SECURE_SASL_PLAINTEXT_SERVERS, { mechanism: 'scram-sha-256', username: process.env.KAFKA_SECURE_SCRAM_USER, password: process.env.KAFKA_SECURE_SCRAM_PASSWORD });
  }
  else if (name === 's3') await probeS3();
  else throw new Error(`unknown server ${name}`);
  process.exit(0);
} catch (error) {
  console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
