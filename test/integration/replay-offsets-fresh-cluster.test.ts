import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawKafka } from '../helpers/raw-kafka.js';
import { runCli } from '../helpers/run-cli.js';
import { infraSkipReason } from './infra-env.js';
import { startPrivateKafka, type PrivateKafka } from './private-kafka.js';

const skipReason = infraSkipReason();

describe.skipIf(skipReason)(`integration > replay-offsets on a fresh cluster${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  // Its own Kafka: only a cluster that has never had a group answers the first coordinator lookup with
  // COORDINATOR_NOT_AVAILABLE (while it creates __consumer_offsets), and the shared one has had many.
  let kafka: PrivateKafka | undefined;
  let home: string;
  beforeAll(async () => {
    kafka = await startPrivateKafka();
    home = mkdtempSync(path.join(tmpdir(), 'flts-replay-fresh-'));
    const admin = rawKafka({ clientId: 'flts-it-replay-fresh', brokers: [kafka.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'fresh', numPartitions: 2 }] });
    await admin.disconnect();
  }, 240_000);
  afterAll(async () => {
    await kafka?.down();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('plans a fresh group without a line of kafkajs on stdout or stderr (the coordinator kafkajs waits for is its own affair)', async () => {
    const result = await runCli(['replay-offsets', '--group', 'fresh-group', '--topic', 'fresh', '--to-earliest', '--home', home], { env: { KAFKA_BOOTSTRAP_SERVERS: kafka!.brokers } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^GROUP fresh-group \(state Dead\), target to-earliest$/m);
    expect(result.stdout).toContain('Dry run: nothing changed.');
    expect(result.stdout).not.toContain('kafkajs');
    expect(result.stderr).toBe('');
  });
});
