import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { withServer } from '../tracking/tracking-server.fixture.js';
import type { MlflowKeyValue } from '../tracking/mlflow-types.js';
import { mirrorRun } from './mirror-run.js';
import { MemoryMlflow } from './memory-mlflow.fixture.js';
import { listMirrorMarkers } from './mirror-markers.js';
import { fakeRun } from './run-record.fixture.js';
import { saveRunRecord } from './run-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-mirror-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/**
 * MLflow as far as one mirror needs it: one experiment, the run it creates (found again by search), its tags as sent.
 * `requests` gets the path of each request, in order.
 */
function oneRunServer(tags: Map<string, string>, requests: string[] = []): (request: IncomingMessage, response: ServerResponse) => void {
  let created = false;
  const run = () => ({ info: { run_id: 'm1', experiment_id: '1', status: 'RUNNING', artifact_uri: 'mlflow-artifacts:/1/m1/artifacts' }, data: { tags: [...tags].map(([key, value]) => ({ key, value })) } });
  return (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '';
      requests.push(url.split('?')[0]);
      const body = chunks.length > 0 && request.method === 'POST' ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tags?: MlflowKeyValue[] }) : {};
      if (/\/runs\/(create|log-batch)/.test(url)) for (const tag of body.tags ?? []) tags.set(tag.key, tag.value);
      if (url.includes('/runs/create')) created = true;
      const answers: Array<[string, () => unknown]> = [
        ['/experiments/search', () => ({ experiments: [{ experiment_id: '1', name: 'NonML' }] })],
        ['/experiments/get-by-name', () => ({ experiment: { experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' } })],
        ['/runs/search', () => ({ runs: created ? [run()] : [] })],
        ['/runs/create', () => ({ run: run() })],
      ];
      const answer = answers.find(([path]) => url.includes(path))?.[1]() ?? {};
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  };
}

describe('core > registry > mirrorRun', () => {
  it("tags the mirror with the digest of the processed rows the run was trained on, beside its input files' digests", async () => {
    const tags = new Map<string, string>();
    await withServer(oneRunServer(tags), async (uri) => {
      const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 0 } }).settings;
      const store = createFsStore(path.join(root, 'store'));
      const record = fakeRun('r1', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z');
      const fingerprint = { file: 'train.csv', sha256: 'a'.repeat(64), bytes: 10 };
      await saveRunRecord(store, settings, { ...record, data: { ...record.data, fingerprints: { train: fingerprint, test: { ...fingerprint, file: 'test.csv' } }, processed_sha256: 'd'.repeat(64) } });
      expect((await mirrorRun(store, settings, 'r1')).created).toBe(true);
    });
    expect(Object.fromEntries(tags)).toMatchObject({ 'flts.run_id': 'r1', 'flts.data.train_sha256': 'a'.repeat(64), 'flts.data.train_file': 'train.csv', 'flts.data.processed_sha256': 'd'.repeat(64) });
  });

  it('marks the complete mirror its last check for duplicates keeps in place of its own, so that the next sync need not ask about it', async () => {
    const settings = resolveSettings({ flags: { 'tracking.uri': 'http://127.0.0.1:19401' } }).settings;
    const store = createFsStore(path.join(root, 'kept'));
    await saveRunRecord(store, settings, fakeRun('r2', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z'));
    const mlflow = new MemoryMlflow();
    // Another writer completes its mirror of the run while this one writes its own.
    const client = { ...mlflow.client, createRun: async (input: never) => {
      const mine = await mlflow.client.createRun(input);
      mlflow.addMirror('r2');
      return mine;
    } } as typeof mlflow.client;

    const result = await mirrorRun(store, settings, 'r2', { client });

    const keeper = mlflow.mirrorOf('r2')!;
    expect(result).toMatchObject({ mlflowRunId: keeper.info.run_id, created: false });
    expect((await listMirrorMarkers(store, settings)).map((marker) => [marker.runId, marker.mlflowRunId])).toEqual([['r2', keeper.info.run_id]]);
  });

  it('mirrors a new run in one lookup, one creation, one batch of params and tags and one of metrics, its artifacts, a last check for duplicates, its status and the complete tag', async () => {
    const requests: string[] = [];
    await withServer(oneRunServer(new Map(), requests), async (uri) => {
      const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 0 } }).settings;
      const store = createFsStore(path.join(root, 'counted'));
      await saveRunRecord(store, settings, fakeRun('r1', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z'));
      expect(await mirrorRun(store, settings, 'r1')).toMatchObject({ created: true, artifacts: ['flts/run.json'] });
    });
    expect(requests.map((url) => url.replace('/api/2.0/mlflow/', '').replace(/^\/api\/2.0\/mlflow-artifacts\/artifacts\/.*/, 'artifact'))).toEqual([
      'experiments/search',
      'runs/search',
      'runs/create',
      'runs/log-batch',
      'runs/log-batch',
      'artifact',
      'experiments/search',
      'runs/search',
      'runs/update',
      'runs/set-tag',
    ]);
  });

  it('mirrors a SUCCESS network whose files are gone all the same, tagged as having no MLflow model and why, in the same requests', async () => {
    const tags = new Map<string, string>();
    const requests: string[] = [];
    await withServer(oneRunServer(tags, requests), async (uri) => {
      const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 0 } }).settings;
      const store = createFsStore(path.join(root, 'no-files'));
      await saveRunRecord(store, settings, fakeRun('r3', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z'));
      expect(await mirrorRun(store, settings, 'r3')).toMatchObject({ created: true, model: { kind: 'none' } });
    });
    expect(tags.get('flts.mlflow_model')).toBe('none');
    expect(tags.get('flts.mlflow_model_reason')).toContain('FLTS_MODEL_ARTIFACT_MISSING');
    expect(requests.filter((url) => url.includes('/runs/log-batch'))).toHaveLength(2);
    expect(requests.some((url) => url.includes('/model/'))).toBe(false);
  });
});
