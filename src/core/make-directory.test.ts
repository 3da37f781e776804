import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../test/helpers/scratch-folders.js';
import { makeDirectory } from './make-directory.js';

const mkdtemp = scratchFolders();

describe('core > make-directory', () => {
  it('creates every missing level and accepts existing ones', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-mkdir-'));
    await makeDirectory(path.join(root, 'a', 'b', 'c'));
    await makeDirectory(path.join(root, 'a', 'b', 'c'));
    expect((await stat(path.join(root, 'a', 'b', 'c'))).isDirectory()).toBe(true);
  });

  it('refuses a path below a file with FLTS_PATH_UNUSABLE', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-mkdir-'));
    await writeFile(path.join(root, 'file'), 'x');
    await expect(makeDirectory(path.join(root, 'file', 'store'))).rejects.toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
  });

  it.skipIf(!existsSync('/proc/1'))('ends with FLTS_PATH_UNUSABLE under /proc/1, where recursive mkdir retries forever', async () => {
    await expect(makeDirectory('/proc/1/flts/store/runs')).rejects.toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
  });
});
