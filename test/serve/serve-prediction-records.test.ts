import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/core/config/settings.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { createInferenceClient } from '../../src/core/serve/oip-grpc-service.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { MAX_REQUEST_ID } from '../../src/core/serve/schemas/kserve.js';
import { promote } from '../../src/core/workflows/promote.js';
import { postJson, readJsonResponse } from './serve-fixtures.js';

const TIMES = ['2024-01-01 00:00:00', '2024-01-01 00:02:00', '2024-01-01 00:04:00'];
const DOWN = [1.5, 2.5, 3.5];

const httpInputs = (): object[] => [
  { name: 'timestamp', datatype: 'BYTES', shape: [3], data: TIMES },
  { name: 'down', datatype: 'FP64', shape: [3], data: DOWN },
];
const grpcInputs = (): object[] => [
  { name: 'timestamp', datatype: 'BYTES', shape: [3], contents: { bytes_contents: TIMES.map((time) => Buffer.from(time)) } },
  { name: 'down', datatype: 'FP64', shape: [3], contents: { fp64_contents: DOWN } },
];

function modelInfer(client: grpc.Client, request: object): Promise<unknown> {
  return new Promise((resolve, reject) => (client as unknown as { ModelInfer: (r: object, cb: (e: grpc.ServiceError | null, v: unknown) => void) => void }).ModelInfer(request, (error, value) => (error ? reject(error) : resolve(value))));
}

