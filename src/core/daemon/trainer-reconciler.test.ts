import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { silentLogger } from '../logger.js';
import { beat as beatOf, foreignRun as foreignRunOf, heartbeatReads } from '../registry/foreign-run.fixture.js';
import type { RunOwner, RunRecord } from '../registry/run-record.js';
import { currentRunOwner, listRunRecords, processStartOf, readRunRecord, saveRunRecord } from '../registry/run-store.js';
import { leaseKey, readLease } from '../registry/work-lease.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { addProcessedData } from '../workflows/loadable-run.fixture.js';
import { preprocess } from '../workflows/preprocess.js';
import { trainModels } from '../workflows/train.js';
import { FltsError } from '../errors.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { createMirrorQueue } from './mirror-queue.js';
import { createSerialQueue } from './serial-queue.js';
import { reconcileTraining, type TrainerContext } from './trainer-reconciler.js';

const HASH = 'e'.repeat(64);
const { settings } = resolveSettings({ env: { INPUT_SEQ_LEN: '4', FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '5000' } });
let root: string;
let bus: MessageBus;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-trainer-'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

function trainer(owner: string, store: ObjectStore): TrainerContext {
  return { settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner, signal: new AbortController().signal, queue: createSerialQueue(), mirrors: createMirrorQueue(async () => undefined, { signal: new AbortController().signal, onError: () => undefined }) };
}

/** `store`, except that taking the training lease waits for `gate` (another trainer works meanwhile). */
function leaseWaitsFor(store: ObjectStore, gate: Promise<void>, onWaiting: () => void): ObjectStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'putIfAbsent') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<ObjectStore['putIfAbsent']>) => {
        if (args[1].startsWith('leases/train/')) {
          onWaiting();
          await gate;
        }
        return target.putIfAbsent(...args);
      };
    },
  });
}

/** `store`, counting every look at a training lease made through it. */
function leaseLooks(store: ObjectStore, looks: { count: number }): ObjectStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'get' && property !== 'getVersioned') return value;
      return (...args: [string, string]) => {
        if (args[1].startsWith('leases/train/')) looks.count++;
        return (value as (...a: [string, string]) => unknown).apply(target, args);
      };
    },
  });
}

const foreignRun = (runId: string, startedAt: Date, owner?: RunOwner): RunRecord => foreignRunOf(runId, startedAt, { configHash: HASH, owner });
const beat = (store: ObjectStore, runId: string, beats: number): Promise<void> => beatOf(store, settings, runId, beats);

const statuses = async (store: ObjectStore): Promise<string[]> => (await listRunRecords(store, settings, { configHash: HASH })).map((run) => `${run.run_id === 'cli' ? 'cli' : 'daemon'}:${run.status}`).sort();

