import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedStack, type IsolatedStack } from '../../src/core/config/isolated-stack.js';
import { startFltsProcess } from '../helpers/flts-process.js';
import { collectNegativeTimeoutWarnings, rawKafka } from '../helpers/raw-kafka.js';
import { runCli } from '../helpers/run-cli.js';
import { skipNote, useServers } from '../helpers/servers.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, logLevel } = kafkajs;

/**
 * The kafka-secure broker enforces ACLs (StandardAuthorizer, scripts/infra/infra.sh): its SCRAM user flts is a super
 * user, flts-acl (KAFKA_SECURE_ACL_USER) may do only what a test grants it. Each test grants on names of its own
 * (an isolated stack's prefix), so tests never see each other's ACLs.
 */
const secure = await useServers('kafka-secure');
const vars = secure.vars;

type Operation = 'ALL' | 'READ' | 'DESCRIBE';

/** Allows flts-acl `operation` on every topic (and DLQ topic) of the stack, or on its consumer groups. */
async function grant(stack: IsolatedStack, on: 'topics' | 'groups', operation: Operation = 'ALL'): Promise<void> {
  const sasl = { mechanism: 'scram-sha-256' as const, username: vars.KAFKA_SECURE_SCRAM_USER, password: vars.KAFKA_SECURE_SCRAM_PASSWORD };
  const admin = rawKafka({ clientId: 'it-acl-admin', brokers: [vars.KAFKA_SECURE_SASL_PLAINTEXT_SERVERS], sasl, logLevel: logLevel.NOTHING }).admin();
  const entry = (resourceType: kafkajs.AclResourceTypes, resourceName: string) => ({
    resourceType, resourceName, resourcePatternType: ResourcePatternTypes.PREFIXED, principal: `User:${vars.KAFKA_SECURE_ACL_USER}`, host: '*', operation: AclOperationTypes[operation], permissionType: AclPermissionTypes.ALLOW,
  });
  const acl = on === 'topics' ? [entry(AclResourceTypes.TOPIC, `${stack.prefix}-`), entry(AclResourceTypes.TOPIC, `DLQ-${stack.prefix}-`)] : [entry(AclResourceTypes.GROUP, `${stack.prefix}-`)];
  await admin.connect();
  try {
    await admin.createAcls({ acl });
  } finally {
    await admin.disconnect();
  }
}

describe.skipIf(secure.skip)(`integration > kafka-acl${skipNote(secure)}`, () => {
  const negativeTimeouts = collectNegativeTimeoutWarnings();
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'flts-kafka-acl-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  /** `flts daemon` (promoter role) as flts-acl, on the stack's topics and group. */
  const daemonEnv = (stack: IsolatedStack): Record<string, string> => ({
    ...stack.env,
    FLTS_BUS: 'kafka',
    KAFKA_BOOTSTRAP_SERVERS: vars.KAFKA_SECURE_SASL_PLAINTEXT_SERVERS,
    FLTS_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
    FLTS_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
    FLTS_KAFKA_SASL_USERNAME: vars.KAFKA_SECURE_ACL_USER,
    FLTS_KAFKA_SASL_PASSWORD: vars.KAFKA_SECURE_ACL_PASSWORD,
    FLTS_HOME: home,
    FLTS_DAEMON_PORT: '0',
    FLTS_DAEMON_ROLES: 'promoter',
  });
  // A daemon that waits instead of ending is stopped by the timeout (SIGTERM: it then exits 0, printing its result).
  const daemon = (stack: IsolatedStack) => runCli(['daemon', '--json'], { env: daemonEnv(stack), timeoutMs: 30_000 });

  it('ends flts daemon at once with exit code 2 and FLTS_BUS_ACCESS_DENIED when the user may not create or describe its topics', async () => {
    const stack = isolatedStack('it-acl');
    const run = await daemon(stack);
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'FLTS_BUS_ACCESS_DENIED', kind: 'usage', details: { kafka_error_type: 'TOPIC_AUTHORIZATION_FAILED' } });
    expect(run.json.error.message).toContain(`creating topics ${stack.prefix}-training-data`);
    expect(run.json.error.message).toContain('the user needs Describe and Create on the topics');
  });

  it('ends it the same way when the user may not read its consumer group: no ACL (the coordinator lookup), Describe only (the join)', async () => {
    const stack = isolatedStack('it-acl');
    await grant(stack, 'topics');
    const group = `${stack.prefix}-eval-promoter`;
    const lookup = await daemon(stack);
    expect(lookup.exitCode, lookup.stdout + lookup.stderr).toBe(2);
    expect(lookup.json.error).toMatchObject({ code: 'FLTS_BUS_ACCESS_DENIED', details: { kafka_error_type: 'GROUP_AUTHORIZATION_FAILED' } });
    expect(lookup.json.error.message).toContain(`subscribing group ${group} to ${stack.prefix}-model-training failed`);
    expect(lookup.json.error.message).toContain('the user needs Read on the consumer group');

    await grant(stack, 'groups', 'DESCRIBE');
    const join = await daemon(stack);
    expect(join.exitCode, join.stdout + join.stderr).toBe(2);
    expect(join.json.error).toMatchObject({ code: 'FLTS_BUS_ACCESS_DENIED', details: { kafka_error_type: 'GROUP_AUTHORIZATION_FAILED' } });
    expect(join.json.error.message).toContain(`subscribing group ${group}`);
  });

  it('starts the same daemon once the user may use its topics and read its group', async () => {
    const stack = isolatedStack('it-acl');
    await grant(stack, 'topics');
    await grant(stack, 'groups', 'READ');
    const proc = startFltsProcess(['daemon'], daemonEnv(stack));
    try {
      await proc.waitForOutput(/Roles started: promoter$/m, 60_000);
    } finally {
      expect(await proc.stop('SIGTERM')).toBe(0);
    }
  });

  it("prints no TimeoutNegativeWarning from the test's own kafkajs admin, which grants the ACLs", () => {
    // Before, its first answer armed kafkajs' negative timer unfiltered, and Node printed it into every CI log.
    negativeTimeouts.stop();
    expect(negativeTimeouts.warnings).toEqual([]);
  });
});
