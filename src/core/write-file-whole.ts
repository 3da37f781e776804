import { randomUUID } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a local output file so that it appears complete or not at all: a process killed mid-write leaves
 * the previous file (or none) rather than a truncated table that a reader would take for the whole one.
 */
export async function writeFileWhole(file: string, body: string | Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.flts-tmp-${randomUUID()}`);
  try {
    await writeFile(temp, body);
    await rename(temp, file);
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
