import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings, resolveSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { recordingStore } from '../storage/recording-store.fixture.js';
import { fakeRun } from './run-record.fixture.js';
import { sealRunRecord } from './run-record-seal.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RunOwner, RunRecord } from './run-record.js';
import { containerInstanceId, currentRunOwner, findRunRecord, indexSuccessRuns, indexUnlistedRuns, listSuccessRuns, listRunRecords, markDeadRunsKilled, markRunKilled, ownerProcessGone, ownerSharesProcesses, readRunRecord, runOwnerGone, saveRunRecord, scanRunRecords } from './run-store.js';
import { runOfThisProcess } from './run-liveness.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-runs-'));
const store = createFsStore(root);
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** Settings of a Compose container whose id file is `file` (the file must be on the root filesystem to count). */
function inContainer(file: string): ReturnType<typeof defaultSettings> {
  return resolveSettings({ env: { FLTS_INSTANCE_ID_FILE: file } }).settings;
}
/** A container's id file lives on its root filesystem; these tests need a directory there for theirs. */
const tmpOnRoot = statSync(root).dev === statSync('/').dev;

describe('core > registry > run-store > SUCCESS index', () => {
  const metrics = { rmse: 1, mae: 1, mse: 1 };
  const recordReads = (calls: Array<{ method: string; key?: string }>) => [...new Set(calls.filter((call) => call.key?.endsWith('/run.json')).map((call) => call.key!.split('/')[0]))].sort();

  it('lists the SUCCESS runs reading only the records of runs the index lacks, and never misses a SUCCESS it lacks', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'flts-success-index-'));
    try {
      const own = createFsStore(home);
      await saveRunRecord(own, settings, fakeRun('b-ok', 'GRU', metrics, '2025-01-02T00:00:00.000Z'));
      await saveRunRecord(own, settings, fakeRun('a-ok', 'LSTM', metrics, '2025-01-03T00:00:00.000Z', 'SUCCESS', 'd'.repeat(64)));
      await saveRunRecord(own, settings, fakeRun('c-ok', 'NAIVE', metrics, '2025-01-01T00:00:00.000Z'));
      await saveRunRecord(own, settings, fakeRun('failed', 'LSTM', metrics, '2025-01-04T00:00:00.000Z', 'FAILED'));
      await saveRunRecord(own, settings, fakeRun('running', 'LSTM', metrics, '2025-01-05T00:00:00.000Z', 'RUNNING'));
      const cheap = recordingStore(own);
      expect(await listSuccessRuns(cheap.store, settings, 0)).toEqual({ runIds: ['a-ok', 'b-ok', 'c-ok'], unindexed: [] });
      expect(recordReads(cheap.calls)).toEqual(['failed', 'running']);
      // Up to `readUpTo` SUCCESS runs, every record is read: scanRunRecords's runs in its order (oldest first).
      expect((await listSuccessRuns(own, settings, 3)).runIds).toEqual(['c-ok', 'b-ok', 'a-ok']);

      // A SUCCESS the index lacks (an flts before it, a writer stopped between its record and its entry) is read.
      await own.delete('runs', 'success-runs/b-ok/success');
      await own.removeEmptyFolder!('runs', 'success-runs/b-ok/');
      const older = await listSuccessRuns(own, settings, 0);
      expect(older.runIds).toEqual(['a-ok', 'b-ok', 'c-ok']);
      expect(older.unindexed.map((run) => run.run_id)).toEqual(['b-ok']);
      expect(await indexSuccessRuns(own, settings, older.unindexed)).toEqual(['b-ok']);
      // A training's read of the whole registry lists those the index lacks, and none twice.
      expect(await indexSuccessRuns(own, settings, await listRunRecords(own, settings))).toEqual([]);
      const indexed = recordingStore(own);
      expect((await listSuccessRuns(indexed.store, settings, 0)).unindexed).toEqual([]);
      expect(recordReads(indexed.calls)).toEqual(['failed', 'running']);

      // A run that ends SUCCESS is listed once its record is; an entry whose run folder is gone names no run.
      await saveRunRecord(own, settings, fakeRun('running', 'LSTM', metrics, '2025-01-05T00:00:00.000Z'));
      await own.put('runs', 'success-runs/gone/success', '');
      expect((await listSuccessRuns(own, settings, 0)).runIds).toEqual(['a-ok', 'b-ok', 'c-ok', 'running']);
      // The index is no run folder: no listing of the registry reads it as one.
      expect((await scanRunRecords(own, settings)).records.map((run) => run.run_id)).toEqual(['c-ok', 'b-ok', 'a-ok', 'failed', 'running']);

      // A SUCCESS record edited since training: a short list is checked as scanRunRecords checks it; past `readUpTo`,
      // the index names it unread.
      await saveRunRecord(own, settings, { ...sealRunRecord(fakeRun('edited', 'GRU', metrics, '2025-01-06T00:00:00.000Z')), model_type: 'LSTM' });
      expect((await listSuccessRuns(own, settings, 10)).runIds).toEqual(['c-ok', 'b-ok', 'a-ok', 'running']);
      expect((await listSuccessRuns(own, settings, 0)).runIds).toEqual(['a-ok', 'b-ok', 'c-ok', 'edited', 'running']);
    } finally {
      rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
  });
});

