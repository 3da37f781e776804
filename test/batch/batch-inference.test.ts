import path from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleInferenceClaim } from '../../src/core/batch/inference-claim-handler.js';
import { readInferenceActuals } from '../../src/core/batch/inference-actuals.js';
import { runBatchInference, type BatchInferenceResult } from '../../src/core/batch/run-batch-inference.js';
import { resultMarkerKey } from '../../src/core/batch/result-marker.js';
import { getJsonIfExists } from '../../src/core/storage/json-objects.js';
import { createMessageBus, decodeInferenceNotice, type DataClaim, type MessageBus, type ReceivedMessage } from '../../src/core/bus/index.js';
import type { Settings } from '../../src/core/config/settings.js';
import { encodeFrameParquet } from '../../src/core/data/frame-parquet.js';
import { readTable } from '../../src/core/data/read-table.js';
import { inverseScaleColumn } from '../../src/core/data/scaler.js';
import { selectRows, type TimeFrame } from '../../src/core/data/time-frame.js';
import { loadProcessedData, type ProcessedData } from '../../src/core/preprocess/processed-data.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import { formatTimestamp } from '../../src/core/data/timestamps.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createTrainedHome, DATASETS } from '../helpers/poblesec-slice.js';
import { postJson } from '../serve/serve-fixtures.js';

const RAW_TEST = path.join(DATASETS, 'PobleSec_test.csv');

/** The forecast table a batch result stored with the run, as plain rows. */
async function storedTable(store: ObjectStore, result: BatchInferenceResult): Promise<Record<string, unknown>[]> {
  return pl.readParquet(await store.get(result.forecast_bucket, result.forecast_key)).toRecords() as Record<string, unknown>[];
}

async function logObjects(store: ObjectStore, settings: Settings): Promise<{ key: string; lines: any[] }[]> {
  const objects = await store.list(settings.store.buckets.inferenceLogs).catch(() => []);
  return Promise.all(objects.map(async (o) => ({ key: o.key, lines: (await store.get(settings.store.buckets.inferenceLogs, o.key)).toString().trim().split('\n').map((l) => JSON.parse(l)) })));
}

// Serving and batch may run the forward pass on different float32 kernels: a forecast near the series' trough
// (a few MB where the scale is hundreds of MB) differs in the sixth significant digit.
const relativeClose = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(a), Math.abs(b));

