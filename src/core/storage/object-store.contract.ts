import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { getJson, putJson } from './json-objects.js';
import type { ObjectStore } from './object-store.js';

/**
 * Behaviour every ObjectStore must have; run against the filesystem and the S3 implementation alike.
 * `atomicConditionalWrites: false` leaves out the simultaneous conditional writes, for a server that checks
 * If-None-Match / If-Match before it writes instead of atomically with the write.
 */
export function describeObjectStoreContract(
  name: string,
  createStore: () => Promise<ObjectStore>,
  bucketPrefix = 'flts-contract',
  { atomicConditionalWrites = true }: { atomicConditionalWrites?: boolean } = {},
): void {
  describe(`${name} (ObjectStore contract)`, () => {
    let store: ObjectStore;
    const bucket = `${bucketPrefix}-${Math.random().toString(36).slice(2, 8)}`;

    beforeAll(async () => {
      store = await createStore();
      await store.ensureBucket(bucket);
    });

    it('round-trips bytes and text, and replaces on put', async () => {
      await store.put(bucket, 'a/b/c.txt', 'first');
      await store.put(bucket, 'a/b/c.txt', Buffer.from('second'));
      expect((await store.get(bucket, 'a/b/c.txt')).toString()).toBe('second');
      expect((await store.stat(bucket, 'a/b/c.txt'))?.size).toBe(6);
    });

    it('creates an object only when absent and replaces it only at the version read', async () => {
      const key = `conditional/${Math.random().toString(36).slice(2, 8)}.json`;
      const first = await store.putIfAbsent(bucket, key, '{"owner":"a"}');
      expect(first).toMatch(/^[0-9a-f]{32}$/);
      expect(await store.putIfAbsent(bucket, key, '{"owner":"b"}')).toBeUndefined();
      const read = await store.getVersioned(bucket, key);
      expect(read).toEqual({ body: Buffer.from('{"owner":"a"}'), version: first });
      expect(await store.putIfVersion(bucket, key, '{"owner":"c"}', '0'.repeat(32))).toBeUndefined();
      const second = await store.putIfVersion(bucket, key, '{"owner":"d"}', first!);
      expect(second).toBeDefined();
      expect(await store.putIfVersion(bucket, key, '{"owner":"e"}', first!)).toBeUndefined();
      expect((await store.get(bucket, key)).toString()).toBe('{"owner":"d"}');
      expect(await store.getVersioned(bucket, `${key}.missing`)).toBeUndefined();
      expect(await store.putIfVersion(bucket, `${key}.missing`, '{}', first!)).toBeUndefined();
    });

    if (atomicConditionalWrites) it('lets exactly one of several simultaneous conditional writes win', async () => {
      const raced = `conditional/race-${Math.random().toString(36).slice(2, 8)}.json`;
      const created = await Promise.all(Array.from({ length: 6 }, (_, i) => store.putIfAbsent(bucket, raced, `{"owner":${i}}`)));
      expect(created.filter((version) => version !== undefined)).toHaveLength(1);
      const base = (await store.getVersioned(bucket, raced))!;
      const replaced = await Promise.all(Array.from({ length: 6 }, (_, i) => store.putIfVersion(bucket, raced, `{"next":${i}}`, base.version)));
      expect(replaced.filter((version) => version !== undefined)).toHaveLength(1);
    });

    it('reports a missing object as FLTS_STORE_NOT_FOUND and exists() false', async () => {
      const error = await store.get(bucket, 'nope/missing.json').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FltsError);
      expect((error as FltsError).code).toBe('FLTS_STORE_NOT_FOUND');
      expect(await store.exists(bucket, 'nope/missing.json')).toBe(false);
      expect(await store.stat(bucket, 'nope/missing.json')).toBeUndefined();
    });

    it('lists by prefix, recursively, sorted by key', async () => {
      await store.put(bucket, 'list/x/2.json', '2');
      await store.put(bucket, 'list/x/1.json', '1');
      await store.put(bucket, 'list/y.json', 'y');
      await store.put(bucket, 'listing.json', 'z');
      expect((await store.list(bucket, 'list/')).map((o) => o.key)).toEqual(['list/x/1.json', 'list/x/2.json', 'list/y.json']);
      expect((await store.list(bucket, 'list/x/')).map((o) => o.key)).toEqual(['list/x/1.json', 'list/x/2.json']);
      expect((await store.list(bucket, 'list')).map((o) => o.key)).toContain('listing.json');
    });

    it('lists the folders one level below a prefix, and an emptied one goes', async () => {
      await store.put(bucket, 'folders/a/20260101/1.jsonl', '1');
      await store.put(bucket, 'folders/a/20260102/2.jsonl', '2');
      await store.put(bucket, 'folders/b/x.jsonl', 'x');
      await store.put(bucket, 'folders/top.jsonl', 't');
      expect(await store.listFolders(bucket, 'folders/')).toEqual(['folders/a/', 'folders/b/']);
      expect(await store.listFolders(bucket, 'folders/a/')).toEqual(['folders/a/20260101/', 'folders/a/20260102/']);
      expect(await store.listFolders(bucket, 'folders/none/')).toEqual([]);
      expect(await store.listFolders(bucket)).toContain('folders/');
      await store.delete(bucket, 'folders/a/20260101/1.jsonl');
      await store.removeEmptyFolder?.(bucket, 'folders/a/20260101/');
      await store.removeEmptyFolder?.(bucket, 'folders/a/20260102/');
      expect(await store.listFolders(bucket, 'folders/a/')).toEqual(['folders/a/20260102/']);
      expect(await store.exists(bucket, 'folders/a/20260102/2.jsonl')).toBe(true);
    });

    it('deletes, and deleting a missing object is not an error', async () => {
      await store.put(bucket, 'del/me.txt', 'x');
      await store.delete(bucket, 'del/me.txt');
      await store.delete(bucket, 'del/me.txt');
      expect(await store.exists(bucket, 'del/me.txt')).toBe(false);
    });

    it('deletes many keys at once, past one S3 request of 1000, a missing one among them too', async () => {
      const keys = Array.from({ length: 1001 }, (_, i) => `many/${String(i).padStart(4, '0')}.jsonl`);
      for (let at = 0; at < keys.length; at += 50) await Promise.all(keys.slice(at, at + 50).map((key) => store.put(bucket, key, '{}\n')));
      await store.put(bucket, 'many-kept.jsonl', 'k');
      const result = await store.deleteMany(bucket, [...keys, 'many/missing.jsonl']);
      expect(result).toEqual({ deleted: [...keys, 'many/missing.jsonl'], failed: [] });
      expect(await store.list(bucket, 'many/')).toEqual([]);
      expect(await store.exists(bucket, 'many-kept.jsonl')).toBe(true);
      expect(await store.deleteMany(bucket, [])).toEqual({ deleted: [], failed: [] });
    });

    it('checks every key before deleting any', async () => {
      await store.put(bucket, 'many-checked/keep.txt', 'x');
      await expect(store.deleteMany(bucket, ['many-checked/keep.txt', '../escape'])).rejects.toMatchObject({ code: 'FLTS_STORE_KEY_OUTSIDE_ROOT' });
      expect(await store.exists(bucket, 'many-checked/keep.txt')).toBe(true);
    });

    it('lists only the first `limit` objects by key when given one', async () => {
      for (const key of ['limit/c.json', 'limit/a.json', 'limit/sub/b.json', 'limit/d.json']) await store.put(bucket, key, '{}');
      expect((await store.list(bucket, 'limit/', { limit: 2 })).map((o) => o.key)).toEqual(['limit/a.json', 'limit/c.json']);
      expect((await store.list(bucket, 'limit/', { limit: 10 })).map((o) => o.key)).toEqual(['limit/a.json', 'limit/c.json', 'limit/d.json', 'limit/sub/b.json']);
      expect((await store.list(bucket, 'limit/', { limit: 1 }))[0]).toMatchObject({ key: 'limit/a.json', size: 2 });
    });

    it('streams files in and out', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-store-'));
      try {
        const source = path.join(dir, 'in.bin');
        const payload = Buffer.alloc(300_000, 7);
        await writeFile(source, payload);
        await store.putFile(bucket, 'files/in.bin', source);
        await store.getFile(bucket, 'files/in.bin', path.join(dir, 'out.bin'));
        expect((await readFile(path.join(dir, 'out.bin'))).equals(payload)).toBe(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('never shows a torn JSON pointer to concurrent readers', async () => {
      const writes = Array.from({ length: 20 }, (_, i) => putJson(store, bucket, 'ptr/current.json', { run_id: `run-${i}`, pad: 'x'.repeat(5000 + i) }));
      const reads = Array.from({ length: 20 }, () => getJson<{ run_id: string }>(store, bucket, 'ptr/current.json').catch((e: FltsError) => (e.code === 'FLTS_STORE_NOT_FOUND' ? { run_id: 'run-0' } : Promise.reject(e))));
      const results = await Promise.all([...writes, ...reads]);
      for (const value of results.slice(20)) expect((value as { run_id: string }).run_id).toMatch(/^run-\d+$/);
    });

    it.each(['../escape', 'a/../../b', '/abs/key', 'a//b', 'a\\b', ''])('rejects the key %j', async (key) => {
      await expect(store.put(bucket, key, 'x')).rejects.toMatchObject({ code: expect.stringMatching(/^FLTS_STORE_KEY_/) });
    });
  });
}
