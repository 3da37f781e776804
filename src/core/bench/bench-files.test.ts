import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import { prepareBenchDir } from './bench-files.js';

/** Runs once just before the next mkdir: what another process does between a look at the tree and a creation. */
const hooks = vi.hoisted(() => ({ beforeMkdir: undefined as undefined | ((dir: string) => Promise<void>) }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const mkdir = async (...args: Parameters<typeof actual.mkdir>) => {
    const hook = hooks.beforeMkdir;
    hooks.beforeMkdir = undefined;
    await hook?.(String(args[0]));
    return actual.mkdir(...args);
  };
  return { ...actual, mkdir, default: { ...actual, mkdir } };
});

const mkdtemp = scratchFolders();

describe('core > bench > prepareBenchDir', () => {
  it('makes its directory when a run started beside it removes the shared bench-results/ as it fails', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-bench-dir-'));
    const shared = path.join(root, 'bench-results');
    // The first run made bench-results/ and its own directory; the second has looked and found bench-results/.
    const removeFirst = await prepareBenchDir(path.join(shared, 'first'));
    const second = path.join(shared, 'second');
    // Then the first run fails and removes what it made, empty, before the second creates its directory in it.
    // Before, the second ended FLTS_PATH_UNUSABLE (ENOENT), exit 2, for a directory anyone could make.
    hooks.beforeMkdir = async () => removeFirst();
    const removeSecond = await prepareBenchDir(second);
    expect(hooks.beforeMkdir).toBeUndefined();
    expect(existsSync(path.join(shared, 'first'))).toBe(false);
    expect(statSync(second).isDirectory()).toBe(true);
    // Made again by the second run, bench-results/ is removed with its directory as it fails in turn.
    await removeSecond();
    expect(existsSync(shared)).toBe(false);
  });
});
