import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { processedKeys, type ProcessedSidecar } from './processed-layout.js';
import { namesNoVersion, resolveProcessedObject } from './processed-version.js';

const HASH = 'e'.repeat(64);
const settings = defaultSettings();
const bucket = settings.store.buckets.processed;
const root = processedKeys(settings);
let dir: string;
let store: ObjectStore;
let reads: string[];

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flts-processed-version-'));
  const fsStore = createFsStore(dir);
  reads = [];
  store = { ...fsStore, get: async (b, key) => (reads.push(key), fsStore.get(b, key)) };
  await store.ensureBucket(bucket);
  // The root set is version HASH, written by hand-made sidecars without flts' extras.
  for (const [parquet, sidecar] of [
    [root.testParquet, root.testSidecar],
    [root.trainParquet, root.trainSidecar],
  ]) {
    await store.put(bucket, parquet, 'rows');
    await store.put(bucket, sidecar, JSON.stringify({ config_hash: HASH, created_at: '2026-01-01T00:00:00Z' } as Partial<ProcessedSidecar>));
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('core > preprocess > resolveProcessedObject', () => {
  it.each([
    ['upper case', HASH.toUpperCase()],
    ["the reference trainer's default", 'default_cfg'],
    ['empty', ''],
  ])('refuses the root files named with a config_hash that is no version (%s), reading nothing', async (_name, configHash) => {
    for (const key of [root.testParquet, root.trainParquet]) {
      await expect(resolveProcessedObject(store, settings, bucket, key, configHash)).rejects.toMatchObject({ code: 'FLTS_DATA_VERSION_GONE', details: { bucket, key, configHash } });
    }
    expect(reads).toEqual([]);
  });

  it('reads the root files as the version named in full, or as the root sidecar says with no version named', async () => {
    await expect(resolveProcessedObject(store, settings, bucket, root.testParquet, HASH)).resolves.toMatchObject({ key: root.testParquet, version: { configHash: HASH } });
    await expect(resolveProcessedObject(store, settings, bucket, root.testParquet)).resolves.toMatchObject({ key: root.testParquet, version: { configHash: HASH } });
  });

  it('reads an object outside the layout as named, whatever token comes with it', async () => {
    await expect(resolveProcessedObject(store, settings, 'incoming', 'day1.csv', 'default_cfg')).resolves.toEqual({ bucket: 'incoming', key: 'day1.csv' });
    expect(namesNoVersion(settings, 'day1.csv', 'default_cfg')).toBe(false);
    expect(namesNoVersion(settings, root.testParquet, 'default_cfg')).toBe(true);
    expect(namesNoVersion(settings, root.testParquet, HASH)).toBe(false);
    expect(namesNoVersion(settings, root.testParquet, undefined)).toBe(false);
  });
});
