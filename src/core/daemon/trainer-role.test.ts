import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus, ReceivedMessage, Subscription } from '../bus/message-bus.js';
import { decodeDeadLetter, decodeTrainingEvent, encodeTrainClaim } from '../bus/messages.js';
import { roleDlq, trainerGroupId } from '../bus/topics.js';
import { defaultSettings, resolveSettings, type Settings } from '../config/settings.js';
import { runPreprocess } from '../preprocess/run-preprocess.js';
import { silentLogger, type Logger } from '../logger.js';
import { acquireLease, leaseKey, readLease } from '../registry/work-lease.js';
import { currentRunOwner, listRunRecords } from '../registry/run-store.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import { pollUntil } from '../retry.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { addLoadableRun, addProcessedData } from '../workflows/loadable-run.fixture.js';
import type { FltsEvent } from '../events.js';
import { MODEL_ARTIFACT_FILES } from '../registry/run-artifacts.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { buildHealthServer } from './health-server.js';
import { startPromoterRole } from './promoter-role.js';
import { startTrainerRole } from './trainer-role.js';

/** A finished NAIVE run of `configHash`, on processed data created at `dataCreatedAt`. */
function trainedRun(runId: string, configHash: string, dataCreatedAt: string): RunRecord {
  const run = fakeRun(runId, 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', configHash);
  return { ...run, data: { ...run.data, processed_created_at: dataCreatedAt }, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } };
}

/** A train or test file of `rows` two-minute rows, the same rows for the same count. */
function trainCsv(rows: number, from = 0): string {
  const lines = ['time,down,up'];
  for (let i = 0; i < rows; i++) lines.push(`${new Date(Date.UTC(2018, 1, 5) + (from + i) * 120_000).toISOString().slice(0, 19).replace('T', ' ')},${100 + ((i * 37) % 50)},${i % 11}`);
  return `${lines.join('\n')}\n`;
}

/** `bus` whose subscriptions deliver nothing: a replica given no partition of its group, or one killed before it consumes. */
function withoutDeliveries(bus: MessageBus): MessageBus {
  return { ...bus, subscribe: async (options) => ({ group: options.group, topics: options.topics, stop: async () => {} }) };
}

/** True once `group` has handled every message of `topic`. */
async function caughtUp(bus: MessageBus, group: string, topic: string): Promise<boolean> {
  return (await bus.lag(group, [topic])).every((partition) => partition.lag === 0);
}

let root: string;
let bus: MessageBus;

/** The runs of the SUCCESS notices `bus` carries on `modelTraining`, in order, and the reader to stop. */
async function successNotices(modelTraining: string): Promise<{ notices: string[]; reader: Subscription }> {
  const notices: string[] = [];
  const reader = await bus.subscribe({ group: 'test-training', topics: [modelTraining] }, async (message) => {
    const event = decodeTrainingEvent(message);
    if (event.status === 'SUCCESS') notices.push(event.runId);
  });
  return { notices, reader };
}

/**
 * Settings and a store for a NAIVE trainer on files under the test's root, and `preprocessRows`, which writes `rows`
 * rows under the same training file name and preprocesses them on day `day` (its config_hash).
 */
