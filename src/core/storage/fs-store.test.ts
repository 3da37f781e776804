import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStore } from './fs-store.js';
import { describeObjectStoreContract } from './object-store.contract.js';

describeObjectStoreContract('core > storage > fs-store', async () => createFsStore(await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'))));

describe('core > storage > fs-store layout', () => {
  it('keeps objects at <root>/<bucket>/<key> and leaves no temp files behind', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-fs-'));
    const store = createFsStore(root);
    await store.put('processed-data', 'processed_data.meta.json', '{}');
    expect(await readdir(path.join(root, 'processed-data'))).toEqual(['processed_data.meta.json']);
  });
});