describe('batch > batch inference over a PobleSec slice', () => {
  let home: string;
  let store: ObjectStore;
  let settings: Settings;
  let remove: (() => void) | undefined;
  let lstm: RunRecord;
  let processed: ProcessedData;
  let service: InferenceService;
  let bus: MessageBus;
  const notices: ReceivedMessage[] = [];
  let noticeWaiters: Array<() => void> = [];

  const claim = (object: string): DataClaim => ({ bucket: settings.store.buckets.processed, object, size: 0, configHash: lstm.config_hash, identifier: '' });
  const waitForNotices = (count: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => (notices.length >= count ? resolve() : void noticeWaiters.push(check));
      check();
    });

  beforeAll(async () => {
    let runs: RunRecord[];
    ({ home, store, settings, remove, runs } = await createTrainedHome('flts-batch-', ['LSTM'], {
      'serve.port': 0,
      'serve.pollIntervalMs': 0,
      'serve.predictionLog.enabled': false,
      'bus.kind': 'fs',
      'batch.chunkSize': 64,
    }));
    [lstm] = runs;
    processed = await loadProcessedData(store, settings);
    service = await startInferenceService(settings, { store });
    bus = createMessageBus(settings) as MessageBus;
    await bus.ensureTopics([settings.bus.topics.performanceEval]);
    await bus.subscribe({ group: 'test-performance-eval', topics: [settings.bus.topics.performanceEval] }, async (message) => {
      notices.push(message);
      const waiting = noticeWaiters;
      noticeWaiters = [];
      waiting.forEach((check) => check());
    });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await bus?.close();
    remove?.();
  });

  it('forecasts raw rows exactly as single /predict calls on the same windows, in original units', async () => {
    const out = path.join(home, 'raw-forecasts.csv');
    const result = await runBatchInference(settings, { store }, { data: RAW_TEST, outFile: out });
    const { frame } = await readTable(RAW_TEST);
    const seq = lstm.window.inputSeqLen;
    expect(result.scaled_input).toBe(false);
    expect(result.windows).toBe(frame.time.length - seq + 1);
    const table = await storedTable(store, result);
    expect(table.length).toBe(result.windows * lstm.window.outputSeqLen);
    const csv = pl.readCSV(out);
    expect(csv.height).toBe(table.length);

    const rawColumns = lstm.window.features.filter((f) => !/_(sin|cos)$/.test(f));
    for (const w of [0, 1, 777, result.windows - 2, result.windows - 1]) {
      const data: Record<string, unknown[]> = { time: [] };
      for (const column of rawColumns) data[column] = [];
      for (let row = w; row < w + seq; row++) {
        data.time.push(formatTimestamp(frame.time[row]));
        for (const column of rawColumns) data[column].push(frame.values[column][row]);
      }
      const { status, json } = await postJson(`${service.url}/predict`, { data, index_col: 'time' });
      expect(status).toBe(200);
      const batchRow = table[w * lstm.window.outputSeqLen];
      expect((batchRow.origin as Date).getTime()).toBe(frame.time[w + seq - 1]);
      expect(formatTimestamp((batchRow.time as Date).getTime())).toBe(json.predictions[0].ts);
      expect(relativeClose(batchRow.down as number, json.predictions[0].down)).toBe(true);
      // Actuals next to the forecasts are the raw data's next row (none after the last row).
      const next = w + seq;
      if (next < frame.time.length) expect(batchRow.down_actual).toBe(frame.values.down[next]);
      else expect(batchRow.down_actual).toBeNull();
    }
  }, 60_000);

  it('reads the claimed data\'s actual values as batch inference reads it, which score the forecasts /predict served for them', async () => {
    // The /predict calls above forecast the row after each window; the requests for windows 1 and n-1 already
    // brought the actuals of windows 0 and n-2, so windows 1 and 777 are what remains to be scored.
    const served = service.holder.current()!;
    const actuals = await readInferenceActuals(store, settings, { plan: served.plan, configHash: served.run.configHash }, RAW_TEST, settings.identifier);
    const { runs: matched, ignored } = await service.live!.observeActualsInTurns(actuals);
    expect(ignored).toBe(0);
    expect(matched).toHaveLength(1);
    expect(matched[0]).toMatchObject({ run_id: lstm.run_id, points: 2 });
    const live = service.live!.status().runs.find((run) => run.run_id === lstm.run_id)!;
    expect(live.matched_total).toBe(4);
    // The same actuals again (a redelivered claim, a second replica path) match nothing: each point is scored once.
    expect(await service.live!.observeActualsInTurns(actuals)).toMatchObject({ runs: [], ignored: 0, unmatched: actuals.time.length });
    expect(service.live!.status().runs.find((run) => run.run_id === lstm.run_id)!.matched_total).toBe(4);
  }, 60_000);

  it('answers a claim on the processed test data with the reference JSONL record and performance-eval notice', async () => {
    const before = notices.length;
    const result = await handleInferenceClaim(claim('test_processed_data.parquet'), { settings, store, bus });
    expect(result.status).toBe('written');
    expect(result.scaled_input).toBe(true);

    // The last window of the stored test data is what /predict forecasts without data.
    const table = await storedTable(store, result);
    const { json } = await postJson(`${service.url}/predict`, {});
    expect(relativeClose(table[table.length - 1].down as number, json.predictions[0].down)).toBe(true);

    const [log] = (await logObjects(store, settings)).filter((o) => o.key === result.log_object_key);
    expect(log.key).toMatch(new RegExp(`^default/\\d{8}/[^/]+\\.jsonl$`));
    expect(log.lines).toHaveLength(1);
    const record = log.lines[0];
    expect(Object.keys(record).slice(0, 8)).toEqual(['timestamp', 'identifier', 'run_id', 'model_type', 'config_hash', 'status', 'metrics', 'samples']);
    expect(record).toMatchObject({ identifier: 'default', run_id: lstm.run_id, model_type: 'LSTM', config_hash: lstm.config_hash, status: 'SUCCESS' });
    expect(record.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // Metrics recomputed independently: forecasts from the table, actuals = the processed test data un-scaled.
    const test = processed.test;
    const actual = inverseScaleColumn(processed.scaler, 'down', test.values.down);
    const rowOf = new Map(Array.from(test.time, (t, i) => [t, i]));
    let n = 0;
    let sae = 0;
    let sse = 0;
    for (const row of table) {
      const i = rowOf.get((row.time as Date).getTime());
      if (i === undefined) continue;
      const error = (row.down as number) - actual[i];
      n++;
      sae += Math.abs(error);
      sse += error * error;
    }
    const m = record.metrics;
    expect(m.overlap_rows).toBe(n);
    expect(n).toBe(test.time.length - lstm.window.inputSeqLen);
    expect(relativeClose(m.mae.down, sae / n)).toBe(true);
    expect(relativeClose(m.mse.down, sse / n)).toBe(true);
    expect(relativeClose(m.rmse, Math.sqrt(sse / n))).toBe(true);
    expect(m.mae_mean).toBe(m.mae.down);
    expect(m.step_mae.length).toBe(Math.min(200, n));
    expect(m).toMatchObject({ prediction_hash: result.prediction_hash, rows_predicted: table.length });
    expect(m.prediction_hash).toMatch(/^[0-9a-f]{16}$/);
    const rows = table.length;
    expect(record.samples.map((s: any) => s.step)).toEqual([...new Set([0, Math.floor(rows / 10), Math.floor(rows / 2), Math.floor((9 * rows) / 10), rows - 1])].sort((a, b) => a - b));
    expect(record.samples[0]).toEqual({
      step: 0,
      ts: formatTimestamp((table[0].time as Date).getTime()),
      pred: { down: table[0].down },
      actual: { down: table[0].down_actual },
      abs_err: { down: Math.abs((table[0].down as number) - (table[0].down_actual as number)) },
    });
    expect(record.samples.at(-1).actual).toBeNull();

    await waitForNotices(before + 1);
    const notice = notices[before];
    expect(notice.key).toBeNull();
    expect(Object.keys(JSON.parse(notice.value))).toEqual(['operation', 'status', 'identifier', 'log_bucket', 'log_object_key', 'run_id', 'model_type', 'config_hash', 'rows']);
    expect(JSON.parse(notice.value)).toMatchObject({ operation: 'Inference', status: 'SUCCESS' });
    expect(decodeInferenceNotice(notice)).toEqual({
      identifier: '', logBucket: settings.store.buckets.inferenceLogs, logObjectKey: result.log_object_key,
      runId: lstm.run_id, modelType: 'LSTM', configHash: lstm.config_hash, rows,
    });
  }, 60_000);

  it('records a replayed claim once, also after a restart and across two replicas racing', async () => {
    // A claim of its own (a shorter copy of the test data), so earlier tests do not pre-record it.
    const short: TimeFrame = selectRows(processed.test, 0, 100);
    await store.put(settings.store.buckets.processed, 'replay/short.parquet', encodeFrameParquet(short));
    const replayClaim = claim('replay/short.parquet');
    const countFor = async (hash: string): Promise<number> =>
      (await logObjects(store, settings)).flatMap((o) => o.lines).filter((line) => line.prediction_hash === hash && line.run_id === lstm.run_id).length;

    // Two replicas (own store and bus clients) handle the same claim at once.
    const replicas = [0, 1].map(() => ({ settings, store: createFsStore(path.join(home, 'store')), bus: createMessageBus(settings) as MessageBus }));
    const before = notices.length;
    const raced = await Promise.all(replicas.map((deps) => handleInferenceClaim(replayClaim, deps)));
    await Promise.all(replicas.map((r) => r.bus.close()));
    const hash = raced[0].prediction_hash;
    expect(raced[1].prediction_hash).toBe(hash);
    expect(await countFor(hash)).toBe(1);
    expect(new Set(raced.map((r) => r.log_object_key)).size).toBe(1);
    const announced = raced.filter((r) => r.status === 'written').length;
    await waitForNotices(before + announced);
    // A race may announce twice (at-least-once), but every notice names the one record.
    expect(new Set(notices.slice(before).map((n) => decodeInferenceNotice(n).logObjectKey))).toEqual(new Set([raced[0].log_object_key]));

    // Redelivery after a "restart": a fresh store client and bus, nothing in memory.
    const restarted = { settings, store: createFsStore(path.join(home, 'store')), bus: createMessageBus(settings) as MessageBus };
    const replay = await handleInferenceClaim(replayClaim, restarted);
    await restarted.bus.close();
    expect(replay).toMatchObject({ status: 'duplicate', prediction_hash: hash, log_object_key: raced[0].log_object_key, published: false });
    expect(await countFor(hash)).toBe(1);
  }, 60_000);

  it('finishes a result a crash left half written under its first day, not a second record on the next day', async () => {
    const short: TimeFrame = selectRows(processed.test, 0, 90);
    await store.put(settings.store.buckets.processed, 'midnight/short.parquet', encodeFrameParquet(short));
    const data = { bucket: settings.store.buckets.processed, key: 'midnight/short.parquet' };
    // The process dies after writing the log record, at its next write of the result's marker.
    let logged = false;
    const crashing: ObjectStore = {
      ...store,
      put: async (bucket, key, body, options) => {
        if (logged && key.includes('/batch-inference/') && key.endsWith('.json')) throw new Error('killed');
        await store.put(bucket, key, body, options);
        if (bucket === settings.store.buckets.inferenceLogs) logged = true;
      },
    };
    const beforeMidnight = new Date('2026-03-01T23:59:30Z');
    await expect(runBatchInference(settings, { store: crashing, now: () => beforeMidnight }, { data })).rejects.toThrow('killed');
    const redelivered = await runBatchInference(settings, { store, now: () => new Date('2026-03-02T00:00:30Z') }, { data });
    expect(redelivered.status).toBe('written');
    expect(redelivered.log_object_key).toContain('/20260301/');
    const records = (await logObjects(store, settings)).filter((o) => o.lines.some((line) => line.prediction_hash === redelivered.prediction_hash));
    expect(records.map((o) => o.key)).toEqual([redelivered.log_object_key]);
    expect((await runBatchInference(settings, { store }, { data })).status).toBe('duplicate');
  }, 60_000);

  it('leaves nothing at the marker key while a result is unfinished, so an older flts given the redelivery does not skip it', async () => {
    const short: TimeFrame = selectRows(processed.test, 5, 95);
    await store.put(settings.store.buckets.processed, 'rolling/short.parquet', encodeFrameParquet(short));
    const data = { bucket: settings.store.buckets.processed, key: 'rolling/short.parquet' };
    // The process dies writing the log record, after its pending marker and forecast table.
    const crashing: ObjectStore = {
      ...store,
      put: async (bucket, key, body, options) => {
        if (bucket === settings.store.buckets.inferenceLogs) throw new Error('killed');
        await store.put(bucket, key, body, options);
      },
    };
    await expect(runBatchInference(settings, { store: crashing }, { data })).rejects.toThrow('killed');
    const finished = await runBatchInference(settings, { store }, { data });
    expect(finished.status).toBe('written');
    // What flts before 2026-12 reads: any object at this key is a finished result, reported as a duplicate.
    const key = resultMarkerKey(lstm.run_id, finished.prediction_hash);
    await store.delete(settings.store.buckets.runs, key);
    await store.delete(finished.log_bucket, finished.log_object_key);
    await expect(runBatchInference(settings, { store: crashing }, { data })).rejects.toThrow('killed');
    expect(await getJsonIfExists(store, settings.store.buckets.runs, key)).toBeUndefined();
    expect((await runBatchInference(settings, { store }, { data })).status).toBe('written');
    expect(await getJsonIfExists(store, settings.store.buckets.runs, key)).toMatchObject({ state: 'done', log_object_key: finished.log_object_key });
  }, 60_000);

  it('finishes a result whose pending marker an earlier flts left at the marker key', async () => {
    const short: TimeFrame = selectRows(processed.test, 10, 100);
    await store.put(settings.store.buckets.processed, 'pending-at-marker/short.parquet', encodeFrameParquet(short));
    const data = { bucket: settings.store.buckets.processed, key: 'pending-at-marker/short.parquet' };
    const first = await runBatchInference(settings, { store }, { data });
    const hash = first.prediction_hash;
    const logKey = `default/20260301/batch-${lstm.run_id}-${hash}.jsonl`;
    await store.delete(first.log_bucket, first.log_object_key);
    await store.put(
      settings.store.buckets.runs,
      resultMarkerKey(lstm.run_id, hash),
      JSON.stringify({
        run_id: lstm.run_id,
        prediction_hash: hash,
        log_bucket: settings.store.buckets.inferenceLogs,
        log_object_key: logKey,
        forecast_bucket: settings.store.buckets.runs,
        forecast_key: `${lstm.run_id}/batch-inference/${hash}.parquet`,
        rows_predicted: first.rows_predicted,
        created_at: '2026-03-01T23:59:30.000Z',
        state: 'pending',
      }),
    );
    const finished = await runBatchInference(settings, { store, now: () => new Date('2026-03-02T00:00:30Z') }, { data });
    expect(finished).toMatchObject({ status: 'written', log_object_key: logKey });
    expect((await runBatchInference(settings, { store }, { data })).status).toBe('duplicate');
  }, 60_000);
});