describe('core > daemon > trainer-reconciler', () => {
  it('waits for a run another host trains whose heartbeat keeps changing, however old its started_at, and takes its SUCCESS', async () => {
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, HASH);
    // Started a day ago by the writer's clock (a slow model, or a clock far behind): only the heartbeat counts.
    const run = foreignRun('cli', new Date(Date.now() - 86_400_000));
    await beat(store, 'cli', 0);
    await saveRunRecord(store, settings, run);
    let tick = 0;
    const reads: string[] = [];
    const outcome = reconcileTraining({ ...trainer('daemon', heartbeatReads(store, reads)), monotonic: () => tick }, { configHash: HASH, modelType: 'NAIVE' }, new AbortController().signal);
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThan(0);
    // A beat within every stale limit of the reader's clock, five limits in all.
    for (let beats = 1; beats <= 6; beats++) {
      tick += settings.daemon.leaseStaleMs - 1000;
      await beat(store, 'cli', beats);
      await expect.poll(() => reads.at(-1), { timeout: 10_000 }).toContain(`"beats":${beats}`);
      expect(await statuses(store)).toEqual(['cli:RUNNING']);
    }
    await saveRunRecord(store, settings, { ...run, status: 'SUCCESS', timings: { ...run.timings, finished_at: new Date().toISOString() } });
    expect(await outcome).toMatchObject({ result: 'skipped', runId: 'cli' });
    expect(await statuses(store)).toEqual(['cli:SUCCESS']);
  });

  it('marks another host\'s run KILLED once it has seen its heartbeat unchanged for the stale limit on its own clock, then trains', async () => {
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, HASH);
    // Started "an hour from now" by a writer whose clock runs ahead: its timestamps decide nothing either way.
    await beat(store, 'cli', 7);
    await saveRunRecord(store, settings, foreignRun('cli', new Date(Date.now() + 3_600_000)));
    let tick = 0;
    const reads: string[] = [];
    const outcome = reconcileTraining({ ...trainer('daemon', heartbeatReads(store, reads)), monotonic: () => tick }, { configHash: HASH, modelType: 'NAIVE' }, new AbortController().signal);
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThan(0);
    tick = settings.daemon.leaseStaleMs - 1;
    const looked = reads.length;
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThan(looked);
    expect(await statuses(store)).toEqual(['cli:RUNNING']);
    tick = settings.daemon.leaseStaleMs;
    expect((await outcome).result).toBe('trained');
    expect(await statuses(store)).toEqual(['cli:KILLED', 'daemon:SUCCESS']);
    expect((await readRunRecord(store, settings, 'cli')).error).toMatchObject({ code: 'FLTS_TRAIN_ABORTED', message: expect.stringContaining('heartbeat') });
  });

  it('marks a run of a live pid on this host KILLED once its heartbeat stops (a hung process, or its pid taken by another)', async () => {
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, HASH);
    const started = processStartOf(process.ppid);
    await beat(store, 'cli', 0);
    await saveRunRecord(store, settings, foreignRun('cli', new Date(), { host: os.hostname(), pid: process.ppid, ...(started ? { started } : {}) }));
    let tick = 0;
    const reads: string[] = [];
    const outcome = reconcileTraining({ ...trainer('daemon', heartbeatReads(store, reads)), monotonic: () => tick }, { configHash: HASH, modelType: 'NAIVE' }, new AbortController().signal);
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await statuses(store)).toEqual(['cli:RUNNING']);
    tick = settings.daemon.leaseStaleMs;
    expect((await outcome).result).toBe('trained');
    expect(await statuses(store)).toEqual(['cli:KILLED', 'daemon:SUCCESS']);
  });

  it.skipIf(process.platform !== 'linux')('retrains at once after its container restarted in place: its predecessor\'s lease taken over and its RUNNING run KILLED without waiting for staleness', async () => {
    // Before, the restarted trainer (same pod, a new pid namespace) waited `daemon.leaseStaleMs` for both.
    const { settings: inPod } = resolveSettings({ env: { INPUT_SEQ_LEN: '4', FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '5000', FLTS_POD_UID: '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e', FLTS_CONTAINER_NAME: 'daemon' } });
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, inPod, HASH);
    const me = currentRunOwner(inPod.instance);
    const predecessor = { ...me, started: `${me.started!.split(':')[0]}:7`, pid_namespace: '1' };
    const stamp = new Date().toISOString();
    await beat(store, 'cli', 4);
    await saveRunRecord(store, inPod, foreignRun('cli', new Date(), predecessor));
    const key = leaseKey('train', HASH, 'NAIVE');
    await store.put(inPod.store.buckets.runs, key, JSON.stringify({ owner: 'daemon-before-restart', step: 'train', config_hash: HASH, model_type: 'NAIVE', acquired_at: stamp, heartbeat_at: stamp, beats: 4, run_id: 'cli', process: predecessor }));
    // This process's clock never moves: nothing is ever seen stale.
    const outcome = await reconcileTraining({ ...trainer('daemon', store), settings: inPod, monotonic: () => 0 }, { configHash: HASH, modelType: 'NAIVE' }, new AbortController().signal);
    expect(outcome.result).toBe('trained');
    expect(await statuses(store)).toEqual(['cli:KILLED', 'daemon:SUCCESS']);
    expect((await readRunRecord(store, inPod, 'cli')).error).toMatchObject({ code: 'FLTS_TRAIN_ABORTED', message: expect.stringContaining('is gone') });
    expect(await readLease(store, inPod, key)).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux' || statSync(os.tmpdir()).dev !== statSync('/').dev)('retrains at once after Docker restarted its Compose container, and waits for another replica\'s live run', async () => {
    // Before, a restarted Compose container had no pod uid: it waited `daemon.leaseStaleMs` for its own dead work.
    const idFile = path.join(root, 'instance-id');
    const { settings: compose } = resolveSettings({ env: { INPUT_SEQ_LEN: '4', FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '5000', FLTS_INSTANCE_ID_FILE: idFile } });
    const me = currentRunOwner(compose.instance);
    const predecessor = { ...me, pid: 1, started: `${me.started!.split(':')[0]}:7`, pid_namespace: '1' };
    const replica = { ...predecessor, instance_id: '0f0e0d0c-0000-4000-8000-000000000000' };
    const stamp = new Date().toISOString();
    const target = { configHash: HASH, modelType: 'NAIVE' as const };
    const key = leaseKey('train', HASH, 'NAIVE');
    const seed = async (store: ObjectStore, owner: RunOwner, leased: boolean): Promise<void> => {
      await addProcessedData(store, compose, HASH);
      await beat(store, 'cli', 4);
      await saveRunRecord(store, compose, foreignRun('cli', new Date(), owner));
      if (leased) await store.put(compose.store.buckets.runs, key, JSON.stringify({ owner: 'other-daemon', step: 'train', config_hash: HASH, model_type: 'NAIVE', acquired_at: stamp, heartbeat_at: stamp, beats: 4, run_id: 'cli', process: owner }));
    };
    // This process's clock never moves: nothing is ever seen stale.
    const restarted = createFsStore(path.join(root, 'restarted'));
    await seed(restarted, predecessor, true);
    expect((await reconcileTraining({ ...trainer('daemon', restarted), settings: compose, monotonic: () => 0 }, target, new AbortController().signal)).result).toBe('trained');
    expect(await statuses(restarted)).toEqual(['cli:KILLED', 'daemon:SUCCESS']);
    expect(await readLease(restarted, compose, key)).toBeUndefined();

    const shared = createFsStore(path.join(root, 'replicas'));
    // The replica's run alone (its lease is work-lease.test.ts's): its heartbeat, never seen stale, is waited on.
    await seed(shared, replica, false);
    const reads: string[] = [];
    const stop = new AbortController();
    const waiting = reconcileTraining({ ...trainer('daemon', heartbeatReads(shared, reads)), settings: compose, monotonic: () => 0 }, target, stop.signal);
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThan(2);
    stop.abort();
    await expect(waiting).rejects.toThrow();
    expect(await statuses(shared)).toEqual(['cli:RUNNING']);
  });

  it('keeps the start-time rule for a run recorded before heartbeats: one older than the stale limit is KILLED and retrained', async () => {
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, HASH);
    await saveRunRecord(store, settings, foreignRun('cli', new Date(Date.now() - settings.daemon.leaseStaleMs - 1000)));
    const outcome = await reconcileTraining(trainer('daemon', store), { configHash: HASH, modelType: 'NAIVE' }, new AbortController().signal);
    expect(outcome.result).toBe('trained');
    expect(await statuses(store)).toEqual(['cli:KILLED', 'daemon:SUCCESS']);
  });

  it('trains once when another trainer finished and released its lease between our look at the registry and our lease', async () => {
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, HASH);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let waiting!: () => void;
    const lateWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const target = { configHash: HASH, modelType: 'NAIVE' as const };

    // The late trainer looks at the registry (no SUCCESS yet), then stalls before taking the lease...
    const late = reconcileTraining(trainer('late', leaseWaitsFor(store, gate, waiting)), target, new AbortController().signal);
    await lateWaiting;
    // ...while the first one trains the model and releases the lease.
    const first = await reconcileTraining(trainer('first', store), target, new AbortController().signal);
    expect(first.result).toBe('trained');
    open();

    const outcome = await late;
    expect(outcome).toMatchObject({ result: 'skipped', runId: (first as { runId: string }).runId });
    const runs = await listRunRecords(store, settings, { configHash: HASH });
    expect(runs.map((run) => `${run.model_type}:${run.status}`)).toEqual(['NAIVE:SUCCESS']);
  });

  it('records its own attempt that a store outage failed (RUNNING, its end unwritten) as KILLED when it trains again', async () => {
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, HASH);
    let away = false;
    // The store goes away once the run is recorded RUNNING, so neither its artifacts nor its end can be written.
    const flaky: ObjectStore = {
      ...store,
      put: async (...args) => {
        if (away) throw new FltsError('FLTS_STORE_UNAVAILABLE', 'The store is away.');
        return store.put(...args);
      },
    };
    let starts = 0;
    const context = { ...trainer('one', flaky), onEvent: (event: { type: string }) => void (event.type === 'train.start' && ++starts === 1 && (away = true)) };
    const target = { configHash: HASH, modelType: 'NAIVE' as const };
    await expect(reconcileTraining(context, target, new AbortController().signal)).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    const [interrupted] = await listRunRecords(store, settings, { configHash: HASH });
    expect(interrupted.status).toBe('RUNNING');

    // Back well within the lease's staleness: the retry must not leave the first run RUNNING for ever.
    away = false;
    const outcome = await reconcileTraining(context, target, new AbortController().signal);
    expect(outcome.result).toBe('trained');
    const runs = await listRunRecords(store, settings, { configHash: HASH });
    expect(runs.find((run) => run.run_id === interrupted.run_id)).toMatchObject({ status: 'KILLED', error: { code: 'FLTS_TRAIN_ABORTED' } });
    expect(runs.filter((run) => run.status === 'SUCCESS')).toHaveLength(1);
  });

  it('waits for a `flts train` that holds the training claim before its run is even recorded, then takes its SUCCESS', async () => {
    const store = createFsStore(path.join(root, 'store'));
    await addProcessedData(store, settings, HASH);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let starting = false;
    // The CLI's training is held at its first heartbeat, before its run record: only its claim says it trains.
    const cliStore = new Proxy(store, {
      get: (target, property, receiver) =>
        property === 'put' ? async (...args: Parameters<ObjectStore['put']>) => (args[1].endsWith('/heartbeat.json') && ((starting = true), await gate), target.put(...args)) : Reflect.get(target, property, receiver),
    });
    const cli = trainModels({ models: ['NAIVE'], configHash: HASH }, settings, { store: cliStore });
    const logged: string[] = [];
    try {
      await expect.poll(() => starting, { timeout: 10_000 }).toBe(true);
      const logger = { ...silentLogger, info: (_: object, message?: string) => void logged.push(message ?? '') };
      const outcome = reconcileTraining({ ...trainer('daemon', store), logger }, { configHash: HASH, modelType: 'NAIVE' }, new AbortController().signal);
      await expect.poll(() => logged, { timeout: 10_000 }).toContain('daemon_train_waiting');
      open();
      const { runs } = await cli;
      expect(await outcome).toMatchObject({ result: 'skipped', runId: runs[0].run_id });
      expect((await listRunRecords(store, settings, { configHash: HASH })).map((run) => run.run_id)).toEqual([runs[0].run_id]);
    } finally {
      open();
      await cli.catch(() => undefined);
    }
  });

  it('gives up, recording no run and without an error, on data too short for the type under these settings, each time it is asked', async () => {
    const store = createFsStore(path.join(root, 'store'));
    // The fixture's 40 training rows cannot hold a window of 50 rows, its horizon and a validation tail.
    const { settings: long } = resolveSettings({ env: { INPUT_SEQ_LEN: '50', FLTS_DAEMON_HEARTBEAT_MS: '50' } });
    await addProcessedData(store, long, HASH);
    const skipped: object[] = [];
    const logger = { ...silentLogger, info: (fields: object, message?: string) => void (message === 'daemon_train_skipped' && skipped.push(fields)) };
    const context = { ...trainer('daemon', store), settings: long, logger };
    const metrics = context.metrics;
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await reconcileTraining(context, { configHash: HASH, modelType: 'LSTM' }, new AbortController().signal);
      expect(outcome).toMatchObject({ result: 'gave-up', failedRuns: 0 });
      expect((outcome as { reason: string }).reason).toMatch(/LSTM needs at least 52 training rows/);
    }
    // The outcome is logged in the log's field style: its failedRuns as failed_runs.
    expect(skipped[0]).toEqual({ config_hash: HASH, model_type: 'LSTM', result: 'gave-up', failed_runs: 0, reason: expect.stringMatching(/LSTM needs at least 52 training rows/) });
    expect(await listRunRecords(store, long, { configHash: HASH })).toEqual([]);
    expect(await readLease(store, long, leaseKey('train', HASH, 'LSTM'))).toBeUndefined();
    expect(await metrics.registry.metrics()).toMatch(/flts_daemon_steps_total\{role="trainer",step="train",result="skipped"\} 2/);
  });

  describe('new rows under the same file names (the same config_hash)', () => {
    const DATASETS = path.resolve(__dirname, '../../../../shared/datasets');
    const trainLines = readFileSync(path.join(DATASETS, 'PobleSec.csv'), 'utf8').split('\n');
    const testLines = readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').split('\n');
    function settingsFor(env: Record<string, string> = {}): Settings {
      const data = path.join(root, 'data');
      return resolveSettings({ env: { INPUT_SEQ_LEN: '4', FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DATA_DIR: data, TRAIN_FILE: 'train.csv', TEST_FILE: 'test.csv', ...env } }).settings;
    }
    /** The header and the first `rows` rows of PobleSec as train.csv, always under that name; 60 test rows as test.csv. */
    function writeInputs(rows: number): void {
      mkdirSync(path.join(root, 'data'), { recursive: true });
      writeFileSync(path.join(root, 'data', 'train.csv'), `${trainLines.slice(0, rows + 1).join('\n')}\n`);
      writeFileSync(path.join(root, 'data', 'test.csv'), `${testLines.slice(0, 61).join('\n')}\n`);
    }

    it('trains the data a config_hash holds now, and nothing again for a replayed claim or a forced preprocess of the same rows', async () => {
      const store = createFsStore(path.join(root, 'store'));
      const home = settingsFor();
      const context = { ...trainer('daemon', store), settings: home };
      const reconcile = (configHash: string) => reconcileTraining(context, { configHash, modelType: 'NAIVE' }, new AbortController().signal);
      writeInputs(200);
      const { configHash } = await preprocess(home, { store });
      const first = await reconcile(configHash);
      expect(first.result).toBe('trained');
      expect(await reconcile(configHash)).toMatchObject({ result: 'skipped', runId: (first as { runId: string }).runId });

      writeInputs(240);
      expect(await preprocess(home, { store })).toMatchObject({ status: 'processed', configHash });
      const second = await reconcile(configHash);
      expect(second.result).toBe('trained');
      expect((second as { runId: string }).runId).not.toBe((first as { runId: string }).runId);

      expect(await preprocess(settingsFor({ FORCE_REPROCESS: 'true' }), { store })).toMatchObject({ status: 'processed', configHash });
      expect(await reconcile(configHash)).toMatchObject({ result: 'skipped', runId: (second as { runId: string }).runId });
      expect((await listRunRecords(store, home, { configHash })).map((run) => run.status)).toEqual(['SUCCESS', 'SUCCESS']);
    });

    it('counts only the FAILED attempts on the data the config_hash holds now against bus.retry.maxAttempts', async () => {
      const store = createFsStore(path.join(root, 'store'));
      const home = settingsFor({ FAILURE_MAX_RETRIES: '1' });
      writeInputs(200);
      const { configHash } = await preprocess(home, { store });
      const failed = { ...foreignRunOf('failed', new Date(), { configHash }), status: 'FAILED' as const };
      await saveRunRecord(store, home, { ...failed, data: { ...failed.data, processed_sha256: 'f'.repeat(64) } });
      const outcome = await reconcileTraining({ ...trainer('daemon', store), settings: home }, { configHash, modelType: 'NAIVE' }, new AbortController().signal);
      expect(outcome.result).toBe('trained');
    });

    it('does not count a run an outage failed (the store, the broker) against bus.retry.maxAttempts, and counts any other', async () => {
      // Before, every FAILED run counted: a store away for longer than its timeout while a model trained, as many times
      // as FAILURE_MAX_RETRIES, left that model type given up on the data for good, though the data had failed nothing.
      const store = createFsStore(path.join(root, 'store'));
      const home = settingsFor({ FAILURE_MAX_RETRIES: '1' });
      writeInputs(200);
      const { configHash } = await preprocess(home, { store });
      const failedBy = (runId: string, code: string): RunRecord => ({ ...foreignRunOf(runId, new Date(), { configHash }), status: 'FAILED', error: { code, message: `failed with ${code}` } });
      await saveRunRecord(store, home, failedBy('outage', 'FLTS_STORE_UNAVAILABLE'));
      await saveRunRecord(store, home, failedBy('refusal', 'FLTS_BUS_AUTH_FAILED'));
      const reconcile = () => reconcileTraining({ ...trainer('daemon', store), settings: home }, { configHash, modelType: 'NAIVE' }, new AbortController().signal);
      const outcome = await reconcile();
      expect(outcome.result).toBe('trained');

      const other = createFsStore(path.join(root, 'other-store'));
      const { configHash: otherHash } = await preprocess(home, { store: other });
      await saveRunRecord(other, home, failedBy('broken', 'FLTS_INTERNAL'));
      const gaveUp = await reconcileTraining({ ...trainer('daemon', other), settings: home }, { configHash: otherHash, modelType: 'NAIVE' }, new AbortController().signal);
      expect(gaveUp).toMatchObject({ result: 'gave-up', failedRuns: 1 });
    });
  });

  describe('lease staleness on the daemon\'s monotonic clock', () => {
    // A stale limit no test outlives: only the clock the trainer is given can make the lease stale.
    const { settings: slow } = resolveSettings({ env: { INPUT_SEQ_LEN: '4', FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '600000' } });
    const key = leaseKey('train', HASH, 'NAIVE');
    const target = { configHash: HASH, modelType: 'NAIVE' as const };
    /** Another host's trainer holds the lease, and writes it no more (stopped, or between two beats). */
    async function leasedElsewhere(store: ObjectStore): Promise<void> {
      await addProcessedData(store, slow, HASH);
      const stamp = new Date().toISOString();
      await store.put(slow.store.buckets.runs, key, JSON.stringify({ owner: 'trainer-elsewhere', step: 'train', config_hash: HASH, model_type: 'NAIVE', acquired_at: stamp, heartbeat_at: stamp, beats: 3, process: { host: `${os.hostname()}-elsewhere`, pid: 4242 } }));
    }
    afterEach(() => vi.useRealTimers());

    it('takes over a lease once its own clock has seen it unchanged for the stale limit, and trains', async () => {
      // Before, the trainer judged the lease on performance.now whatever clock it was given, and waited the full 10 minutes.
      const store = createFsStore(path.join(root, 'store'));
      await leasedElsewhere(store);
      let tick = 0;
      const looks = { count: 0 };
      const outcome = reconcileTraining({ ...trainer('daemon', leaseLooks(store, looks)), settings: slow, monotonic: () => tick }, target, new AbortController().signal);
      await expect.poll(() => looks.count, { timeout: 10_000 }).toBeGreaterThan(2);
      expect((await readLease(store, slow, key))?.owner).toBe('trainer-elsewhere');
      tick = slow.daemon.leaseStaleMs;
      expect((await outcome).result).toBe('trained');
      expect((await listRunRecords(store, slow, { configHash: HASH })).map((run) => run.status)).toEqual(['SUCCESS']);
    });

    it('leaves another trainer\'s lease alone when the wall clock jumps past the stale limit and its own clock does not', async () => {
      const store = createFsStore(path.join(root, 'store'));
      await leasedElsewhere(store);
      const looks = { count: 0 };
      const stop = new AbortController();
      const waiting = reconcileTraining({ ...trainer('daemon', leaseLooks(store, looks)), settings: slow, monotonic: () => 0 }, target, stop.signal);
      await expect.poll(() => looks.count, { timeout: 10_000 }).toBeGreaterThan(2);
      // An NTP step or a VM resumed: the wall clock leaps two stale limits ahead, this process's own clock stands still.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * slow.daemon.leaseStaleMs });
      const looked = looks.count;
      await expect.poll(() => looks.count, { timeout: 10_000 }).toBeGreaterThan(looked + 3);
      stop.abort();
      await expect(waiting).rejects.toMatchObject({ code: 'FLTS_TRAIN_ABORTED' });
      expect((await readLease(store, slow, key))?.owner).toBe('trainer-elsewhere');
      expect(await listRunRecords(store, slow, { configHash: HASH })).toEqual([]);
    });
  });
});
