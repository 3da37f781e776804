import { randomUUID } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

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
}

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
    await rename(temp, file);
    if (options.durable) await fsyncPath(directory);
  } catch (error) {
    await rm(temp, { force: true });
    // The caller named the file, not its temporary neighbour: report the failure against that.
    const failure = error as NodeJS.ErrnoException;
    if (failure.path === temp) {
      failure.path = file;
      failure.message = failure.message.replace(temp, file);
    }
    throw error;
  }
}

/** A local output file that appears complete or not at all (see `replaceFile`). */
export async function writeFileWhole(file: string, body: string | Uint8Array, options: ReplaceFileOptions = {}): Promise<void> {
  await replaceFile(file, (temp) => writeFile(temp, body), options);
}
