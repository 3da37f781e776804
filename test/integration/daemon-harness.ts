import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { isolatedStack } from '../../src/core/config/isolated-stack.js';
import { createMessageBus } from '../../src/core/bus/index.js';
import type { MessageBus, ReceivedMessage } from '../../src/core/bus/message-bus.js';
import { listPromotionHistory } from '../../src/core/registry/promotion-history.js';
import type { PromotionRecord } from '../../src/core/registry/pointers.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { listRunRecords } from '../../src/core/registry/run-store.js';
import { readJsonResponse } from '../serve/serve-fixtures.js';
import { createS3Store } from '../../src/core/storage/s3-store.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { fsStoreRoot } from '../../src/core/storage/index.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { startFltsProcess, type FltsProcess } from '../helpers/flts-process.js';
import { runCli, type CliRun } from '../helpers/run-cli.js';
import { grantedInfraVars } from './infra-grant.js';
import { waitUntil } from '../helpers/wait-until.js';
import { readTopics } from '../helpers/read-topic.js';

export { waitUntil };
export type { FltsProcess };

/**
 * Runs the real pipeline as child processes (`flts preprocess`, `flts daemon`, `flts serve`) against the
 * Kafka and S3 servers the suite's global setup provides, or with `embedded` on the filesystem bus and store of
 * a home of its own. Every pipeline gets its own topics, consumer groups and buckets, so tests never see each
 * other's messages or objects. A test file that uses the servers imports ./infra-env.js, which waits for them;
 * this file does not, so embedded-only tests never wait for Kafka.
 */
export interface Pipeline {
  env: Record<string, string>;
  settings: Settings;
  store: ObjectStore;
  /** Starts `flts <args>` in the background with the pipeline's environment plus `extra`. */
  start(args: string[], extra?: Record<string, string>): FltsProcess;
  preprocess(extra?: Record<string, string>): Promise<CliRun>;
  runs(): Promise<RunRecord[]>;
  promotions(): Promise<PromotionRecord[]>;
  /** A bus client of the test itself (publishing claims, reading topics). */
  bus(): MessageBus;
  /** Every message on `topic` so far, read by a fresh group from the beginning. */
  readTopic(topic: string, atLeast: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

const DATA = ['--train', '../shared/datasets/PobleSec.csv', '--test', '../shared/datasets/PobleSec_test.csv'];

/** Tiny training so a whole pipeline takes seconds: 300 rows, one epoch, 8 hidden units, NAIVE + LSTM. */
export const TINY_TRAINING: Record<string, string> = {
  SAMPLE_TRAIN_ROWS: '300',
  SAMPLE_TEST_ROWS: '100',
  EPOCHS: '1',
  HIDDEN_SIZE: '8',
  NUM_LAYERS: '1',
  EXPECTED_MODEL_TYPES: 'NAIVE,LSTM',
  FLTS_TRAINER_MODELS: 'NAIVE,LSTM',
  FLTS_DAEMON_HEARTBEAT_MS: '300',
  FLTS_DAEMON_LEASE_STALE_MS: '2500',
  FAILURE_MAX_RETRIES: '2',
  FLTS_BUS_RETRY_BACKOFF_MS: '100',
  FLTS_BUS_RETRY_MAX_BACKOFF_MS: '1000',
  FLTS_SERVE_POLL_INTERVAL_MS: '0',
  FLTS_SERVE_PREDICTION_LOG: 'false',
  FLTS_LOG_LEVEL: 'info',
};

export function createPipeline(name: string, overrides: Record<string, string> = {}, options: { embedded?: boolean } = {}): Pipeline {
  const stack = isolatedStack(name);
  const home = options.embedded ? mkdtempSync(path.join(os.tmpdir(), `flts-${stack.prefix}-`)) : undefined;
  const distributed: Record<string, string> = home ? { FLTS_HOME: home, FLTS_STORE: 'fs', FLTS_BUS: 'fs' } : { ...grantedInfraVars(), FLTS_STORE: 's3', FLTS_BUS: 'kafka' };
  const env: Record<string, string> = {
    ...distributed,
    ...stack.env,
    ...TINY_TRAINING,
    ...overrides,
  };
  const { settings } = resolveSettings({ env });
  const store = home ? createFsStore(fsStoreRoot(settings)) : createS3Store(settings.store.s3);
  const buses: MessageBus[] = [];
  const processes: FltsProcess[] = [];
  const bus = (): MessageBus => {
    const created = createMessageBus(settings)!;
    buses.push(created);
    return created;
  };
  return {
    env,
    settings,
    store,
    start(args, extra = {}) {
      const proc = startFltsProcess(args, { ...env, ...extra });
      processes.push(proc);
      return proc;
    },
    preprocess: (extra = {}) => runCli(['preprocess', '--dataset', 'PobleSec', ...DATA], { env: { ...env, ...extra }, timeoutMs: 120_000 }),
    runs: () => listRunRecords(store, settings),
    promotions: () => listPromotionHistory(store, settings),
    bus,
    readTopic: (topic, atLeast, timeoutMs) => readTopics(bus(), [topic], atLeast, timeoutMs),
    async close() {
      await Promise.all(processes.map((proc) => proc.stop('SIGKILL')));
      await Promise.all(buses.map((b) => b.close()));
      if (home) rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}

export async function getJson(url: string): Promise<{ status: number; json: any }> {
  return readJsonResponse(await fetch(url));
}

export function ofType(runs: RunRecord[], modelType: string, status?: string): RunRecord[] {
  return runs.filter((run) => run.model_type === modelType && (status === undefined || run.status === status));
}
