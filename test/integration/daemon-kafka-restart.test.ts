import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePromotion } from '../../src/core/bus/messages.js';
import { REPO_ROOT } from '../helpers/run-cli.js';
import { createPipeline, ofType, waitUntil, type Pipeline } from './daemon-harness.js';
import { freePort } from '../helpers/free-port.js';
import { infraSkipReason } from './infra-env.js';

const skipReason = infraSkipReason();
const INFRA = path.join(REPO_ROOT, 'scripts/infra/infra.sh');

/**
 * A Kafka of this test's own (its own state directory and ports, S3 stays the shared one): stopping it disturbs no
 * other test file. The ports are chosen once, when the state directory is created, and kept across the restart.
 * Run asynchronously: a start can take minutes under load, and a worker whose event loop is blocked for more than
 * a minute misses vitest's reply to its last progress report ("Timeout calling onTaskUpdate") and fails the run.
 */
async function privateKafka(dir: string, action: 'start' | 'stop' | 'down', ports: { kafka?: number; controller?: number } = {}): Promise<void> {
  const args = action === 'down' ? [INFRA, 'down'] : [INFRA, action, 'kafka'];
  const env = { ...process.env, FLTS_INFRA_DIR: dir, FLTS_INFRA_TIMEOUT: '150', FLTS_INFRA_KAFKA_PORT: String(ports.kafka ?? ''), FLTS_INFRA_KAFKA_CONTROLLER_PORT: String(ports.controller ?? '') };
  try {
    await promisify(execFile)('bash', args, { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 180_000 });
  } catch (error) {
    throw new Error(`infra.sh ${args.slice(1).join(' ')} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
  }
}

if (skipReason) {
  describe('integration > daemon > kafka restart', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > daemon > kafka restart', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-kafka-'));
    let pipeline: Pipeline;
    beforeAll(async () => {
      await privateKafka(dir, 'start', { kafka: await freePort(), controller: await freePort() });
      const brokers = /^KAFKA_BOOTSTRAP_SERVERS=(.*)$/m.exec(readFileSync(path.join(dir, 'env'), 'utf8'))![1];
      // Enough work that Kafka goes away while the LSTM is still training: the tfjs-layers engine is several
      // times slower than the fused one, and 400 epochs of this slice last about a minute on an idle machine.
      // The replica re-reads the promotion pointer as it does by default: its group, rejoining after the restart from
      // the latest offset, can come back after `model-selected` was published (Kafka-driven reloads have their own tests).
      pipeline = createPipeline('dkafka', { KAFKA_BOOTSTRAP_SERVERS: brokers, EPOCHS: '400', EARLY_STOPPING: 'false', FLTS_TRAIN_ENGINE: 'layers', FLTS_SERVE_POLL_INTERVAL_MS: '5000' });
    });
    afterAll(async () => {
      await pipeline?.close();
      await privateKafka(dir, 'down');
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    });

    // The waits allow up to eight minutes on a loaded machine; the test must not be cut off before them.
    it('completes the pipeline when Kafka is restarted mid-training, and a serving replica that lived through it stops on SIGTERM', async () => {
      const daemon = pipeline.start(['daemon', '--port', '0']);
      const serve = pipeline.start(['serve', '--port', '0']);
      try {
        await runPipelineThroughKafkaRestart(daemon, serve);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- daemon output ---\n${daemon.output().slice(-6000)}\n--- serve output ---\n${serve.output().slice(-3000)}`);
      }
    }, 600_000);

    async function runPipelineThroughKafkaRestart(daemon: ReturnType<Pipeline['start']>, serve: ReturnType<Pipeline['start']>): Promise<void> {
      await daemon.waitForOutput(/Daemon listening on/);
      await serve.waitForOutput(/Following \S+ as group/);
      const preprocess = await pipeline.preprocess();
      expect(preprocess.exitCode, preprocess.stderr).toBe(0);
      await waitUntil(async () => ofType(await pipeline.runs(), 'LSTM', 'RUNNING')[0], 'a RUNNING LSTM run', 120_000);

      await privateKafka(dir, 'stop');
      await privateKafka(dir, 'start');

      const promotion = await waitUntil(async () => (await pipeline.promotions())[0], 'the automatic promotion', 300_000);
      const selected = (await pipeline.readTopic(pipeline.settings.bus.topics.modelSelected, 1, 60_000)).map(decodePromotion);
      expect(selected.map((notice) => notice.run_id)).toContain(promotion.run_id);
      const runs = await pipeline.runs();
      expect(ofType(runs, 'LSTM', 'SUCCESS')).toHaveLength(1);
      expect(ofType(runs, 'NAIVE', 'SUCCESS')).toHaveLength(1);
      expect(await pipeline.promotions()).toHaveLength(1);
      expect(await daemon.stop('SIGTERM')).toBe(0);
      // kafkajs keeps a socket to the restarted broker after the bus is closed: the replica said 'Stopped' and
      // lived on for ten minutes.
      await serve.waitForOutput(new RegExp(`Serving run ${promotion.run_id}`), 60_000);
      const stopped = await Promise.race([serve.stop('SIGTERM'), new Promise<string>((resolve) => setTimeout(() => resolve('still running 30 s after SIGTERM'), 30_000).unref())]);
      expect(stopped).toBe(0);
    }
  });
}
