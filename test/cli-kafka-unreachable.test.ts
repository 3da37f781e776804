import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { runCli } from './helpers/run-cli.js';
import { scratchFolders } from './helpers/scratch-folders.js';

const scratch = scratchFolders();

describe('cli > a one-shot command with Kafka unreachable', () => {
  it('preprocess fails with FLTS_BUS_UNAVAILABLE naming the brokers and bus.kafka.commandConnectTimeoutMs, within that bound rather than kafkajs\' 25 s of retries', async () => {
    const home = await scratch(path.join(os.tmpdir(), 'flts-cli-kafka-unreachable-'));
    const broker = `127.0.0.1:${await freePort()}`;
    const started = performance.now();
    const run = await runCli(['preprocess', '--dataset', 'example', '--home', home, '--json'], {
      env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '1000' },
    });
    // Node's start, the preprocessing and the bus's close included: before, the admin's connect alone retried about 25 s.
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(run.exitCode).not.toBe(0);
    expect(run.json?.error).toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      message: expect.stringMatching(/claims were not published: Kafka admin connect failed \(brokers 127\.0\.0\.1:\d+\): not connected within 1000 ms.*FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS/),
      details: { brokers: [broker], setting: 'bus.kafka.commandConnectTimeoutMs' },
    });
  }, 60_000);
});
