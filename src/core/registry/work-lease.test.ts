import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { createFsStore } from '../storage/fs-store.js';
import { currentRunOwner } from './run-store.js';
import { acquireLease, isLeaseBeatingHere, isLeaseFresh, leaseKey, readLease } from './work-lease.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'flts-lease-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
const { settings } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '1000' } });
const work = { step: 'train', configHash: 'c'.repeat(64), modelType: 'LSTM' };

describe('core > registry > work-lease', () => {
  it('is fresh until this process has seen it unchanged for the stale limit, whatever clock its holder has', () => {
    const store = createFsStore(root);
    const key = leaseKey('train', work.configHash, 'LSTM');
    let tick = 0;
    const clock = (): number => tick;
    // Written by a holder whose clock is a day behind: its timestamps never decide anything.
    const lease = { owner: 'a', step: 'train', config_hash: '', model_type: 'LSTM', acquired_at: '', heartbeat_at: '2026-01-01T00:00:00.000Z', beats: 0 };
    expect(isLeaseFresh(store, key, lease, 1000, clock)).toBe(true);
    tick = 999;
    expect(isLeaseFresh(store, key, lease, 1000, clock)).toBe(true);
    tick = 1500;
    const beat = { ...lease, beats: 1 };
    expect(isLeaseFresh(store, key, beat, 1000, clock)).toBe(true);
    tick = 2499;
    expect(isLeaseFresh(store, key, beat, 1000, clock)).toBe(true);
    tick = 2500;
    expect(isLeaseFresh(store, key, beat, 1000, clock)).toBe(false);
    expect(isLeaseFresh(store, key, undefined, 1000, clock)).toBe(false);
    // Gone and back (released, taken again): seen for the first time again.
    expect(isLeaseFresh(store, key, beat, 1000, clock)).toBe(true);
  });

  it('never takes a live lease from a holder whose clock runs far behind, and takes it once the holder stops', async () => {
    const store = createFsStore(root);
    const { settings: rare } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '60000', FLTS_DAEMON_LEASE_STALE_MS: '120000' } });
    const modelType = 'SKEWED';
    const key = leaseKey('train', work.configHash, modelType);
    const warnings: string[] = [];
    const holderLogger = { ...silentLogger, warn: (_: object, msg?: string) => void warnings.push(msg ?? '') };
    const behind = (): number => Date.now() - 3_600_000;
    const holder = await acquireLease({ store, settings: rare, owner: 'behind', logger: holderLogger, now: behind }, { ...work, modelType });
    expect(holder).toBeDefined();
    let tick = 0;
    const other = { store, settings: rare, owner: 'other', logger: silentLogger, monotonic: () => tick };
    expect(await acquireLease(other, { ...work, modelType })).toBeUndefined();
    // The holder heartbeats (stamped an hour in the past) within each stale limit of the other's clock.
    holder!.attachRun('run-1');
    await expect.poll(async () => (await readLease(store, rare, key))?.run_id).toBe('run-1');
    tick = 120_000;
    expect(await acquireLease(other, { ...work, modelType })).toBeUndefined();
    holder!.attachRun('run-2');
    await expect.poll(async () => (await readLease(store, rare, key))?.run_id).toBe('run-2');
    tick = 240_000;
    expect(await acquireLease(other, { ...work, modelType })).toBeUndefined();
    // No heartbeat for a whole stale limit: the other takes over, and the holder finds its lease lost.
    tick = 360_000;
    const taken = await acquireLease(other, { ...work, modelType });
    expect(taken).toBeDefined();
    expect((await readLease(store, rare, key))?.owner).toBe('other');
    holder!.attachRun('run-3');
    await expect.poll(() => warnings).toContain('daemon_lease_lost');
    expect((await readLease(store, rare, key))?.owner).toBe('other');
    await holder!.release();
    await taken!.release();
  });

  it('refuses a fresh lease of another owner, records the run, and is free again after release', async () => {
    const store = createFsStore(root);
    const first = await acquireLease({ store, settings, owner: 'one', logger: silentLogger }, work);
    expect(first).toBeDefined();
    expect(await acquireLease({ store, settings, owner: 'two', logger: silentLogger }, work)).toBeUndefined();
    first!.attachRun('run-1');
    await expect.poll(async () => (await readLease(store, settings, leaseKey('train', work.configHash, 'LSTM')))?.run_id).toBe('run-1');
    await first!.release();
    expect(await readLease(store, settings, leaseKey('train', work.configHash, 'LSTM'))).toBeUndefined();
    const second = await acquireLease({ store, settings, owner: 'two', logger: silentLogger }, work);
    expect(second).toBeDefined();
    await second!.release();
  });

  it('takes over a lease whose owner stopped heartbeating, once this process has seen it unchanged for the stale limit', async () => {
    const store = createFsStore(root);
    // A timestamp from the holder's clock, here one running far ahead: only the reader's own clock counts.
    const stamp = new Date(Date.now() + 3_600_000).toISOString();
    await store.put(settings.store.buckets.runs, leaseKey('train', work.configHash, 'GRU'), JSON.stringify({ owner: 'dead', step: 'train', config_hash: work.configHash, model_type: 'GRU', acquired_at: stamp, heartbeat_at: stamp }));
    let tick = 0;
    const options = { store, settings, owner: 'alive', logger: silentLogger, monotonic: () => tick };
    expect(await acquireLease(options, { ...work, modelType: 'GRU' })).toBeUndefined();
    tick = settings.daemon.leaseStaleMs;
    const lease = await acquireLease(options, { ...work, modelType: 'GRU' });
    expect(lease).toBeDefined();
    expect((await readLease(store, settings, leaseKey('train', work.configHash, 'GRU')))?.owner).toBe('alive');
    await lease!.release();
  });

  it('takes over at once a lease whose holder\'s process is gone from this host, and records its own process', async () => {
    const store = createFsStore(root);
    const key = leaseKey('train', work.configHash, 'SNAIVE');
    const exited = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => exited.on('exit', () => resolve(exited.pid!)));
    const stamp = new Date().toISOString();
    const dead = { owner: 'killed', step: 'train', config_hash: work.configHash, model_type: 'SNAIVE', acquired_at: stamp, heartbeat_at: stamp, beats: 0 };
    await store.put(settings.store.buckets.runs, key, JSON.stringify({ ...dead, process: { host: os.hostname(), pid: deadPid } }));
    const lease = await acquireLease({ store, settings, owner: 'alive', logger: silentLogger }, { ...work, modelType: 'SNAIVE' });
    expect(lease).toBeDefined();
    const taken = await readLease(store, settings, key);
    expect(taken).toMatchObject({ owner: 'alive', process: { host: os.hostname(), pid: process.pid } });
    // Held by this very process (another of its trainers): beating here, known at work without a change seen.
    expect(isLeaseBeatingHere(taken!, settings.daemon.leaseStaleMs)).toBe(true);
    expect(isLeaseBeatingHere({ ...taken!, process: { host: `${os.hostname()}-elsewhere`, pid: process.pid, started: taken!.process!.started } }, settings.daemon.leaseStaleMs)).toBe(false);
    expect(isLeaseBeatingHere(taken!, settings.daemon.leaseStaleMs, Date.parse(taken!.heartbeat_at) + settings.daemon.leaseStaleMs)).toBe(false);
    await lease!.release();
    // The same lease on another host: only staleness on this clock frees it.
    await store.put(settings.store.buckets.runs, key, JSON.stringify({ ...dead, process: { host: `${os.hostname()}-elsewhere`, pid: deadPid } }));
    expect(await acquireLease({ store, settings, owner: 'alive', logger: silentLogger }, { ...work, modelType: 'SNAIVE' })).toBeUndefined();
    await store.delete(settings.store.buckets.runs, key);
  });

  it.skipIf(process.platform !== 'linux')('takes over at once the lease of an earlier instance of its own container, restarted in place, and waits out another container\'s', async () => {
    // Before, the restarted container (same host name and boot, a new pid namespace) could not judge its predecessor's
    // process and waited `daemon.leaseStaleMs` of its own clock before training the model again.
    const store = createFsStore(root);
    const podEnv = { FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '1000', FLTS_POD_UID: '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e', FLTS_CONTAINER_NAME: 'daemon' };
    const { settings: inPod } = resolveSettings({ env: podEnv });
    const modelType = 'RESTARTED';
    const key = leaseKey('train', work.configHash, modelType);
    const me = currentRunOwner(inPod.instance);
    const stamp = new Date().toISOString();
    const lease = (process: object) => JSON.stringify({ owner: 'before-restart', step: 'train', config_hash: work.configHash, model_type: modelType, acquired_at: stamp, heartbeat_at: stamp, beats: 3, process });
    const predecessor = { ...me, started: `${me.started!.split(':')[0]}:7`, pid_namespace: '1' };
    let tick = 0;
    const options = { store, settings: inPod, owner: 'after-restart', logger: silentLogger, monotonic: () => tick };
    await store.put(inPod.store.buckets.runs, key, lease(predecessor));
    const taken = await acquireLease(options, { ...work, modelType });
    expect(taken).toBeDefined();
    expect(await readLease(store, inPod, key)).toMatchObject({ owner: 'after-restart', process: { pod_uid: podEnv.FLTS_POD_UID, container: 'daemon', pid_namespace: me.pid_namespace } });
    await taken!.release();
    // Not told its pod and container, a process judges the same lease as before: only staleness frees it.
    await store.put(inPod.store.buckets.runs, key, lease(predecessor));
    expect(await acquireLease({ ...options, settings }, { ...work, modelType })).toBeUndefined();
    await store.delete(inPod.store.buckets.runs, key);
    // Another container of the pod, or the same container name in another pod, may be at work: waited out.
    for (const other of [{ ...predecessor, container: 'sidecar' }, { ...predecessor, pod_uid: '0f0e0d0c-0000-4000-8000-000000000000' }]) {
      tick += 10_000;
      await store.put(inPod.store.buckets.runs, key, lease(other));
      expect(await acquireLease(options, { ...work, modelType })).toBeUndefined();
      tick += inPod.daemon.leaseStaleMs - 1;
      expect(await acquireLease(options, { ...work, modelType })).toBeUndefined();
      tick += 1;
      const late = await acquireLease(options, { ...work, modelType });
      expect(late).toBeDefined();
      await late!.release();
    }
  });

  it.skipIf(process.platform !== 'linux' || statSync(root).dev !== statSync('/').dev)('takes over at once the lease of an earlier instance of its own Compose container, restarted in place, and waits out another replica\'s', async () => {
    // Before, a container Docker restarted (restart: unless-stopped) had no pod uid to know its predecessor by, and
    // waited `daemon.leaseStaleMs` of its own clock before training the model again.
    const store = createFsStore(root);
    const idFile = path.join(mkdtempSync(path.join(root, 'container-')), 'instance-id');
    const { settings: compose } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '50', FLTS_DAEMON_LEASE_STALE_MS: '1000', FLTS_INSTANCE_ID_FILE: idFile } });
    const modelType = 'COMPOSE';
    const key = leaseKey('train', work.configHash, modelType);
    const me = currentRunOwner(compose.instance);
    expect(me.instance_id).toBeDefined();
    const stamp = new Date().toISOString();
    const lease = (process: object) => JSON.stringify({ owner: 'before-restart', step: 'train', config_hash: work.configHash, model_type: modelType, acquired_at: stamp, heartbeat_at: stamp, beats: 3, process });
    const predecessor = { ...me, pid: 1, started: `${me.started!.split(':')[0]}:7`, pid_namespace: '1' };
    let tick = 0;
    const options = { store, settings: compose, owner: 'after-restart', logger: silentLogger, monotonic: () => tick };
    await store.put(compose.store.buckets.runs, key, lease(predecessor));
    const taken = await acquireLease(options, { ...work, modelType });
    expect(taken).toBeDefined();
    expect(await readLease(store, compose, key)).toMatchObject({ owner: 'after-restart', process: { instance_id: me.instance_id, pid_namespace: me.pid_namespace } });
    await taken!.release();
    // Another replica of the service (its own id file), live for all this process knows: waited out.
    await store.put(compose.store.buckets.runs, key, lease({ ...predecessor, instance_id: '0f0e0d0c-0000-4000-8000-000000000000' }));
    expect(await acquireLease(options, { ...work, modelType })).toBeUndefined();
    tick += compose.daemon.leaseStaleMs - 1;
    expect(await acquireLease(options, { ...work, modelType })).toBeUndefined();
    tick += 1;
    const late = await acquireLease(options, { ...work, modelType });
    expect(late).toBeDefined();
    await late!.release();
  });

  it('gives a contested lease to exactly one of many racing owners, fresh or stale', async () => {
    const store = createFsStore(root);
    const racers = Array.from({ length: 8 }, (_, i) => `racer-${i}`);
    const fresh = await Promise.all(racers.map((owner) => acquireLease({ store, settings, owner, logger: silentLogger }, { ...work, modelType: 'PROPHET' })));
    expect(fresh.filter(Boolean)).toHaveLength(1);
    await fresh.find(Boolean)!.release();

    const stale = new Date(Date.now() - 5_000).toISOString();
    await store.put(settings.store.buckets.runs, leaseKey('train', work.configHash, 'NAIVE'), JSON.stringify({ owner: 'dead', step: 'train', config_hash: work.configHash, model_type: 'NAIVE', acquired_at: stale, heartbeat_at: stale }));
    let tick = 0;
    const racer = (owner: string) => acquireLease({ store, settings, owner, logger: silentLogger, monotonic: () => tick }, { ...work, modelType: 'NAIVE' });
    expect((await Promise.all(racers.map(racer))).filter(Boolean)).toHaveLength(0);
    tick = settings.daemon.leaseStaleMs;
    const takeovers = await Promise.all(racers.map(racer));
    const winners = takeovers.filter(Boolean);
    expect(winners).toHaveLength(1);
    expect((await readLease(store, settings, leaseKey('train', work.configHash, 'NAIVE')))?.owner).toBe(racers[takeovers.indexOf(winners[0])]);
    await winners[0]!.release();
  });

  it('stays exclusive when the competing write lands after the holder already checked (a slow store)', async () => {
    const store = createFsStore(root);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // The competitor's writes reach the store only once the first owner holds the lease.
    const slow = { ...store, put: async (...args: Parameters<typeof store.put>) => gate.then(() => store.put(...args)), putIfAbsent: async (...args: Parameters<typeof store.putIfAbsent>) => gate.then(() => store.putIfAbsent(...args)) };
    const modelType = 'SLOW';
    // Heartbeats as rare as in production, so no rewrite by the holder hides the competitor's overwrite.
    const { settings: rare } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '60000', FLTS_DAEMON_LEASE_STALE_MS: '120000' } });
    const competitor = acquireLease({ store: slow, settings: rare, owner: 'slow', logger: silentLogger }, { ...work, modelType });
    const first = await acquireLease({ store, settings: rare, owner: 'fast', logger: silentLogger }, { ...work, modelType });
    open();
    expect(first).toBeDefined();
    expect(await competitor).toBeUndefined();
    expect((await readLease(store, rare, leaseKey('train', work.configHash, modelType)))?.owner).toBe('fast');
    await first!.release();
  });

  it('keeps its lease when heartbeats are asked for faster than the store writes them', async () => {
    const store = createFsStore(root);
    const { settings: rare } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '60000', FLTS_DAEMON_LEASE_STALE_MS: '120000' } });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let waiting = 0;
    // Every heartbeat write waits until the test lets it through, like a store answering slowly under load.
    const slow = { ...store, putIfVersion: async (...args: Parameters<typeof store.putIfVersion>) => (waiting++, gate.then(() => store.putIfVersion(...args))) };
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_: object, msg?: string) => void warnings.push(msg ?? '') };
    const modelType = 'BUSY';
    const lease = await acquireLease({ store: slow, settings: rare, owner: 'holder', logger }, { ...work, modelType });
    lease!.attachRun('run-1');
    lease!.attachRun('run-2');
    await expect.poll(() => waiting).toBeGreaterThan(0);
    open();
    await expect.poll(async () => (await readLease(store, rare, leaseKey('train', work.configHash, modelType)))?.run_id).toBe('run-2');
    lease!.attachRun('run-3');
    await expect.poll(async () => (await readLease(store, rare, leaseKey('train', work.configHash, modelType)))?.run_id).toBe('run-3');
    expect(warnings).not.toContain('daemon_lease_lost');
    await lease!.release();
  });

  it('says a heartbeat an outage failed by its code and reason, without the stack it repeated every beat', async () => {
    const store = createFsStore(root);
    const { settings: rare } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '60000', FLTS_DAEMON_LEASE_STALE_MS: '120000' } });
    const away = new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://s3:9000 did not answer for 10 s.');
    const down = { ...store, putIfVersion: async () => Promise.reject(away) };
    const warnings: Array<{ fields: object; msg?: string }> = [];
    const logger = { ...silentLogger, warn: (fields: object, msg?: string) => void warnings.push({ fields, msg }) };
    const modelType = 'AWAY';
    const lease = await acquireLease({ store: down, settings: rare, owner: 'holder', logger }, { ...work, modelType });
    lease!.attachRun('run-1');
    await expect.poll(() => warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toEqual({ msg: 'daemon_lease_heartbeat_failed', fields: { key: leaseKey('train', work.configHash, modelType), code: 'FLTS_STORE_UNAVAILABLE', reason: away.message } });
    await lease!.release();
  });
});
