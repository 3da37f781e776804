import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { silentLogger } from '../logger.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunOwner, RunStatus } from '../registry/run-record.js';
import { currentRunOwner, saveRunRecord } from '../registry/run-store.js';
import { acquireLease, leaseKey, readLease, type LeaseRecord } from '../registry/work-lease.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { removeFinishedLeases } from './finished-leases.js';

const HASH = 'f'.repeat(64);
const { settings } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '5000' } });
let root: string;
let store: ObjectStore;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-finished-leases-'));
  store = createFsStore(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** The process of a trainer killed outright (kill -9): it ran on this host, and its pid is free now. */
async function killedProcess(): Promise<RunOwner> {
  const exited = spawn(process.execPath, ['-e', '']);
  const pid = await new Promise<number>((resolve) => exited.on('exit', () => resolve(exited.pid!)));
  return { ...currentRunOwner(), pid };
}

/** A lease as its holder left it, naming `runId` (when given) of that status. */
async function leftLease(modelType: 'NAIVE' | 'SNAIVE' | 'LSTM' | 'GRU' | 'PROPHET', holder: RunOwner, run?: { id: string; status: RunStatus }): Promise<string> {
  if (run) await saveRunRecord(store, settings, fakeRun(run.id, modelType, { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z', run.status, HASH));
  const stamp = new Date().toISOString();
  const lease: LeaseRecord = { owner: `killed-${modelType}`, step: 'train', config_hash: HASH, model_type: modelType, acquired_at: stamp, heartbeat_at: stamp, beats: 3, process: holder, ...(run ? { run_id: run.id } : {}) };
  const key = leaseKey('train', HASH, modelType);
  await store.put(settings.store.buckets.runs, key, JSON.stringify(lease));
  return key;
}

function sweeper(monotonic?: () => number) {
  return { settings, store, logger: silentLogger, owner: 'daemon-b', monotonic, signal: new AbortController().signal };
}

describe('core > daemon > finished-leases', () => {
  it('removes the leases a killed trainer left on runs recorded done, failed or killed, and leaves unfinished work\'s to the reconcile', async () => {
    const killed = await killedProcess();
    const done = await leftLease('NAIVE', killed, { id: 'naive-done', status: 'SUCCESS' });
    const failed = await leftLease('SNAIVE', killed, { id: 'snaive-failed', status: 'FAILED' });
    const killedRun = await leftLease('GRU', killed, { id: 'gru-killed', status: 'KILLED' });
    const running = await leftLease('LSTM', killed, { id: 'lstm-running', status: 'RUNNING' });
    const noRunYet = await leftLease('PROPHET', killed);

    const removed = await removeFinishedLeases(sweeper());

    expect(removed.map((lease) => [lease.key, lease.status]).sort()).toEqual([[done, 'SUCCESS'], [killedRun, 'KILLED'], [failed, 'FAILED']].sort());
    for (const key of [done, failed, killedRun]) expect(await readLease(store, settings, key), key).toBeUndefined();
    for (const key of [running, noRunYet]) expect((await readLease(store, settings, key))?.owner, key).toMatch(/^killed-/);
  });

  it('leaves a finished run\'s lease while its holder may still release it, and removes it once stale on this process\'s clock', async () => {
    // Another host's trainer: its pid says nothing here, only a lease unchanged for daemon.leaseStaleMs does.
    const elsewhere: RunOwner = { host: `${os.hostname()}-elsewhere`, pid: 4242 };
    const key = await leftLease('NAIVE', elsewhere, { id: 'naive-elsewhere', status: 'SUCCESS' });
    let now = 0;
    const monotonic = (): number => now;
    expect(await removeFinishedLeases(sweeper(monotonic))).toEqual([]);
    now = settings.daemon.leaseStaleMs - 1;
    expect(await removeFinishedLeases(sweeper(monotonic))).toEqual([]);
    now = settings.daemon.leaseStaleMs;
    expect(await removeFinishedLeases(sweeper(monotonic))).toMatchObject([{ key, runId: 'naive-elsewhere', status: 'SUCCESS', owner: 'killed-NAIVE' }]);
    expect(await readLease(store, settings, key)).toBeUndefined();
  });

  it('never takes a lease its holder keeps beating, whatever its run says', async () => {
    await saveRunRecord(store, settings, fakeRun('naive-live', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH));
    const held = await acquireLease({ store, settings, owner: 'daemon-a', logger: silentLogger }, { step: 'train', configHash: HASH, modelType: 'NAIVE' });
    held!.attachRun('naive-live');
    try {
      expect(await removeFinishedLeases(sweeper())).toEqual([]);
      expect((await readLease(store, settings, held!.key))?.owner).toBe('daemon-a');
    } finally {
      await held!.release();
    }
  });

  it('removes with a finished run\'s lease the heartbeat its trainer, killed before removing it, left beside the final record', async () => {
    const killed = await killedProcess();
    await leftLease('NAIVE', killed, { id: 'naive-done', status: 'SUCCESS' });
    const beat = JSON.stringify({ run_id: 'naive-done', owner: killed, beats: 9, heartbeat_at: '2026-01-01T00:00:00.000Z' });
    await store.put(settings.store.buckets.runs, 'naive-done/heartbeat.json', beat);
    await removeFinishedLeases(sweeper());
    // Before, the heartbeat stayed for ever: no reader looks at a finished run's.
    expect((await store.list(settings.store.buckets.runs, 'naive-done/')).map((info) => info.key)).toEqual(['naive-done/run.json']);
  });
});
