import { createServer, type Socket } from 'node:net';
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
    // As the daemon and serve say it: before, a command's bound named neither the bootstrap broker nor what to check.
    expect(run.json.error.message).toContain(`retries included: the bootstrap broker (${broker}) refused the connection or did not answer; KAFKA_BOOTSTRAP_SERVERS must name brokers this host can reach`);
  }, 60_000);

  it('replay-offsets gives up a bootstrap broker that accepts connections and never answers at bus.kafka.commandConnectTimeoutMs, as other commands do', async () => {
    const home = await scratch(path.join(os.tmpdir(), 'flts-cli-kafka-unreachable-'));
    // Accepts, reads and says nothing: kafkajs waits out its request timeout (30 s) on each of its retries.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => undefined).on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const broker = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const run = await runCli(['replay-offsets', '--role', 'promoter', '--to-earliest', '--home', home, '--json'], {
        env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '1000' },
        timeoutMs: 50_000,
      });
      // Before, it waited for kafkajs' retries of 30 s requests, unbound by the setting, and named no bound.
      expect(run.json?.error, run.stdout + run.stderr).toMatchObject({
        code: 'FLTS_BUS_UNAVAILABLE',
        message: expect.stringContaining(`Kafka admin connect failed (brokers ${broker}): not connected within 1000 ms, the wait FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS (setting bus.kafka.commandConnectTimeoutMs) allows a command, retries included: the bootstrap broker (${broker}) refused the connection or did not answer`),
        details: { brokers: [broker], setting: 'bus.kafka.commandConnectTimeoutMs', waited_ms: 1000 },
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);

  it('replay-offsets says a bootstrap broker that refuses every connection in the same words, coded and without a stack', async () => {
    const home = await scratch(path.join(os.tmpdir(), 'flts-cli-kafka-unreachable-'));
    const broker = `127.0.0.1:${await freePort()}`;
    const env = { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker };
    const args = ['replay-offsets', '--role', 'promoter', '--to-earliest', '--home', home];
    const [json, text] = await Promise.all([runCli([...args, '--json'], { env }), runCli(args, { env })]);
    // Before: kafkajs' own words once its retries were over ("Connection error: connect ECONNREFUSED ..."), naming no bootstrap broker.
    expect(json.json?.error).toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`^Kafka admin connect failed \\(brokers ${broker}\\): not connected after \\d+ ms, kafkajs' retries given up: the bootstrap broker \\(${broker}\\) refused the connection or did not answer; KAFKA_BOOTSTRAP_SERVERS must name brokers this host can reach`)),
      details: { brokers: [broker] },
    });
    expect(text.exitCode).toBe(json.exitCode);
    expect(text.stderr).toContain(`Error FLTS_BUS_UNAVAILABLE: Kafka admin connect failed (brokers ${broker}): not connected after`);
    // kafkajs' stack stays out of what the user reads (--debug shows it).
    expect(text.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});
