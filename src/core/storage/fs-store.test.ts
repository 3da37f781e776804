import { execFile } from 'node:child_process';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import { createFsStore } from './fs-store.js';
import { describeObjectStoreContract } from './object-store.contract.js';

const mkdtemp = scratchFolders();

describeObjectStoreContract('core > storage > fs-store', async () => createFsStore(await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'))));

describe('core > storage > fs-store layout', () => {
  it('keeps objects at <root>/<bucket>/<key> and leaves no temp files behind', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'));
    const store = createFsStore(root);
    await store.put('processed-data', 'processed_data.meta.json', '{}');
    expect(await readdir(path.join(root, 'processed-data'))).toEqual(['processed_data.meta.json']);
  });
});

describe('core > storage > fs-store confinement', () => {
  it('refuses to write or read through a directory inside the store that links outside it', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'));
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'flts-elsewhere-'));
    await writeFile(path.join(elsewhere, 'secret.txt'), 'outside');
    await symlink(elsewhere, path.join(root, 'processed-data'));
    const store = createFsStore(root);
    await expect(store.put('processed-data', 'train.parquet', 'x')).rejects.toMatchObject({ code: 'FLTS_STORE_PATH_OUTSIDE_ROOT' });
    await expect(store.put('processed-data', 'nested/deeper/train.parquet', 'x')).rejects.toMatchObject({ code: 'FLTS_STORE_PATH_OUTSIDE_ROOT' });
    await expect(store.get('processed-data', 'secret.txt')).rejects.toMatchObject({ code: 'FLTS_STORE_PATH_OUTSIDE_ROOT' });
    await expect(store.list('processed-data')).rejects.toMatchObject({ code: 'FLTS_STORE_PATH_OUTSIDE_ROOT' });
    expect(await readdir(elsewhere)).toEqual(['secret.txt']);
  });

  it('accepts a root that is itself a link, and a root that does not exist yet', async () => {
    const real = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'));
    const link = path.join(await mkdtemp(path.join(os.tmpdir(), 'flts-link-')), 'home');
    await symlink(real, link);
    const linked = createFsStore(link);
    await linked.put('runs', 'a/b.json', '{}');
    expect((await linked.get('runs', 'a/b.json')).toString()).toBe('{}');
    const fresh = createFsStore(path.join(real, 'not', 'yet'));
    await fresh.put('runs', 'x.json', '1');
    expect(await fresh.list('runs')).toHaveLength(1);
  });
});

describe('core > storage > fs-store objects that are no files', () => {
  // A damaged or tampered store: a directory failed the read as a bug of flts, and a FIFO held it for ever.
  it('reads a directory or a FIFO in an object\'s place as no object, as stat and list see it', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'));
    const store = createFsStore(root);
    await mkdir(path.join(root, 'runs', 'r', 'run.json'), { recursive: true });
    await promisify(execFile)('mkfifo', [path.join(root, 'runs', 'r', 'scaler.json')]);
    for (const key of ['r/run.json', 'r/scaler.json']) {
      await expect(store.get('runs', key)).rejects.toMatchObject({ code: 'FLTS_STORE_NOT_FOUND' });
      await expect(store.getStream('runs', key)).rejects.toMatchObject({ code: 'FLTS_STORE_NOT_FOUND' });
      expect(await store.getVersioned('runs', key)).toBeUndefined();
      expect(await store.exists('runs', key)).toBe(false);
    }
    expect(await store.list('runs')).toEqual([]);
  });
});
