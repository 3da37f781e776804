import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import type { ObjectStore } from '../storage/object-store.js';
import { encodeInferenceClaim } from '../bus/messages.js';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { readTableBytes } from '../data/read-table.js';
import { silentLogger, type Logger } from '../logger.js';
import { processedKeys } from '../preprocess/processed-layout.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { pollUntil } from '../retry.js';
import { createFsStore } from '../storage/fs-store.js';
import { addLoadableRun } from '../workflows/loadable-run.fixture.js';
import { startBatchInferenceRole } from './batch-role.js';
import { createDaemonMetrics } from './daemon-metrics.js';

// The parse on this thread, spied on; the worker thread parses with the built module, which this does not replace.
vi.mock('../data/read-table.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../data/read-table.js')>();
  return { ...actual, readTableBytes: vi.fn(actual.readTableBytes) };
});

const HASH = 'e'.repeat(64);
let root: string;
let bus: MessageBus;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-batch-role-'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  for (const stop of started.splice(0)) await stop();
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/** A NAIVE run of HASH in an fs store under root, loadable, and the settings that serve it. */
async function servedNaive(): Promise<{ settings: ReturnType<typeof defaultSettings>; store: ObjectStore; run: ReturnType<typeof fakeRun> }> {
  const settings = defaultSettings();
  const store = createFsStore(path.join(root, 'store'));
  const run = fakeRun('naive-1', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
  await addLoadableRun(store, settings, run);
  settings.serve.runId = run.run_id;
  return { settings, store, run };
}

/** Stops of the roles a test started, run after it, before its bus closes. */
const started: Array<() => Promise<void>> = [];

/** The batch role on `store` and the test's bus, stopped after the test. */
async function startRole(settings: ReturnType<typeof defaultSettings>, store: ObjectStore, metrics = createDaemonMetrics({ processMetrics: false }), on = bus): Promise<Awaited<ReturnType<typeof startBatchInferenceRole>>> {
  const controller = new AbortController();
  const role = await startBatchInferenceRole({ settings, store, bus: on, logger: silentLogger, metrics, owner: 'batch-a', signal: controller.signal });
  started.push(async () => {
    controller.abort();
    await role.stop();
  });
  return role;
}

describe('core > daemon > batch-role', () => {
  it('parses a claimed table off the daemon thread when it is started without claimReads (no serving role to share with)', async () => {
    const { settings, store, run } = await servedNaive();
    const role = await startRole(settings, store, createDaemonMetrics());
    await bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: settings.store.buckets.processed, object: processedKeys(settings, HASH).testParquet, size: 0, configHash: HASH, identifier: '' }));
    const handled = await pollUntil(20, AbortSignal.timeout(60_000), async () => role.status().claims_handled === 1);
    expect(handled).toBe(true);
    expect(role.status().last_result).toMatchObject({ status: 'written', run_id: run.run_id });
    expect(vi.mocked(readTableBytes)).not.toHaveBeenCalled();
  }, 90_000);

  it('says what a claim waits for (no model promoted yet) while it is retried, neither handled nor failed', async () => {
    const settings = defaultSettings();
    const store = createFsStore(path.join(root, 'store'));
    const role = await startRole(settings, store);
    await bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: settings.store.buckets.processed, object: processedKeys(settings, HASH).testParquet, size: 0, configHash: HASH, identifier: '' }));
    expect(await pollUntil(20, AbortSignal.timeout(30_000), async () => role.status().waiting !== null && role.status().waiting !== undefined)).toBe(true);
    expect(role.status()).toMatchObject({ claims_handled: 0, claims_failed: 0, waiting: { code: 'FLTS_SERVE_NO_MODEL', message: expect.any(String), since: expect.any(String) } });
  }, 60_000);

  it('logs a claim that arrives before any promotion as waiting for one, at warn once then debug, not as an outage retry using up attempts', async () => {
    const settings = defaultSettings();
    const store = createFsStore(path.join(root, 'store'));
    const lines: Array<{ level: string; msg?: string; fields: Record<string, unknown> }> = [];
    let enough!: () => void;
    // Five checks, past the three attempts of the retry limit; or the first outage retry, which the wait is not.
    const seen = new Promise<void>((resolve) => (enough = resolve));
    const at = (level: string) => (fields: Record<string, unknown>, msg?: string) => {
      if (msg !== 'bus_handler_waiting_for_promotion' && msg !== 'bus_handler_outage_retry') return;
      lines.push({ level, msg, fields });
      if (msg === 'bus_handler_outage_retry' || lines.length === 5) enough();
    };
    const logger = { ...silentLogger, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
    logger.child = () => logger;
    const logged = createFsBus({ root: path.join(root, 'logged-bus'), pollIntervalMs: 10, logger, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 20 } });
    await startRole(settings, store, undefined, logged);
    // After the role's stop, which leaves its subscription on this bus.
    started.push(() => logged.close());
    await logged.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: settings.store.buckets.processed, object: processedKeys(settings, HASH).testParquet, size: 0, configHash: HASH, identifier: '' }));
    await seen;
    expect(lines.map(({ level, msg, fields }) => ({ level, msg, checks: fields.checks, attempt: fields.attempt, group: fields.group, code: fields.code }))).toEqual(
      [1, 2, 3, 4, 5].map((checks) => ({ level: checks === 1 ? 'warn' : 'debug', msg: 'bus_handler_waiting_for_promotion', checks, attempt: undefined, group: 'batch-inference', code: 'FLTS_SERVE_NO_MODEL' })),
    );
  }, 60_000);

  it('shows the claim it forecasts in current_work until it is done', async () => {
    const { settings, store: fsStore } = await servedNaive();
    const claimed = processedKeys(settings, HASH).testParquet;
    // The claimed object's read waits for the test, so the forecast is under way while the test looks.
    let reading: () => void = () => {};
    const read = new Promise<void>((resolve) => (reading = resolve));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const store: ObjectStore = { ...fsStore, get: async (bucket, key) => (key === claimed ? (reading(), await released, fsStore.get(bucket, key)) : fsStore.get(bucket, key)) };
    const metrics = createDaemonMetrics({ processMetrics: false });
    const role = await startRole(settings, store, metrics);
    try {
      await bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: settings.store.buckets.processed, object: claimed, size: 0, configHash: HASH, identifier: '' }));
      await read;
      expect(metrics.currentWork()).toEqual([{ role: 'batch', step: 'infer', configHash: HASH, modelType: '', since: expect.any(String) }]);
      release();
      expect(await pollUntil(20, AbortSignal.timeout(60_000), async () => role.status().claims_handled === 1)).toBe(true);
      expect(metrics.currentWork()).toEqual([]);
      expect(role.status()).toMatchObject({ claims_failed: 0, last_error: null, waiting: null });
    } finally {
      release();
    }
  }, 90_000);

  it('counts the claims it failed and says why the last one did, beside the last result', async () => {
    const settings = defaultSettings();
    const store = createFsStore(path.join(root, 'store'));
    const metrics = createDaemonMetrics({ processMetrics: false });
    const role = await startRole(settings, store, metrics);
    // A claim that breaks the topic's contract is dead-lettered at once: one failure, nothing forecast.
    await bus.publish(settings.bus.topics.inferenceData, { key: 'inference-claim', value: '{"not":"a claim"}' });
    expect(await pollUntil(20, AbortSignal.timeout(30_000), async () => role.status().claims_failed === 1)).toBe(true);
    expect(role.status()).toMatchObject({ claims_handled: 0, last_result: null, claims_failed: 1, last_error: { code: 'FLTS_BUS_MESSAGE_INVALID', message: expect.any(String), at: expect.any(String) } });
    expect(metrics.currentWork()).toEqual([]);
  }, 60_000);

  it.each([['upper case', HASH.toUpperCase()], ['the reference trainer\'s default', 'default_cfg']])('dead-letters a claim whose config_hash is %s as invalid, reading nothing', async (_name, configHash) => {
    const { settings, store: fsStore } = await servedNaive();
    const processedReads: string[] = [];
    const store: ObjectStore = { ...fsStore, get: async (bucket, key) => (bucket === settings.store.buckets.processed && processedReads.push(key), fsStore.get(bucket, key)) };
    const metrics = createDaemonMetrics({ processMetrics: false });
    const role = await startRole(settings, store, metrics);
    // What the root key holds is another version's rows than the run's, or none: the claim names no version to read.
    await bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: settings.store.buckets.processed, object: 'test_processed_data.parquet', size: 0, configHash, identifier: '' }));
    expect(await pollUntil(20, AbortSignal.timeout(30_000), async () => role.status().last_result !== null || role.status().last_error !== null)).toBe(true);
    expect(role.status()).toMatchObject({ claims_handled: 0, claims_failed: 1, last_error: { code: 'FLTS_BUS_MESSAGE_INVALID', message: expect.stringContaining('"config_hash"') } });
    expect(processedReads).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('flts_daemon_steps_total')).toContain('role="batch",step="infer",result="invalid"} 1');
  }, 60_000);

  it('reads a claim of other data than the processed files whatever its config_hash: it has no version to name', async () => {
    const { settings, store: fsStore } = await servedNaive();
    const reads: string[] = [];
    const store: ObjectStore = { ...fsStore, get: async (bucket, key) => (reads.push(`${bucket}/${key}`), fsStore.get(bucket, key)) };
    const role = await startRole(settings, store);
    await bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: 'incoming', object: 'day1.csv', size: 0, configHash: 'cfg1', identifier: '' }));
    expect(await pollUntil(20, AbortSignal.timeout(30_000), async () => role.status().last_error !== null)).toBe(true);
    expect(role.status()).toMatchObject({ last_error: { code: 'FLTS_STORE_NOT_FOUND' } });
    expect(reads).toContain('incoming/day1.csv');
  }, 60_000);

  it('counts a claim that fails every attempt as one failed claim, not one per attempt', async () => {
    const { settings, store: fsStore } = await servedNaive();
    const claimed = processedKeys(settings, HASH).testParquet;
    const store: ObjectStore = { ...fsStore, get: async (bucket, key) => (key === claimed ? Promise.reject(new FltsError('FLTS_STORE_NOT_FOUND', 'Gone.')) : fsStore.get(bucket, key)) };
    const attempts: number[] = [];
    let deadLettered: () => void = () => {};
    const dead = new Promise<void>((resolve) => (deadLettered = resolve));
    const retrying = createFsBus({
      root: path.join(root, 'bus'),
      pollIntervalMs: 10,
      retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1 },
      onDelivery: (event) => {
        attempts.push(event.attempts);
        if (event.outcome === 'dead-lettered') deadLettered();
      },
    });
    const controller = new AbortController();
    const role = await startBatchInferenceRole({ settings, store, bus: retrying, logger: silentLogger, metrics: createDaemonMetrics({ processMetrics: false }), owner: 'batch-a', signal: controller.signal });
    try {
      await retrying.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: settings.store.buckets.processed, object: claimed, size: 0, configHash: HASH, identifier: '' }));
      await dead;
      expect(attempts.at(-1)).toBe(3);
      expect(role.status()).toMatchObject({ claims_handled: 0, claims_failed: 1, last_error: { code: 'FLTS_STORE_NOT_FOUND' } });
    } finally {
      controller.abort();
      await role.stop();
      await retrying.close();
    }
  }, 60_000);
});