function rowsHome(): { settings: Settings; store: ObjectStore; preprocessRows: (rows: number, day: number) => Promise<string> } {
  const data = path.join(root, 'data');
  const { settings } = resolveSettings({ flags: { 'data.dataDir': data, 'data.trainFile': 'train.csv', 'data.testFile': 'test.csv' } });
  settings.daemon.trainerModels = ['NAIVE'];
  settings.daemon.resyncIntervalMs = 86_400_000;
  const store = createFsStore(path.join(root, 'store'));
  mkdirSync(data, { recursive: true });
  // After the last training time (training files have at most 100 rows).
  writeFileSync(path.join(data, 'test.csv'), trainCsv(30, 100));
  const preprocessRows = async (rows: number, day: number): Promise<string> => {
    writeFileSync(path.join(data, 'train.csv'), trainCsv(rows));
    return (await runPreprocess(settings, { store, now: () => new Date(Date.UTC(2025, 10, day)) })).configHash;
  };
  return { settings, store, preprocessRows };
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-trainer-role-'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

describe('core > daemon > trainer-role', () => {
  it('dead-letters a claim whose config_hash names no processed version ("default_cfg") as an invalid message, not as a setting to fix', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    const store = createFsStore(path.join(root, 'store'));
    const dlq = roleDlq(settings, 'trainer').topic;
    await bus.ensureTopics([dlq, settings.bus.topics.trainingData]);
    let deadLetter: (message: ReceivedMessage) => void = () => {};
    const deadLettered = new Promise<ReceivedMessage>((resolve) => (deadLetter = resolve));
    await bus.subscribe({ group: 'test-dlq', topics: [dlq] }, async (message) => deadLetter(message));
    const controller = new AbortController();
    const role = await startTrainerRole({ settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'trainer-a', signal: controller.signal });
    try {
      await bus.publish(settings.bus.topics.trainingData, encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 10, configHash: 'default_cfg', identifier: '' }));
      const letter = decodeDeadLetter(await deadLettered);
      expect(letter).toMatchObject({ operation: 'train', role: 'trainer', payload: { config_hash: 'default_cfg' } });
      expect(letter.error).toMatch(/^FLTS_BUS_MESSAGE_INVALID: .*config_hash.*"default_cfg"/);
    } finally {
      controller.abort();
      await role.stop();
    }
  }, 60_000);

  it('answers a claim for data already trained with the run\'s SUCCESS: the promoter promotes it at once, not at its next resync', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    settings.daemon.expectedModelTypes = ['NAIVE'];
    // A day: within this test only a message can wake the promoter for data that appears after its startup.
    settings.daemon.resyncIntervalMs = 86_400_000;
    const { trainingData, modelTraining, modelSelected } = settings.bus.topics;
    const store = createFsStore(path.join(root, 'store'));
    await addLoadableRun(store, settings, trainedRun('naive-old', 'a'.repeat(64), '2025-01-01T00:00:00.000Z'));
    const notices: string[] = [];
    const selected: string[] = [];
    await bus.ensureTopics([trainingData, modelTraining, modelSelected]);
    const readers = [
      await bus.subscribe({ group: 'test-training', topics: [modelTraining] }, async (message) => {
        const event = decodeTrainingEvent(message);
        notices.push(event.status === 'SUCCESS' ? event.runId : event.status);
      }),
      await bus.subscribe({ group: 'test-selected', topics: [modelSelected] }, async (message) => void selected.push(message.value)),
    ];
    const controller = new AbortController();
    const base = { settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), signal: controller.signal };
    const roles = [await startTrainerRole({ ...base, owner: 'trainer-a' }), await startPromoterRole({ ...base, owner: 'promoter-a' })];
    const promoted = async (): Promise<string[]> => (await listPromotionHistory(store, settings)).map((record) => record.run_id);
    const within = (): AbortSignal => AbortSignal.timeout(30_000);
    try {
      // The startup resync promotes the data present then, and its candidates were read before anything below.
      expect(await pollUntil(20, within(), async () => (await promoted()).length === 1)).toBe(true);
      // Newer data trained where no bus was told (`flts train` without FLTS_BUS), then claimed by a `flts preprocess`
      // that finds it cached: the trainer has nothing to train.
      const hash = 'b'.repeat(64);
      await addLoadableRun(store, settings, trainedRun('naive-new', hash, '2025-02-01T00:00:00.000Z'));
      const claim = encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 40, configHash: hash, identifier: '' });
      await bus.publish(trainingData, claim);
      expect(await pollUntil(20, within(), async () => (await promoted()).length === 2)).toBe(true);
      expect(await promoted()).toEqual(['naive-old', 'naive-new']);

      // The same claim again (a replay): one more notice for it, and the promoter, deciding from the history, promotes nothing twice.
      await bus.publish(trainingData, claim);
      expect(await pollUntil(20, within(), async () => (await caughtUp(bus, trainerGroupId('NAIVE'), trainingData)) && (await caughtUp(bus, settings.bus.groups.promoter, modelTraining)) && (await caughtUp(bus, 'test-training', modelTraining)) && (await caughtUp(bus, 'test-selected', modelSelected)))).toBe(true);
      expect(notices).toEqual(['naive-new', 'naive-new']);
      expect(await promoted()).toEqual(['naive-old', 'naive-new']);
      expect(selected).toHaveLength(2);
    } finally {
      controller.abort();
      for (const role of roles) await role.stop();
      for (const reader of readers) await reader.stop();
    }
  }, 60_000);

  it('leaves a claim whose training the daemon\'s stop aborted uncommitted for the next start: neither retried nor dead-lettered', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    settings.daemon.resyncIntervalMs = 86_400_000;
    const { trainingData } = settings.bus.topics;
    const hash = 'e'.repeat(64);
    const store = createFsStore(path.join(root, 'store'));
    const busLines: string[] = [];
    const busLogger: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn: (_obj, msg) => void busLines.push(msg ?? ''), error: (_obj, msg) => void busLines.push(msg ?? ''), child: () => busLogger };
    const quick = createFsBus({ root: path.join(root, 'quick-bus'), pollIntervalMs: 10, retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 20 }, logger: busLogger });
    await quick.ensureTopics([trainingData]);
    // How each attempt of the role's handler ended: while its subscription still consumed (the bus retries it), or once stopped.
    const failures: string[] = [];
    const observed: MessageBus = {
      ...quick,
      subscribe: (options, handler) =>
        quick.subscribe(options, async (message, context) => {
          try {
            await handler(message, context);
          } catch (error) {
            failures.push(context.signal.aborted ? 'after-stop' : 'while-consuming');
            throw error;
          }
        }),
    };
    // Another trainer, alive, holds the lease: this one's step waits for it until the stop aborts the wait.
    const other = await acquireLease({ store, settings, owner: 'trainer-other', logger: silentLogger }, { step: 'train', configHash: hash, modelType: 'NAIVE' });
    const steps: string[] = [];
    const metrics = createDaemonMetrics();
    const counting = { ...metrics, countStep: (role: string, step: string, result: Parameters<typeof metrics.countStep>[2]) => (steps.push(result), metrics.countStep(role, step, result)) };
    const stopping = new AbortController();
    const role = await startTrainerRole({ settings, store, bus: observed, logger: silentLogger, metrics: counting, owner: 'trainer-a', signal: stopping.signal });
    try {
      await quick.publish(trainingData, encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 10, configHash: hash, identifier: '' }));
      expect(await pollUntil(10, AbortSignal.timeout(20_000), async () => steps.includes('waiting'))).toBe(true);
      // The daemon stops: the roles' work is aborted first, their subscriptions are stopped after (the trainer's last).
      stopping.abort();
      await new Promise((resolve) => setImmediate(resolve));
      await role.stop();
      expect(failures).toEqual(['after-stop']);
      expect(busLines).toEqual([]);
      expect(await caughtUp(quick, trainerGroupId('NAIVE'), trainingData)).toBe(false);
    } finally {
      stopping.abort();
      await role.stop();
      await other?.release();
      await quick.close();
    }
  }, 60_000);

  it('removes at startup the lease a trainer killed outright left on a run it had finished, which no claim or resync would take over', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    const store = createFsStore(path.join(root, 'store'));
    const hash = 'd'.repeat(64);
    await addLoadableRun(store, settings, trainedRun('naive-finished', hash, '2026-01-01T00:00:00.000Z'));
    // Its holder, killed after the run's SUCCESS and before its release: a process of this host that is gone.
    const exited = spawn(process.execPath, ['-e', '']);
    const pid = await new Promise<number>((resolve) => exited.on('exit', () => resolve(exited.pid!)));
    const stamp = new Date().toISOString();
    const key = leaseKey('train', hash, 'NAIVE');
    await store.put(settings.store.buckets.runs, key, JSON.stringify({ owner: 'trainer-killed', step: 'train', config_hash: hash, model_type: 'NAIVE', acquired_at: stamp, heartbeat_at: stamp, beats: 2, run_id: 'naive-finished', process: { ...currentRunOwner(), pid } }));
    const controller = new AbortController();
    const role = await startTrainerRole({ settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'trainer-a', signal: controller.signal });
    try {
      expect(await pollUntil(20, AbortSignal.timeout(20_000), async () => (await readLease(store, settings, key)) === undefined)).toBe(true);
    } finally {
      controller.abort();
      await role.stop();
    }
  }, 60_000);

  it('answers a claim redelivered while its startup resync trains the data with that training\'s one SUCCESS (a restart after kill -9), not a second', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    settings.daemon.resyncIntervalMs = 86_400_000;
    const { trainingData, modelTraining } = settings.bus.topics;
    const hash = 'c'.repeat(64);
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, hash);
    await bus.ensureTopics([trainingData, modelTraining]);
    const { notices, reader } = await successNotices(modelTraining);
    const claim = encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 40, configHash: hash, identifier: '' });
    // The claim the killed trainer never committed comes back once the restarted one's resync trains its data.
    const onEvent = (event: FltsEvent): void => {
      if (event.type === 'train.start') void bus.publish(trainingData, claim);
    };
    const controller = new AbortController();
    const role = await startTrainerRole({ settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'trainer-a', signal: controller.signal, onEvent });
    try {
      const handled = async (): Promise<boolean> => (await bus.lag(trainerGroupId('NAIVE'), [trainingData])).some((partition) => partition.committedOffset === 1);
      expect(await pollUntil(20, AbortSignal.timeout(30_000), async () => (await handled()) && (await caughtUp(bus, 'test-training', modelTraining)))).toBe(true);
      const runs = (await listRunRecords(store, settings, { configHash: hash })).map((run) => [run.run_id, run.status]);
      expect(runs).toEqual([[expect.any(String), 'SUCCESS']]);
      expect(notices).toEqual([runs[0][0]]);
    } finally {
      controller.abort();
      await role.stop();
      await reader.stop();
    }
  }, 60_000);

  it('answers a claim that takes the config_hash back to rows it trained before (A -> B -> A) with that run\'s SUCCESS, though this process trained it', async () => {
    const { settings, store, preprocessRows } = rowsHome();
    const { trainingData, modelTraining } = settings.bus.topics;
    const hash = await preprocessRows(80, 4);
    await bus.ensureTopics([trainingData, modelTraining]);
    const { notices, reader } = await successNotices(modelTraining);
    const claim = encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 80, configHash: hash, identifier: '' });
    const claimsHandled = async (count: number): Promise<boolean> =>
      (await bus.lag(trainerGroupId('NAIVE'), [trainingData])).some((partition) => partition.committedOffset === count) && (await caughtUp(bus, 'test-training', modelTraining));
    const controller = new AbortController();
    const role = await startTrainerRole({ settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'trainer-a', signal: controller.signal });
    try {
      // The startup resync trains A's rows, announced by that training.
      expect(await pollUntil(20, AbortSignal.timeout(30_000), async () => notices.length === 1)).toBe(true);
      const [runOfA] = notices;
      // B's rows under the same file names: trained on its claim.
      await preprocessRows(100, 5);
      await bus.publish(trainingData, claim);
      expect(await pollUntil(20, AbortSignal.timeout(30_000), async () => (await claimsHandled(1)) && notices.length === 2)).toBe(true);
      // Back to A's files: nothing to train, and the promoter has to hear of A's run again to promote it back.
      await preprocessRows(80, 6);
      await bus.publish(trainingData, claim);
      expect(await pollUntil(20, AbortSignal.timeout(30_000), async () => claimsHandled(2))).toBe(true);
      expect(notices).toEqual([runOfA, expect.not.stringMatching(runOfA), runOfA]);
    } finally {
      controller.abort();
      await role.stop();
      await reader.stop();
    }
  }, 60_000);
  it('answers a claim that takes the config_hash back to rows it trained (A -> B -> A) at once, though another trainer sharing its store trained B', async () => {
    const { settings, store, preprocessRows } = rowsHome();
    const { trainingData, modelTraining } = settings.bus.topics;
    const hash = await preprocessRows(80, 4);
    await bus.ensureTopics([trainingData, modelTraining]);
    const { notices, reader } = await successNotices(modelTraining);
    const within = (): AbortSignal => AbortSignal.timeout(30_000);
    const controller = new AbortController();
    const base = { settings, store, bus, logger: silentLogger, signal: controller.signal };
    const role = await startTrainerRole({ ...base, metrics: createDaemonMetrics(), owner: 'trainer-a' });
    try {
      // This trainer's startup resync trains A's rows.
      expect(await pollUntil(20, within(), async () => notices.length === 1)).toBe(true);
      const [runOfA] = notices;
      // B's rows under the same file names, trained by the other replica (its startup resync), unseen by this one. The
      // claims' partition is this one's: the replica's consumers get none.
      await preprocessRows(100, 5);
      const replica = await startTrainerRole({ ...base, bus: withoutDeliveries(bus), metrics: createDaemonMetrics(), owner: 'trainer-b' });
      try {
        expect(await pollUntil(20, within(), async () => notices.length === 2)).toBe(true);
      } finally {
        await replica.stop();
      }
      // Back to A's files, claimed: the promoter has to hear of A's run again to promote it back now, not at its resync.
      await preprocessRows(80, 6);
      await bus.publish(trainingData, encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 80, configHash: hash, identifier: '' }));
      const handled = async (): Promise<boolean> => (await bus.lag(trainerGroupId('NAIVE'), [trainingData])).some((partition) => partition.committedOffset === 1) && (await caughtUp(bus, 'test-training', modelTraining));
      expect(await pollUntil(20, within(), handled)).toBe(true);
      expect(notices).toEqual([runOfA, expect.not.stringMatching(runOfA), runOfA]);
    } finally {
      controller.abort();
      await role.stop();
      await reader.stop();
    }
  }, 60_000);

  it('commits without a second SUCCESS a claim redelivered to a restarted trainer after the trainer before it announced the claim\'s run', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    settings.daemon.resyncIntervalMs = 86_400_000;
    const { trainingData, modelTraining } = settings.bus.topics;
    const hash = 'f'.repeat(64);
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, hash);
    await bus.ensureTopics([trainingData, modelTraining]);
    const { notices, reader } = await successNotices(modelTraining);
    await bus.publish(trainingData, encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 40, configHash: hash, identifier: '' }));
    const within = (): AbortSignal => AbortSignal.timeout(30_000);
    // The first trainer trains the claimed data and announces it, then is killed before it commits the claim: here a
    // trainer whose subscriptions never deliver, its startup resync training the data.
    const killed = new AbortController();
    const first = await startTrainerRole({ settings, store, bus: withoutDeliveries(bus), logger: silentLogger, metrics: createDaemonMetrics(), owner: 'trainer-killed', signal: killed.signal });
    try {
      expect(await pollUntil(20, within(), async () => notices.length === 1)).toBe(true);
    } finally {
      killed.abort();
      await first.stop();
    }
    const controller = new AbortController();
    const restarted = await startTrainerRole({ settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'trainer-restarted', signal: controller.signal });
    try {
      const handled = async (): Promise<boolean> => (await bus.lag(trainerGroupId('NAIVE'), [trainingData])).some((partition) => partition.committedOffset === 1) && (await caughtUp(bus, 'test-training', modelTraining));
      expect(await pollUntil(20, within(), handled)).toBe(true);
      expect((await listRunRecords(store, settings, { configHash: hash })).map((run) => run.status)).toEqual(['SUCCESS']);
      expect(notices).toHaveLength(1);
    } finally {
      controller.abort();
      await restarted.stop();
      await reader.stop();
    }
  }, 60_000);
  it('fails /livez with FLTS_TRAIN_STALLED and since when (the run on /status and in the log, not on /livez), once its training has not moved past training.stallTimeoutMs, and no longer once it ends', async () => {
    const { settings, store: fsStore, preprocessRows } = rowsHome();
    settings.training.stallTimeoutMs = 60_000;
    await preprocessRows(100, 1);
    // The model's artifact write never answers until released: the training stops moving after its last forecast chunk.
    let reached: () => void = () => {};
    const stuck = new Promise<void>((resolve) => (reached = resolve));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const store: ObjectStore = {
      ...fsStore,
      put: async (bucket, key, body, options) => {
        if (key.endsWith(MODEL_ARTIFACT_FILES.NAIVE)) {
          reached();
          await released;
        }
        return fsStore.put(bucket, key, body, options);
      },
    };
    let clock = 0;
    let runId = '';
    const controller = new AbortController();
    const metrics = createDaemonMetrics({ processMetrics: false });
    const onEvent = (event: FltsEvent): void => {
      if (event.type === 'train.start') runId = event.runId;
    };
    // The startup resync trains the processed data there: no claim needed.
    const logged: Array<Record<string, unknown>> = [];
    const logger: Logger = { ...silentLogger, warn: (fields: object, msg?: string) => void logged.push({ ...fields, msg }), child: () => logger };
    const role = await startTrainerRole({ settings, store, bus, logger, metrics, owner: 'trainer-a', signal: controller.signal, monotonic: () => clock, onEvent });
    const app = await buildHealthServer({ settings, store, bus, metrics, roles: () => [role], started: () => true });
    try {
      await stuck;
      expect(runId).toMatch(/^[0-9a-f]{32}$/);
      // At the bound, still alive: a fit is stalled only once it has been idle longer than the bound.
      clock = 60_000;
      expect(await app.inject({ method: 'GET', url: '/livez' }).then((answer) => answer.json())).toEqual({ status: 'live' });
      clock = 60_001;
      const livez = await app.inject({ method: 'GET', url: '/livez' });
      expect(livez.statusCode).toBe(503);
      const since = livez.json().since as string;
      expect(livez.json()).toEqual({ status: 'not_live', role: 'trainer', code: 'FLTS_TRAIN_STALLED', reason: expect.any(String), since: expect.any(String), stalled_ms: 60_001, bound_ms: 60_000 });
      expect(livez.body).not.toContain(runId);
      expect(livez.body).not.toMatch(/NAIVE|[0-9a-f]{64}/);
      // The operator finds the run in the log, said once however often the probe asks.
      await app.inject({ method: 'GET', url: '/livez' });
      expect(logged.filter((line) => line.msg === 'daemon_training_stalled')).toEqual([expect.objectContaining({ code: 'FLTS_TRAIN_STALLED', run_id: runId, model_type: 'NAIVE', last_progress_at: since, idle_ms: 60_001, bound_ms: 60_000 })]);
      expect(Date.parse(since)).toBeLessThanOrEqual(Date.now());
      const status = (await app.inject({ method: 'GET', url: '/status' })).json();
      expect(status.roles[0].training).toEqual([expect.objectContaining({ run_id: runId, model_type: 'NAIVE', last_progress_at: since, idle_ms: 60_001, stalled: true })]);
      const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(scrape).toContain(`flts_daemon_training_stalled_since_timestamp_seconds{model_type="NAIVE",run_id="${runId}"} ${Math.floor(Date.parse(since) / 1000)}`);
      expect(scrape).toContain('flts_daemon_training_idle_seconds{model_type="NAIVE"} 60');
    } finally {
      release();
      controller.abort();
      await role.stop();
      await app.close();
    }
    // Its training over, however it ended, the clock of that run counts no more.
    clock = 10_000_000;
    expect(role.liveness?.()).toBeUndefined();
    expect(role.status().training).toEqual([]);
  }, 60_000);
});
