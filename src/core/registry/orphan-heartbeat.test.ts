import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { processStartOf } from '../proc-stat.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RunOwner } from './run-record.js';
import { currentRunOwner, listRunIds, listRunRecords, ORPHAN_HEARTBEAT_STALE_MS, removeOrphanHeartbeats, scanRunRecords } from './run-store.js';

const settings = defaultSettings();
const bucket = settings.store.buckets.runs;
let root: string;
let store: ObjectStore;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-orphan-heartbeat-'));
  store = createFsStore(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A run id as trainRun makes them. */
const runId = (digit: string): string => digit.repeat(32);

/** The heartbeat a trainer writes before its RUNNING record, alone in its run's folder; `ageMs` back by its mtime. */
async function lone(id: string, owner: RunOwner, ageMs = 0): Promise<void> {
  await store.put(bucket, `${id}/heartbeat.json`, JSON.stringify({ run_id: id, owner, beats: 0, heartbeat_at: new Date().toISOString() }));
  const at = new Date(Date.now() - ageMs);
  utimesSync(path.join(root, bucket, id, 'heartbeat.json'), at, at);
}

/** One of each: a trainer gone here, one running here with an old beat, one elsewhere that beat now, one elsewhere stale. */
async function fourLoneHeartbeats(): Promise<void> {
  const exited = spawn(process.execPath, ['-e', '']);
  const endedPid = await new Promise<number>((resolve) => exited.on('exit', () => resolve(exited.pid!)));
  const here = currentRunOwner();
  // Killed between its first beat and its RUNNING record.
  await lone(runId('1'), { ...here, pid: endedPid });
  // Running on this host, though its heartbeat is old: a trainer held up by its store.
  await lone(runId('2'), { ...here, pid: process.ppid, ...(processStartOf(process.ppid) ? { started: processStartOf(process.ppid) } : {}) }, 2 * ORPHAN_HEARTBEAT_STALE_MS);
  // Elsewhere: only its age can say, and it beat a moment ago.
  await lone(runId('3'), { host: `${os.hostname()}-elsewhere`, pid: 4242 });
  // Elsewhere, and not rewritten for longer than any live trainer leaves it.
  await lone(runId('4'), { host: `${os.hostname()}-elsewhere`, pid: 4242 }, ORPHAN_HEARTBEAT_STALE_MS + 60_000);
}

const storedKeys = async (): Promise<string[]> => (await store.list(bucket, '')).map((info) => info.key).sort();

describe('core > registry > a heartbeat without its run', () => {
  it('is removed by the registry upkeep once its trainer is gone, never while it runs', async () => {
    await fourLoneHeartbeats();
    const scan = await scanRunRecords(store, settings);
    expect(scan.records).toEqual([]);
    expect(scan.unrecorded).toEqual([runId('1'), runId('2'), runId('3'), runId('4')]);
    expect(await removeOrphanHeartbeats(store, settings, scan.unrecorded)).toEqual([runId('1'), runId('4')]);
    // Before, every such folder stayed, and every scan of the registry read it again.
    expect((await listRunIds(store, settings)).sort()).toEqual([runId('2'), runId('3')]);
    expect(await storedKeys()).toEqual([`${runId('2')}/heartbeat.json`, `${runId('3')}/heartbeat.json`]);
  });

  it('is left by a read of the registry: a listing or a scan deletes nothing', async () => {
    await fourLoneHeartbeats();
    const before = await storedKeys();
    expect(before).toHaveLength(4);
    expect(await listRunRecords(store, settings)).toEqual([]);
    expect((await scanRunRecords(store, settings)).records).toEqual([]);
    expect(await storedKeys()).toEqual(before);
  });
});
