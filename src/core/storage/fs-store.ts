import { constants, createReadStream, createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { link, open, readdir, readFile, realpath, rm, rmdir, stat, writeFile, copyFile } from 'node:fs/promises';
import { mapBounded } from '../bounded-map.js';
import { sleep } from '../retry.js';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { FltsError, toFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { assertBucketName, assertKeyPrefix, assertObjectKey } from './keys.js';
import type { DeleteManyResult, ObjectBody, ObjectInfo, ObjectStore } from './object-store.js';
import { makeDirectory } from '../make-directory.js';
import { fsyncPath, replaceFile, TEMP_FILE_PREFIX } from '../write-file-whole.js';

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** Thrown by readObjectFile for a path that is not a regular file. */
const NOT_A_FILE = 'ENOTFILE';

/** No object there: nothing at the path, or no regular file (as `stat` says, and as on S3, where keys hold no folders). */
function isNoObject(error: unknown): boolean {
  return isNotFound(error) || ['EISDIR', NOT_A_FILE].includes((error as NodeJS.ErrnoException)?.code ?? '');
}

/**
 * An object's bytes, from a regular file only: a directory, a FIFO or a device put in an object's place (a
 * damaged or tampered store) is no object, where reading it would fail, block forever or never end. Opened
 * without blocking, so a FIFO without a writer does not hold the open itself.
 */
async function readObjectFile(target: string): Promise<Buffer> {
  const handle = await open(target, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw Object.assign(new Error(`${target} is not a regular file`), { code: NOT_A_FILE });
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Versions are the MD5 of the bytes, like an S3 ETag of a single-part upload. */
const versionOf = (body: ObjectBody | Buffer): string => createHash('md5').update(body).digest('hex');
/** Files stat'ed or deleted at once by one listing or one deleteMany: enough to keep the disk busy. */
const FS_IO_WIDTH = 16;
/** A compare-and-replace lock older than this belongs to a process that died mid-write. */
const LOCK_STALE_MS = 10_000;
/**
 * A temporary file older than this was left by a process killed mid-write: a write renames (or links) its temp
 * file within seconds, and a lock is broken after LOCK_STALE_MS, so an hour leaves a wide margin for a slow disk
 * or a stopped process without letting leftovers pile up for ever.
 */
export const TEMP_FILE_STALE_MS = 60 * 60 * 1000;
/**
 * The names this store gives its temporary files (a UUID, or `lock-<object>`): only these are removed, so an
 * object a caller happened to name with the same prefix is never deleted behind its back.
 */
const STORE_TEMP_NAME = new RegExp(`^${TEMP_FILE_PREFIX.replaceAll('.', '\\.')}(lock-.+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`);

export interface FsStoreOptions {
  /** Where the removal of temporary files left by killed writes is reported. */
  logger?: Logger;
}

/** The embedded store: `<root>/<bucket>/<key>`, every write a temp file renamed into place. */
export function createFsStore(root: string, options: FsStoreOptions = {}): ObjectStore {
  const absoluteRoot = path.resolve(root);
  const logger = options.logger ?? silentLogger;
  /** Appended files whose directory entry is already on disk. */
  const synced = new Set<string>();

  function objectPath(bucket: string, key: string): string {
    assertBucketName(bucket);
    assertObjectKey(key);
    const bucketDir = path.join(absoluteRoot, bucket);
    const target = path.resolve(bucketDir, ...key.split('/'));
    if (!target.startsWith(bucketDir + path.sep)) {
      throw new FltsError('FLTS_STORE_KEY_OUTSIDE_ROOT', `Object key ${JSON.stringify(key)} resolves outside the store.`, { details: { key } });
    }
    return target;
  }

  /** The directory of a folder prefix ("" = the bucket), checked like a key. */
  function folderPath(bucket: string, prefix: string): string {
    assertBucketName(bucket);
    if (prefix !== '' && !prefix.endsWith('/')) throw new FltsError('FLTS_STORE_KEY_INVALID', `Folder ${JSON.stringify(prefix)} must end with "/".`, { details: { key: prefix } });
    return prefix === '' ? path.join(absoluteRoot, bucket) : path.dirname(objectPath(bucket, `${prefix}x`));
  }

  let realRoot: string | undefined;

  /** The root with its links resolved; until it exists, nothing below it can lead anywhere else. */
  async function resolvedRoot(): Promise<string> {
    if (realRoot) return realRoot;
    try {
      realRoot = await realpath(absoluteRoot);
      return realRoot;
    } catch (error) {
      if (isNotFound(error)) return absoluteRoot;
      throw error;
    }
  }

  /**
   * Refuses a path whose nearest existing part resolves outside the root: key strings are checked lexically
   * by objectPath, this catches a directory inside the store that is a symbolic link to somewhere else.
   */
  async function assertConfined(target: string, key: string): Promise<void> {
    const root = await resolvedRoot();
    // Walk up to the nearest existing part, but not above the root: a missing root has nothing to escape through.
    for (let probe = target; probe === absoluteRoot || probe.startsWith(absoluteRoot + path.sep); probe = path.dirname(probe)) {
      try {
        const real = await realpath(probe);
        if (real !== root && !real.startsWith(root + path.sep)) {
          throw new FltsError('FLTS_STORE_PATH_OUTSIDE_ROOT', `Object ${JSON.stringify(key)} would be read or written at ${real}, outside the store ${root} (through a symbolic link).`, { details: { key } });
        }
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  /** objectPath, confined to the real root. */
  async function confinedPath(bucket: string, key: string): Promise<string> {
    const target = objectPath(bucket, key);
    await assertConfined(target, key);
    return target;
  }

  function notFound(bucket: string, key: string, cause: unknown): FltsError {
    return new FltsError('FLTS_STORE_NOT_FOUND', `Object '${key}' not found in bucket '${bucket}'.`, { cause, details: { bucket, key } });
  }

  /**
   * Writes through a temp file renamed into place: a reader sees the old object or the new one, never part of one.
   * The temp file's bytes reach the disk before the rename and the rename before the write returns, so what was
   * acknowledged is still there, whole, after a power cut, not only after a killed process.
   */
  async function atomicWrite(target: string, write: (temp: string) => Promise<void>): Promise<void> {
    await makeDirectory(path.dirname(target));
    await replaceFile(target, write, { durable: true });
  }

  /** Runs `action` holding `<target>.flts-lock`, created with O_EXCL; waits for another holder, breaks a dead one's. */
  async function withLock<T>(target: string, action: () => Promise<T>): Promise<T> {
    const lock = `${path.dirname(target)}/${TEMP_FILE_PREFIX}lock-${path.basename(target)}`;
    await makeDirectory(path.dirname(target));
    for (;;) {
      try {
        const handle = await open(lock, 'wx');
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const held = await stat(lock).catch(() => undefined);
        if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) await rm(lock, { force: true });
        else await sleep(5);
      }
    }
    try {
      return await action();
    } finally {
      await rm(lock, { force: true });
    }
  }

  /**
   * The object files below `dir` as keys with their paths; not stat'ed yet, so a bounded listing stats only what it
   * returns. The store's temporary files met on the way go to `temps`.
   */
  async function walk(dir: string, relative: string, out: Array<{ key: string; full: string }>, temps: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const entry of entries) {
      const key = relative ? `${relative}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, key, out, temps);
      else if (entry.isFile() && entry.name.startsWith(TEMP_FILE_PREFIX)) {
        if (STORE_TEMP_NAME.test(entry.name)) temps.push(full);
      } else if (entry.isFile()) out.push({ key, full });
    }
  }

  /**
   * Removes the temporary files among `temps` that a killed write left (older than TEMP_FILE_STALE_MS). Done as a
   * listing reads their folders anyway, so the folders scanned again and again (leases, runs) stay clean at the
   * cost of one stat per temporary file, never a walk of its own.
   */
  async function removeStaleTemps(temps: string[], bucket: string, prefix: string): Promise<void> {
    if (temps.length === 0) return;
    const now = Date.now();
    const removed = await mapBounded(temps, FS_IO_WIDTH, async (full) => {
      try {
        const info = await stat(full);
        if (now - info.mtimeMs <= TEMP_FILE_STALE_MS) return false;
        await rm(full, { force: true });
        return true;
      } catch (error) {
        // Renamed into place or removed by another process meanwhile; anything else waits for the next listing.
        if (!isNotFound(error)) logger.warn({ bucket, path: full, code: (error as NodeJS.ErrnoException)?.code }, 'store_fs_temp_file_remove_failed');
        return false;
      }
    });
    const count = removed.filter(Boolean).length;
    if (count > 0) logger.info({ bucket, prefix, removed: count, older_than_ms: TEMP_FILE_STALE_MS }, 'store_fs_temp_files_removed');
  }

  const store: ObjectStore = {
    kind: 'fs',
    location: absoluteRoot,
    async ensureBucket(bucket) {
      assertBucketName(bucket);
      await makeDirectory(path.join(absoluteRoot, bucket));
    },
    async put(bucket, key, body: ObjectBody) {
      const target = await confinedPath(bucket, key);
      await atomicWrite(target, (temp) => writeFile(temp, body));
    },
    async putIfAbsent(bucket, key, body) {
      const target = await confinedPath(bucket, key);
      await makeDirectory(path.dirname(target));
      const temp = `${path.dirname(target)}/${TEMP_FILE_PREFIX}${randomUUID()}`;
      try {
        await writeFile(temp, body);
        await fsyncPath(temp);
        // link(2) fails with EEXIST when the target exists: readers see no object or the complete one.
        await link(temp, target);
        await fsyncPath(path.dirname(target));
        return versionOf(body);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
        throw error;
      } finally {
        await rm(temp, { force: true });
      }
    },
    async putIfVersion(bucket, key, body, version) {
      const target = await confinedPath(bucket, key);
      return withLock(target, async () => {
        const current = await readFile(target).catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        });
        if (!current || versionOf(current) !== version) return undefined;
        await atomicWrite(target, (temp) => writeFile(temp, body));
        return versionOf(body);
      });
    },
    async getVersioned(bucket, key) {
      const body = await readObjectFile(await confinedPath(bucket, key)).catch((error: unknown) => {
        if (isNoObject(error)) return undefined;
        throw error;
      });
      return body && { body, version: versionOf(body) };
    },
    async putFile(bucket, key, filePath) {
      const target = await confinedPath(bucket, key);
      await atomicWrite(target, (temp) => copyFile(filePath, temp));
    },
    async get(bucket, key) {
      try {
        return await readObjectFile(await confinedPath(bucket, key));
      } catch (error) {
        if (isNoObject(error)) throw notFound(bucket, key, error);
        throw error;
      }
    },
    async getStream(bucket, key): Promise<Readable> {
      const target = await confinedPath(bucket, key);
      const info = await stat(target).catch((error: unknown) => {
        if (isNotFound(error)) throw notFound(bucket, key, error);
        throw error;
      });
      if (!info.isFile()) throw notFound(bucket, key, undefined);
      return createReadStream(target);
    },
    async getFile(bucket, key, filePath) {
      const source = await store.getStream(bucket, key);
      await makeDirectory(path.dirname(path.resolve(filePath)));
      await pipeline(source, createWriteStream(filePath));
    },
    async stat(bucket, key) {
      try {
        const info = await stat(await confinedPath(bucket, key));
        return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async exists(bucket, key) {
      return (await store.stat(bucket, key)) !== undefined;
    },
    async list(bucket, prefix = '', options) {
      assertBucketName(bucket);
      assertKeyPrefix(prefix);
      const limit = options?.limit ?? Infinity;
      const found: Array<{ key: string; full: string }> = [];
      // Start the walk at the deepest directory the prefix names, so listing one run does not scan them all.
      const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      const start = path.join(absoluteRoot, bucket, ...dirPart.split('/').filter(Boolean));
      try {
        await assertConfined(start, dirPart || bucket);
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
      const temps: string[] = [];
      await walk(start, dirPart, found, temps);
      await removeStaleTemps(temps, bucket, prefix);
      const candidates = found.filter((file) => file.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const out: ObjectInfo[] = [];
      // Stat'ed a group at a time, in key order: a folder of thousands (a day of prediction log) waits for the disk
      // once a group, not once a file; a bounded listing stats at most one group past what it returns.
      for (let at = 0; at < candidates.length && out.length < limit; at += FS_IO_WIDTH) {
        const group = candidates.slice(at, at + FS_IO_WIDTH);
        // An object deleted between the directory read and its stat is not listed, like on S3.
        const infos = await Promise.all(
          group.map(({ full }) =>
            stat(full).catch((error: unknown) => {
              if (isNotFound(error)) return undefined;
              throw error;
            }),
          ),
        );
        for (const [index, info] of infos.entries()) if (info && out.length < limit) out.push({ key: group[index].key, size: info.size, lastModified: info.mtime });
      }
      return out;
    },
    async listFolders(bucket, prefix = '') {
      const dir = folderPath(bucket, prefix);
      try {
        await assertConfined(dir, prefix || bucket);
        const entries = await readdir(dir, { withFileTypes: true });
        return entries.filter((entry) => entry.isDirectory()).map((entry) => `${prefix}${entry.name}/`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
    },
    async delete(bucket, key) {
      await rm(await confinedPath(bucket, key), { force: true });
    },
    async deleteMany(bucket, keys) {
      const targets = keys.map((key) => objectPath(bucket, key));
      // Side by side, a bounded number at a time: a sweep deletes tens of thousands of files.
      const refusals = await mapBounded([...keys.keys()], FS_IO_WIDTH, async (at) => {
        try {
          await assertConfined(targets[at], keys[at]);
          await rm(targets[at], { force: true });
          return undefined;
        } catch (error) {
          return toFltsError(error);
        }
      });
      const result: DeleteManyResult = { deleted: [], failed: [] };
      for (const [at, key] of keys.entries()) {
        const error = refusals[at];
        if (error) result.failed.push({ key, error });
        else result.deleted.push(key);
      }
      return result;
    },
    async removeEmptyFolder(bucket, prefix) {
      const dir = folderPath(bucket, prefix);
      await assertConfined(dir, prefix);
      // Something written into it meanwhile (or a temp file of a write in progress) keeps it.
      await rmdir(dir).catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException)?.code;
        if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      });
    },
    async appendDurable(bucket, key, body) {
      const target = await confinedPath(bucket, key);
      const created = !synced.has(target);
      if (created) await makeDirectory(path.dirname(target));
      const file = await open(target, 'a');
      try {
        await file.writeFile(body);
        await file.datasync();
      } finally {
        await file.close();
      }
      if (created) {
        await fsyncPath(path.dirname(target));
        synced.add(target);
      }
    },
  };
  return store;
}
