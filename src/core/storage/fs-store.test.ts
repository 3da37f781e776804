import { execFile } from 'node:child_process';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import type { Logger } from '../logger.js';
import { TEMP_FILE_PREFIX } from '../write-file-whole.js';
import { createFsStore, TEMP_FILE_STALE_MS } from './fs-store.js';
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

describe('core > storage > fs-store keys with a lone surrogate', () => {
  it('refuses them as invalid keys rather than name the file with U+FFFD, another object', async () => {
    const store = createFsStore(await mkdtemp(path.join(os.tmpdir(), 'flts-fs-')));
    await store.put('incoming', 'day\ufffd.csv', 'another object');
    for (const attempt of [() => store.get('incoming', 'day\ud800.csv'), () => store.stat('incoming', 'day\udc00.csv'), () => store.put('incoming', 'a\ud800/b.csv', 'x'), () => store.delete('incoming', 'day\ud800.csv')]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'FLTS_STORE_KEY_INVALID', message: expect.stringContaining('lone surrogate') });
    }
    // A listing prefix too, as the S3 store must refuse it: 'day\ud800' would list nothing here, 'a\udc00/' nothing there.
    for (const prefix of ['day\ud800', 'a\udc00/', 'a\udc00/b']) {
      await expect(store.list('incoming', prefix)).rejects.toMatchObject({ code: 'FLTS_STORE_KEY_INVALID', message: expect.stringContaining('lone surrogate'), details: { key: prefix } });
    }
    expect(String(await store.get('incoming', 'day\ufffd.csv'))).toBe('another object');
    expect((await store.list('incoming')).map((object) => object.key)).toEqual(['day\ufffd.csv']);
  });
});

describe('core > storage > fs-store temporary files left by killed writes', () => {
  const uuidTemp = (n: number): string => `${TEMP_FILE_PREFIX}0000000${n}-1111-4222-8333-444444444444`;
  /** A file whose modification time is `ageMs` in the past, as a write killed that long ago leaves it. */
  async function leftover(file: string, ageMs: number): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '{"partial');
    const then = new Date(Date.now() - ageMs);
    await utimes(file, then, then);
  }

  it('never lists them as objects, stale or fresh, from the bucket or from a folder', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'));
    const store = createFsStore(root);
    await store.put('runs', 'leases/train/h1/lstm.json', '{}');
    await leftover(path.join(root, 'runs', 'leases', 'train', 'h1', uuidTemp(1)), 0);
    await leftover(path.join(root, 'runs', 'leases', 'train', 'h1', uuidTemp(2)), 2 * TEMP_FILE_STALE_MS);
    await leftover(path.join(root, 'runs', 'leases', 'train', 'h1', `${TEMP_FILE_PREFIX}lock-lstm.json`), 0);
    for (const prefix of ['', 'leases/', 'leases/train/h1/', 'leases/train/h1/.flts']) {
      expect((await store.list('runs', prefix)).map(({ key }) => key)).toEqual(prefix.endsWith('.flts') ? [] : ['leases/train/h1/lstm.json']);
    }
  });

  // A process killed between writing its temp file and renaming it left the file for ever: nothing removed it.
  it('removes the ones older than an hour as a listing meets them, keeps younger ones and objects, and says how many', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'));
    const infos: Array<{ fields: Record<string, unknown>; msg?: string }> = [];
    const logger: Logger = { trace() {}, debug() {}, warn() {}, error() {}, info: (fields, msg) => void infos.push({ fields: fields as Record<string, unknown>, msg }), child: () => logger };
    const store = createFsStore(root, { logger });
    await store.put('runs', 'leases/train/h1/lstm.json', '{}');
    await store.put('runs', 'r1/run.json', '{}');
    const leases = path.join(root, 'runs', 'leases', 'train', 'h1');
    const hour = TEMP_FILE_STALE_MS;
    await leftover(path.join(leases, uuidTemp(1)), 2 * hour);
    await leftover(path.join(leases, `${TEMP_FILE_PREFIX}lock-lstm.json`), 2 * hour);
    await leftover(path.join(leases, uuidTemp(2)), hour / 2);
    // Named by a caller, not by the store: an object, however unlisted, is not the store's to delete.
    await leftover(path.join(leases, `${TEMP_FILE_PREFIX}notes`), 2 * hour);
    await leftover(path.join(root, 'runs', 'r1', uuidTemp(3)), 2 * hour);

    expect((await store.list('runs', 'leases/')).map(({ key }) => key)).toEqual(['leases/train/h1/lstm.json']);
    expect((await readdir(leases)).sort()).toEqual([uuidTemp(2), `${TEMP_FILE_PREFIX}notes`, 'lstm.json'].sort());
    // Only the folder listed is looked at: no walk of the whole store.
    expect(await readdir(path.join(root, 'runs', 'r1'))).toContain(uuidTemp(3));
    expect(infos).toEqual([{ fields: expect.objectContaining({ bucket: 'runs', prefix: 'leases/', removed: 2 }), msg: 'store_fs_temp_files_removed' }]);

    await store.list('runs');
    expect(await readdir(path.join(root, 'runs', 'r1'))).toEqual(['run.json']);
    expect(infos.at(-1)).toEqual({ fields: expect.objectContaining({ bucket: 'runs', prefix: '', removed: 1 }), msg: 'store_fs_temp_files_removed' });
    // Nothing left to remove: nothing said.
    await store.list('runs');
    expect(infos).toHaveLength(2);
    expect(await store.get('runs', 'leases/train/h1/lstm.json')).toEqual(Buffer.from('{}'));
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
