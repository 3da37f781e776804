import { spawn } from 'node:child_process';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { FltsError } from '../src/core/errors.js';
import type { FltsEvent } from '../src/core/events.js';
import { silentLogger } from '../src/core/logger.js';
import { beat, foreignRun } from '../src/core/registry/foreign-run.fixture.js';
import { listRunRecords, readRunRecord, saveRunRecord } from '../src/core/registry/run-store.js';
import { acquireLease, leaseKey, readLease, type LeaseRecord } from '../src/core/registry/work-lease.js';
import type { ObjectStore } from '../src/core/storage/object-store.js';
import { preprocess } from '../src/core/workflows/preprocess.js';
import { trainModels, type TrainModelsResult } from '../src/core/workflows/train.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';

const ELSEWHERE = `${os.hostname()}-elsewhere`;
let slice: SliceHome | undefined;
afterEach(() => slice?.remove());

async function preprocessedSlice(flags: Record<string, unknown> = {}): Promise<SliceHome & { configHash: string }> {
  slice = createSliceHome('flts-train-claim-', { 'daemon.heartbeatMs': 50, 'daemon.leaseStaleMs': 5000, ...flags });
  const { configHash } = await preprocess(slice.settings, { store: slice.store });
  return { ...slice, configHash };
}

/** `store`, except that each run's first heartbeat (its training about to begin) waits for `gate`; `onHeld` is told. */
function trainingWaitsFor(store: ObjectStore, gate: Promise<void>, onHeld: (runId: string) => void): ObjectStore {
  const held = new Set<string>();
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'put') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<ObjectStore['put']>) => {
        const [runId, file] = args[1].split('/');
        if (file === 'heartbeat.json' && !held.has(runId)) {
          held.add(runId);
          onHeld(runId);
          await gate;
        }
        return target.put(...args);
      };
    },
  });
}

const leases = async (home: SliceHome): Promise<string[]> => (await home.store.list(home.settings.store.buckets.runs, 'leases/')).map((object) => object.key);
const registry = async (home: SliceHome & { configHash: string }): Promise<string[]> => (await listRunRecords(home.store, home.settings, { configHash: home.configHash })).map((run) => `${run.run_id === 'cli' ? 'cli' : 'ours'} ${run.model_type} ${run.status}`).sort();
const checking = (events: FltsEvent[]): boolean => events.some((event) => event.type === 'log' && event.message.includes('checking that it is alive'));

/** A claim written by a trainer on another host (its clock an hour behind: only this process's clock decides). */
function foreignClaim(configHash: string, beats: number, extra: Partial<LeaseRecord> = {}): LeaseRecord {
  const stamp = new Date(Date.now() - 3_600_000).toISOString();
  return { owner: 'daemon-elsewhere', step: 'train', config_hash: configHash, model_type: 'NAIVE', acquired_at: stamp, heartbeat_at: stamp, beats, process: { host: ELSEWHERE, pid: 4242 }, ...extra };
}

