import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FltsError } from './errors.js';

function unusable(dir: string, reason: string, cause?: unknown): FltsError {
  return new FltsError('FLTS_PATH_UNUSABLE', `Cannot create directory ${dir}: ${reason}.`, { cause, details: { path: dir } });
}

/**
 * `mkdir -p` that always ends. Node's recursive mkdir retries forever where a parent exists but refuses
 * children (`/proc/1/flts`); here every missing level is created once, and a refusal is a coded error.
 */
export async function makeDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let probe = path.resolve(dir); ; probe = path.dirname(probe)) {
    try {
      if (!(await stat(probe)).isDirectory()) throw unusable(dir, `${probe} is not a directory`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error instanceof FltsError ? error : unusable(dir, (error as Error).message, error);
      missing.push(probe);
      if (path.dirname(probe) === probe) break;
    }
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(dir, `${level} cannot be created (${(error as NodeJS.ErrnoException).code})`, error);
    }
  }
}
