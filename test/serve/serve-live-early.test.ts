import { afterEach, describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/core/config/settings.js';
import { silentLogger } from '../../src/core/logger.js';
import { createLiveMonitor, type LiveMonitor } from '../../src/core/serve/live-monitor.js';
import { createModelHolder, type ModelHolder } from '../../src/core/serve/model-holder.js';
import { forecastWith } from '../../src/core/serve/run-prediction.js';
import { openServedModel, type ServedModel } from '../../src/core/serve/served-model.js';
import { createMemorySource, createNaiveModel, postJson, startTestServer, START_MS, STEP_MS, WINDOW, type MemorySource, type RunningServer } from './serve-fixtures.js';
import { downAt, iso, rows } from './serve-live.fixture.js';

describe('serve > live accuracy of actuals that come before their forecast', () => {
  const batching = { maxBatch: 16, maxWaitMs: 0 };
  let source: MemorySource;
  let holder: ModelHolder | undefined;
  let monitor: LiveMonitor | undefined;
  let server: RunningServer | undefined;

  afterEach(async () => {
    await monitor?.stop();
    await server?.close();
    await holder?.stop();
    [monitor, server, holder] = [undefined, undefined, undefined];
  });

  async function serving(env: Record<string, string> = {}): Promise<{ holder: ModelHolder; monitor: LiveMonitor; shadowLoad: () => Promise<ServedModel> | undefined }> {
    source = createMemorySource();
    source.runs.set('run-a', () => createNaiveModel(WINDOW));
    source.runs.set('run-shadow', () => createNaiveModel(WINDOW));
    source.promote('run-a');
    const settings = resolveSettings({ env }).settings;
    holder = createModelHolder({ source, pollIntervalMs: 0, batching, logger: silentLogger });
    let loading: Promise<ServedModel> | undefined;
    monitor = createLiveMonitor({ settings, holder, loadShadow: (runId) => (loading = openServedModel(source, runId, { batching })), replica: 'early', logger: silentLogger });
    await holder.start();
    return { holder, monitor, shadowLoad: () => loading };
  }

  it('keeps POST /actuals rows no forecast waits for, shows them on /healthz and /metrics, and scores the forecast made later', async () => {
    const { holder, monitor } = await serving();
    server = await startTestServer(source, {}, { holder, live: monitor });
    // The actuals of rows 6 and 7 come before any request forecasts them.
    const early = await postJson(`${server.url}/actuals`, { data: { ts: [iso(6), iso(7)], down: [downAt(6), downAt(7)] } });
    expect(early.json).toEqual({ status: 'SUCCESS', rows: 2, matched: 0, ignored: 0, unmatched: 2, kept: 2, runs: [] });
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as any;
    expect(health.live.early_actuals).toEqual({ points: 2, targets: { down: 2 }, expired: 0, forgotten: 0 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('flts_live_early_actuals{target="down"} 2');
    expect(metrics).toContain('flts_live_early_actuals_dropped_total{reason="expired"} 0');

    // Then a request from rows 0..5 forecasts rows 6 and 7 (NAIVE: downAt(5), through float32 inputs).
    const input = { data: rows(0, 6), inferenceLength: 2 };
    const result = await forecastWith(holder.current()!, input, 0);
    await monitor.observePrediction('', input, result);
    const errors = [0, 1].map((i) => result.forecast.values[0][i] - downAt(6 + i));
    const [run] = monitor.status().runs;
    expect(run).toMatchObject({ run_id: 'run-a', role: 'served', matched_total: 2 });
    expect(run.targets.down.rmse).toBeCloseTo(Math.sqrt((errors[0] ** 2 + errors[1] ** 2) / 2), 9);
    // Nothing of that forecast is left waiting for actuals that came already.
    expect(monitor.status().memory.points).toBe(0);
  });

  it('scores the shadow run on the same early actuals once its forecast is remembered, so a probation pairs them', async () => {
    const { holder, monitor, shadowLoad } = await serving({ FLTS_SERVE_SHADOW_RUN: 'run-shadow' });
    await monitor.tick();
    await shadowLoad();
    // The load's own continuation hands the model to the monitor.
    await new Promise((resolve) => setImmediate(resolve));
    monitor.scorer.startPairing('run-a', 'run-shadow', 100);
    const kept = await monitor.observeActualsInTurns({ identifier: 'site', time: Float64Array.from([16, 17], (g) => START_MS + g * STEP_MS), values: { down: Float64Array.from([16, 17], downAt) } });
    expect(kept).toMatchObject({ unmatched: 2, kept: 2 });
    const input = { data: rows(10, 6), inferenceLength: 2 };
    const result = await forecastWith(holder.current()!, input, 0);
    await monitor.observePrediction('site', input, result);
    // The shadow forecast runs after the served one is remembered: a stop waits for it, and for its scoring.
    await monitor.stop();
    expect(monitor.scorer.paired()).toMatchObject({ candidate_run_id: 'run-a', baseline_run_id: 'run-shadow', points: 2 });
    expect(monitor.status().runs.map((run) => [run.run_id, run.matched_total]).sort()).toEqual([['run-a', 2], ['run-shadow', 2]]);
    expect(monitor.status().memory.points).toBe(0);
  });

  it('refuses with 413 a POST /actuals that would keep more rows ahead of their forecasts than one series may, and keeps the other series\' rows', async () => {
    const { holder, monitor } = await serving();
    server = await startTestServer(source, {}, { holder, live: monitor });
    const honest = await postJson(`${server.url}/actuals`, { identifier: 'site', data: { ts: [iso(6), iso(7)], down: [downAt(6), downAt(7)] } });
    expect(honest.json).toMatchObject({ status: 'SUCCESS', kept: 2 });
    // 100k rows no forecast waits for, at the default settings: they would have let every other series' rows go.
    const flood = { ts: Array.from({ length: 100_000 }, (_, g) => iso(100 + g)), down: Array.from({ length: 100_000 }, (_, g) => downAt(100 + g)) };
    const refused = await postJson(`${server.url}/actuals`, { identifier: 'flood', data: flood });
    expect({ status: refused.status, code: refused.json.code }).toEqual({ status: 413, code: 'FLTS_LIVE_EARLY_ACTUALS_TOO_MANY' });
    expect(refused.json.message).toMatch(/would keep 100000 rows .* one series keeps at most 10000 \(FLTS_LIVE_EARLY_ACTUALS_POINTS_PER_SERIES\)/);
    // Nothing of it was kept; in requests of its share, the series pushes out its own older rows only.
    expect(monitor.status().early_actuals).toMatchObject({ points: 2, forgotten: 0 });
    for (let part = 0; part < 2; part++) {
      const data = { ts: flood.ts.slice(part * 10_000, (part + 1) * 10_000), down: flood.down.slice(part * 10_000, (part + 1) * 10_000) };
      expect((await postJson(`${server.url}/actuals`, { identifier: 'flood', data })).json).toMatchObject({ status: 'SUCCESS', kept: 10_000 });
    }
    expect(monitor.status().early_actuals).toMatchObject({ points: 10_002, forgotten: 10_000 });
    // The honest series' forecast made later is still scored on the actuals it sent first.
    const input = { data: rows(0, 6), inferenceLength: 2 };
    await monitor.observePrediction('site', input, await forecastWith(holder.current()!, input, 0));
    expect(monitor.status().runs).toMatchObject([{ run_id: 'run-a', matched_total: 2 }]);
  });

  it('answers a POST /actuals of more rows than a series keeps when its rows score forecasts that wait for them', async () => {
    const { holder, monitor } = await serving({ FLTS_LIVE_EARLY_ACTUALS_POINTS_PER_SERIES: '3' });
    server = await startTestServer(source, {}, { holder, live: monitor });
    const input = { data: rows(0, 6), inferenceLength: 4 };
    await monitor.observePrediction('', input, await forecastWith(holder.current()!, input, 0));
    // Rows 6..9 match the forecast; 10..12 are kept: 3, the share, so the body is taken.
    const taken = await postJson(`${server.url}/actuals`, { data: { ts: [6, 7, 8, 9, 10, 11, 12].map(iso), down: [6, 7, 8, 9, 10, 11, 12].map(downAt) } });
    expect(taken.json).toMatchObject({ status: 'SUCCESS', rows: 7, matched: 4, unmatched: 3, kept: 3 });
    const over = await postJson(`${server.url}/actuals`, { data: { ts: [20, 21, 22, 23].map(iso), down: [20, 21, 22, 23].map(downAt) } });
    expect({ status: over.status, code: over.json.code }).toEqual({ status: 413, code: 'FLTS_LIVE_EARLY_ACTUALS_TOO_MANY' });
    expect(over.json.message).toMatch(/would keep 4 rows .* at most 3 \(FLTS_LIVE_EARLY_ACTUALS_POINTS_PER_SERIES\)/);
  });

  it('keeps none with FLTS_LIVE_EARLY_ACTUALS_POINTS=0: the forecast made later waits', async () => {
    const { holder, monitor } = await serving({ FLTS_LIVE_EARLY_ACTUALS_POINTS: '0' });
    const kept = await monitor.observeActualsInTurns({ identifier: '', time: [START_MS + 6 * STEP_MS], values: { down: [downAt(6)] } });
    expect(kept).toMatchObject({ unmatched: 1, kept: 0 });
    const input = { data: rows(0, 6), inferenceLength: 2 };
    await monitor.observePrediction('', input, await forecastWith(holder.current()!, input, 0));
    expect(monitor.status().runs).toEqual([]);
    expect(monitor.status().early_actuals.points).toBe(0);
  });
});
