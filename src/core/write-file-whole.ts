import { randomUUID } from 'node:crypto';
import { constants, open as openDescriptor } from 'node:fs';
import { access, copyFile, link, lstat, open, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { FltsError } from './errors.js';

/** Temporary files live beside their target under this prefix: the embedded store's listings leave them out. */
export const TEMP_FILE_PREFIX = '.flts-tmp-';

/**
 * A file's bytes, or a directory's entries, on the disk and not only in the page cache: a new file survives a
 * crash only once its directory is synced too.
 */
export async function fsyncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface ReplaceFileOptions {
  /** The bytes and the rename reach the disk before this returns, so the file survives a power cut whole. */
  durable?: boolean;
  /**
   * Never replace a file already there: the whole file is linked into place, which fails with EEXIST where a rename
   * replaced it. A check before the write cannot do this: two writers both find the name free, then the second's
   * rename wins without a word.
   */
  exclusive?: boolean;
}

/** Link failures of a filesystem that has no hard links (some network and FUSE mounts), not of the name. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Puts the complete `temp` at `file` unless a file is there. Without hard links an exclusive copy still refuses an
 * existing file; only its reader may then see it before it is whole.
 */
async function placeExclusively(temp: string, file: string): Promise<void> {
  try {
    await link(temp, file);
  } catch (error) {
    if (!NO_HARD_LINKS.has(String((error as NodeJS.ErrnoException).code))) throw error;
    await copyFile(temp, file, constants.COPYFILE_EXCL);
  }
  await rm(temp, { force: true });
}

export interface WriteFileWholeOptions extends ReplaceFileOptions {
  /** How long an output that is a named pipe nobody reads yet waits for a reader (PIPE_READER_WAIT_MS). */
  pipeReaderWaitMs?: number;
  /** Told once when the pipe has no reader yet and the write waits for one (a command may say so). */
  onWaitingForReader?: WaitingForReader;
  /**
   * Ends that wait, with the signal's reason: nothing is written to a pipe before its reader comes, so a stop need not
   * wait out the minute. Once a reader has come, the write goes on to its end.
   */
  signal?: AbortSignal;
}

/** Told the output named (as the caller named it) and how long it waits at most for a reader, in milliseconds. */
export type WaitingForReader = (file: string, waitMs: number) => void;

/**
 * A named pipe given as the output may be read by a process started after flts (`flts predict --out p & cat p`):
 * waited for this long, then refused as a pipe nobody reads.
 */
export const PIPE_READER_WAIT_MS = 60_000;

/** How often a pipe without a reader is opened again while it is waited for. */
const PIPE_READER_POLL_MS = 50;

/**
 * Writes `file` through a temporary file beside it (`write` fills the temporary file), renamed into place: a
 * reader, or a process killed mid-write, sees the previous file (or none) and never part of the new one.
 */
export async function replaceFile(file: string, write: (temp: string) => Promise<void>, options: ReplaceFileOptions = {}): Promise<void> {
  const directory = path.dirname(file);
  const temp = path.join(directory, `${TEMP_FILE_PREFIX}${randomUUID()}`);
  try {
    await write(temp);
    if (options.durable) await fsyncPath(temp);
    if (options.exclusive) await placeExclusively(temp, file);
    else await rename(temp, file);
    if (options.durable) await fsyncPath(directory);
  } catch (error) {
    await rm(temp, { force: true });
    throw namingFile(error, file, temp);
  }
}

/**
 * The caller named the file, not its temporary neighbour: a failure is reported against that, and so is one
 * Node reports without a path (a full disk fails `write` on a descriptor).
 */
function namingFile(error: unknown, file: string, temp?: string): unknown {
  const failure = error as NodeJS.ErrnoException;
  if (typeof failure?.code !== 'string') return error;
  if (failure.path === undefined) failure.path = file;
  else if (temp && failure.path === temp) {
    failure.path = file;
    failure.message = failure.message.replace(temp, file);
  }
  return error;
}

const missing = (error: unknown): undefined => {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
};

/** Symbolic-link hops followed before giving up, as the kernel does (ELOOP). */
const MAX_LINK_HOPS = 40;

/**
 * What a write to `file` should replace: the file a symbolic link names (the link stays a link), or `file`
 * itself. `inPlace` when it is a device or a pipe (/dev/stdout, /dev/null, a FIFO): renaming over one would put
 * a regular file where the device was, so it is written as it is.
 */
async function outputTarget(file: string): Promise<{ path: string; inPlace: boolean; pipe?: boolean }> {
  const info = await stat(file).catch(missing);
  if (info && !info.isFile() && !info.isDirectory()) return { path: file, inPlace: true, pipe: info.isFIFO() };
  if (info?.isFile()) return { path: await realpath(file), inPlace: false };
  // Missing, or a link to a file still to be made: that file is the one to write.
  let target = file;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const link = await lstat(target).catch(missing);
    if (!link?.isSymbolicLink()) return { path: target, inPlace: false };
    target = path.resolve(path.dirname(target), await readlink(target));
  }
  return { path: file, inPlace: true };
}

