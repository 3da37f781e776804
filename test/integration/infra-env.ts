import { useServers } from '../helpers/servers.js';
import { grantInfra } from './infra-grant.js';

/** Endpoints of the shared Kafka and S3 servers (from the suite's global setup, test/setup/test-servers.ts). */
export interface InfraEnv {
  kafkaBrokers: string[];
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string };
  /** The variables themselves, for passing to `resolveSettings({ env })` or a child process. */
  vars: Record<string, string>;
}

// Waited for as this module loads: a test file that imports it uses the servers (see ./infra-grant.js).
const infra = await useServers('infra');
grantInfra(infra);

export function loadInfraEnv(): InfraEnv {
  const vars = infra.vars;
  return {
    kafkaBrokers: (vars.KAFKA_BOOTSTRAP_SERVERS ?? '').split(',').filter(Boolean),
    s3: {
      endpoint: vars.MINIO_ENDPOINT ?? '',
      accessKey: vars.MINIO_ROOT_USER ?? 'minioadmin',
      secretKey: vars.MINIO_ROOT_PASSWORD ?? 'minioadmin',
      region: vars.AWS_DEFAULT_REGION ?? 'us-east-1',
    },
    vars,
  };
}

/** Why the tests that need Kafka and S3 skip (a missing toolchain, outside CI), or undefined when they run. */
export function infraSkipReason(): string | undefined {
  return infra.skip;
}

export const INFRA_HINT = 'the suite\'s global setup (test/setup/test-servers.ts) provides them';
