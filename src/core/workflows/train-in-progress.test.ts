import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { FltsEvent } from '../events.js';
import { beat, foreignRun, heartbeatReads } from '../registry/foreign-run.fixture.js';
import { currentRunOwner, listRunRecords, readRunRecord, saveRunRecord } from '../registry/run-store.js';
import { leaseKey, readLease } from '../registry/work-lease.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { addProcessedData } from './loadable-run.fixture.js';
import { trainModels } from './train.js';

const HASH = 'f'.repeat(64);
const { settings } = resolveSettings({ env: { INPUT_SEQ_LEN: '4', EPOCHS: '1', HIDDEN_SIZE: '4', NUM_LAYERS: '1', FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '5000' } });
const ELSEWHERE = `${os.hostname()}-elsewhere`;
let root: string;
let store: ObjectStore;

beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-train-in-progress-'));
  store = createFsStore(root);
  await addProcessedData(store, settings, HASH);
  // Another host's `flts train` (or daemon) of NAIVE on the same data, its heartbeat written once so far.
  await beat(store, settings, 'cli', 0);
  await saveRunRecord(store, settings, foreignRun('cli', new Date(), { configHash: HASH }));
});
afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const registry = async (): Promise<string[]> => (await listRunRecords(store, settings, { configHash: HASH })).map((run) => `${run.run_id === 'cli' ? 'cli' : 'ours'} ${run.model_type} ${run.status}`).sort();

