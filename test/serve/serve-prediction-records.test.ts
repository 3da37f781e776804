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
import { promote } from '../../src/core/workflows/promote.js';
import { postJson, readJsonResponse } from './serve-fixtures.js';

const TIMES = ['2024-01-01 00:00:00', '2024-01-01 00:02:00', '2024-01-01 00:04:00'];
const DOWN = [1.5, 2.5, 3.5];

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
      inputs: [
        { name: 'timestamp', datatype: 'BYTES', shape: [3], data: TIMES },
        { name: 'down', datatype: 'FP64', shape: [3], data: DOWN },
      ],
    });
    expect(oip.status).toBe(200);
    const client = createInferenceClient(`127.0.0.1:${service.grpc!.port}`);
    try {
      const request = {
        model_name: 'flts',
        id: 'oip-grpc-1',
        inputs: [
          { name: 'timestamp', datatype: 'BYTES', shape: [3], contents: { bytes_contents: TIMES.map((time) => Buffer.from(time)) } },
          { name: 'down', datatype: 'FP64', shape: [3], contents: { fp64_contents: DOWN } },
        ],
      };
      await new Promise((resolve, reject) => (client as unknown as { ModelInfer: (r: object, cb: (e: grpc.ServiceError | null, v: unknown) => void) => void }).ModelInfer(request, (error, value) => (error ? reject(error) : resolve(value))));
    } finally {
      client.close();
    }

    const stats = await readJsonResponse(await fetch(`${service.url}/stats`));
    expect(stats.json).toMatchObject({ completed: 3 });
    await service.close();
    service = undefined;
    const keys = (await store.list(settings.store.buckets.inferenceLogs)).map((object) => object.key);
    const records = (await Promise.all(keys.map(async (key) => (await store.get(settings.store.buckets.inferenceLogs, key)).toString())))
      .flatMap((body) => body.split('\n').filter(Boolean))
      .map((line) => JSON.parse(line) as { run_id: string; req_id: string; metrics: { rows_predicted: number } });
    expect(records).toHaveLength(3);
    expect(records.every((record) => record.run_id === 'good' && record.metrics.rows_predicted > 0)).toBe(true);
    // The Open Inference Protocol's request id is the record's, as /predict's own id is.
    expect(records.map((record) => record.req_id)).toEqual(expect.arrayContaining(['oip-http-1', 'oip-grpc-1']));
  });
});
