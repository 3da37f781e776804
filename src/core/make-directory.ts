import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FltsError } from './errors.js';

function unusable(dir: string, reason: string, cause?: unknown): FltsError {
  return new FltsError('FLTS_PATH_UNUSABLE', `Cannot create directory ${dir}: ${reason}.`, { cause, details: { path: dir } });
}

/** Times a parent that vanishes under the creation is looked for again before that is taken as a refusal. */
const VANISHED_PARENT_RETRIES = 8;

/**
 * `mkdir -p` that always ends. Node's recursive mkdir retries forever where a parent exists but refuses
 * children (`/proc/1/flts`); here every missing level is created once, and a refusal is a coded error.
 * A parent removed between the look and the creation (another process dropping an empty directory it made)
 * is made again, a bounded number of times. Returns the levels created here.
 */
export async function makeDirectory(dir: string): Promise<string[]> {
  const created: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const missing = await missingLevels(dir);
    let level = dir;
    try {
      for (level of missing.reverse()) {
        try {
          await mkdir(level);
          created.push(level);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      }
      return created;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && attempt < VANISHED_PARENT_RETRIES) continue;
      throw unusable(dir, `${level} cannot be created (${code})`, error);
    }
  }
}

/** The levels of `dir` that do not exist, deepest first; a level that is not a directory is a refusal. */
async function missingLevels(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let probe = path.resolve(dir); ; probe = path.dirname(probe)) {
    try {
      if (!(await stat(probe)).isDirectory()) throw unusable(dir, `${probe} is not a directory`);
      return missing;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error instanceof FltsError ? error : unusable(dir, (error as Error).message, error);
      missing.push(probe);
      if (path.dirname(probe) === probe) return missing;
    }
  }
}
