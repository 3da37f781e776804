import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll } from 'vitest';

/**
 * A `mkdtemp` whose folders are removed when the test file ends: for files whose tests each make a home and
 * would otherwise leave it behind.
 */
export function scratchFolders(): (prefix: string) => Promise<string> {
  const made: string[] = [];
  afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }))));
  return async (prefix) => {
    const dir = await mkdtemp(prefix);
    made.push(dir);
    return dir;
  };
}
