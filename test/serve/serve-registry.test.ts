import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/core/config/settings.js';
import { TIME_FEATURE_COLUMNS, timeFeatureValues } from '../../src/core/preprocess/time-features.js';
import { loadRunForServing } from '../../src/core/registry/load-run.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createTrainedHome, rawTestRows, writeRootPointer } from '../helpers/poblesec-slice.js';
import { postJson } from './serve-fixtures.js';



describe('serve > a trained LSTM from the run registry', () => {
  let store: ObjectStore;
  let settings: Settings;
  let remove: (() => void) | undefined;
  let runId: string;
  let naive: RunRecord;
  let service: InferenceService;

  beforeAll(async () => {
    let runs: RunRecord[];
    ({ store, settings, remove, runs } = await createTrainedHome('flts-serve-', ['LSTM', 'NAIVE'], {
      'data.sampleTestRows': 60,
      'serve.port': 0,
      'serve.pollIntervalMs': 0,
      'serve.predictionLog.flushIntervalMs': 50,
    }));
    runId = runs[0].run_id;
    naive = runs[1];
    service = await startInferenceService(settings, { store });
  });

  afterAll(async () => {
    await service?.close();
    remove?.();
  });

  it('is ready with the run the root pointer names', async () => {
    const response = await fetch(`${service.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', run_id: runId, model_type: 'LSTM' });
  });

  it('answers raw PobleSec rows with what the run computes on its own scaled window, in original units', async () => {
    const data = rawTestRows(15);
    const { status, json } = await postJson(`${service.url}/predict`, { data, index_col: 'time' });
    expect(status).toBe(200);

    const { run, model, scaler } = await loadRunForServing(store, settings, runId);
    try {
      const { features, inputSeqLen } = run.window;
      const windows = new Float32Array(inputSeqLen * features.length);
      for (let r = 0; r < inputSeqLen; r++) {
        const row = 15 - inputSeqLen + r;
        const time = Date.parse(`${String(data.time[row]).replace(' ', 'T')}Z`);
        features.forEach((feature, f) => {
          const t = (TIME_FEATURE_COLUMNS as readonly string[]).indexOf(feature);
          const raw = t >= 0 ? timeFeatureValues(time)[t] : Number(data[feature][row]);
          const s = scaler.columns.indexOf(feature);
          windows[r * features.length + f] = (raw - scaler.offset[s]) / scaler.scale[s];
        });
      }
      const scaled = await model.predict({ windows, forecastTimes: new Float64Array(run.window.outputSeqLen), size: 1 });
      const d = scaler.columns.indexOf('down');
      const expected = scaled[0] * scaler.scale[d] + scaler.offset[d];
      expect(json.predictions).toHaveLength(1);
      expect(Math.abs(json.predictions[0].down - expected) / Math.abs(expected)).toBeLessThan(1e-5);
      expect(json.predictions[0].ts).toBe('2018-02-28T03:04:00');
      expect(json).toMatchObject({ run_id: runId, model_type: 'LSTM', config_hash: run.config_hash, identifier: 'default' });
    } finally {
      model.dispose();
    }
  });

  it('returns each calibrated row with its prediction intervals, nested and widening with the level, recursive rows included', async () => {
    const steps = settings.eval.intervalSteps;
    const { status, json } = await postJson(`${service.url}/predict`, { data: rawTestRows(15), index_col: 'time', inference_length: steps + 1 });
    expect(status).toBe(200);
    expect(json.predictions).toHaveLength(steps + 1);
    // The horizon is one step: the rows after it are recursive, and calibrated up to `steps`.
    for (const row of json.predictions.slice(0, steps)) {
      expect(Object.keys(row.intervals)).toEqual(['down']);
      expect(Object.keys(row.intervals.down)).toEqual(['0.8', '0.95']);
      const [lo80, hi80] = row.intervals.down['0.8'];
      const [lo95, hi95] = row.intervals.down['0.95'];
      // The training rows of `down` (bytes) were never negative: no lower end goes below 0, where both may meet,
      // even under a forecast that does (this slice's short training can forecast a little below 0).
      expect(lo95).toBeGreaterThanOrEqual(0);
      expect(lo95).toBeLessThanOrEqual(lo80);
      expect(lo80).toBeLessThanOrEqual(Math.max(row.down, 0));
      expect(row.down).toBeLessThan(hi80);
      expect(hi80).toBeLessThan(hi95);
    }
    // Past the calibrated steps, none.
    expect(json.predictions[steps].intervals).toBeUndefined();
  });

  it('forecasts from the stored test data when the body is empty', async () => {
    const { status, json } = await postJson(`${service.url}/predict`, '');
    expect(status).toBe(200);
    expect(json.source).toBe('stored-test-data');
    expect(Number.isFinite(json.predictions[0].down)).toBe(true);
  });

  it('keeps tf.memory().numTensors flat across many concurrent requests', async () => {
    const data = rawTestRows(20);
    const before = tf.memory().numTensors;
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => postJson(`${service.url}/predict`, { data, inference_length: 1 + (i % 3) })));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('follows a new promotion, and stays on it when the next pointer names a run that does not exist', async () => {
    await writeRootPointer(store, settings, naive);
    expect(await service.holder.reloadFromPointer()).toEqual({ result: 'loaded', runId: naive.run_id });
    const served = await postJson(`${service.url}/predict`, { data: rawTestRows(12) });
    expect(served.json).toMatchObject({ run_id: naive.run_id, model_type: 'NAIVE' });
    const lastDown = Number(rawTestRows(12).down[11]);
    // Persistence in original units, through float32 scaling and back.
    expect(Math.abs(served.json.predictions[0].down - lastDown) / lastDown).toBeLessThan(1e-6);

    await writeRootPointer(store, settings, { run_id: 'deleted-run', config_hash: naive.config_hash, model_type: 'LSTM' });
    expect((await service.holder.reloadFromPointer()).result).toBe('failed');
    const health: any = await (await fetch(`${service.url}/healthz`)).json();
    expect(health).toMatchObject({ model_ready: true, run_id: naive.run_id, degraded: true });
    expect((await postJson(`${service.url}/predict`, { data: rawTestRows(12) })).status).toBe(200);
  });

  it('reports degraded when a corrupt root current.json makes it fall back to global/current.json', async () => {
    const bucket = settings.store.buckets.promotion;
    await writeRootPointer(store, settings, naive);
    await store.put(bucket, 'global/current.json', await store.get(bucket, 'current.json'));
    await store.put(bucket, 'current.json', '{"run_id": "half-writ');
    expect(await service.holder.reloadFromPointer()).toMatchObject({ runId: naive.run_id });
    const health: any = await (await fetch(`${service.url}/healthz`)).json();
    expect(health).toMatchObject({ model_ready: true, run_id: naive.run_id, degraded: true });
    expect(health.degraded_reason).toMatch(/global\/current\.json because current\.json is not valid JSON/);

    await store.delete(bucket, 'global/current.json');
    expect(await service.holder.reloadFromPointer()).toMatchObject({ result: 'failed' });
    expect(((await (await fetch(`${service.url}/healthz`)).json()) as any).degraded_reason).toBe(`The promotion pointer cannot be read (FLTS_DATA_UNREADABLE); still serving run ${naive.run_id}.`);
    expect(service.holder.status().degraded?.detail).toMatch(/No usable promotion pointer: current\.json is not valid JSON/);
  });

  it('writes each flush of prediction records as a new JSONL object under inference-logs/default/<day>/', async () => {
    await postJson(`${service.url}/predict`, { data: rawTestRows(12) });
    await service.close();
    const objects = await store.list(settings.store.buckets.inferenceLogs, 'default/');
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) expect(object.key).toMatch(/^default\/\d{8}\/\d{9}-[0-9a-f]{12}\.jsonl$/);
    const lines = (await Promise.all(objects.map(async (o) => (await store.get(settings.store.buckets.inferenceLogs, o.key)).toString('utf8'))))
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThanOrEqual(60);
    expect(lines[0]).toMatchObject({ identifier: 'default', run_id: runId, model_type: 'LSTM', status: 'SUCCESS' });
    expect(lines[0].prediction_hash).toMatch(/^[0-9a-f]{16}$/);
    expect(lines[0].metrics).toMatchObject({ prediction_hash: lines[0].prediction_hash, rows_predicted: expect.any(Number) });
    expect(lines[0].samples[0]).toMatchObject({ step: 0, ts: expect.any(String), pred: { down: expect.any(Number) } });
  });
});
