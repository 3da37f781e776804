import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { LOGGED_MODELS_BACKFILLED_PER_SYNC } from '../registry/backfill-logged-models.js';
import type { RunExport } from '../registry/export-run.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import { LOGGED_MODEL_TAG, type MirroredModelPlan } from '../registry/mirror-model.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { createMlflowServers, createMlflowServerState, type MlflowServerState } from '../tracking/mlflow-servers.js';
import { toRecord, type MlflowKeyValue, type MlflowLoggedModel, type MlflowRun } from '../tracking/mlflow-types.js';
import { withServer } from '../tracking/tracking-server.fixture.js';
import { syncRunsToTracking } from './sync-runs-to-tracking.js';

// A network run's export without training one: each run's plan is a GRU record of its id with the ONNX bytes below.
vi.mock('../registry/mirror-model.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../registry/mirror-model.js')>();
  return { ...original, planMirroredModel: async (_store: unknown, _settings: unknown, runId: string) => planOf(runId) };
});

function planOf(runId: string): Extract<MirroredModelPlan, { kind: 'onnx' }> {
  return {
    kind: 'onnx',
    record: { ...fakeRun(runId, 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z'), timings: { started_at: '2026-12-01T00:00:00.000Z', finished_at: '2026-12-01T00:01:00.000Z' } },
    exported: { bytes: new TextEncoder().encode('onnx bytes') } as RunExport,
  };
}

const root = mkdtempSync(path.join(tmpdir(), 'flts-sync-logged-models-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A mirror as an flts before logged models left it: complete, its ONNX model/ tagged, no logged model. */
const OLD_STYLE = { 'flts.mlflow_model': 'onnx' };

/**
 * MemoryMlflow with MLflow 3's logged-model endpoints as the client answers them (undefined for each on a server
 * without them, as its 404 gives), counting each call.
 */
function withLoggedModels(mlflow: MemoryMlflow, supported = true, server?: MlflowServerState) {
  const models: MlflowLoggedModel[] = [];
  const calls: string[] = [];
  const outputs = new Map<string, string[]>();
  const tagOf = (model: MlflowLoggedModel, key: string): string | undefined => toRecord(model.info.tags)[key];
  const client = {
    ...mlflow.client,
    ...(server ? { server } : {}),
    searchLoggedModels: async (input: { experimentIds: readonly string[]; filter: string }) => {
      calls.push('search');
      if (!supported) return undefined;
      return structuredClone(models.filter((model) => input.experimentIds.includes(model.info.experiment_id) && input.filter.includes(`source_run_id = '${model.info.source_run_id}'`) && input.filter.includes(`= '${tagOf(model, 'flts.run_id')}'`)));
    },
    createLoggedModel: async (input: { experimentId: string; sourceRunId: string; tags: MlflowKeyValue[] }) => {
      calls.push(`create ${toRecord(input.tags)['flts.run_id']}`);
      if (!supported) return undefined;
      const id = `lm-${models.length}`;
      const model: MlflowLoggedModel = { info: { model_id: id, experiment_id: input.experimentId, source_run_id: input.sourceRunId, status: 'LOGGED_MODEL_PENDING', creation_timestamp_ms: models.length, artifact_uri: `mlflow-artifacts:/1/models/${id}/artifacts`, tags: input.tags } };
      models.push(model);
      return structuredClone(model);
    },
    finalizeLoggedModel: async (id: string, status: string) => {
      models.find((model) => model.info.model_id === id)!.info.status = status;
    },
    deleteLoggedModel: async (id: string) => void models.splice(models.findIndex((model) => model.info.model_id === id), 1),
    logOutputs: async (runId: string, linked: Array<{ modelId: string }>) => void outputs.set(runId, [...(outputs.get(runId) ?? []), ...linked.map((model) => model.modelId)]),
  } as unknown as MlflowClient;
  return { client, models, calls, outputs };
}

function settingsAt(port: number) {
  return resolveSettings({ flags: { 'tracking.uri': `http://127.0.0.1:${port}` } }).settings;
}

/** Every file under `dir` with its bytes, to show the store's run records were left as they were. */
function filesUnder(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && !path.join(entry.parentPath, entry.name).includes('mlflow-mirrors'))
      .map((entry) => {
        const file = path.join(entry.parentPath, entry.name);
        return [path.relative(dir, file), readFileSync(file, 'base64')];
      }),
  );
}

describe('core > workflows > syncRunsToTracking > logged models of older mirrors', () => {
  it("gives a mirror an flts before logged models wrote its logged model at the next sync (READY, of its run, tagged on the mirror), leaves the run's record as it was, counts it in no lag, and a second sync creates none", async () => {
    const settings = settingsAt(19301);
    const dir = mkdtempSync(path.join(root, 'old-mirror-'));
    const store = createFsStore(dir);
    await saveRunRecord(store, settings, fakeRun('g1', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z'));
    await saveRunRecord(store, settings, fakeRun('g2', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2026-01-02T00:00:00.000Z'));
    const mlflow = new MemoryMlflow();
    mlflow.addMirror('g1', { start: 1, tags: OLD_STYLE });
    mlflow.addMirror('g2', { start: 2, tags: OLD_STYLE });
    const fake = withLoggedModels(mlflow);
    const before = filesUnder(dir);

    const first = await syncRunsToTracking(store, settings, {}, { client: fake.client });

    expect(first.status).toBe('ok');
    if (first.status !== 'ok') return;
    expect(first.value).toMatchObject({ pending: [], mirrored: [], deferred: [], failed: [] });
    expect(first.value.loggedModels?.map((logged) => logged.runId)).toEqual(['g2', 'g1']);
    expect(fake.models.map((model) => [toRecord(model.info.tags)['flts.run_id'], model.info.source_run_id, model.info.status])).toEqual([
      ['g2', mlflow.mirrorOf('g2')!.info.run_id, 'LOGGED_MODEL_READY'],
      ['g1', mlflow.mirrorOf('g1')!.info.run_id, 'LOGGED_MODEL_READY'],
    ]);
    for (const runId of ['g1', 'g2']) {
      const mirror = mlflow.mirrorOf(runId)!;
      const model = fake.models.find((candidate) => candidate.info.source_run_id === mirror.info.run_id)!;
      expect(fake.outputs.get(mirror.info.run_id)).toEqual([model.info.model_id]);
      expect(toRecord(mirror.data.tags)[LOGGED_MODEL_TAG]).toBe(model.info.model_id);
    }
    expect(filesUnder(dir)).toEqual(before);

    const calls = fake.calls.length;
    const second = await syncRunsToTracking(store, settings, {}, { client: fake.client });

    expect(second.status).toBe('ok');
    if (second.status !== 'ok') return;
    expect(second.value.loggedModels).toBeUndefined();
    expect(fake.models).toHaveLength(2);
    // The tagged mirrors are not candidates: no logged model is even looked up.
    expect(fake.calls.slice(calls)).toEqual([]);
  });

  it('a mirror whose logged model a promotion made already is tagged with it, not given a second one', async () => {
    const settings = settingsAt(19302);
    const store = createFsStore(mkdtempSync(path.join(root, 'promoted-')));
    await saveRunRecord(store, settings, fakeRun('p1', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z'));
    const mlflow = new MemoryMlflow();
    const mirror = mlflow.addMirror('p1', { start: 1, tags: OLD_STYLE });
    const fake = withLoggedModels(mlflow);
    fake.models.push({ info: { model_id: 'lm-promoted', experiment_id: '1', source_run_id: mirror.info.run_id, status: 'LOGGED_MODEL_READY', tags: [{ key: 'flts.run_id', value: 'p1' }] } });

    const synced = await syncRunsToTracking(store, settings, {}, { client: fake.client });

    expect(synced.status === 'ok' && synced.value.loggedModels).toEqual([{ runId: 'p1', mlflowRunId: mirror.info.run_id, modelId: 'lm-promoted' }]);
    expect(fake.calls.filter((call) => call.startsWith('create'))).toEqual([]);
    expect(toRecord(mlflow.mirrorOf('p1')!.data.tags)[LOGGED_MODEL_TAG]).toBe('lm-promoted');
  });

  it(`gives at most ${LOGGED_MODELS_BACKFILLED_PER_SYNC} older mirrors their logged model per sync, newest first, after the runs the sync was called for; the next sync takes the rest`, async () => {
    const settings = settingsAt(19303);
    const store = createFsStore(mkdtempSync(path.join(root, 'cap-')));
    const old = Array.from({ length: LOGGED_MODELS_BACKFILLED_PER_SYNC + 3 }, (_, at) => `o${String(at).padStart(2, '0')}`);
    const mlflow = new MemoryMlflow();
    for (const [at, runId] of old.entries()) {
      await saveRunRecord(store, settings, fakeRun(runId, 'GRU', { rmse: 1, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 1000).toISOString()));
      mlflow.addMirror(runId, { start: Date.UTC(2026, 0, 1) + at * 1000, tags: OLD_STYLE });
    }
    await saveRunRecord(store, settings, fakeRun('fresh', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-06-01T00:00:00.000Z'));
    const fake = withLoggedModels(mlflow);

    const first = await syncRunsToTracking(store, settings, { runIds: ['fresh'] }, { client: fake.client });

    expect(first.status).toBe('ok');
    if (first.status !== 'ok') return;
    expect(first.value.mirrored.map((run) => [run.runId, run.model?.kind === 'onnx' && run.model.modelId !== undefined])).toEqual([['fresh', true]]);
    const created = fake.calls.filter((call) => call.startsWith('create '));
    const newest = [...old].reverse().slice(0, LOGGED_MODELS_BACKFILLED_PER_SYNC);
    expect(created).toEqual(['create fresh', ...newest.map((runId) => `create ${runId}`)]);
    expect(first.value.loggedModels?.map((logged) => logged.runId)).toEqual(newest);

    const second = await syncRunsToTracking(store, settings, {}, { client: fake.client });

    expect(second.status === 'ok' && second.value.loggedModels?.map((logged) => logged.runId)).toEqual(old.slice(0, 3).reverse());
    expect(fake.models).toHaveLength(old.length + 1);
    expect(new Set(fake.models.map((model) => toRecord(model.info.tags)['flts.run_id'])).size).toBe(old.length + 1);
  });

  it('on a server without logged models asks once, creates nothing, and later syncs whose clients share its state ask no more', async () => {
    const settings = settingsAt(19304);
    const store = createFsStore(mkdtempSync(path.join(root, 'older-server-')));
    await saveRunRecord(store, settings, fakeRun('v1', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z'));
    await saveRunRecord(store, settings, fakeRun('v2', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-01-02T00:00:00.000Z'));
    const mlflow = new MemoryMlflow();
    mlflow.addMirror('v1', { start: 1, tags: OLD_STYLE });
    mlflow.addMirror('v2', { start: 2, tags: OLD_STYLE });
    const server = createMlflowServerState();
    const first = withLoggedModels(mlflow, false, server);

    const synced = await syncRunsToTracking(store, settings, {}, { client: first.client });

    expect(synced.status === 'ok' && synced.value.loggedModels).toBeUndefined();
    expect(first.calls).toEqual(['search']);
    expect(mlflow.runs.map((run) => toRecord(run.data.tags)[LOGGED_MODEL_TAG])).toEqual([undefined, undefined]);

    // Each sync of a daemon builds its client anew, of the daemon's MlflowServers: what it learnt holds across them.
    const later = withLoggedModels(mlflow, false, server);
    const searches = mlflow.searches.length;
    await syncRunsToTracking(store, settings, {}, { client: later.client });

    expect(later.calls).toEqual([]);
    expect(mlflow.searches.slice(searches).filter((search) => search.filter?.includes("tags.`flts.mlflow_model` = 'onnx'"))).toEqual([]);
  });

  it('over HTTP, a server before MLflow 3 (a 404 page at the logged-model endpoints) is asked once by the first sync and by no later sync of the same MlflowServers, each with a client of its own; a sync without them asks anew', async () => {
    const requests: string[] = [];
    const mirror: MlflowRun = {
      info: { run_id: 'h-mirror', experiment_id: '1', status: 'FINISHED', start_time: 1, lifecycle_stage: 'active', artifact_uri: 'mlflow-artifacts:/1/h-mirror/artifacts' },
      data: { tags: Object.entries({ 'flts.run_id': 'h1', 'flts.mirror_complete': 'true', 'flts.data.processed_sha256': 'f'.repeat(64), ...OLD_STYLE }).map(([key, value]) => ({ key, value })) },
    };
    const listener = (request: IncomingMessage, response: ServerResponse): void => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = (request.url ?? '').split('?')[0];
        const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { filter?: string; run_view_type?: string }) : {};
        requests.push(`${request.method} ${url} ${body.filter ?? ''}`);
        if (url.startsWith('/api/2.0/mlflow/logged-models')) return void response.writeHead(404, { 'content-type': 'text/html' }).end('<!doctype html><title>404 Not Found</title><h1>Not Found</h1>');
        const json = (answer: unknown): void => void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        if (url === '/api/2.0/mlflow/experiments/search') return json({ experiments: [{ experiment_id: '1', name: 'Default', lifecycle_stage: 'active' }] });
        if (url === '/api/2.0/mlflow/runs/search') {
          const ofMirror = body.run_view_type !== 'DELETED_ONLY' && /flts\.run_id|flts\.mlflow_model|run_id IN/.test(body.filter ?? '');
          return json({ runs: ofMirror ? [mirror] : [] });
        }
        json({});
      });
    };
    const store = createFsStore(mkdtempSync(path.join(root, 'http-older-')));

    await withServer(listener, async (uri) => {
      const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 0 } }).settings;
      await saveRunRecord(store, settings, fakeRun('h1', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z'));
      const servers = createMlflowServers();
      const asked = ["POST /api/2.0/mlflow/logged-models/search source_run_id = 'h-mirror' AND tags.`flts.run_id` = 'h1'"];
      const first = await syncRunsToTracking(store, settings, {}, { servers });
      expect(first.status).toBe('ok');
      expect(requests.filter((line) => line.includes('/logged-models'))).toEqual(asked);
      requests.length = 0;
      const second = await syncRunsToTracking(store, settings, {}, { servers });
      expect(second.status).toBe('ok');
      expect(requests.filter((line) => line.includes('/logged-models') || line.includes('flts.mlflow_model'))).toEqual([]);
      requests.length = 0;
      // A library caller's sync that keeps no state asks for itself: the server may have been upgraded since.
      expect((await syncRunsToTracking(store, settings)).status).toBe('ok');
      expect(requests.filter((line) => line.includes('/logged-models'))).toEqual(asked);
    });
  });

  it("keeps a server's lack of logged models to the clients of that server: one settings, two clients of two servers, the MLflow 2 one given up on and the MLflow 3 one backfilled", async () => {
    const settings = settingsAt(19305);
    const store = createFsStore(mkdtempSync(path.join(root, 'two-servers-')));
    await saveRunRecord(store, settings, fakeRun('s1', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z'));
    const older = new MemoryMlflow();
    const newer = new MemoryMlflow();
    for (const mlflow of [older, newer]) mlflow.addMirror('s1', { start: 1, tags: OLD_STYLE });
    const [two, three] = [withLoggedModels(older, false, createMlflowServerState()), withLoggedModels(newer, true, createMlflowServerState())];

    await syncRunsToTracking(store, settings, {}, { client: two.client });
    const backfilled = await syncRunsToTracking(store, settings, {}, { client: three.client });

    expect(two.calls).toEqual(['search']);
    expect(backfilled.status === 'ok' && backfilled.value.loggedModels?.map((logged) => logged.runId)).toEqual(['s1']);
    expect(three.models.map((model) => model.info.status)).toEqual(['LOGGED_MODEL_READY']);
  });

  it('on a server that refuses IS NULL in a filter (MLflow 2) asks for the newest ONNX mirrors instead, and later syncs sharing its state do not ask for the refusal again', async () => {
    const settings = settingsAt(19306);
    const store = createFsStore(mkdtempSync(path.join(root, 'null-refused-')));
    await saveRunRecord(store, settings, fakeRun('n1', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z'));
    const mlflow = new MemoryMlflow('older');
    // No candidate: a mirror of another registry's run, so that every sync would search again.
    mlflow.addMirror('elsewhere', { start: 1, tags: OLD_STYLE });
    const server = createMlflowServerState();
    const asked: string[] = [];
    const fake = withLoggedModels(mlflow, true, server);
    const client = { ...fake.client, searchRuns: async (input: Parameters<MlflowClient['searchRuns']>[0]) => (asked.push(input.filter ?? ''), fake.client.searchRuns(input)) } as MlflowClient;
    const backfillSearches = () => asked.filter((filter) => filter.includes("tags.`flts.mlflow_model` = 'onnx'")).map((filter) => (filter.includes('IS NULL') ? 'untagged' : 'onnx'));

    for (let sync = 0; sync < 2; sync += 1) expect((await syncRunsToTracking(store, settings, {}, { client })).status).toBe('ok');

    expect(backfillSearches()).toEqual(['untagged', 'onnx', 'onnx']);
    expect(server.tagIsNullRefused).toBe(true);
  });
});
