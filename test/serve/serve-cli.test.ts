import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { startServe } from '../helpers/serve-process.js';

const home = mkdtempSync(path.join(os.tmpdir(), 'flts-serve-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('commands > serve', () => {
  it('listens, answers liveness while waiting for a promotion, and exits 0 on SIGINT, saying so', async () => {
    // Started, not only listening: a SIGINT between the two ends the start instead ("SIGINT: stopped while starting").
    const server = await startServe(['--home', home, '--log-level', 'silent'], {}, { untilStarted: true });
    let exitCode: number | null;
    try {
      const health = await (await fetch(`${server.url}/healthz`)).json();
      expect(health).toMatchObject({ status: 'ok', service: 'inference-api', model_ready: false });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    } finally {
      exitCode = await server.stop();
    }
    expect(exitCode).toBe(0);
    expect(server.output()).toMatch(/^SIGINT: stopping .*\nStopped\n$/m);
  });

  it('refuses a broker address with user:password@ before listening, the password masked: no Kafka client can connect to one', async () => {
    // Before, it listened and retried a port kafkajs read as NaN, saying why each attempt, the address masked.
    const env = { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: 'svc:hunter2@127.0.0.1:19051' };
    const result = await runCli(['serve', '--port', '0', '--home', home, '--json', '--log-level', 'warn'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.json.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'bus.kafka.brokers' } });
    expect(result.json.error.message).toContain('= "***@127.0.0.1:19051" is not host:port');
    expect(result.stdout).not.toContain('Listening');
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });

  it('exits 4 with FLTS_RUN_NOT_FOUND when the pinned run does not exist', async () => {
    const result = await runCli(['serve', '--run', 'no-such-run', '--port', '0', '--home', home, '--json', '--log-level', 'silent']);
    expect(result.exitCode).toBe(4);
    expect(result.json).toMatchObject({ status: 'error', error: { code: 'FLTS_RUN_NOT_FOUND' } });
  });

  it('refuses a pinned run the registry does not have before it listens: no "Listening on", no ready file', async () => {
    const readyFile = path.join(home, 'serve-ready.json');
    const result = await runCli(['serve', '--run', 'nope', '--port', '0', '--home', home, '--log-level', 'silent'], { env: { FLTS_READY_FILE: readyFile } });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('FLTS_RUN_NOT_FOUND');
    expect(result.stderr).toContain('Run nope not found');
    expect(result.stdout).not.toContain('Listening');
    expect(existsSync(readyFile)).toBe(false);
  });

  it('refuses --grpc-port equal to --port before listening, naming both flags, exit 2 (the second listen said the port was in use)', async () => {
    // A port nothing listens on: the refusal must not depend on which listener came first.
    const result = await runCli(['serve', '--port', '19409', '--grpc-port', '19409', '--home', home, '--json', '--log-level', 'silent']);
    expect(result.exitCode).toBe(2);
    expect(result.json?.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'serve.grpcPort', port: 19409 } });
    expect(result.json.error.message).toMatch(/^--grpc-port .* and --port .* are both 19409: /);
    expect(result.json.error.message).not.toMatch(/in use/);
  });
});
