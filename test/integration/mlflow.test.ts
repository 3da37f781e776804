/**
 * Against a real MLflow tracking server (sqlite backend, local artifacts behind --serve-artifacts), shared by the
 * run through the suite's global setup (scripts/mlflow/up.sh on first use, or the one `npm run dev:infra` keeps up).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import type { FltsEvent } from '../../src/core/events.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { saveRunRecord } from '../../src/core/registry/run-store.js';
import { createFsStore, putJson, type ObjectStore } from '../../src/core/storage/index.js';
import { processedKeys } from '../../src/core/preprocess/processed-layout.js';
import { sha256Hex } from '../../src/core/config/config-hash.js';
import { createMlflowClient, listMlflowRunsByConfigHash, trackingCallBudgetMs } from '../../src/core/tracking/index.js';
import { findMirroredRun, mirrorRun } from '../../src/core/registry/mirror-run.js';
import { PROCESSED_SHA256_TAG } from '../../src/core/registry/mirror-source.js';
import { listMirrorMarkers, readMirrorMarkers, saveUnwrittenMarkers } from '../../src/core/registry/mirror-markers.js';
import { FULL_LISTING_FROM, LISTING_PAGE_RUNS_MIN } from '../../src/core/registry/mirror-pending-runs.js';
import { MIRROR_TAGS } from '../../src/core/tracking/tracking-deps.js';
import { rankMlflowRunsByConfigHash } from '../../src/core/eval/rank-mlflow-runs.js';
import { markPromoted } from '../../src/core/workflows/mark-promoted.js';
import { syncRunsToTracking, trackPromotion } from '../../src/core/workflows/sync-runs-to-tracking.js';
import { scopedPointerKey } from '../../src/core/registry/pointers.js';
import { historyRecord } from '../helpers/promotion-record.js';
import { preprocess } from '../../src/core/workflows/preprocess.js';
import { trainModels } from '../../src/core/workflows/train.js';
import { DATASETS } from '../helpers/poblesec-slice.js';
import { freePort } from '../helpers/free-port.js';
import { skipNote, useServers } from '../helpers/servers.js';

const mlflow = await useServers('mlflow');
const MLFLOW_URI = mlflow.vars.FLTS_TEST_MLFLOW_URI;
const TITLE = `integration > mlflow${skipNote(mlflow)}`;

const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const homes: string[] = [];

async function freshSetup(uri = MLFLOW_URI ?? '', extraEnv: Record<string, string> = {}): Promise<{ store: ObjectStore; settings: Settings }> {
  const home = await mkdtemp(path.join(tmpdir(), 'flts-mlflow-'));
  homes.push(home);
  const { settings } = resolveSettings({
    env: {
      FLTS_HOME: home,
      MLFLOW_TRACKING_URI: uri,
      FLTS_MLFLOW_EXPERIMENT_NEURAL: `flts-it-${suffix}-nn`,
      FLTS_MLFLOW_EXPERIMENT_STATISTICAL: `flts-it-${suffix}-stat`,
      FLTS_MLFLOW_TIMEOUT_MS: '5000',
      FLTS_MLFLOW_RETRIES: '2',
      FLTS_MLFLOW_BACKOFF_MS: '50',
      FLTS_MLFLOW_REGISTERED_MODEL: `flts-it-${suffix}`,
      ...extraEnv,
    },
  });
  return { store: createFsStore(path.join(home, 'store')), settings };
}

let runCounter = 0;

/** A finished run as the registry writes it: run.json, metrics.json, model files, scaler, loss curve. */
async function writeRun(store: ObjectStore, settings: Settings, options: { modelType: 'LSTM' | 'GRU' | 'PROPHET'; configHash: string; rmse: number; epochs?: number; processedSha256?: string; user?: string }): Promise<RunRecord> {
  runCounter += 1;
  const runId = `it-${suffix}-${runCounter}`;
  const epochs = options.epochs ?? 3;
  const started = new Date(Date.UTC(2026, 0, 1, 12, 0, runCounter));
  const history = Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1, loss: 0.5 / (i + 1), val_loss: 0.6 / (i + 1), duration_ms: 1000, samples_per_sec: 100 }));
  const scaled = { rmse: options.rmse, mae: options.rmse * 0.8, mse: options.rmse ** 2, r2: 0.5 };
  const original = { rmse: options.rmse * 1000, mae: options.rmse * 800, mse: (options.rmse * 1000) ** 2, r2: 0.5 };
  const record: RunRecord = {
    run_id: runId,
    model_type: options.modelType,
    experiment: options.modelType === 'PROPHET' ? 'NonML' : 'Default',
    config_hash: options.configHash,
    status: 'SUCCESS',
    params: { epochs, batch_size: 64, learning_rate: 0.0001, hidden_size: 16, targets: ['down'] },
    window: { features: ['down', 'up'], targets: ['down'], inputSeqLen: 10, outputSeqLen: 1 },
    data: {
      processed_bucket: 'processed-data',
      processed_created_at: started.toISOString(),
      train_rows: 100,
      test_rows: 20,
      train_source_object: 'processed_data.parquet',
      test_source_object: 'test_processed_data.parquet',
      fingerprints: { train: { file: 'train.csv', sha256: 'a'.repeat(64), bytes: 1000 }, test: { file: 'test.csv', sha256: 'b'.repeat(64), bytes: 200 } },
      processed_sha256: options.processedSha256 ?? 'd'.repeat(64),
      test_windows: 'prepend-train-history',
    },
    backend: 'cpu',
    seed: 42,
    timings: { started_at: started.toISOString(), finished_at: new Date(started.getTime() + epochs * 1000 + 500).toISOString(), duration_ms: epochs * 1000 + 500 },
    best_epoch: epochs,
    epochs_run: epochs,
    metrics: {
      test_rmse: scaled.rmse,
      test_mae: scaled.mae,
      test_mse: scaled.mse,
      test_r2: scaled.r2,
      val_loss: history.at(-1)?.val_loss,
      test: { count: 20, overall: scaled, targets: { down: { scaled, original } } },
    },
    artifacts: { model: 'model/model.json', scaler: 'scaler.json' },
    flts_version: '0.1.0',
    ...(options.user ? { user: options.user } : {}),
  };
  const bucket = settings.store.buckets.runs;
  await store.ensureBucket(bucket);
  await putJson(store, bucket, `${runId}/metrics.json`, { history });
  await putJson(store, bucket, `${runId}/model/model.json`, { format: 'layers-model', weightsManifest: [] });
  await store.put(bucket, `${runId}/model/weights.bin`, new Uint8Array([1, 2, 3, 4]));
  await putJson(store, bucket, `${runId}/scaler.json`, { kind: 'minmax', columns: {} });
  await store.put(bucket, `${runId}/loss-curve.svg`, '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
  await saveRunRecord(store, settings, record);
  return record;
}

