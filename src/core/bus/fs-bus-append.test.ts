import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import { createFsBus } from './fs-bus.js';

/** The topic lock files taken (created with wx), and how many times a log opened for appending was synced. */
const seen = vi.hoisted(() => ({ locks: [] as string[], syncs: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const writeFile = async (...args: Parameters<typeof actual.writeFile>) => {
    const [file, , options] = args;
    if (String(file).endsWith('.lock') && typeof options === 'object' && options?.flag === 'wx') seen.locks.push(String(file));
    return actual.writeFile(...args);
  };
  const open = async (...args: Parameters<typeof actual.open>) => {
    const handle = await actual.open(...args);
    if (args[1] !== 'a+') return handle;
    const datasync = handle.datasync.bind(handle);
    handle.datasync = async () => {
      seen.syncs += 1;
      return datasync();
    };
    return handle;
  };
  return { ...actual, writeFile, open, default: { ...actual, writeFile, open } };
});

const mkdtemp = scratchFolders();

describe('core > bus > fs-bus appends', () => {
  it('writes the publishes that come while one is under way together, under one lock and one sync, each message once and in order', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-bus-append-'));
    const bus = createFsBus({ root });
    seen.locks.length = 0;
    seen.syncs = 0;
    await Promise.all(Array.from({ length: 20 }, (_, index) => bus.publish('training-data', { key: 'k', value: `{"index":${index}}` })));
    // The first is written alone; the other 19 came while it was, and go in one batch. Before, each took the lock file and a sync.
    expect(new Set(seen.locks)).toEqual(new Set([path.join(root, 'topics', 'training-data.lock')]));
    expect(seen.locks.length).toBeLessThanOrEqual(2);
    expect(seen.syncs).toBe(seen.locks.length);
    const lines = (await readFile(path.join(root, 'topics', 'training-data.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(JSON.parse(line).value).index);
    expect(lines).toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect((await bus.lag('g', ['training-data']))[0].endOffset).toBe(20);
    await bus.close();
  });

  it('fails every publish of a batch that cannot be written with the file\'s error, and writes the next ones once it can', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-bus-append-'));
    const bus = createFsBus({ root });
    // A directory where the log should be: EISDIR for the whole batch.
    await mkdir(path.join(root, 'topics', 'training-data.log'), { recursive: true });
    const outcomes = await Promise.all(Array.from({ length: 5 }, (_, index) => bus.publish('training-data', { key: 'k', value: `{"index":${index}}` }).then(() => 'written', (error: unknown) => (error as { code?: string }).code)));
    expect(outcomes).toEqual(Array(5).fill('EISDIR'));
    await bus.publish('inference-data', { key: 'k', value: '{}' });
    expect((await bus.lag('g', ['inference-data']))[0].endOffset).toBe(1);
    await bus.close();
  });
});
