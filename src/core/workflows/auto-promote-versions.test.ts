import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../config/settings.js';
import { loadProcessedData } from '../preprocess/processed-data.js';
import { runPreprocess } from '../preprocess/run-preprocess.js';
import { readPromotionPointer } from '../registry/pointers.js';
import { sealRunRecord } from '../registry/run-record-seal.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { trainRun } from '../train/train-run.js';
import { autoPromote } from './auto-promote.js';
import { promoteBest } from './promote.js';

function csv(rows: number, from = 0): string {
  const lines = ['time,down,up'];
  for (let i = 0; i < rows; i++) lines.push(`${new Date(Date.UTC(2018, 1, 5) + (from + i) * 120_000).toISOString().slice(0, 19).replace('T', ' ')},${100 + ((i * 37) % 50)},${i % 11}`);
  return `${lines.join('\n')}\n`;
}

let dir: string;
let store: ObjectStore;

function settingsFor(salt: string): Settings {
  const { settings } = resolveSettings({ flags: { 'data.dataDir': dir, 'data.trainFile': 'train.csv', 'data.testFile': 'test.csv', 'preprocess.hashSalt': salt } });
  settings.daemon.expectedModelTypes = ['NAIVE'];
  return settings;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flts-versions-'));
  writeFileSync(path.join(dir, 'train.csv'), csv(80));
  // After the last training time (training files have at most 100 rows).
  writeFileSync(path.join(dir, 'test.csv'), csv(30, 100));
  store = createFsStore(path.join(dir, 'store'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > workflows > auto-promote > data versions', () => {
  it('orders two versions preprocessed within one second: the older one is superseded, never promoted over the newer', async () => {
    // The reference's created_at has whole seconds; both versions fall in 12:00:00.
    const older = await runPreprocess(settingsFor('a'), { store, now: () => new Date(Date.UTC(2025, 10, 4, 12, 0, 0, 200)) });
    const newer = await runPreprocess(settingsFor('b'), { store, now: () => new Date(Date.UTC(2025, 10, 4, 12, 0, 0, 700)) });
    const settings = settingsFor('b');
    for (const { configHash } of [older, newer]) await trainRun('NAIVE', await loadProcessedData(store, settings, { configHash }), settings, { store });

    expect(await autoPromote(newer.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { data_created_at: '2025-11-04T12:00:00.700Z' } });
    expect(await autoPromote(older.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'superseded' });
    expect((await readPromotionPointer(store, settings))?.config_hash).toBe(newer.configHash);
  });

  it('promotes a run of new rows under the same config_hash over the run of the rows they replaced, however that one scored', async () => {
    const settings = settingsFor('a');
    const first = await runPreprocess(settings, { store, now: () => new Date(Date.UTC(2025, 10, 4, 12, 0, 0)) });
    const old = await trainRun('NAIVE', await loadProcessedData(store, settings, { configHash: first.configHash }), settings, { store });
    expect(await autoPromote(first.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: old.run_id } });
    // The old run's score beats anything: only the data it was trained on may rule it out. Sealed again, as a
    // training that scored so would have sealed it (an edit alone leaves it out of every ranking).
    await saveRunRecord(store, settings, sealRunRecord({ ...old, metrics: { ...old.metrics!, test_rmse: 0, test_mae: 0, test_mse: 0 } }));

    writeFileSync(path.join(dir, 'train.csv'), csv(100));
    const grown = await runPreprocess(settings, { store, now: () => new Date(Date.UTC(2025, 10, 5, 12, 0, 0)) });
    expect(grown.configHash).toBe(first.configHash);
    await expect(promoteBest({ source: 'best', actor: 'ana' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { runsOfReplacedRows: 1 } });
    const fresh = await trainRun('NAIVE', await loadProcessedData(store, settings, { configHash: grown.configHash }), settings, { store });
    expect(await autoPromote(grown.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: fresh.run_id, candidate_runs: [fresh.run_id] } });

    // The same rows preprocessed again (forced): nothing new to promote.
    await runPreprocess({ ...settings, data: { ...settings.data, forceReprocess: true } }, { store, now: () => new Date(Date.UTC(2025, 10, 6, 12, 0, 0)) });
    expect(await autoPromote(grown.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'already-promoted' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe(fresh.run_id);
  });

  it('follows the rows back when a config_hash returns to inputs it held before: the earlier rows\' run is promoted again', async () => {
    const settings = settingsFor('a');
    const first = await runPreprocess(settings, { store, now: () => new Date(Date.UTC(2025, 10, 4, 12, 0, 0)) });
    const runOfA = await trainRun('NAIVE', await loadProcessedData(store, settings, { configHash: first.configHash }), settings, { store });
    expect(await autoPromote(first.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: runOfA.run_id } });

    writeFileSync(path.join(dir, 'train.csv'), csv(100));
    await runPreprocess(settings, { store, now: () => new Date(Date.UTC(2025, 10, 5, 12, 0, 0)) });
    const runOfB = await trainRun('NAIVE', await loadProcessedData(store, settings, { configHash: first.configHash }), settings, { store });
    expect(await autoPromote(first.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: runOfB.run_id } });

    // Back to A's files: its version comes back with its own created_at, older than B's, and its run is current again.
    writeFileSync(path.join(dir, 'train.csv'), csv(80));
    const back = await runPreprocess(settings, { store, now: () => new Date(Date.UTC(2025, 10, 6, 12, 0, 0)) });
    expect(back).toMatchObject({ status: 'reused', configHash: first.configHash });
    expect(await autoPromote(first.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: runOfA.run_id } });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe(runOfA.run_id);
    expect(await autoPromote(first.configHash, 'daemon:a', settings, { store })).toMatchObject({ result: 'already-promoted' });
  });
});