describe('serve > every protocol records its predictions alike', () => {
  let root: string;
  let store: ObjectStore;
  let settings: Settings;
  let service: InferenceService | undefined;

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-records-'));
    store = createFsStore(root);
    const defaults = defaultSettings();
    settings = { ...defaults, serve: { ...defaults.serve, port: 0, grpcPort: 0, pollIntervalMs: 0 } };
    await addLoadableRun(store, settings, fakeRun('good', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'));
    await promote({ runId: 'good', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store });
  });
  /** Every record in the inference-logs bucket. */
  async function loggedRecords(): Promise<Array<{ run_id: string; req_id: string; metrics: { rows_predicted: number } }>> {
    const keys = (await store.list(settings.store.buckets.inferenceLogs)).map((object) => object.key);
    return (await Promise.all(keys.map(async (key) => (await store.get(settings.store.buckets.inferenceLogs, key)).toString())))
      .flatMap((body) => body.split('\n').filter(Boolean))
      .map((line) => JSON.parse(line));
  }

  afterEach(async () => {
    await service?.close();
    service = undefined;
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  it('logs and counts a prediction asked over the Open Inference Protocol (HTTP and gRPC) as one from POST /predict', async () => {
    service = await startInferenceService(settings, { store });
    expect((await postJson(`${service.url}/predict`, { data: { time: TIMES, down: DOWN } })).status).toBe(200);
    const oip = await postJson(`${service.url}/v2/models/flts/infer`, {
      id: 'oip-http-1',
      inputs: httpInputs(),
    });
    expect(oip.status).toBe(200);
    const client = createInferenceClient(`127.0.0.1:${service.grpc!.port}`);
    try {
      await modelInfer(client, { model_name: 'flts', id: 'oip-grpc-1', inputs: grpcInputs() });
    } finally {
      client.close();
    }

    const stats = await readJsonResponse(await fetch(`${service.url}/stats`));
    expect(stats.json).toMatchObject({ completed: 3 });
    await service.close();
    service = undefined;
    const records = await loggedRecords();
    expect(records).toHaveLength(3);
    expect(records.every((record) => record.run_id === 'good' && record.metrics.rows_predicted > 0)).toBe(true);
    // The Open Inference Protocol's request id is the record's, as /predict's own id is.
    expect(records.map((record) => record.req_id)).toEqual(expect.arrayContaining(['oip-http-1', 'oip-grpc-1']));
  });

  it("answers and logs a prediction under the series its request names, else under the deployment identifier", async () => {
    service = await startInferenceService({ ...settings, identifier: 'site-a' }, { store });
    // Before, a site-a deployment answered and logged a forecast of site-b's rows as site-a's, while live scoring
    // paired it with site-b's actuals.
    const named = await postJson(`${service.url}/predict`, { data: { time: TIMES, down: DOWN }, identifier: 'site-b' });
    expect({ status: named.status, identifier: named.json.identifier }).toEqual({ status: 200, identifier: 'site-b' });
    const unnamed = await postJson(`${service.url}/predict`, { data: { time: TIMES, down: DOWN } });
    expect({ status: unnamed.status, identifier: unnamed.json.identifier }).toEqual({ status: 200, identifier: 'site-a' });
    const oip = await postJson(`${service.url}/v2/models/flts/infer`, { id: 'oip-site-c', parameters: { identifier: 'site-c' }, inputs: httpInputs() });
    expect(oip.status).toBe(200);
    await service.close();
    service = undefined;
    const records = (await loggedRecords()) as unknown as Array<{ req_id: string; identifier: string }>;
    const byRequest = Object.fromEntries(records.map((record) => [record.req_id, record.identifier]));
    expect(byRequest).toEqual({ [named.json.req_id]: 'site-b', [unnamed.json.req_id]: 'site-a', 'oip-site-c': 'site-c' });
    // The log objects stay the deployment's.
    expect((await store.list(settings.store.buckets.inferenceLogs)).every((object) => object.key.startsWith('site-a/'))).toBe(true);
  });

  it('takes an identifier of "" as none on /predict, /actuals and the inference parameter: the deployment\'s series', async () => {
    service = await startInferenceService({ ...settings, identifier: 'site-a' }, { store });
    // Before, /predict and /actuals filed "" under the global scope's series, which a site-a deployment never names
    // otherwise, and the inference parameter refused it.
    const empty = await postJson(`${service.url}/predict`, { data: { time: TIMES, down: DOWN }, identifier: '' });
    expect({ status: empty.status, identifier: empty.json.identifier }).toEqual({ status: 200, identifier: 'site-a' });
    const oip = await postJson(`${service.url}/v2/models/flts/infer`, { id: 'oip-empty', parameters: { identifier: '' }, inputs: httpInputs() });
    expect(oip.status).toBe(200);
    // Actuals sent with "" are paired with the deployment's forecasts (those of requests that named no series).
    const forecast = empty.json.predictions[0];
    const actuals = await postJson(`${service.url}/actuals`, { data: { time: [forecast.ts], down: [forecast.down] }, identifier: '' });
    expect({ status: actuals.status, unmatched: actuals.json.unmatched }).toEqual({ status: 200, unmatched: 0 });
    expect(actuals.json.matched).toBeGreaterThan(0);
    await service.close();
    service = undefined;
    const records = (await loggedRecords()) as unknown as Array<{ req_id: string; identifier: string }>;
    expect(Object.fromEntries(records.map((record) => [record.req_id, record.identifier]))).toEqual({ [empty.json.req_id]: 'site-a', 'oip-empty': 'site-a' });
  });

  it('logs an Open Inference Protocol id of the most characters a request may carry as it was sent', async () => {
    service = await startInferenceService(settings, { store });
    // 256 characters: 256 UTF-16 units over HTTP, 512 over gRPC (an emoji is two), both within MAX_REQUEST_ID.
    const httpId = `h${'i'.repeat(MAX_REQUEST_ID - 1)}`;
    const grpcId = '😀'.repeat(MAX_REQUEST_ID);
    expect((await postJson(`${service.url}/v2/models/flts/infer`, { id: httpId, inputs: httpInputs() })).json.id).toBe(httpId);
    const client = createInferenceClient(`127.0.0.1:${service.grpc!.port}`);
    try {
      expect(((await modelInfer(client, { model_name: 'flts', id: grpcId, inputs: grpcInputs() })) as { id: string }).id).toBe(grpcId);
    } finally {
      client.close();
    }
    await service.close();
    service = undefined;
    expect((await loggedRecords()).map((record) => record.req_id).sort()).toEqual([httpId, grpcId].sort());
  });
});
