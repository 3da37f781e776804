import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsBus } from '../../src/core/bus/fs-bus.js';
import type { MessageBus } from '../../src/core/bus/message-bus.js';
import { encodeInferenceClaim } from '../../src/core/bus/messages.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import { runBatchInference } from '../../src/core/batch/run-batch-inference.js';
import { startDaemon } from '../../src/core/daemon/start-daemon.js';
import { parseTimestamp } from '../../src/core/data/timestamps.js';
import { loadProcessedData } from '../../src/core/preprocess/processed-data.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createTrainedHome, rawTestRows, type TrainedHome } from '../helpers/poblesec-slice.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';
import { waitUntil } from '../helpers/wait-until.js';
import { postJson } from '../serve/serve-fixtures.js';

/**
 * A split deployment on the embedded bus: `flts serve` in its own process, the `inference-data` claim published by
 * another (here the test, on its own bus instance, as `flts preprocess` or an upstream producer would). The serve
 * replica reads the claimed data itself and scores the forecasts it served; no batch role runs in its process.
 */
describe('live > inference-data claims score the forecasts of a separate serve process', () => {
  let trained: TrainedHome;
  let run: RunRecord;
  let server: ServeProcess;
  let bus: MessageBus;

  beforeAll(async () => {
    trained = await createTrainedHome('flts-claim-actuals-', ['LSTM']);
    [run] = trained.runs;
    server = await startServe(['--home', trained.home, '--log-level', 'silent'], { FLTS_BUS: 'fs', FLTS_SERVE_POLL_INTERVAL_MS: '0', FLTS_LIVE_REPORT_INTERVAL_MS: '200' }, { untilServing: true });
    await waitUntil(async () => server.output().includes('Following model-selected as group'), 'the serve replica joining its groups', 30_000, 50);
    bus = createFsBus({ root: path.join(trained.home, 'bus'), pollIntervalMs: 20 });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await bus?.close();
    trained?.remove();
  });

  const liveRun = async (url = server.url): Promise<{ matched_total: number; targets: Record<string, { rmse: number; points: number }> } | undefined> => {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { live: { runs: Array<{ run_id: string; matched_total: number; targets: Record<string, { rmse: number; points: number }> }> } };
    return health.live.runs.find((entry) => entry.run_id === run.run_id);
  };

  /** Forecasts from three origins far enough apart that no request's rows bring another's actuals; those the claimed data has actuals for. */
  const serveForecasts = async (url: string): Promise<{ expected: Array<{ ts: string; down: number }>; rawDown: Map<number, number> }> => {
    const seq = run.window.inputSeqLen;
    const rows = rawTestRows(seq + 40);
    const slice = (to: number): Record<string, Array<string | number>> => Object.fromEntries(Object.entries(rows).map(([name, values]) => [name, values.slice(to - seq, to)]));
    const served: Array<{ ts: string; down: number }> = [];
    for (const to of [seq, seq + 15, seq + 30]) {
      const { status, json } = await postJson(`${url}/predict`, { data: slice(to) });
      expect(status).toBe(200);
      served.push(...(json.predictions as Array<{ ts: string; down: number }>));
    }
    // Which of those points the claimed (processed, scaled) test data has rows for, and their actual values.
    const processed = await loadProcessedData(trained.store, trained.settings);
    const claimed = new Set(processed.test.time);
    const rawDown = new Map((rows.time as string[]).map((ts, r) => [parseTimestamp(ts), rows.down[r] as number]));
    const expected = served.filter((point) => claimed.has(parseTimestamp(point.ts)));
    expect(expected.length).toBeGreaterThan(0);
    return { expected, rawDown };
  };

  it('scores each served forecast point the claimed data has an actual for, once, in original units', async () => {
    const { expected, rawDown } = await serveForecasts(server.url);
    expect(await liveRun()).toBeUndefined();

    const claim = encodeInferenceClaim({ bucket: trained.settings.store.buckets.processed, object: 'test_processed_data.parquet', size: 0, configHash: run.config_hash, identifier: '' });
    await bus.publish(trained.settings.bus.topics.inferenceData, claim);
    const scored = await waitUntil(async () => {
      const figures = await liveRun();
      return figures && figures.matched_total >= expected.length ? figures : undefined;
    }, 'the claim scoring the served forecasts', 30_000, 50);
    expect(scored.matched_total).toBe(expected.length);
    const rmse = Math.sqrt(expected.reduce((sum, point) => sum + (point.down - rawDown.get(parseTimestamp(point.ts))!) ** 2, 0) / expected.length);
    expect(Math.abs(scored.targets.down.rmse - rmse)).toBeLessThanOrEqual(1e-6 * rmse);

    // The same claim again (published twice, redelivered) counts nothing more; Prometheus says the same.
    await bus.publish(trained.settings.bus.topics.inferenceData, claim);
    const topic = trained.settings.bus.topics.inferenceData;
    const group = decodeURIComponent(readdirSync(path.join(trained.home, 'bus', 'groups')).find((name) => name.endsWith('-actuals'))!);
    await waitUntil(async () => (await bus.lag(group, [topic])).every((partition) => partition.lag === 0), 'the replica reading the repeated claim', 30_000, 50);
    expect((await liveRun())!.matched_total).toBe(expected.length);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`flts_live_matched_total\\{run_id="${run.run_id}"\\} ${expected.length}\\b`));
    // The replica's bus reports to its own /metrics: both claims handled by its actuals group, its promotion
    // subscription's consumer not crashing.
    expect(metrics).toContain(`flts_bus_messages_total{group="${group}",topic="${topic}",outcome="handled"} 2`);
    expect(metrics).toMatch(/flts_bus_consumer_crashing\{group="[^"]+"\} 0/);
  }, 120_000);

  it('scores a claim once in a daemon whose batch role forecasts it in the same process, reading the claimed object once', async () => {
    const settings = resolveSettings({
      flags: { ...trained.flags, 'bus.kind': 'fs', 'daemon.roles': ['serving', 'batch'], 'daemon.port': 0, 'daemon.host': '127.0.0.1', 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.pollIntervalMs': 0 },
    }).settings;
    // Reads of the claimed data's bytes, by either role.
    let claimReads = 0;
    const counting: ObjectStore = {
      ...trained.store,
      get: (bucket, key) => {
        if (bucket === settings.store.buckets.processed && key.endsWith('/test_processed_data.parquet')) claimReads++;
        return trained.store.get(bucket, key);
      },
    };
    const daemon = await startDaemon(settings, { store: counting, bus: createFsBus({ root: path.join(trained.home, 'bus'), pollIntervalMs: 20 }) });
    try {
      const status = (name: string): any => daemon.roles().find((role) => role.name === name)!.status();
      const serving = daemon.roles().find((role) => role.name === 'serving')!;
      expect(serving.subscriptions.map((subscription) => subscription.topics)).toEqual([[settings.bus.topics.modelSelected], [settings.bus.topics.inferenceData]]);
      // The batch group starts at the topic's beginning: the two claims published above are forecast first.
      await waitUntil(async () => status('batch').claims_handled >= 2, 'the batch role reading the earlier claims', 60_000, 50);
      // The serving role reads them too as it joins (published within the age of kept actuals): done before the count.
      const actualsGroup = serving.subscriptions[1].group;
      const followed = async (): Promise<boolean> => (await bus.lag(actualsGroup, [settings.bus.topics.inferenceData])).every((partition) => partition.lag === 0);
      await waitUntil(followed, 'the serving role reading the earlier claims', 30_000, 50);
      const { url } = status('serving');
      const { expected } = await serveForecasts(url);
      claimReads = 0;
      await bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: settings.store.buckets.processed, object: 'test_processed_data.parquet', size: 0, configHash: run.config_hash, identifier: '' }));
      await waitUntil(async () => status('batch').claims_handled >= 3, 'the batch role forecasting the claim', 60_000, 50);
      await waitUntil(followed, 'the serving role reading the claim', 30_000, 50);
      expect((await liveRun(url))!.matched_total).toBe(expected.length);
      // The batch role forecast from it and the serving role scored its actuals: one read for both.
      expect(claimReads).toBe(1);
      // Read off the serving thread and shared, the claim is forecast as batch inference alone forecasts it.
      const alone = await runBatchInference(settings, { store: trained.store }, { data: { bucket: settings.store.buckets.processed, key: 'test_processed_data.parquet', configHash: run.config_hash } });
      expect(status('batch').last_result).toMatchObject({ run_id: run.run_id, prediction_hash: alone.prediction_hash });
    } finally {
      await daemon.stop();
    }
  }, 120_000);
});
