import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/free-port.js';
import { REPO_ROOT } from '../helpers/run-cli.js';

const INFRA = path.join(REPO_ROOT, 'scripts/infra/infra.sh');

export interface PrivateKafka {
  /** host:port, for KAFKA_BOOTSTRAP_SERVERS. */
  brokers: string;
  /**
   * Stops the broker and starts it again on the same port with the same data, as a broker restart in production,
   * with the default settings plus `properties` (server.properties lines) this time.
   */
  restart(properties?: string[]): Promise<void>;
  /** Stops it and deletes its state. */
  down(): Promise<void>;
}

/**
 * A Kafka of one test file's own (its own state directory and ports): stopping it disturbs no other test file,
 * which the shared broker of the suite's setup must never be. The ports are chosen once, when the state directory is
 * created, and kept across the restart. Run asynchronously: a start can take minutes under load, and a worker whose
 * event loop is blocked for more than a minute misses vitest's reply to its last progress report ("Timeout calling
 * onTaskUpdate") and fails the run. `properties` (server.properties lines) apply to the first start only.
 */
export async function startPrivateKafka(properties: string[] = []): Promise<PrivateKafka> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-kafka-'));
  const ports = { kafka: await freePort(), controller: await freePort() };
  const infra = async (action: 'start' | 'stop' | 'down', overrides: string[] = []): Promise<void> => {
    const args = action === 'down' ? [INFRA, 'down'] : [INFRA, action, 'kafka'];
    const env = { ...process.env, FLTS_INFRA_DIR: dir, FLTS_INFRA_TIMEOUT: '150', FLTS_INFRA_KAFKA_PORT: String(ports.kafka), FLTS_INFRA_KAFKA_CONTROLLER_PORT: String(ports.controller), FLTS_INFRA_KAFKA_PROPERTIES: overrides.join('\n') };
    try {
      await promisify(execFile)('bash', args, { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 180_000 });
    } catch (error) {
      throw new Error(`infra.sh ${args.slice(1).join(' ')} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
    }
  };
  const down = async (): Promise<void> => {
    await infra('down');
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  };
  await infra('start', properties).catch(async (error: unknown) => {
    await down().catch(() => {});
    throw error;
  });
  return {
    brokers: /^KAFKA_BOOTSTRAP_SERVERS=(.*)$/m.exec(readFileSync(path.join(dir, 'env'), 'utf8'))![1],
    async restart(overrides = []) {
      await infra('stop');
      await infra('start', overrides);
    },
    down,
  };
}
