import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/core/config/settings.js';
import { getJson, putJson } from '../../src/core/storage/json-objects.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import type { PromotionRecord } from '../../src/core/registry/pointers.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { createRegistryModelSource } from '../../src/core/serve/registry-model-source.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { promote } from '../../src/core/workflows/promote.js';
import { postJson, readJsonResponse, startTestServer, type RunningServer } from './serve-fixtures.js';

const metrics = { rmse: 0.1, mae: 0.1, mse: 0.01 };

describe('serve > pointer cascade, broken runs and pins, from the run registry', () => {
  let root: string;
  let store: ObjectStore;
  let settings: Settings;
  let server: RunningServer | undefined;

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-cascade-'));
    store = createFsStore(root);
    settings = defaultSettings();
    await addLoadableRun(store, settings, fakeRun('good', 'NAIVE', metrics, '2025-01-01T00:00:00.000Z'));
    await addLoadableRun(store, settings, fakeRun('other', 'LSTM', metrics, '2025-01-02T00:00:00.000Z'));
    await addLoadableRun(store, settings, fakeRun('broken', 'LSTM', metrics, '2025-01-03T00:00:00.000Z'), { nanWeights: true });
    await promote({ runId: 'good', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store });
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  const health = async (route: string) => readJsonResponse(await fetch(`${server!.url}${route}`));

  /** A pointer naming `runId` where the first pointer of the cascade is read (what a deleted run or a reference writer leaves). */
  async function pointRootAt(runId: string): Promise<void> {
    const record = await getJson<PromotionRecord>(store, 'model-promotion', 'global/current.json');
    await putJson(store, 'model-promotion', 'current.json', { ...record, run_id: runId });
  }

  it('falls back along the cascade when the pointed run is missing, reporting degraded with the coded cause', async () => {
    await pointRootAt('gone');
    server = await startTestServer(createRegistryModelSource(store, settings));
    await server.holder.start();
    for (const route of ['/healthz', '/readyz']) {
      const { status, json } = await health(route);
      expect(status, route).toBe(200);
      expect(json, route).toMatchObject({ run_id: 'good', degraded: true, degraded_code: 'FLTS_RUN_NOT_FOUND', degraded_reason: expect.stringContaining('current.json names run gone') });
    }
    expect((await postJson(`${server.url}/predict`, {})).status).not.toBe(503);
  });

  it('never swaps in a run whose weights are all NaN: the last good model keeps serving, degraded with the cause', async () => {
    server = await startTestServer(createRegistryModelSource(store, settings));
    await server.holder.start();
    expect((await health('/healthz')).json).toMatchObject({ run_id: 'good', degraded: false });
    await pointRootAt('broken');
    const reload = await postJson(`${server.url}/reload_latest`, {});
    expect(reload.json).toMatchObject({ result: 'failed', run_id: 'good' });
    expect((await health('/readyz')).json).toMatchObject({ status: 'ready', run_id: 'good', degraded: true, degraded_code: 'FLTS_SERVE_MODEL_INVALID' });
  });

  it('never swaps in a promoted run whose weights changed after its promotion: the last good model keeps serving, degraded, naming the file', async () => {
    await addLoadableRun(store, settings, fakeRun('checked', 'LSTM', metrics, '2025-01-04T00:00:00.000Z'), { digests: true });
    server = await startTestServer(createRegistryModelSource(store, settings));
    await server.holder.start();
    await promote({ runId: 'checked', source: 'manual', actor: 'ana', reason: 'newer' }, settings, { store });
    // One bit of one weight, after the promotion's own check: the file keeps its size and every number stays finite.
    const weights = Buffer.from(await store.get('runs', 'checked/model/weights.bin'));
    weights[9] ^= 0x01;
    await store.put('runs', 'checked/model/weights.bin', weights);
    const reload = await postJson(`${server.url}/reload_latest`, {});
    expect(reload.json).toMatchObject({ status: 'not_loaded', result: 'failed', run_id: 'good', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('checked/model/weights.bin does not have the SHA-256 its run recorded') });
    expect((await health('/readyz')).json).toMatchObject({ status: 'ready', run_id: 'good', degraded: true, degraded_code: 'FLTS_RUN_CORRUPT', degraded_reason: 'current.json names run checked, which cannot be loaded (FLTS_RUN_CORRUPT); still serving run good.' });
    // The public routes give the code; the file is named to the operator (the log, /reload_latest above, the library).
    expect(server.holder.status().degraded?.detail).toContain('checked/model/weights.bin does not have the SHA-256 its run recorded');
    expect((await postJson(`${server.url}/predict`, {})).status).not.toBe(503);
  });

  it('keeps a pinned replica on its run when /reload_latest is called after another promotion', async () => {
    server = await startTestServer(createRegistryModelSource(store, settings), { pinnedRunId: 'other' });
    await server.holder.start();
    await promote({ runId: 'good', source: 'manual', actor: 'ana', reason: 'again' }, settings, { store });
    const reload = await postJson(`${server.url}/reload_latest`, {});
    expect(reload.json).toMatchObject({ status: 'loaded', run_id: 'other' });
    expect((await health('/healthz')).json).toMatchObject({ run_id: 'other', pinned_run_id: 'other' });
  });
});
