import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { infraSkipReason, loadInfraEnv } from './infra-env.js';

const skipReason = infraSkipReason();
const infra = loadInfraEnv();

const coreModule = new URL('../../dist/core/index.js', import.meta.url).href;
const offsetsModule = new URL('../../dist/core/offsets/index.js', import.meta.url).href;

/**
 * Runs a Kafka cycle in a process of its own (Node reports a negative timer once per process), on the build and
 * with Node's own warning printer, then emits an unrelated warning: its stderr is what a user of flts sees.
 */
async function stderrOf(cycle: string): Promise<string> {
  const suffix = randomUUID().slice(0, 8);
  const script = `
    const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS;
    const topic = 'it-warnings-${suffix}';
    const group = 'it-warnings-${suffix}';
    ${cycle}
    process.emitWarning('still reported', 'CustomWarning');
  `;
  const { stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: infra.kafkaBrokers.join(','), KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    timeout: 90_000,
  });
  return stderr;
}

describe.skipIf(skipReason)(`integration > kafkajs warnings${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('a publish, consume and close on the library bus prints no TimeoutNegativeWarning, and other warnings still print', async () => {
    const stderr = await stderrOf(`
      const { createMessageBus, resolveSettings } = await import(${JSON.stringify(coreModule)});
      const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: brokers } });
      const bus = createMessageBus(settings);
      await bus.publish(topic, { key: 'k', value: 'hello' });
      const received = new Promise((resolve) => bus.subscribe({ group, topics: [topic] }, async (message) => resolve(message.value)));
      if ((await received) !== 'hello') throw new Error('nothing consumed');
      await bus.close();
    `);
    expect(stderr).not.toContain('TimeoutNegativeWarning');
    expect(stderr).toContain('CustomWarning: still reported');
  });

  it('the offsets admin (replay-offsets) prints no TimeoutNegativeWarning either', async () => {
    const stderr = await stderrOf(`
      const { createKafkaOffsetsAdmin } = await import(${JSON.stringify(offsetsModule)});
      const admin = createKafkaOffsetsAdmin({ brokers: brokers.split(','), clientId: 'flts-it-warnings' });
      await admin.describeGroup(group);
      await admin.close();
    `);
    expect(stderr).not.toContain('TimeoutNegativeWarning');
    expect(stderr).toContain('CustomWarning: still reported');
  });
});