/** The live MLflow behind a proxy that answers every call `delayMs` late: a slow server that is never down. `requests`: the paths asked for. */
async function slowMlflow(delayMs: number): Promise<{ uri: string; close: () => Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push((req.url ?? '').split('?')[0]);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
      setTimeout(() => {
        // A call its client gave up on never reaches the server, as if the slow server had dropped it.
        if (req.socket.destroyed) return;
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([key]) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(key))) as Record<string, string>;
        fetch(`${MLFLOW_URI}${req.url}`, { method: req.method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined })
          .then(async (answer) => res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer())))
          .catch(() => res.writeHead(502).end());
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    uri: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
    requests,
  };
}

async function closedPortUri(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

/** Logs a run the way the reference Python trainers did, straight through the REST API. */
async function logReferenceRun(experimentName: string, runName: string, params: Record<string, string>, metrics: Record<string, number>, startTime: number): Promise<string> {
  const call = async (method: string, route: string, body?: unknown): Promise<any> => {
    const response = await fetch(`${MLFLOW_URI}/api/2.0/mlflow/${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  let experiment = await call('GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(experimentName)}`);
  if (experiment.status !== 200) {
    await call('POST', 'experiments/create', { name: experimentName });
    experiment = await call('GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(experimentName)}`);
  }
  const created = await call('POST', 'runs/create', { experiment_id: experiment.body.experiment.experiment_id, run_name: runName, start_time: startTime });
  const runId = created.body.run.info.run_id as string;
  await call('POST', 'runs/log-batch', {
    run_id: runId,
    params: Object.entries(params).map(([key, value]) => ({ key, value })),
    metrics: Object.entries(metrics).map(([key, value]) => ({ key, value: Number.isNaN(value) ? 'NaN' : value, timestamp: startTime, step: 1 })),
  });
  await call('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: startTime + 1000 });
  return runId;
}

afterAll(async () => {
  await Promise.all(homes.map((home) => rm(home, { recursive: true, force: true })));
});

describe.skipIf(Boolean(mlflow.skip))(TITLE, () => {
  it('mirrors a training run with its params, metrics, per-epoch history, tags and artifacts', async () => {
    const { store, settings } = await freshSetup();
    const record = await writeRun(store, settings, { modelType: 'LSTM', configHash: `hash-${suffix}-mirror`, rmse: 0.04, epochs: 3 });
    const events: FltsEvent[] = [];
    const result = await mirrorRun(store, settings, record.run_id, { onEvent: (e) => events.push(e) });
    expect(result.created).toBe(true);
    expect(events).toContainEqual({ type: 'tracking.mirrored', runId: record.run_id, mlflowRunId: result.mlflowRunId, created: true });

    const client = createMlflowClient(settings.tracking);
    const run = await client.getRun(result.mlflowRunId);
    expect(run?.info.status).toBe('FINISHED');
    expect(run?.info.run_name).toBe('LSTM');
    const experiment = await client.getExperimentByName(settings.tracking.experiments.neural);
    expect(run?.info.experiment_id).toBe(experiment?.experiment_id);
    const params = Object.fromEntries((run?.data.params ?? []).map((p) => [p.key, p.value]));
    expect(params).toMatchObject({ config_hash: record.config_hash, model_type: 'LSTM', epochs: '3', batch_size: '64', input_sequence_length: '10', output_sequence_length: '1' });
    const tags = Object.fromEntries((run?.data.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'flts.run_id': record.run_id, 'flts.backend': 'cpu', 'flts.data.train_sha256': 'a'.repeat(64), 'flts.data.processed_sha256': 'd'.repeat(64), 'flts.mirror_complete': 'true' });
    const metrics = Object.fromEntries((run?.data.metrics ?? []).map((m) => [m.key, Number(m.value)]));
    expect(metrics.test_rmse).toBeCloseTo(record.metrics!.test_rmse, 12);
    expect(metrics.test_mae).toBeCloseTo(record.metrics!.test_mae, 12);
    expect(metrics.test_mse).toBeCloseTo(record.metrics!.test_mse, 12);
    expect(metrics.test_rmse_down_original).toBeCloseTo(record.metrics!.test.targets.down.original.rmse, 9);

    const trainLoss = await client.getMetricHistory(result.mlflowRunId, 'train_loss');
    expect(trainLoss.map((m) => [m.step, Number(m.value)])).toEqual([
      [1, 0.5],
      [2, 0.25],
      [3, 0.5 / 3],
    ]);
    expect((await client.getMetricHistory(result.mlflowRunId, 'val_loss')).map((m) => m.step)).toEqual([1, 2, 3]);

    const root = (await client.listArtifacts(run?.info.artifact_uri)).map((f) => f.path).sort();
    expect(root).toEqual(expect.arrayContaining(['LSTM', 'scaler', 'plots']));
    const model = (await client.listArtifacts(run?.info.artifact_uri, 'LSTM')).map((f) => f.path).sort();
    expect(model).toEqual(['LSTM/model.json', 'LSTM/weights.bin']);
    expect((await client.listArtifacts(run?.info.artifact_uri, 'scaler')).map((f) => f.path)).toEqual(['scaler/scaler.json']);
    expect((await client.listArtifacts(run?.info.artifact_uri, 'plots')).map((f) => f.path)).toEqual(['plots/loss_curve.svg']);
  });

  it('names the mirror after who trained the run, as its record says, not after the process that syncs it later', async () => {
    const { store, settings: trainer } = await freshSetup();
    const trained = await writeRun(store, trainer, { modelType: 'PROPHET', configHash: `hash-${suffix}-user`, rmse: 0.05, user: 'ada' });
    // Recorded before the record kept a user: named after the process that syncs it, as before.
    const older = await writeRun(store, trainer, { modelType: 'PROPHET', configHash: `hash-${suffix}-user`, rmse: 0.06 });
    const syncer = { ...trainer, tracking: { ...trainer.tracking, user: 'bob' } };
    const client = createMlflowClient(syncer.tracking);
    const userOf = async (runId: string) => {
      const run = await client.getRun((await mirrorRun(store, syncer, runId)).mlflowRunId);
      return { tag: Object.fromEntries((run?.data.tags ?? []).map((t) => [t.key, t.value]))['mlflow.user'], userId: run?.info.user_id };
    };
    expect(await userOf(trained.run_id)).toEqual({ tag: 'ada', userId: 'ada' });
    expect(await userOf(older.run_id)).toEqual({ tag: 'bob', userId: 'bob' });
  });

  it('mirrors a run once: a second mirror changes nothing, and an interrupted one is completed without duplicates', async () => {
    const { store, settings } = await freshSetup();
    const record = await writeRun(store, settings, { modelType: 'GRU', configHash: `hash-${suffix}-idem`, rmse: 0.05, epochs: 4 });
    const first = await mirrorRun(store, settings, record.run_id);
    const second = await mirrorRun(store, settings, record.run_id);
    expect(second).toMatchObject({ mlflowRunId: first.mlflowRunId, created: false, upToDate: true });

    // Simulate a mirror cut off before it finished: the next one completes the same run.
    const client = createMlflowClient(settings.tracking);
    await client.setTag(first.mlflowRunId, 'flts.mirror_complete', 'false');
    const third = await mirrorRun(store, settings, record.run_id);
    expect(third).toMatchObject({ mlflowRunId: first.mlflowRunId, created: false, upToDate: false });

    const experiment = await client.getExperimentByName(settings.tracking.experiments.neural);
    const runs = await client.searchRuns({ experimentIds: [experiment!.experiment_id], filter: `tags.\`flts.run_id\` = '${record.run_id}'` });
    expect(runs).toHaveLength(1);
    expect(await client.getMetricHistory(first.mlflowRunId, 'train_loss')).toHaveLength(4);
    expect(await client.getMetricHistory(first.mlflowRunId, 'test_rmse')).toHaveLength(1);
  });

  it('two writers mirroring the same run at once end with one MLflow run', async () => {
    const { store, settings } = await freshSetup();
    const record = await writeRun(store, settings, { modelType: 'LSTM', configHash: `hash-${suffix}-race`, rmse: 0.05 });
    const [a, b] = await Promise.all([mirrorRun(store, settings, record.run_id), mirrorRun(store, settings, record.run_id)]);
    expect(a.mlflowRunId).toBe(b.mlflowRunId);
    const client = createMlflowClient(settings.tracking);
    const experiment = await client.getExperimentByName(settings.tracking.experiments.neural);
    const runs = await client.searchRuns({ experimentIds: [experiment!.experiment_id], filter: `tags.\`flts.run_id\` = '${record.run_id}'` });
    expect(runs.map((r) => r.info.run_id)).toEqual([a.mlflowRunId]);
    expect(await client.getMetricHistory(a.mlflowRunId, 'train_loss')).toHaveLength(3);
  });

  it('promotion moves the champion alias to the promoted run, reusing its model version', async () => {
    const { store, settings } = await freshSetup();
    const hash = `hash-${suffix}-promo`;
    const lstm = await writeRun(store, settings, { modelType: 'LSTM', configHash: hash, rmse: 0.03 });
    const gru = await writeRun(store, settings, { modelType: 'GRU', configHash: hash, rmse: 0.02 });
    const client = createMlflowClient(settings.tracking);
    const name = settings.tracking.registeredModel;

    // Not mirrored yet: promotion mirrors it first.
    const firstMark = await markPromoted(store, settings, { run_id: lstm.run_id, model_type: 'LSTM' });
    expect(firstMark).toMatchObject({ marker: 'alias', registeredModel: name, alias: 'champion' });
    const lstmMirror = await findMirroredRun(client, lstm.run_id);
    expect((await client.getModelVersionByAlias(name, 'champion'))?.run_id).toBe(lstmMirror?.info.run_id);

    await mirrorRun(store, settings, gru.run_id);
    const secondMark = await markPromoted(store, settings, { run_id: gru.run_id, model_type: 'GRU' });
    const champion = await client.getModelVersionByAlias(name, 'champion');
    expect(champion?.run_id).toBe((await findMirroredRun(client, gru.run_id))?.info.run_id);
    expect(champion?.source).toMatch(/\/GRU$/);

    // Rolling back to the LSTM run moves the alias back to its existing version.
    const rollback = await markPromoted(store, settings, { run_id: lstm.run_id, model_type: 'LSTM' });
    expect(rollback.marker === 'alias' && firstMark.marker === 'alias' && rollback.version === firstMark.version).toBe(true);
    expect(secondMark.marker === 'alias' && rollback.marker === 'alias' && secondMark.version !== rollback.version).toBe(true);
    expect(await client.searchModelVersions(`name='${name}'`)).toHaveLength(2);
  });

  it('two marks of one run that race (the promoter and the trainer sync of one daemon) leave it one model version', async () => {
    const { store, settings } = await freshSetup();
    const run = await writeRun(store, settings, { modelType: 'GRU', configHash: `hash-${suffix}-race`, rmse: 0.02 });
    const { mlflowRunId } = await mirrorRun(store, settings, run.run_id);
    const client = createMlflowClient(settings.tracking);
    const name = settings.tracking.registeredModel;
    // The other mark searched before this one created, found nothing either, and creates its version in between.
    const racing: typeof client = {
      ...client,
      async createModelVersion(input) {
        await client.createModelVersion(input);
        return client.createModelVersion(input);
      },
    };

    const mark = await markPromoted(store, settings, { run_id: run.run_id, model_type: 'GRU' }, { client: racing });
    const versions = await client.searchModelVersions(`name='${name}' and run_id='${mlflowRunId}'`);
    expect(versions.map((v) => v.version)).toEqual([mark.marker === 'alias' ? mark.version : 'no alias']);
    expect((await client.getModelVersionByAlias(name, 'champion'))?.version).toBe(versions[0]?.version);
  });

  it('a sync writes the mark of the promotion in service that the promotion left out (stopped once its pointers moved), once', async () => {
    const { store, settings } = await freshSetup();
    const hash = `hash-${suffix}-left-out`;
    const [gru, lstm] = [await writeRun(store, settings, { modelType: 'GRU', configHash: hash, rmse: 0.02 }), await writeRun(store, settings, { modelType: 'LSTM', configHash: hash, rmse: 0.03 })];
    const client = createMlflowClient(settings.tracking);
    const name = settings.tracking.registeredModel;
    // The pointers name the GRU run; MLflow has no mark of it, as after a promote stopped before it marked the run.
    await putJson(store, settings.store.buckets.promotion, scopedPointerKey(settings), { ...historyRecord(gru.run_id, null, 1), model_type: 'GRU', config_hash: hash });

    const synced = await syncRunsToTracking(store, settings);
    expect(synced.status === 'ok' && synced.value.promotionMarked).toMatchObject({ marker: 'alias', runId: gru.run_id, registeredModel: name, alias: 'champion' });
    expect((await client.getModelVersionByAlias(name, 'champion'))?.run_id).toBe((await findMirroredRun(client, gru.run_id))?.info.run_id);
    // Marked now: the syncs that follow leave it, asking MLflow nothing about it.
    const again = await syncRunsToTracking(store, settings);
    expect(again.status === 'ok' && again.value.promotionMarked).toBeUndefined();

    // A promotion that marked its run itself is left alone as well.
    const promoted = { ...historyRecord(lstm.run_id, gru.run_id, 2), model_type: 'LSTM', config_hash: hash };
    await putJson(store, settings.store.buckets.promotion, scopedPointerKey(settings), promoted);
    expect((await trackPromotion(store, settings, promoted)).status).toBe('ok');
    const after = await syncRunsToTracking(store, settings);
    expect(after.status === 'ok' && after.value.promotionMarked).toBeUndefined();
    expect((await client.getModelVersionByAlias(name, 'champion'))?.run_id).toBe((await findMirroredRun(client, lstm.run_id))?.info.run_id);
  });

  it('promotion falls back to the run tag promoted=true when the registry refuses the model, and moves it to the next run promoted', async () => {
    // MLflow refuses registered-model names containing ":", as the one named after such an identifier is (the setting
    // itself refuses them): it stands in for a server without a usable registry.
    const { store, settings } = await freshSetup(MLFLOW_URI, { FLTS_MLFLOW_REGISTERED_MODEL: '' });
    const identifier = `cell:${suffix}`;
    const [gru, lstm] = [await writeRun(store, settings, { modelType: 'GRU', configHash: `hash-${suffix}-tag`, rmse: 0.02 }), await writeRun(store, settings, { modelType: 'LSTM', configHash: `hash-${suffix}-tag`, rmse: 0.03 })];
    const mark = await markPromoted(store, settings, { run_id: gru.run_id, model_type: 'GRU', identifier });
    expect(mark.marker).toBe('tag');
    const client = createMlflowClient(settings.tracking);
    expect((await findMirroredRun(client, gru.run_id))?.data.tags).toContainEqual({ key: 'promoted', value: 'true' });
    expect((await markPromoted(store, settings, { run_id: lstm.run_id, model_type: 'LSTM', identifier })).marker).toBe('tag');
    expect((await findMirroredRun(client, lstm.run_id))?.data.tags).toContainEqual({ key: 'promoted', value: 'true' });
    expect((await findMirroredRun(client, gru.run_id))?.data.tags).toContainEqual({ key: 'promoted', value: 'false' });
  });

  it('the training workflow (flts train, the daemon trainer, the library) mirrors each run it trains', async () => {
    const { store, settings } = await freshSetup(MLFLOW_URI ?? '', { FLTS_DATA_DIR: DATASETS, TRAIN_FILE: 'PobleSec.csv', TEST_FILE: 'PobleSec_test.csv', SAMPLE_TRAIN_ROWS: '300', SAMPLE_TEST_ROWS: '100' });
    await preprocess(settings, { store });
    const trained = await trainModels({ models: ['NAIVE'] }, settings, { store });
    expect(trained.tracking.status).toBe('ok');
    const [run] = trained.runs;
    const mirrored = await findMirroredRun(createMlflowClient(settings.tracking), run.run_id);
    expect(mirrored?.info.status).toBe('FINISHED');
    expect(mirrored?.data.tags).toContainEqual({ key: 'flts.run_id', value: run.run_id });
  });

  it('a slow server gets the runs just trained; earlier unmirrored runs only within one call budget, the rest on a later sync', async () => {
    const slow = await slowMlflow(150);
    try {
      // Each call answers well within its limit, so the server never counts as down; a run takes some fifteen calls.
      const { store, settings } = await freshSetup(slow.uri, { FLTS_MLFLOW_TIMEOUT_MS: '1000', FLTS_MLFLOW_RETRIES: '0', FLTS_MLFLOW_BACKOFF_MS: '0', FLTS_DATA_DIR: DATASETS, TRAIN_FILE: 'PobleSec.csv', TEST_FILE: 'PobleSec_test.csv', SAMPLE_TRAIN_ROWS: '300', SAMPLE_TEST_ROWS: '100' });
      const backlog: string[] = [];
      for (let i = 0; i < 4; i++) backlog.push((await writeRun(store, settings, { modelType: 'PROPHET', configHash: `hash-${suffix}-backlog`, rmse: 0.1 })).run_id);
      await preprocess(settings, { store });
      const trained = await trainModels({ models: ['NAIVE'] }, settings, { store });
      expect(trained.tracking.status).toBe('ok');
      if (trained.tracking.status !== 'ok') return;
      const [run] = trained.runs;
      expect(trained.tracking.value.mirrored.map((m) => m.runId)).toEqual([run.run_id]);
      expect([...trained.tracking.value.deferred].sort()).toEqual([...backlog].sort());
      const client = createMlflowClient({ ...settings.tracking, uri: MLFLOW_URI ?? '' });
      expect((await findMirroredRun(client, run.run_id))?.data.tags).toContainEqual({ key: 'flts.mirror_complete', value: 'true' });

      // A later sync takes the backlog, completing the mirror cut off at the budget rather than starting another.
      // Its own budget covers the whole backlog whatever the machine's load (four runs at some fifteen calls each).
      const direct = { ...settings, tracking: { ...settings.tracking, uri: MLFLOW_URI ?? '' } };
      const caughtUp = await syncRunsToTracking(store, direct, { backlogBudgetMs: 60_000 });
      expect(caughtUp.status === 'ok' && caughtUp.value.mirrored.map((m) => m.runId).sort()).toEqual([...backlog].sort());
      const experiment = await client.getExperimentByName(settings.tracking.experiments.statistical);
      for (const runId of backlog) expect(await client.searchRuns({ experimentIds: [experiment!.experiment_id], filter: `tags.\`flts.run_id\` = '${runId}'` })).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it('a stopped server is reported within the call budget without failing, and the runs are caught up once it is back', async () => {
    const downUri = await closedPortUri();
    const { store, settings: downSettings } = await freshSetup(downUri);
    const missed = await writeRun(store, downSettings, { modelType: 'LSTM', configHash: `hash-${suffix}-catchup`, rmse: 0.04 });
    const events: FltsEvent[] = [];
    const outcome = await syncRunsToTracking(store, downSettings, { runIds: [missed.run_id] }, { onEvent: (e) => events.push(e) });
    expect(outcome.status).toBe('unavailable');
    if (outcome.status !== 'unavailable') return;
    expect(outcome.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(outcome.message).toContain(downUri);
    const budget = trackingCallBudgetMs({ timeoutMs: downSettings.tracking.timeoutMs, retry: { retries: downSettings.tracking.retries, baseDelayMs: downSettings.tracking.backoffMs } });
    expect(outcome.elapsedMs).toBeLessThanOrEqual(budget);
    expect(events.map((e) => e.type)).toEqual(['tracking.unavailable']);

    // The server is back (same store, tracking URI pointing at the live server): the missed run is mirrored once.
    const upSettings = { ...downSettings, tracking: { ...downSettings.tracking, uri: MLFLOW_URI ?? '' } };
    const caughtUp = await syncRunsToTracking(store, upSettings);
    expect(caughtUp.status).toBe('ok');
    if (caughtUp.status !== 'ok') return;
    expect(caughtUp.value.mirrored.map((m) => m.runId)).toEqual([missed.run_id]);
    const again = await syncRunsToTracking(store, upSettings);
    expect(again.status === 'ok' && again.value.pending).toEqual([]);
    expect((await findMirroredRun(createMlflowClient(upSettings.tracking), missed.run_id))?.info.status).toBe('FINISHED');
  });

  it('a sync marks the complete mirrors in the store, asks MLflow nothing more of them when idle, and mirrors again one an operator deleted', async () => {
    const { store, settings } = await freshSetup();
    const runs: RunRecord[] = [];
    for (let i = 0; i < 3; i++) runs.push(await writeRun(store, settings, { modelType: 'PROPHET', configHash: `hash-${suffix}-markers`, rmse: 0.1 + i / 100 }));
    const first = await syncRunsToTracking(store, settings);
    expect(first.status === 'ok' && first.value.mirrored.map((m) => m.runId).sort()).toEqual(runs.map((r) => r.run_id).sort());
    expect((await listMirrorMarkers(store, settings)).map((m) => m.runId).sort()).toEqual(runs.map((r) => r.run_id).sort());

    // The markers are checked with MLflow's own filters (deleted runs, attributes.run_id IN, IS NULL): all accepted.
    const idle = await syncRunsToTracking(store, settings);
    expect(idle.status === 'ok' && idle.value).toMatchObject({ pending: [], mirrored: [], found: [], failed: [] });

    const client = createMlflowClient(settings.tracking);
    const deleted = (await findMirroredRun(client, runs[1].run_id))!;
    await client.deleteRun(deleted.info.run_id);
    const again = await syncRunsToTracking(store, settings);
    expect(again.status === 'ok' && again.value.mirrored.map((m) => [m.runId, m.created])).toEqual([[runs[1].run_id, true]]);
    const replaced = (await findMirroredRun(client, runs[1].run_id))!;
    expect(replaced.info.run_id).not.toBe(deleted.info.run_id);
    expect((await listMirrorMarkers(store, settings)).find((m) => m.runId === runs[1].run_id)?.mlflowRunId).toBe(replaced.info.run_id);
  });

  it('runs of an experiment an operator deleted are parked once, left alone by later syncs, and mirrored again once it is restored', async () => {
    const proxy = await slowMlflow(0);
    try {
      const experimentName = `flts-it-${suffix}-deleted`;
      const { store, settings } = await freshSetup(proxy.uri, { FLTS_MLFLOW_EXPERIMENT_STATISTICAL: experimentName });
      const runs: RunRecord[] = [];
      for (let i = 0; i < 3; i++) runs.push(await writeRun(store, settings, { modelType: 'PROPHET', configHash: `hash-${suffix}-parked`, rmse: 0.1 + i / 100 }));
      const mirrored = await syncRunsToTracking(store, settings, { runIds: [runs[0].run_id] });
      expect(mirrored.status === 'ok' && mirrored.value.mirrored.map((m) => m.runId)).toEqual([runs[0].run_id, runs[1].run_id, runs[2].run_id]);
      const client = createMlflowClient(settings.tracking);
      const experiment = (await client.getExperimentByName(experimentName))!;
      const rest = (route: string) =>
        fetch(`${MLFLOW_URI}/api/2.0/mlflow/experiments/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ experiment_id: experiment.experiment_id }) });
      expect((await rest('delete')).status).toBe(200);

      const parked = await syncRunsToTracking(store, settings);
      expect(parked.status === 'ok' && parked.value.parked?.map((run) => [run.runId, run.reason, run.experimentName])).toEqual(runs.map((run) => [run.run_id, 'experiment_deleted', experimentName]));
      // Held back on purpose and warned about once, not failures (a daemon's trainer counts failures in its metric).
      expect(parked.status === 'ok' && parked.value.failed).toEqual([]);

      // Left alone: the sync's listing of the experiments, one question about the deleted one, the search for mirrors
      // to tag and the search for network mirrors without a logged model, whatever the runs it parks; no lookup of a
      // run, and no failure. Before, each run failed again, one lookup of its mirror each.
      proxy.requests.length = 0;
      const idle = await syncRunsToTracking(store, settings);
      expect(idle.status === 'ok' && idle.value).toMatchObject({ pending: [], failed: [], waiting: [{ experimentName, experimentId: experiment.experiment_id, runs: 3 }] });
      expect(proxy.requests).toEqual(['/api/2.0/mlflow/experiments/search', '/api/2.0/mlflow/experiments/get', '/api/2.0/mlflow/runs/search', '/api/2.0/mlflow/runs/search']);

      expect((await rest('restore')).status).toBe(200);
      const restored = await syncRunsToTracking(store, settings);
      expect(restored.status === 'ok' && restored.value.found.map((run) => run.runId).sort()).toEqual(runs.map((run) => run.run_id).sort());
      expect(restored.status === 'ok' && restored.value.waiting).toBeUndefined();
      expect((await readMirrorMarkers(store, settings)).parked).toEqual([]);
      expect((await listMirrorMarkers(store, settings)).map((marker) => marker.runId).sort()).toEqual(runs.map((run) => run.run_id).sort());
    } finally {
      await proxy.close();
    }
  });

  it('a listing of complete mirrors stopped part-way reads on by start time: a mirror deleted before its position makes it skip none', { timeout: 120_000 }, async () => {
    const { store, settings } = await freshSetup();
    const runs: RunRecord[] = [];
    for (let i = 0; i < FULL_LISTING_FROM + 10; i++) runs.push(await writeRun(store, settings, { modelType: 'PROPHET', configHash: `hash-${suffix}-listing`, rmse: 0.1 }));
    // Complete mirrors written before markers existed, one REST call each, started before any other mirror on the
    // server (the suite's runs start in 2026; this test's of an earlier run on a server kept up, later than these):
    // the listing's first page, oldest first, is of these.
    const client = createMlflowClient(settings.tracking);
    const experiment = await client.getOrCreateExperiment(settings.tracking.experiments.statistical);
    const oldest = Date.UTC(2000, 0, 1) - (Date.now() - Date.UTC(2026, 0, 1)) * 20;
    for (const [at, run] of runs.entries()) {
      await client.createRun({ experimentId: experiment.experiment_id, runName: run.run_id, startTime: oldest + at * 1000, tags: [{ key: MIRROR_TAGS.runId, value: run.run_id }, { key: MIRROR_TAGS.complete, value: 'true' }] });
    }
    // Pages of the fewest runs, as syncs whose pages were cut leave them: the listing takes two pages at least.
    await saveUnwrittenMarkers(store, settings, [], { experimentIds: [experiment.experiment_id], pages: 0, pageRuns: LISTING_PAGE_RUNS_MIN });
    const stop = new AbortController();
    const stopping = { ...client, searchRunsPage: async (input: Parameters<typeof client.searchRunsPage>[0]) => client.searchRunsPage(input).finally(() => stop.abort()) } as typeof client;
    const cut = await syncRunsToTracking(store, settings, {}, { client: stopping, signal: stop.signal });
    expect(cut.status).toBe('ok');
    const afterFirstPage = await readMirrorMarkers(store, settings);
    expect(afterFirstPage.listing).toMatchObject({ pages: 1, after: { startTime: oldest + (LISTING_PAGE_RUNS_MIN - 1) * 1000 } });
    // An operator deletes a mirror the first page held.
    const onFirstPage = [...afterFirstPage.written, ...afterFirstPage.unwritten][0];
    await client.deleteRun(onFirstPage.mlflowRunId);

    const next = await syncRunsToTracking(store, settings);
    expect(next.status === 'ok' && next.value).toMatchObject({ found: [], failed: [], deferred: [] });
    expect(next.status === 'ok' && next.value.mirrored.map((m) => m.runId)).toEqual([onFirstPage.runId]);
    const marked = new Map((await listMirrorMarkers(store, settings)).map((m) => [m.runId, m.mlflowRunId]));
    for (const run of runs) expect(marked.get(run.run_id)).toBe((await findMirroredRun(client, run.run_id))!.info.run_id);
  });

  it('finds and ranks runs of a config_hash logged by the reference trainers next to flts runs', async () => {
    const { store, settings } = await freshSetup();
    const hash = `hash-${suffix}-ref`;
    const t0 = Date.UTC(2026, 0, 2);
    // Score = 0.5 rmse + 0.3 mae + 0.2 mse: GRU-new and GRU-old tie (0.5*0.04+0.3*0.03+0.2*0.002 = 0.0294), the newer wins.
    const gruOld = await logReferenceRun('Default', 'GRU', { config_hash: hash, model_type: 'GRU' }, { test_rmse: 0.04, test_mae: 0.03, test_mse: 0.002 }, t0);
    const gruNew = await logReferenceRun('Default', 'GRU', { config_hash: hash, model_type: 'GRU' }, { test_rmse: 0.04, test_mae: 0.03, test_mse: 0.002 }, t0 + 60_000);
    const prophet = await logReferenceRun('NonML', 'PROPHET', { config_hash: hash, model_type: 'PROPHET' }, { test_rmse: 0.26, test_mae: 0.2, test_mse: 0.07 }, t0 + 1000);
    const mfles = await logReferenceRun('NonML', 'AUTOMFLES', { config_hash: hash, model_type: 'AUTOMFLES' }, {}, t0 + 2000);
    const nan = await logReferenceRun('Default', 'LSTM', { config_hash: hash, model_type: 'LSTM' }, { test_rmse: Number.NaN, test_mae: 0.01, test_mse: 0.001 }, t0 + 3000);
    await logReferenceRun('Default', 'GRU', { config_hash: `${hash}-other`, model_type: 'GRU' }, { test_rmse: 0.001, test_mae: 0.001, test_mse: 0.001 }, t0);
    // A flts run with the same hash and a better score (0.5*0.02 + 0.3*0.016 + 0.2*0.0004 = 0.01488).
    const flts = await writeRun(store, settings, { modelType: 'LSTM', configHash: hash, rmse: 0.02 });
    const mirrored = await mirrorRun(store, settings, flts.run_id);

    const listed = await listMlflowRunsByConfigHash(settings, hash);
    expect(listed.map((r) => r.mlflowRunId).sort()).toEqual([gruOld, gruNew, prophet, mfles, nan, mirrored.mlflowRunId].sort());
    const gru = listed.find((r) => r.mlflowRunId === gruNew);
    expect(gru).toMatchObject({ modelType: 'GRU', experimentName: 'Default', configHash: hash, testRmse: 0.04, testMae: 0.03, testMse: 0.002, startTime: t0 + 60_000, modelUri: `runs:/${gruNew}/GRU` });
    expect(listed.find((r) => r.mlflowRunId === prophet)?.experimentName).toBe('NonML');
    expect(listed.find((r) => r.mlflowRunId === mirrored.mlflowRunId)?.fltsRunId).toBe(flts.run_id);

    const board = await rankMlflowRunsByConfigHash(settings, hash);
    expect(board.rows.map((r) => r.mlflowRunId)).toEqual([mirrored.mlflowRunId, gruNew, gruOld, prophet, mfles, nan]);
    expect(board.rows[1].score).toBeCloseTo(0.5 * 0.04 + 0.3 * 0.03 + 0.2 * 0.002, 12);
  });

  it('leaves out of the ranking the mirrors of runs trained on rows the config_hash no longer holds, by their tags', async () => {
    const { store, settings } = await freshSetup();
    const hash = sha256Hex(`${suffix}-replaced-rows`);
    const sidecar = { config_hash: hash, created_at: '2026-12-01T00:00:00Z', flts: { data_sha256: 'e'.repeat(64) } };
    await store.ensureBucket(settings.store.buckets.processed);
    await putJson(store, settings.store.buckets.processed, processedKeys(settings, hash).trainSidecar, sidecar);
    const replaced = await mirrorRun(store, settings, (await writeRun(store, settings, { modelType: 'LSTM', configHash: hash, rmse: 0.01, processedSha256: 'd'.repeat(64) })).run_id);
    const current = await mirrorRun(store, settings, (await writeRun(store, settings, { modelType: 'LSTM', configHash: hash, rmse: 0.02, processedSha256: 'e'.repeat(64) })).run_id);

    const board = await rankMlflowRunsByConfigHash(settings, hash, { store });
    expect(board.rows.map((r) => r.mlflowRunId)).toEqual([current.mlflowRunId]);
    expect(board.runs_of_replaced_rows).toBe(1);
    expect((await rankMlflowRunsByConfigHash(settings, hash)).rows.map((r) => r.mlflowRunId)).toEqual([replaced.mlflowRunId, current.mlflowRunId]);
  });

  it('a sync gives a mirror written before the processed-data tag the digest its run.json records, and the ranking then leaves its replaced rows out', async () => {
    const { store, settings } = await freshSetup();
    const hash = sha256Hex(`${suffix}-untagged-mirror`);
    await store.ensureBucket(settings.store.buckets.processed);
    await putJson(store, settings.store.buckets.processed, processedKeys(settings, hash).trainSidecar, { config_hash: hash, created_at: '2026-12-01T00:00:00Z', flts: { data_sha256: 'e'.repeat(64) } });
    const old = await mirrorRun(store, settings, (await writeRun(store, settings, { modelType: 'LSTM', configHash: hash, rmse: 0.01, processedSha256: 'd'.repeat(64) })).run_id);
    const current = await mirrorRun(store, settings, (await writeRun(store, settings, { modelType: 'LSTM', configHash: hash, rmse: 0.02, processedSha256: 'e'.repeat(64) })).run_id);
    // As an earlier flts mirrored it: complete, but without the tag. Its input files are the same, so only the tag tells.
    const untag = await fetch(`${MLFLOW_URI}/api/2.0/mlflow/runs/delete-tag`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ run_id: old.mlflowRunId, key: PROCESSED_SHA256_TAG }) });
    expect(untag.status).toBe(200);
    expect((await rankMlflowRunsByConfigHash(settings, hash, { store })).rows.map((r) => r.mlflowRunId)).toEqual([old.mlflowRunId, current.mlflowRunId]);

    const synced = await syncRunsToTracking(store, settings);
    expect(synced.status).toBe('ok');
    if (synced.status !== 'ok') return;
    expect(synced.value.tagged).toEqual([{ runId: old.runId, mlflowRunId: old.mlflowRunId }]);
    const tags = (await createMlflowClient(settings.tracking).getRun(old.mlflowRunId))?.data.tags ?? [];
    expect(tags.find((tag) => tag.key === PROCESSED_SHA256_TAG)?.value).toBe('d'.repeat(64));
    const board = await rankMlflowRunsByConfigHash(settings, hash, { store });
    expect(board.rows.map((r) => r.mlflowRunId)).toEqual([current.mlflowRunId]);
    expect(board.runs_of_replaced_rows).toBe(1);

    // Nothing left to tag: the next sync sends nothing.
    const again = await syncRunsToTracking(store, settings);
    expect(again.status === 'ok' && again.value.tagged).toEqual([]);
  });
});