/**
 * Writes into a named pipe at its reader's pace. It is opened without blocking: with no reader, a plain open waits in
 * a thread-pool thread until one comes, and the process cannot end meanwhile, not even on SIGTERM (the exit waits for
 * that thread). Without one (ENXIO) it is opened again on a timer until one comes, for `options.pipeReaderWaitMs` at
 * most. The descriptor, non-blocking, is written through a socket, which waits for room while the pipe is full, where
 * a plain write would fail with EAGAIN.
 */
async function writePipe(file: string, body: string | Uint8Array, options: WriteFileWholeOptions): Promise<void> {
  const openForWriting = promisify(openDescriptor);
  const waitMs = options.pipeReaderWaitMs ?? PIPE_READER_WAIT_MS;
  const deadline = performance.now() + waitMs;
  let fd: number | undefined;
  for (let told = false; fd === undefined; ) {
    options.signal?.throwIfAborted();
    try {
      fd = await openForWriting(file, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || performance.now() >= deadline) throw error;
      if (!told) options.onWaitingForReader?.(file, waitMs);
      told = true;
      // Aborted, the sleep fails with an AbortError of its own: the signal's reason is what the caller asked for.
      await delay(PIPE_READER_POLL_MS, undefined, { signal: options.signal }).catch(() => options.signal?.throwIfAborted());
    }
  }
  const pipe = new Socket({ fd, readable: false, writable: true });
  try {
    await new Promise<void>((resolve, reject) => {
      // The callback is given the failure (EPIPE: the reader left) before the 'error' event comes.
      pipe.once('error', reject);
      pipe.end(body, (error?: Error | null) => (error ? reject(error) : resolve()));
    });
  } finally {
    // A reader gone after the last byte was taken fails nothing; the socket closes the descriptor.
    pipe.on('error', () => undefined).destroy();
  }
}

/**
 * A local output file that appears complete or not at all (see `replaceFile`); through a symbolic link, the file
 * it names. A device or pipe named as the output is written to directly.
 */
export async function writeFileWhole(file: string, body: string | Uint8Array, options: WriteFileWholeOptions = {}): Promise<void> {
  // An empty name would otherwise fail at the rename, quoting only the temporary file's name.
  if (file.trim() === '') throw new FltsError('FLTS_PATH_UNUSABLE', 'An output file needs a name (an empty path was given).', { details: { path: file } });
  const target = await outputTarget(file);
  if (target.pipe) await writePipe(target.path, body, options).catch((error: unknown) => Promise.reject(namingFile(error, file)));
  else if (target.inPlace) await writeFile(target.path, body).catch((error: unknown) => Promise.reject(namingFile(error, file)));
  else await replaceFile(target.path, (temp) => writeFile(temp, body), options);
}

/**
 * Fails now, as writing `file` would fail later: its directory missing or not writable, or `file` a directory.
 * For an output written only at the end of long work, which a bad path would otherwise throw away.
 */
export async function assertWritableFile(file: string): Promise<void> {
  const info = await stat(file).catch(missing);
  if (info?.isDirectory()) {
    throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${file}'`), { code: 'EISDIR', errno: -21, syscall: 'open', path: file });
  }
  await access(info ? file : path.dirname(path.resolve(file)), constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    // Named by the file asked for: its directory is what failed, the file is what the user typed.
    throw Object.assign(error, { path: file, message: error.message.replace(String(error.path), file) });
  });
}