describe('core > workflows > trainModels with another process training the same model', () => {
  it('refuses the busy model type once it sees the run\'s heartbeat change, naming run, host and pid, and trains the others', async () => {
    const reads: string[] = [];
    const training = trainModels({ models: ['NAIVE', 'LSTM'], configHash: HASH }, settings, { store: heartbeatReads(store, reads) }).catch((error: unknown) => error);
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await beat(store, settings, 'cli', 1);
    const refusal = await training;

    expect(refusal).toBeInstanceOf(FltsError);
    expect(refusal).toMatchObject({ code: 'FLTS_TRAIN_IN_PROGRESS', kind: 'conflict', message: expect.stringContaining(`NAIVE is already being trained on config_hash ${HASH.slice(0, 12)} by run cli (pid 4242 on ${ELSEWHERE}`) });
    const lstm = (await listRunRecords(store, settings, { configHash: HASH })).find((run) => run.model_type === 'LSTM')!;
    expect((refusal as FltsError).details).toMatchObject({ succeeded: [lstm.run_id], failed: [], inProgress: [{ run_id: 'cli', model_type: 'NAIVE', config_hash: HASH, owner: { host: ELSEWHERE, pid: 4242 } }] });
    // The message says what trained, for a terminal that shows no details.
    expect((refusal as FltsError).message).toMatch(new RegExp(`not trained a second time\\..* Trained: LSTM run ${lstm.run_id}\\.$`));
    expect(await registry()).toEqual(['cli NAIVE RUNNING', 'ours LSTM SUCCESS']);
  });

  it('is not held up by a run whose process died: its heartbeat unchanged for the stale limit on this clock, it is KILLED and the model trained', async () => {
    const reads: string[] = [];
    const events: FltsEvent[] = [];
    // This process's clock moves the stale limit on at each look at the heartbeat, which stays as it was: two looks
    // apart, it has been seen unchanged for the limit, whenever the look's own time is taken (a clock moved on once,
    // from a poll that saw the first read, could be read only after it and never move again).
    const monotonic = (): number => reads.length * settings.daemon.leaseStaleMs;
    const { runs } = await trainModels({ models: ['NAIVE'], configHash: HASH }, settings, { store: heartbeatReads(store, reads), monotonic, onEvent: (event) => events.push(event) });

    expect(runs.map((run) => `${run.model_type} ${run.status}`)).toEqual(['NAIVE SUCCESS']);
    expect(await registry()).toEqual(['cli NAIVE KILLED', 'ours NAIVE SUCCESS']);
    expect((await readRunRecord(store, settings, 'cli')).error).toMatchObject({ code: 'FLTS_TRAIN_ABORTED', message: expect.stringContaining('heartbeat') });
    expect(events).toContainEqual({ type: 'log', level: 'warn', message: expect.stringContaining('NAIVE run cli was left RUNNING') });
  });

  it('waits for the other run to end with inProgress "wait", then trains', async () => {
    const reads: string[] = [];
    const training = trainModels({ models: ['NAIVE'], configHash: HASH, inProgress: 'wait' }, settings, { store: heartbeatReads(store, reads) });
    // Two looks at the heartbeat: it has been waiting for a while, and trained nothing meanwhile.
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThan(2);
    expect(await registry()).toEqual(['cli NAIVE RUNNING']);
    const cli = await readRunRecord(store, settings, 'cli');
    await saveRunRecord(store, settings, { ...cli, status: 'SUCCESS', timings: { ...cli.timings, finished_at: new Date().toISOString() } });
    expect((await training).runs.map((run) => `${run.model_type} ${run.status}`)).toEqual(['NAIVE SUCCESS']);
    expect(await registry()).toEqual(['cli NAIVE SUCCESS', 'ours NAIVE SUCCESS']);
  });

  it('stops waiting on abort: the model is named as never started, no run recorded for it', async () => {
    const reads: string[] = [];
    const abort = new AbortController();
    const training = trainModels({ models: ['NAIVE'], configHash: HASH, inProgress: 'wait' }, settings, { store: heartbeatReads(store, reads), signal: abort.signal }).catch((error: unknown) => error);
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThan(0);
    abort.abort();
    expect(await training).toMatchObject({ code: 'FLTS_TRAIN_ABORTED', details: { notStarted: ['NAIVE'], succeeded: [] } });
    expect(await registry()).toEqual(['cli NAIVE RUNNING']);
  });

  it('trains a second run beside it at once with inProgress "train"', async () => {
    const { runs } = await trainModels({ models: ['NAIVE'], configHash: HASH, inProgress: 'train' }, settings, { store });
    expect(runs.map((run) => `${run.model_type} ${run.status}`)).toEqual(['NAIVE SUCCESS']);
    expect(await registry()).toEqual(['cli NAIVE RUNNING', 'ours NAIVE SUCCESS']);
  });

  it.skipIf(process.platform !== 'linux')('takes over at once the claim and run of an earlier instance of its own container (restarted in place), never waiting for staleness', async () => {
    // Before, `flts train` in a container restarted by the kubelet (OOMKilled) waited `daemon.leaseStaleMs` for the
    // claim its first instance held: a new pid namespace, so that instance's pid could not be judged.
    const { settings: inPod } = resolveSettings({ env: { INPUT_SEQ_LEN: '4', FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '5000', FLTS_POD_UID: '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e', FLTS_CONTAINER_NAME: 'train' } });
    const me = currentRunOwner(inPod.instance);
    const predecessor = { ...me, started: `${me.started!.split(':')[0]}:7`, pid_namespace: '1' };
    await saveRunRecord(store, inPod, foreignRun('cli', new Date(), { configHash: HASH, owner: predecessor }));
    const stamp = new Date().toISOString();
    const key = leaseKey('train', HASH, 'NAIVE');
    await store.put(inPod.store.buckets.runs, key, JSON.stringify({ owner: 'before-restart', step: 'train', config_hash: HASH, model_type: 'NAIVE', acquired_at: stamp, heartbeat_at: stamp, beats: 2, run_id: 'cli', process: predecessor }));
    // This process's clock never moves: nothing is ever seen stale.
    const { runs } = await trainModels({ models: ['NAIVE'], configHash: HASH }, inPod, { store, monotonic: () => 0 });

    expect(runs.map((run) => `${run.model_type} ${run.status}`)).toEqual(['NAIVE SUCCESS']);
    expect(runs[0].owner).toMatchObject({ pod_uid: '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e', container: 'train', pid_namespace: me.pid_namespace });
    expect(await registry()).toEqual(['cli NAIVE KILLED', 'ours NAIVE SUCCESS']);
    expect(await readLease(store, inPod, key)).toBeUndefined();
  });
});
