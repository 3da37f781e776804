import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../src/core/logger.js';
import { freePort } from '../helpers/free-port.js';
import { REPO_ROOT } from '../helpers/run-cli.js';

const INFRA = path.join(REPO_ROOT, 'scripts/infra/infra.sh');

/**
 * Properties of a broker that can never host the group coordinator: __consumer_offsets needs two replicas and there
 * is one broker, so every FindCoordinator answers COORDINATOR_NOT_AVAILABLE. No group joins until the broker is
 * restarted without them, as while a restarted broker's coordinator is not back, only for as long as a test wants;
 * and kafkajs crashes a joining consumer with the non-retriable "Failed to find group coordinator" every time
 * instead of by timing.
 */
export const NO_COORDINATOR = ['offsets.topic.replication.factor=2'];

/** One line a recording logger kept, its fields as logged (an `err` included). */
export interface RecordedLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/**
 * A bus logger that keeps every line at info and above: as text (level, message, fields without `err`) for assertions
 * and for a failure's message, and as `entries` with their fields whole.
 */
export function recordingLogger(): { logger: Logger; lines: string[]; entries: RecordedLine[]; text(): string } {
  const lines: string[] = [];
  const entries: RecordedLine[] = [];
  const record = (level: string) => (fields: object, msg?: string) => {
    lines.push(`${level} ${msg ?? ''} ${JSON.stringify({ ...fields, err: undefined })}`);
    entries.push({ level, msg: msg ?? '', fields: fields as Record<string, unknown> });
  };
  const logger: Logger = { trace() {}, debug() {}, info: record('info'), warn: record('warn'), error: record('error'), child: () => logger };
  // kafkajs' own lines are many and rarely tell why a step did not happen.
  return { logger, lines, entries, text: () => lines.filter((line) => !line.includes('"kafka"')).join('\n') };
}

export interface PrivateKafka {
  /** host:port, for KAFKA_BOOTSTRAP_SERVERS. */
  brokers: string;
  /**
   * Stops the broker and starts it again on the same port with the same data, as a broker restart in production,
   * with the default settings plus `properties` (server.properties lines) this time.
   */
  restart(properties?: string[]): Promise<void>;
  /** Stops the broker (its port then refuses connections), keeping its state for a restart. */
  stop(): Promise<void>;
  /** Stops it and deletes its state. */
  down(): Promise<void>;
}

/**
 * A Kafka of one test file's own (its own state directory and ports): stopping it disturbs no other test file,
 * which the shared broker of the suite's setup must never be. The ports are chosen once, when the state directory is
 * created, and kept across the restart. Run asynchronously: a start can take minutes under load, and a worker whose
 * event loop is blocked for more than a minute misses vitest's reply to its last progress report ("Timeout calling
 * onTaskUpdate") and fails the run. `properties` (server.properties lines) apply to the first start only;
 * `options.kafkaPort`: the broker's port, for a test that must know it before the broker starts (a relay it advertises).
 */
export async function startPrivateKafka(properties: string[] = [], options: { kafkaPort?: number } = {}): Promise<PrivateKafka> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-kafka-'));
  const ports = { kafka: options.kafkaPort ?? (await freePort()), controller: await freePort() };
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
    stop: () => infra('stop'),
    down,
  };
}
