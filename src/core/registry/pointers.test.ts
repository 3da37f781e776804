import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { readPromotionPointerWithSource, resolveServedRunId } from './pointers.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-pointers-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > registry > pointers', () => {
  it('names the bucket, the store and the keys it looked in when nothing is promoted, which is all a mistyped bucket shows', async () => {
    const settings = defaultSettings();
    settings.store.buckets.promotion = 'model-promotoin';
    const store = createFsStore(root);
    const error = await resolveServedRunId(store, settings).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'FLTS_SERVE_NO_MODEL',
      details: { bucket: 'model-promotoin', store: store.location, keys: ['current.json', 'global/current.json'] },
    });
    expect((error as Error).message).toBe(`No run given and no promotion pointer found in bucket 'model-promotoin' of the store at ${store.location} (current.json, global/current.json).`);
  });

  it('tells how to mend a pointer that is not JSON, not how to write a data file', async () => {
    const settings = defaultSettings();
    const store = createFsStore(path.join(root, 'corrupt'));
    await store.put(settings.store.buckets.promotion, 'current.json', '{"run_id": "abc"');
    const error = await readPromotionPointerWithSource(store, settings).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FLTS_DATA_UNREADABLE', details: { bucket: 'model-promotion', skipped: ['current.json is not valid JSON'] } });
    expect((error as { hint: string }).hint).toBe("A promotion pointer in bucket 'model-promotion' was cut short or edited: promote a run again (`flts promote --run <id>`, `--best` or `--rollback`), which rewrites the pointers.");
  });
});