describe('workflows > trainModels > training claim', () => {
  it('lets exactly one of two trainings started together on the same data train; the other is refused with FLTS_TRAIN_IN_PROGRESS', async () => {
    const home = await preprocessedSlice();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const starting: string[] = [];
    // A training that gets as far as its run waits there until the other has ended, or has got as far too: with no
    // claim (the old code) both trainings start, and both are let through.
    const store = trainingWaitsFor(home.store, gate, (runId) => starting.push(runId) === 2 && open());
    const train = (): Promise<TrainModelsResult | unknown> => trainModels({ models: ['NAIVE'] }, home.settings, { store }).catch((error: unknown) => error);
    const both = [train(), train()];
    void Promise.race(both).then(open);
    const outcomes = await Promise.all(both);

    const refused = outcomes.filter((outcome) => outcome instanceof FltsError);
    const trained = outcomes.filter((outcome) => !(outcome instanceof FltsError)) as TrainModelsResult[];
    expect(starting).toHaveLength(1);
    expect(trained.map((result) => result.runs.map((run) => `${run.model_type} ${run.status}`))).toEqual([['NAIVE SUCCESS']]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      code: 'FLTS_TRAIN_IN_PROGRESS',
      message: expect.stringContaining(`NAIVE is already being trained on config_hash ${home.configHash.slice(0, 12)} by pid ${process.pid} on ${os.hostname()}`),
      details: { succeeded: [], inProgress: [{ run_id: null, model_type: 'NAIVE', config_hash: home.configHash, owner: { host: os.hostname(), pid: process.pid } }] },
    });
    expect(await registry(home)).toEqual(['ours NAIVE SUCCESS']);
    expect(await leases(home)).toEqual([]);
  });

  it('names its run in the claim while training; a trainer refused meanwhile names it too, at once on this host (no heartbeat waited for)', async () => {
    // Heartbeats an hour apart: a refusal that waited to see one would never come.
    const home = await preprocessedSlice({ 'daemon.heartbeatMs': 3_600_000, 'daemon.leaseStaleMs': 7_200_000 });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // The first training is held after its fit, while it writes its artifacts.
    const held = new Proxy(home.store, {
      get: (target, property, receiver) =>
        property === 'put' ? async (...args: Parameters<ObjectStore['put']>) => (args[1].endsWith('/predictions.json') && (await gate), target.put(...args)) : Reflect.get(target, property, receiver),
    });
    let runId: string | undefined;
    const first = trainModels({ models: ['NAIVE'] }, home.settings, { store: held, onEvent: (event) => void (event.type === 'train.start' && (runId = event.runId)) });
    const key = leaseKey('train', home.configHash, 'NAIVE');
    await expect.poll(async () => runId !== undefined && (await readLease(home.store, home.settings, key))?.run_id === runId, { timeout: 30_000 }).toBe(true);
    const events: FltsEvent[] = [];
    const refusal = await trainModels({ models: ['NAIVE'] }, home.settings, { store: home.store, onEvent: (event) => events.push(event) }).catch((error: unknown) => error);
    open();
    expect((await first).runs.map((run) => run.run_id)).toEqual([runId]);

    expect(refusal).toMatchObject({ code: 'FLTS_TRAIN_IN_PROGRESS', message: expect.stringContaining(`by run ${runId} (pid ${process.pid} on ${os.hostname()}`), details: { inProgress: [{ run_id: runId, owner: { host: os.hostname(), pid: process.pid } }] } });
    expect(checking(events)).toBe(false);
    expect(await registry(home)).toEqual(['ours NAIVE SUCCESS']);
    expect(await leases(home)).toEqual([]);
  });

  it('refuses a claim another host holds once it sees the claim change, or sees it released: trained meanwhile', async () => {
    const home = await preprocessedSlice();
    const { store, settings, configHash } = home;
    const key = leaseKey('train', configHash, 'NAIVE');
    const bucket = settings.store.buckets.runs;
    await store.put(bucket, key, JSON.stringify(foreignClaim(configHash, 0)));
    const events: FltsEvent[] = [];
    const beating = trainModels({ models: ['NAIVE'] }, settings, { store, onEvent: (event) => events.push(event) }).catch((error: unknown) => error);
    await expect.poll(() => checking(events), { timeout: 10_000 }).toBe(true);
    await store.put(bucket, key, JSON.stringify(foreignClaim(configHash, 1, { run_id: 'cli' })));
    expect(await beating).toMatchObject({ code: 'FLTS_TRAIN_IN_PROGRESS', message: expect.stringContaining(`NAIVE is already being trained on config_hash ${configHash.slice(0, 12)} by run cli (pid 4242 on ${ELSEWHERE}`) });

    events.length = 0;
    const released = trainModels({ models: ['NAIVE'] }, settings, { store, onEvent: (event) => events.push(event) }).catch((error: unknown) => error);
    await expect.poll(() => checking(events), { timeout: 10_000 }).toBe(true);
    await store.delete(bucket, key);
    expect(await released).toMatchObject({ code: 'FLTS_TRAIN_IN_PROGRESS', message: expect.stringContaining('which has finished since this process asked'), details: { inProgress: [{ run_id: 'cli', owner: { host: ELSEWHERE, pid: 4242 } }] } });
    expect(await registry(home)).toEqual([]);
  });

  it('takes over a claim whose holder stopped: unchanged for the stale limit on this clock (its run then KILLED at once), or its process gone from this host', async () => {
    const home = await preprocessedSlice();
    const { store, settings, configHash } = home;
    const key = leaseKey('train', configHash, 'NAIVE');
    const bucket = settings.store.buckets.runs;
    // A trainer on another host stopped mid-run: its claim and its run's heartbeat no longer change.
    await beat(store, settings, 'cli', 3);
    await saveRunRecord(store, settings, foreignRun('cli', new Date(), { configHash }));
    await store.put(bucket, key, JSON.stringify(foreignClaim(configHash, 3, { run_id: 'cli' })));
    let tick = 0;
    const events: FltsEvent[] = [];
    const training = trainModels({ models: ['NAIVE'] }, settings, { store, monotonic: () => tick, onEvent: (event) => events.push(event) });
    await expect.poll(() => checking(events), { timeout: 10_000 }).toBe(true);
    tick = settings.daemon.leaseStaleMs;
    expect((await training).runs.map((run) => `${run.model_type} ${run.status}`)).toEqual(['NAIVE SUCCESS']);
    expect(await registry(home)).toEqual(['cli NAIVE KILLED', 'ours NAIVE SUCCESS']);
    expect((await readRunRecord(store, settings, 'cli')).error?.message).toContain('heartbeat');
    expect(await leases(home)).toEqual([]);

    // A pid that was in use and is no more: a trainer on this host that was killed.
    const exited = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => exited.on('exit', () => resolve(exited.pid!)));
    await store.put(bucket, key, JSON.stringify(foreignClaim(configHash, 0, { acquired_at: new Date().toISOString(), process: { host: os.hostname(), pid: deadPid } })));
    events.length = 0;
    const again = await trainModels({ models: ['NAIVE'] }, settings, { store, onEvent: (event) => events.push(event) });
    expect(again.runs.map((run) => run.status)).toEqual(['SUCCESS']);
    expect(checking(events)).toBe(false);
    expect(await leases(home)).toEqual([]);
  });

  it('waits with inProgress "wait" until the claim is released, then trains; an abort stops the wait, nothing trained', async () => {
    const home = await preprocessedSlice();
    const work = { step: 'train', configHash: home.configHash, modelType: 'NAIVE' };
    const daemon = await acquireLease({ store: home.store, settings: home.settings, owner: 'daemon-here', logger: silentLogger }, work);
    const abort = new AbortController();
    const aborted: FltsEvent[] = [];
    const stopped = trainModels({ models: ['NAIVE'], inProgress: 'wait' }, home.settings, { store: home.store, signal: abort.signal, onEvent: (event) => aborted.push(event) }).catch((error: unknown) => error);
    await expect.poll(() => aborted.some((event) => event.type === 'log' && event.message.includes('waiting for')), { timeout: 10_000 }).toBe(true);
    abort.abort();
    expect(await stopped).toMatchObject({ code: 'FLTS_TRAIN_ABORTED', details: { notStarted: ['NAIVE'], succeeded: [] } });
    expect((await readLease(home.store, home.settings, leaseKey('train', home.configHash, 'NAIVE')))?.owner).toBe('daemon-here');
    const events: FltsEvent[] = [];
    const training = trainModels({ models: ['NAIVE'], inProgress: 'wait' }, home.settings, { store: home.store, onEvent: (event) => events.push(event) });
    await expect.poll(() => events.some((event) => event.type === 'log' && event.message.includes(`waiting for pid ${process.pid} on ${os.hostname()}`)), { timeout: 10_000 }).toBe(true);
    expect(await registry(home)).toEqual([]);
    await daemon!.release();
    expect((await training).runs.map((run) => run.status)).toEqual(['SUCCESS']);
    expect(await leases(home)).toEqual([]);
  });

  it('releases its claim when the training fails, so that the next one is not refused', async () => {
    // A learning rate that breaks the weights at the first steps: LSTM fails while it trains.
    const home = await preprocessedSlice({ 'training.learningRate': 1e300 });
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(trainModels({ models: ['LSTM'] }, home.settings, { store: home.store })).rejects.toMatchObject({ code: 'FLTS_TRAIN_DIVERGED' });
      expect(await leases(home)).toEqual([]);
    }
    expect(await registry(home)).toEqual(['ours LSTM FAILED', 'ours LSTM FAILED']);
  });
});
