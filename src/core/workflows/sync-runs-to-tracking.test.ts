import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { FltsEvent } from '../events.js';
import { silentLogger } from '../logger.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import { FULL_LISTING_FROM } from '../registry/mirror-pending-runs.js';
import { readMirrorMarkers } from '../registry/mirror-markers.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { MIRROR_TAGS } from '../tracking/tracking-deps.js';
import { syncRunsToTracking, trackPromotion } from './sync-runs-to-tracking.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-sync-tracking-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
const settings = resolveSettings({ flags: { 'tracking.uri': 'http://127.0.0.1:19401' } }).settings;
const COMPLETE_FILTER = `tags.\`${MIRROR_TAGS.complete}\` = 'true'`;

describe('core > workflows > syncRunsToTracking', () => {
  it('MLflow going away during the listing, after the runs asked for were mirrored, is an interrupted catch-up, not a failed sync; the next one resumes', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 50 }, (_, at) => `o${String(at).padStart(4, '0')}`);
    const store = createFsStore(mkdtempSync(path.join(root, 'listing-outage-')));
    for (const [at, id] of ids.entries()) await saveRunRecord(store, settings, fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 1000).toISOString()));
    await saveRunRecord(store, settings, fakeRun('trained', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-03-01T00:00:00.000Z'));
    const mlflow = new MemoryMlflow();
    mlflow.pageSize = 50;
    // Mirrors written before markers existed: the first sync lists them.
    const started = Date.UTC(2026, 0, 1);
    for (const [at, id] of ids.entries()) mlflow.addMirror(id, { start: started + at * 1000 });
    const pageTokens: Array<string | undefined> = [];
    const away = { ...mlflow.client } as MlflowClient;
    // The first page is answered; then the server is gone.
    away.searchRunsPage = async (input) => {
      pageTokens.push(input.pageToken);
      if (pageTokens.length > 1) throw new FltsError('FLTS_TRACKING_UNAVAILABLE', 'MLflow tracking server http://127.0.0.1:19401 failed POST /api/2.0/mlflow/runs/search after 2 attempt(s) in 0.1 s: ECONNREFUSED');
      return mlflow.client.searchRunsPage(input);
    };
    const events: FltsEvent[] = [];

    const outcome = await syncRunsToTracking(store, settings, { runIds: ['trained'] }, { client: away, onEvent: (event) => events.push(event) });

    expect(outcome.status).toBe('ok');
    if (outcome.status !== 'ok') return;
    expect(outcome.value.mirrored.map((run) => run.runId)).toEqual(['trained']);
    expect(outcome.value.interrupted).toMatchObject({ step: 'listing', code: 'FLTS_TRACKING_UNAVAILABLE' });
    expect(outcome.value.failed).toEqual([]);
    expect(outcome.value.deferred.length).toBeGreaterThan(0);
    const unavailable = (): FltsEvent[] => events.filter((event) => event.type === 'tracking.unavailable');
    expect(unavailable()).toMatchObject([{ code: 'FLTS_TRACKING_UNAVAILABLE' }]);
    // The page read is kept: the listing goes on from the page that failed, after the last mirror read (the page opens
    // with the mirror of the run just trained, which MLflow in memory starts at 0).
    const kept = await readMirrorMarkers(store, settings);
    const last = mlflow.pageSize - 2;
    expect(kept.listing).toMatchObject({ pages: 1, after: { startTime: started + last * 1000, runIds: [mlflow.mirrorOf(ids[last])!.info.run_id] } });
    expect(pageTokens).toEqual([undefined, undefined]);
    expect(kept.written.length + kept.unwritten.length).toBe(mlflow.pageSize);

    const searchesBefore = mlflow.searches.length;
    const resumed = await syncRunsToTracking(store, settings, {}, { client: mlflow.client, onEvent: (event) => events.push(event) });
    expect(resumed.status).toBe('ok');
    if (resumed.status !== 'ok') return;
    expect(resumed.value).toMatchObject({ pending: [], mirrored: [], failed: [], deferred: [] });
    expect(resumed.value.interrupted).toBeUndefined();
    expect(unavailable()).toHaveLength(1);
    // Only the pages not read before are asked for (each from the last mirror of the one before), and no run gets a second mirror.
    const listed = mlflow.searches.slice(searchesBefore).filter((search) => (search.filter === COMPLETE_FILTER || search.filter?.startsWith(`${COMPLETE_FILTER} AND attributes.start_time >= `)) && search.viewType === undefined);
    expect(listed.reduce((sum, search) => sum + search.returned, 0)).toBe(ids.length - (mlflow.pageSize - 1) + listed.length);
    expect(mlflow.created).toEqual(['trained']);
    const { written, unwritten } = await readMirrorMarkers(store, settings);
    expect(unwritten).toEqual([]);
    expect(written.map((marker) => [marker.runId, marker.mlflowRunId]).sort()).toEqual([...ids, 'trained'].sort().map((id) => [id, mlflow.mirrorOf(id)!.info.run_id]));
  });

  it("a library caller's client serves the whole sync, the backlog within its budget too: nothing goes to the configured URI", async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'passed-client-')));
    for (const [at, id] of ['b1', 'b2', 'trained'].entries()) await saveRunRecord(store, settings, fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 1000).toISOString()));
    const mlflow = new MemoryMlflow();
    // A client as createMlflowClient builds one, whose call budget becomes the backlog's.
    const client = { ...mlflow.client, budgetMs: 60_000 } as MlflowClient;

    const outcome = await syncRunsToTracking(store, settings, { runIds: ['trained'] }, { client });

    expect(outcome.status).toBe('ok');
    if (outcome.status !== 'ok') return;
    expect(outcome.value).toMatchObject({ failed: [], deferred: [] });
    expect(outcome.value.interrupted).toBeUndefined();
    expect(mlflow.created).toEqual(['trained', 'b1', 'b2']);
  });

  it('MLflow going away while mirroring the runs asked for is still reported unavailable', async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'given-outage-')));
    await saveRunRecord(store, settings, fakeRun('trained', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-03-01T00:00:00.000Z'));
    const mlflow = new MemoryMlflow();
    const away = { ...mlflow.client } as MlflowClient;
    away.createRun = async () => {
      throw new FltsError('FLTS_TRACKING_UNAVAILABLE', 'MLflow tracking server http://127.0.0.1:19401 failed POST /api/2.0/mlflow/runs/create: ECONNREFUSED');
    };

    const outcome = await syncRunsToTracking(store, settings, { runIds: ['trained'] }, { client: away });
    expect(outcome).toMatchObject({ status: 'unavailable', code: 'FLTS_TRACKING_UNAVAILABLE' });
  });

  it('logs a promotion mark MLflow does not answer under one snake_case event, naming the run as run_id', async () => {
    const refused = async (): Promise<never> => Promise.reject(new FltsError('FLTS_TRACKING_UNAVAILABLE', 'MLflow does not answer.'));
    const away = new Proxy(new MemoryMlflow().client, { get: (client, name) => (typeof Reflect.get(client, name) === 'function' ? refused : Reflect.get(client, name)) });
    const warned: Array<{ fields: object; msg?: string }> = [];
    const logger = { ...silentLogger, warn: (fields: object, msg?: string) => void warned.push({ fields, msg }), child: () => logger };
    const outcome = await trackPromotion(undefined, settings, { run_id: 'run-1', model_type: 'NAIVE' }, { client: away, logger });
    expect(outcome).toMatchObject({ status: 'unavailable', code: 'FLTS_TRACKING_UNAVAILABLE' });
    expect(warned).toEqual([{ fields: { code: 'FLTS_TRACKING_UNAVAILABLE', err: 'MLflow does not answer.', uri: 'http://127.0.0.1:19401', run_id: 'run-1' }, msg: 'mlflow_tracking_step_skipped' }]);
  });
});
