import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT, cleanEnvironment } from '../helpers/run-cli.js';
import { infraSkipReason } from './infra-env.js';
import { startPrivateKafka, type PrivateKafka } from './private-kafka.js';

const skipReason = infraSkipReason();

/** The stop's JSON log lines on stderr, by message. */
function logLines(stderr: string): Map<string, Record<string, unknown>> {
  const lines = new Map<string, Record<string, unknown>>();
  for (const text of stderr.split('\n')) {
    if (!text.startsWith('{')) continue;
    const line = JSON.parse(text) as Record<string, unknown>;
    if (typeof line.msg === 'string' && !lines.has(line.msg)) lines.set(line.msg, line);
  }
  return lines;
}

if (skipReason) {
  describe('integration > serve > stop with the broker away', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > serve > stop with the broker away', () => {
    // Its own Kafka: the test stops it.
    let kafka: PrivateKafka | undefined;
    let home: string;
    beforeAll(async () => {
      kafka = await startPrivateKafka();
      home = mkdtempSync(path.join(os.tmpdir(), 'flts-serve-stop-'));
    }, 240_000);
    afterAll(async () => {
      await kafka?.down();
      rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }, 240_000);

    it('waits for the brokers once, bus.kafka.closeTimeoutMs in all: its promotion follower and its bus share one deadline', async () => {
      const closeTimeoutMs = 3_000;
      const env = cleanEnvironment({ FLTS_HOME: home, FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: kafka!.brokers, FLTS_KAFKA_CLOSE_TIMEOUT_MS: String(closeTimeoutMs) });
      const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await new Promise<void>((resolve, reject) => {
          const check = (): void => void (/Following \S+ as group/.test(stdout) && resolve());
          child.stdout.on('data', check);
          void exited.then(() => reject(new Error(`serve exited before it followed promotions:\n${stdout}\n${stderr.slice(-3000)}`)));
        });
        await kafka!.stop();
        child.kill('SIGTERM');
        expect(await exited, stderr.slice(-3000)).toBe(0);
      } finally {
        child.kill('SIGKILL');
      }
      const lines = logLines(stderr);
      // The follower's unsubscribe waits for the broker (its consumer's disconnect, its group's deletion) until the
      // stop's deadline; the bus's close, which waits for the same disconnect, gives up at that same deadline.
      const followerWaited = lines.get('serve_promotion_stop_slow')?.grace_ms as number | undefined;
      const gaveUp = lines.get('bus_close_gave_up');
      expect(gaveUp, stderr.slice(-3000)).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', close_timeout_ms: closeTimeoutMs });
      expect(followerWaited ?? 0, 'the follower waited its own grace').toBeLessThanOrEqual(closeTimeoutMs);
      expect((followerWaited ?? 0) + (gaveUp!.waited_ms as number), 'the bus waited its own closeTimeoutMs on top').toBeLessThanOrEqual(closeTimeoutMs);
    }, 180_000);
  });
}
