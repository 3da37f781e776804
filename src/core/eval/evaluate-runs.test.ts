import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { evaluateRuns, resolveEvalConfigHash } from './evaluate-runs.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-eval-runs-'));
const store = createFsStore(root);
const settings = defaultSettings();
const HASH = 'c'.repeat(64);
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A store whose every call fails as an unreachable server does, counting the calls. */
function unreachableStore(): { store: ObjectStore; calls: string[] } {
  const calls: string[] = [];
  const store = new Proxy({ kind: 's3', location: 'http://127.0.0.1:1' } as unknown as ObjectStore, {
    get: (target, name) =>
      name in target
        ? (target as unknown as Record<string | symbol, unknown>)[name]
        : async () => {
            calls.push(String(name));
            throw new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://127.0.0.1:1 did not answer.');
          },
  });
  return { store, calls };
}

describe('core > eval > evaluateRuns', () => {
  it('ranks the readable runs and names the damaged ones instead of failing on them', async () => {
    await saveRunRecord(store, settings, fakeRun('naive', 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2025-01-01T00:00:00.000Z'));
    await saveRunRecord(store, settings, fakeRun('lstm', 'LSTM', { rmse: 0.1, mae: 0.05, mse: 0.01 }, '2025-01-02T00:00:00.000Z'));
    await store.put('runs', 'broken/run.json', '{"run_id": "broken", "sta');
    // A record whose test details were cut still ranks on its flat metrics.
    const cut = fakeRun('cut', 'GRU', { rmse: 0.15, mae: 0.07, mse: 0.02 }, '2025-01-03T00:00:00.000Z');
    await saveRunRecord(store, settings, { ...cut, metrics: { ...cut.metrics!, test: {} as never } });

    const result = await evaluateRuns({ configHash: HASH }, settings, { store });

    expect(result.rows.map((row) => row.run_id)).toEqual(['lstm', 'cut', 'naive']);
    expect(result.rows[1].rmse_original).toBeNaN();
    expect(result.corrupt_runs).toEqual([{ run_id: 'broken', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('broken/run.json is not valid JSON') }]);
  });

  it('fails on the first read of an unreachable store instead of waiting for it once more', async () => {
    const { store: unreachable, calls } = unreachableStore();
    await expect(resolveEvalConfigHash(unreachable, defaultSettings())).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    expect(calls).toHaveLength(1);
  });

  it('refuses a config_hash that is not a whole hash (a prefix, a path, a filter) before reading the store', async () => {
    const { store: unreachable, calls } = unreachableStore();
    for (const configHash of [HASH.slice(0, 8), '../x', `${HASH}' OR params.model_type = 'LSTM`]) {
      await expect(resolveEvalConfigHash(unreachable, settings, configHash)).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', kind: 'usage', details: { configHash } });
    }
    expect(calls).toEqual([]);
    await expect(resolveEvalConfigHash(unreachable, settings, HASH)).resolves.toBe(HASH);
  });
});
