import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Endpoints of the servers started by `npm run infra:up` (scripts/infra/infra.sh). */
export interface InfraEnv {
  kafkaBrokers: string[];
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string };
  /** The variables themselves, for passing to `resolveSettings({ env })` or a child process. */
  vars: Record<string, string>;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NAMES = ['KAFKA_BOOTSTRAP_SERVERS', 'MINIO_ENDPOINT', 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'MINIO_SECURE', 'AWS_DEFAULT_REGION'];

function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) vars[match[1]] = match[2];
  }
  return vars;
}

/** The process environment wins (CI exports .infra/env); otherwise the repo's .infra/env is read. */
export function loadInfraEnv(): InfraEnv {
  const fromFile = readEnvFile(path.join(process.env.FLTS_INFRA_DIR ?? path.join(REPO_ROOT, '.infra'), 'env'));
  const vars: Record<string, string> = {};
  for (const name of NAMES) {
    const value = process.env[name] ?? fromFile[name];
    if (value !== undefined) vars[name] = value;
  }
  return {
    kafkaBrokers: (vars.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:19092').split(',').filter(Boolean),
    s3: {
      endpoint: vars.MINIO_ENDPOINT ?? '127.0.0.1:19000',
      accessKey: vars.MINIO_ROOT_USER ?? 'minioadmin',
      secretKey: vars.MINIO_ROOT_PASSWORD ?? 'minioadmin',
      region: vars.AWS_DEFAULT_REGION ?? 'us-east-1',
    },
    vars,
  };
}

/**
 * Integration tests skip only outside CI on a machine without Java (the servers cannot run there). In CI,
 * or with Java present, a server that is not up is a test failure that names `npm run infra:up`.
 */
export function infraSkipReason(): string | undefined {
  if (process.env.CI === 'true' || process.env.CI === '1') return undefined;
  const java = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return java.error || java.status !== 0 ? 'Java is not installed, so the local Kafka/S3 servers (npm run infra:up) cannot run' : undefined;
}

export const INFRA_HINT = 'start the servers with `npm run infra:up`';