describe('core > registry > run-store', () => {
  it('saves, reads and lists run records by config_hash, oldest first, ignoring other objects', async () => {
    await saveRunRecord(store, settings, fakeRun('late', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2025-02-01T00:00:00.000Z'));
    await saveRunRecord(store, settings, fakeRun('early', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-01T00:00:00.000Z'));
    await saveRunRecord(store, settings, fakeRun('other', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-15T00:00:00.000Z', 'SUCCESS', 'd'.repeat(64)));
    await store.put('runs', 'early/model/run.json', '{"not":"a record"}');
    expect((await listRunRecords(store, settings, { configHash: 'c'.repeat(64) })).map((r) => r.run_id)).toEqual(['early', 'late']);
    expect((await listRunRecords(store, settings)).map((r) => r.run_id)).toEqual(['early', 'other', 'late']);
    expect((await readRunRecord(store, settings, 'late')).model_type).toBe('GRU');
  });

  it('refuses a damaged run.json as FLTS_RUN_CORRUPT and leaves it out of listings without hiding the others', async () => {
    const damaged = fakeRun('damaged', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-03-01T00:00:00.000Z');
    const { window: _dropped, ...windowless } = fakeRun('windowless', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-03-01T00:00:00.000Z');
    const cases: Array<[string, string, RegExp]> = [
      ['damaged', '{"run_id": "damaged", "status": "SUC', /not valid JSON/],
      ['nulled', 'null', /not a JSON object/],
      // A run.json copied from another run would get that run promoted under this run's id.
      ['copied', JSON.stringify({ ...damaged, run_id: 'late' }), /names run "late", not copied/],
      ['windowless', JSON.stringify(windowless), /window is missing/],
      ['untimed', JSON.stringify({ ...damaged, run_id: 'untimed', timings: {} }), /timings\.started_at/],
      ['negative', JSON.stringify({ ...damaged, run_id: 'negative', window: { ...damaged.window, inputSeqLen: -1 } }), /inputSeqLen/],
      // Read by JSON.parse, but past the stack of whatever walks it next (the seal's canonical JSON, --json output).
      ['nested', JSON.stringify({ ...damaged, run_id: 'nested', params: { x: '@' } }).replace('"@"', '['.repeat(100_000) + ']'.repeat(100_000)), /nests objects or arrays over 64 levels/],
    ];
    for (const [runId, body] of cases) await store.put('runs', `${runId}/run.json`, body);
    for (const [runId, , message] of cases) {
      await expect(readRunRecord(store, settings, runId)).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', kind: 'input', message: expect.stringMatching(message) });
    }
    const scan = await scanRunRecords(store, settings, { configHash: 'c'.repeat(64) });
    expect(scan.records.map((r) => r.run_id)).toEqual(['early', 'late']);
    expect(scan.corrupt.map((r) => r.run_id)).toEqual(cases.map(([runId]) => runId).sort());
    expect((await listRunRecords(store, settings)).map((r) => r.run_id)).toEqual(['early', 'other', 'late']);
    for (const [runId] of cases) await store.delete('runs', `${runId}/run.json`);
  });

  it('leaves a sealed run.json edited since training out of listings as FLTS_RUN_CORRUPT, and lists an unsealed one as before', async () => {
    const own = createFsStore(mkdtempSync(path.join(root, 'sealed-')));
    const hash = 'c'.repeat(64);
    const sealed = sealRunRecord(fakeRun('sealed', 'GRU', { rmse: 0.2, mae: 0.2, mse: 0.04 }, '2025-01-01T00:00:00.000Z'));
    const edited = sealRunRecord(fakeRun('edited', 'LSTM', { rmse: 0.3, mae: 0.3, mse: 0.09 }, '2025-01-02T00:00:00.000Z'));
    await saveRunRecord(own, settings, sealed);
    // Its metrics edited by hand, its seal kept: it would now rank first.
    await saveRunRecord(own, settings, { ...edited, metrics: fakeRun('edited', 'LSTM', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '').metrics });
    // Recorded before records were sealed: nothing to check it against, so it counts as it always did.
    await saveRunRecord(own, settings, fakeRun('legacy', 'NAIVE', { rmse: 0.4, mae: 0.4, mse: 0.16 }, '2025-01-03T00:00:00.000Z'));

    for (const filter of [{}, { configHash: hash }]) {
      const scan = await scanRunRecords(own, settings, filter);
      expect(scan.records.map((r) => r.run_id)).toEqual(['sealed', 'legacy']);
      expect(scan.corrupt).toEqual([{ run_id: 'edited', code: 'FLTS_RUN_CORRUPT', message: 'Run edited is damaged: runs/edited/run.json does not have the SHA-256 its training sealed it with (edited since training).' }]);
    }
    expect((await listRunRecords(own, settings)).map((r) => r.run_id)).toEqual(['sealed', 'legacy']);
    // Read by name it is still there, for what reads one run on purpose (and refuses it there: loading, promotion).
    expect((await readRunRecord(own, settings, 'edited')).metrics?.test_rmse).toBe(0.01);
  });

  it('scans a registry by reading each run\'s record, without listing (or reading) the artifacts kept beside it', async () => {
    const scanRoot = mkdtempSync(path.join(tmpdir(), 'flts-runs-scan-'));
    try {
      const inner = createFsStore(scanRoot);
      const ids = ['r1', 'r2', 'r3'];
      for (const [at, id] of ids.entries()) {
        await saveRunRecord(inner, settings, fakeRun(id, 'LSTM', { rmse: 1, mae: 1, mse: 1 }, `2025-01-0${at + 1}T00:00:00.000Z`));
        for (const file of ['model/model.json', 'model/weights.bin', 'scaler.json', 'predictions.json', 'intervals.json', 'metrics.json', 'loss-curve.svg']) await inner.put('runs', `${id}/${file}`, '{}');
      }
      await inner.put('runs', 'live/global/replicas/a.json', '{}');
      await inner.put('runs', 'leases/train.json', '{}');
      const { store: counted, calls } = recordingStore(inner);
      expect((await scanRunRecords(counted, settings)).records.map((r) => r.run_id)).toEqual(ids);
      // One listing of names, then one read per folder: a year's registry holds thousands of runs of ten objects each.
      expect(calls.filter((call) => call.method === 'list')).toEqual([]);
      expect(calls.filter((call) => call.method !== 'listFolders').every((call) => call.key?.endsWith('/run.json'))).toBe(true);
      expect(calls.filter((call) => call.method === 'get').map((call) => call.key).sort()).toEqual(['leases/run.json', 'live/run.json', 'r1/run.json', 'r2/run.json', 'r3/run.json']);
    } finally {
      rmSync(scanRoot, { recursive: true, force: true });
    }
  });

  it('reads, for one config_hash, only the records of the runs the index lists under it or under none', async () => {
    const scanRoot = mkdtempSync(path.join(tmpdir(), 'flts-runs-index-'));
    try {
      const inner = createFsStore(scanRoot);
      const [mine, theirs] = ['c'.repeat(64), 'd'.repeat(64)];
      const run = (id: string, day: number, configHash: string): RunRecord => fakeRun(id, 'LSTM', { rmse: 1, mae: 1, mse: 1 }, `2025-01-0${day}T00:00:00.000Z`, 'SUCCESS', configHash);
      for (const [at, id] of ['m1', 'm2', 'm3'].entries()) await saveRunRecord(inner, settings, run(id, at + 1, mine));
      for (const [at, id] of ['t1', 't2', 't3'].entries()) await saveRunRecord(inner, settings, run(id, at + 4, theirs));
      // Runs an older flts wrote (never indexed): only their record says which config_hash they are of.
      await inner.put('runs', 'old-mine/run.json', JSON.stringify(run('old-mine', 7, mine)));
      await inner.put('runs', 'old-theirs/run.json', JSON.stringify(run('old-theirs', 8, theirs)));
      await inner.put('runs', 'damaged/run.json', '{"run_id": "damaged", "sta');
      const { store: counted, calls } = recordingStore(inner);

      const scan = await scanRunRecords(counted, settings, { configHash: mine });

      expect(scan.records.map((r) => r.run_id)).toEqual(['m1', 'm2', 'm3', 'old-mine']);
      expect(scan.corrupt.map((r) => r.run_id)).toEqual(['damaged']);
      // The same records as a scan of the whole registry, without reading the runs indexed under another config_hash.
      expect((await listRunRecords(inner, settings)).filter((r) => r.config_hash === mine)).toEqual(scan.records);
      expect(calls.filter((call) => call.method === 'get').map((call) => call.key).sort()).toEqual(['damaged/run.json', 'm1/run.json', 'm2/run.json', 'm3/run.json', 'old-mine/run.json', 'old-theirs/run.json']);
      expect(calls.filter((call) => call.method === 'list')).toEqual([]);
    } finally {
      rmSync(scanRoot, { recursive: true, force: true });
    }
  });

  it('lists the runs an older flts wrote under their config_hash once the whole registry is read, so later reads skip them', async () => {
    const scanRoot = mkdtempSync(path.join(tmpdir(), 'flts-runs-index-'));
    try {
      const inner = createFsStore(scanRoot);
      const [mine, theirs] = ['c'.repeat(64), 'd'.repeat(64)];
      for (const [id, configHash] of [['o1', mine], ['o2', theirs], ['o3', theirs]]) {
        await inner.put('runs', `${id}/run.json`, JSON.stringify(fakeRun(id, 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-01T00:00:00.000Z', 'SUCCESS', configHash)));
      }
      await saveRunRecord(inner, settings, fakeRun('new', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2025-01-02T00:00:00.000Z', 'SUCCESS', theirs));
      expect(await indexUnlistedRuns(inner, settings, await listRunRecords(inner, settings))).toEqual(['o1', 'o2', 'o3']);
      expect(await indexUnlistedRuns(inner, settings, await listRunRecords(inner, settings))).toEqual([]);
      const { store: counted, calls } = recordingStore(inner);
      expect((await listRunRecords(counted, settings, { configHash: mine })).map((r) => r.run_id)).toEqual(['o1']);
      expect(calls.filter((call) => call.method === 'get').map((call) => call.key)).toEqual(['o1/run.json']);
    } finally {
      rmSync(scanRoot, { recursive: true, force: true });
    }
  });

  it('lists a run under its config_hash before writing its record, once per process, and in the SUCCESS index after its SUCCESS record', async () => {
    const { store: counted, calls } = recordingStore(createFsStore(mkdtempSync(path.join(tmpdir(), 'flts-runs-index-'))));
    const run = fakeRun('indexed', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2025-01-01T00:00:00.000Z', 'RUNNING');
    await saveRunRecord(counted, settings, run);
    await saveRunRecord(counted, settings, { ...run, status: 'SUCCESS' });
    expect(calls.map((call) => `${call.method} ${call.key}`)).toEqual([`put config-hashes/${'c'.repeat(64)}/indexed/listed`, 'put indexed/run.json', 'put indexed/run.json', 'put success-runs/indexed/success']);
    rmSync(counted.location, { recursive: true, force: true });
  });

  it('reports unknown and malformed run ids as not found', async () => {
    expect(await findRunRecord(store, settings, 'missing')).toBeUndefined();
    await expect(readRunRecord(store, settings, 'missing')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
    await expect(readRunRecord(store, settings, '../escape')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
  });

  it('marks a run KILLED only while it is RUNNING: a final record written after the marker read it stands', async () => {
    const running = { ...fakeRun('orphan', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2025-04-01T00:00:00.000Z', 'RUNNING'), metrics: undefined };
    await saveRunRecord(store, settings, running);
    // The dead process's last heartbeat is left behind.
    await store.put(settings.store.buckets.runs, 'orphan/heartbeat.json', '{"beats": 3}');
    expect(await markRunKilled(store, settings, 'orphan', 'gone', new Date('2025-04-02T00:00:00.000Z'))).toMatchObject({ status: 'KILLED', error: { code: 'FLTS_TRAIN_ABORTED', message: 'gone' } });
    expect(await readRunRecord(store, settings, 'orphan')).toMatchObject({ status: 'KILLED', timings: { finished_at: '2025-04-02T00:00:00.000Z' } });
    expect(await store.exists(settings.store.buckets.runs, 'orphan/heartbeat.json')).toBe(false);

    await saveRunRecord(store, settings, { ...running, run_id: 'finishing' });
    const success = fakeRun('finishing', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2025-04-01T00:00:00.000Z');
    // The trainer writes SUCCESS between the marker's read of RUNNING and its write.
    const racing: ObjectStore = {
      ...store,
      getVersioned: async (...args) => {
        const read = await store.getVersioned(...args);
        await saveRunRecord(store, settings, success);
        return read;
      },
    };
    expect(await markRunKilled(racing, settings, 'finishing', 'gone')).toBeUndefined();
    expect(await readRunRecord(store, settings, 'finishing')).toEqual(success);
    expect(await markRunKilled(store, settings, 'finishing', 'gone')).toBeUndefined();
    expect(await readRunRecord(store, settings, 'finishing')).toEqual(success);
  });

  it('tells a pid taken by a later process from the trainer of a RUNNING record written before owner.started', async () => {
    // A RUNNING run.json as flts wrote it before owners carried their start: host and pid only.
    const recorded = (pid: number, startedAt: string): RunRecord =>
      JSON.parse(`{
        "run_id": "old", "model_type": "LSTM", "experiment": "Default", "config_hash": "${'c'.repeat(64)}", "status": "RUNNING",
        "window": { "features": ["down"], "targets": ["down"], "inputSeqLen": 10, "outputSeqLen": 1 },
        "timings": { "started_at": "${startedAt}" }, "artifacts": {}, "flts_version": "0.1.0",
        "owner": { "host": ${JSON.stringify(os.hostname())}, "pid": ${pid} }
      }`);
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
      // The pid went to a process that began after the run: the run's trainer is gone (pid reuse, a reboot).
      expect(runOwnerGone(recorded(other.pid!, hourAgo))).toBe(true);
      expect(runOwnerGone(recorded(process.pid, hourAgo))).toBe(true);
      // A process that began before the run may be its trainer, still at it.
      expect(runOwnerGone(recorded(other.pid!, new Date().toISOString()))).toBe(false);
      expect(runOwnerGone(recorded(process.ppid, new Date().toISOString()))).toBe(false);
    } finally {
      other.kill();
    }
  });

  it.skipIf(process.platform !== 'linux')('never takes the pid of a process that counts pids of its own (another boot, another pid namespace) for one of this host', async () => {
    // Before, a host name was enough: a container sharing its host's name (host network) or a second machine of the
    // same name had its live trainer judged gone (its pid unused here) and its run killed, or its pid taken for ours.
    const exited = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => exited.once('exit', resolve));
    const me = currentRunOwner();
    expect(me).toMatchObject({ host: os.hostname(), pid: process.pid, started: expect.stringMatching(/^[\w-]+:\d+$/), pid_namespace: expect.stringMatching(/^\d+$/) });
    const started = `${me.started?.split(':')[0]}:1`;
    const owned = (owner: RunOwner): RunRecord => ({ ...fakeRun('elsewhere', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, new Date().toISOString()), status: 'RUNNING', owner });
    // The same host, boot and namespace: a pid in use by nobody is a trainer gone.
    expect(runOwnerGone(owned({ host: me.host, pid: exited.pid!, started, pid_namespace: me.pid_namespace }))).toBe(true);
    for (const owner of [
      { host: me.host, pid: exited.pid!, started: `00000000-0000-0000-0000-000000000000:1`, pid_namespace: me.pid_namespace },
      { host: me.host, pid: exited.pid!, started, pid_namespace: '1' },
    ]) {
      expect(ownerSharesProcesses(owner)).toBe(false);
      expect(runOwnerGone(owned(owner))).toBe(false);
    }
    expect(runOfThisProcess(owned({ ...me, pid_namespace: '1' }))).toBe(false);
    expect(runOfThisProcess(owned(me))).toBe(true);
    // An owner recorded before boot and namespace were kept is judged by its host name, as before.
    expect(ownerSharesProcesses({ host: me.host, pid: exited.pid! })).toBe(true);
  });

  it.skipIf(process.platform !== 'linux')('takes an earlier instance of its own container (same pod uid and container, another pid namespace or boot) for gone at once, never another container or pod', () => {
    // Before, a container restarted in place by the kubelet (OOMKilled, a failed liveness probe) could not judge the
    // owner it had been: same host name and boot, another pid namespace. Only staleness freed its work, 30 s later.
    const { settings: inPod } = resolveSettings({ env: { FLTS_POD_UID: '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e', FLTS_CONTAINER_NAME: 'daemon' } });
    const instance = inPod.instance;
    expect(instance).toEqual({ podUid: '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e', container: 'daemon', idFile: '', readyFile: '' });
    const me = currentRunOwner(instance);
    expect(me).toMatchObject({ host: os.hostname(), pid: process.pid, pod_uid: instance.podUid, container: 'daemon' });
    expect(currentRunOwner()).not.toHaveProperty('pod_uid');
    const boot = me.started!.split(':')[0];
    const since = new Date().toISOString();
    // The container's first instance: pid 1 of its own namespace, as the new one's may be too.
    const predecessor: RunOwner = { ...me, pid: process.pid, started: `${boot}:7`, pid_namespace: '1' };
    expect(ownerSharesProcesses(predecessor)).toBe(false);
    expect(ownerProcessGone(predecessor, since, instance)).toBe(true);
    expect(runOwnerGone({ ...fakeRun('restarted', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, since), status: 'RUNNING', owner: predecessor }, instance)).toBe(true);
    // The node rebooted and the pod's containers started again: gone too, whatever the namespace's number.
    expect(ownerProcessGone({ ...me, started: '00000000-0000-0000-0000-000000000000:7' }, since, instance)).toBe(true);
    // Another container of the pod, another pod, a pod of another host name, an owner that named no pod: may be at work.
    for (const other of [{ ...predecessor, container: 'sidecar' }, { ...predecessor, pod_uid: '0f0e0d0c-0000-4000-8000-000000000000' }, { ...predecessor, host: `${os.hostname()}-elsewhere` }, { ...predecessor, pod_uid: undefined, container: undefined }]) {
      expect(ownerProcessGone(other, since, instance)).toBe(false);
    }
    // This process not told its pod and container: as before, only staleness decides.
    expect(ownerProcessGone(predecessor, since)).toBe(false);
    expect(ownerProcessGone(predecessor, since, { ...instance, container: '' })).toBe(false);
    // This very process, in its own namespace, is alive.
    expect(ownerProcessGone(me, since, instance)).toBe(false);
  });

  it.skipIf(process.platform !== 'linux')('marks KILLED at once the RUNNING run of an earlier instance of its own container, and leaves another container\'s', async () => {
    const own = createFsStore(mkdtempSync(path.join(root, 'restart-')));
    const { settings: inPod } = resolveSettings({ env: { FLTS_POD_UID: '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e', FLTS_CONTAINER_NAME: 'trainer' } });
    const me = currentRunOwner(inPod.instance);
    const since = new Date().toISOString();
    const predecessor: RunOwner = { ...me, started: `${me.started!.split(':')[0]}:7`, pid_namespace: '1' };
    await saveRunRecord(own, inPod, { ...fakeRun('oomkilled', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, since), status: 'RUNNING', owner: predecessor });
    await saveRunRecord(own, inPod, { ...fakeRun('sidecar', 'GRU', { rmse: 1, mae: 1, mse: 1 }, since), status: 'RUNNING', owner: { ...predecessor, container: 'sidecar' } });
    expect((await markDeadRunsKilled(own, inPod)).map((run) => run.run_id)).toEqual(['oomkilled']);
    expect((await readRunRecord(own, inPod, 'oomkilled')).status).toBe('KILLED');
    expect((await readRunRecord(own, inPod, 'sidecar')).status).toBe('RUNNING');
  });
  it.skipIf(process.platform !== 'linux' || !tmpOnRoot)('takes an earlier instance of its own Compose container (same id file, host name and boot, another pid namespace) for gone at once, never another replica', () => {
    // Before, a container restarted in place by Docker (restart: unless-stopped) had no pod uid: its predecessor, in
    // another pid namespace, was judged only by its heartbeat, and its work waited `daemon.leaseStaleMs`.
    const dir = mkdtempSync(path.join(root, 'container-'));
    const file = path.join(dir, 'instance-id');
    const compose = inContainer(file);
    expect(compose.instance).toEqual({ podUid: '', container: '', idFile: file, readyFile: '' });
    const me = currentRunOwner(compose.instance);
    const id = readFileSync(file, 'utf8').trim();
    expect(me).toMatchObject({ host: os.hostname(), pid: process.pid, instance_id: id });
    expect(me).not.toHaveProperty('pod_uid');
    expect(readdirSync(dir)).toEqual(['instance-id']);
    const boot = me.started!.split(':')[0];
    const since = new Date().toISOString();
    // The container's first instance, before Docker restarted it: pid 1 of its own namespace.
    const predecessor: RunOwner = { ...me, pid: 1, started: `${boot}:7`, pid_namespace: '1' };
    expect(ownerSharesProcesses(predecessor)).toBe(false);
    expect(ownerProcessGone(predecessor, since, compose.instance)).toBe(true);
    expect(runOwnerGone({ ...fakeRun('restarted', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, since), status: 'RUNNING', owner: predecessor }, compose.instance)).toBe(true);
    // Another replica (`--scale`) or a container recreated beside this one wrote an id of its own; one of another host
    // name is another container; an owner that recorded no id, or one of another boot (a cloned disk carries the
    // file), cannot be told apart from a live one: all are waited out.
    const others: RunOwner[] = [
      { ...predecessor, instance_id: '0f0e0d0c-0000-4000-8000-000000000000' },
      { ...predecessor, host: `${os.hostname()}-elsewhere` },
      { ...predecessor, instance_id: undefined },
      { ...predecessor, started: '00000000-0000-0000-0000-000000000000:7' },
      { ...predecessor, started: undefined },
    ];
    for (const other of others) expect(ownerProcessGone(other, since, compose.instance)).toBe(false);
    // This process not told where its container's id is: as before, only the heartbeat decides.
    expect(ownerProcessGone(predecessor, since)).toBe(false);
    expect(ownerProcessGone(predecessor, since, settings.instance)).toBe(false);
    // This very process, in its own namespace, is alive.
    expect(ownerProcessGone(me, since, compose.instance)).toBe(false);
  });

  it.skipIf(process.platform !== 'linux' || !tmpOnRoot)('keeps one container id in its file, and takes none from a file off the root filesystem or one it cannot trust', () => {
    const dir = mkdtempSync(path.join(root, 'id-file-'));
    const file = path.join(dir, 'instance-id');
    const id = containerInstanceId(file, dir);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // What a restarted container's process reads: the same id, from the same file.
    expect(readFileSync(file, 'utf8').trim()).toBe(id);
    expect(containerInstanceId(file, `${dir}/.`)).toBe(id);
    // A volume, a bind mount or a tmpfs could be shared by replicas: /proc stands for a filesystem other than the root.
    const shared = path.join(dir, 'shared-id');
    expect(containerInstanceId(shared, '/proc')).toBeUndefined();
    expect(existsSync(shared)).toBe(false);
    // A file that does not hold an id flts wrote is not taken for one, nor replaced.
    const edited = path.join(dir, 'edited-id');
    writeFileSync(edited, 'daemon\n');
    expect(containerInstanceId(edited, dir)).toBeUndefined();
    expect(readFileSync(edited, 'utf8')).toBe('daemon\n');
    // A directory that does not exist (nothing can be written there): no id.
    expect(containerInstanceId(path.join(dir, 'missing', 'instance-id'), dir)).toBeUndefined();
    expect(containerInstanceId('', dir)).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux' || !tmpOnRoot)('marks KILLED at once the RUNNING run of an earlier instance of its own Compose container, and leaves another replica\'s', async () => {
    const own = createFsStore(mkdtempSync(path.join(root, 'compose-restart-')));
    const compose = inContainer(path.join(mkdtempSync(path.join(root, 'container-')), 'instance-id'));
    const me = currentRunOwner(compose.instance);
    const since = new Date().toISOString();
    const predecessor: RunOwner = { ...me, pid: 1, started: `${me.started!.split(':')[0]}:7`, pid_namespace: '1' };
    await saveRunRecord(own, compose, { ...fakeRun('restarted', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, since), status: 'RUNNING', owner: predecessor });
    await saveRunRecord(own, compose, { ...fakeRun('replica', 'GRU', { rmse: 1, mae: 1, mse: 1 }, since), status: 'RUNNING', owner: { ...predecessor, instance_id: '0f0e0d0c-0000-4000-8000-000000000000' } });
    expect((await markDeadRunsKilled(own, compose)).map((run) => run.run_id)).toEqual(['restarted']);
    expect((await readRunRecord(own, compose, 'restarted')).status).toBe('KILLED');
    expect((await readRunRecord(own, compose, 'replica')).status).toBe('RUNNING');
  });
});
