import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../../src/core/config/settings.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { createLiveMonitor, type LiveMonitor } from '../../src/core/serve/live-monitor.js';
import { createPredictionLog, type PredictionLog } from '../../src/core/serve/prediction-log.js';
import { openServedModel, type ServedModel } from '../../src/core/serve/served-model.js';
import { forecastWith } from '../../src/core/serve/run-prediction.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createForecastAdmission, type ForecastAdmission } from '../../src/core/serve/forecast-admission.js';
import { createModelHolder } from '../../src/core/serve/model-holder.js';
import { createMemorySource, createNaiveModel, postJson, startTestServer, STEP_MS, WINDOW, type MemorySource, type RunningServer } from './serve-fixtures.js';
import { downAt, healthLiveAt, iso, oipInputs, rows } from './serve-live.fixture.js';

describe('serve > live accuracy', () => {
  let source: MemorySource;
  let server: RunningServer;
  let live: LiveMonitor;
  let store: ObjectStore;
  let predictionLog: PredictionLog;
  let home: string;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'flts-live-'));
    store = createFsStore(home);
    await store.ensureBucket('inference-logs');
    predictionLog = createPredictionLog({ store, bucket: 'inference-logs', identifier: '', flushIntervalMs: 60_000, maxBuffered: 100, logger: silentLogger });
    source = createMemorySource();
    source.runs.set('run-a', () => createNaiveModel(WINDOW));
    source.promote('run-a');
    const settings = resolveSettings({ flags: { 'live.windowPoints': 4 } }).settings;
    const batching = { maxBatch: 16, maxWaitMs: 0 };
    const holder = createModelHolder({ source, pollIntervalMs: 0, batching, logger: silentLogger });
    live = createLiveMonitor({ settings, holder, loadShadow: (runId) => openServedModel(source, runId, { batching }), replica: 'test', logger: silentLogger });
    server = await startTestServer(source, {}, { holder, live, predictionLog });
    await holder.start();
  });

  afterAll(async () => {
    await server?.close();
    await predictionLog?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const healthLive = (): Promise<any> => healthLiveAt(server.url);

  let shadowing: { stop(): Promise<void> } | undefined;
  afterEach(async () => {
    await shadowing?.stop();
    shadowing = undefined;
  });

  /**
   * A replica of `source` serving run-a beside the shadow run `shadowRun` (a NAIVE model unless `model` says), its
   * monitor ticked and the shadow loaded; with `serve`, behind a test server of its own. Stopped after the test.
   */
  async function shadowServing(options: { replica: string; shadowRun: string; model?: () => ReturnType<typeof createNaiveModel>; env?: Record<string, string>; admission?: ForecastAdmission; logger?: Logger; serve?: boolean }) {
    const { replica, shadowRun, admission, logger = silentLogger } = options;
    source.runs.set(shadowRun, options.model ?? (() => createNaiveModel(WINDOW)));
    const settings = resolveSettings({ env: { FLTS_SERVE_SHADOW_RUN: shadowRun, ...options.env } }).settings;
    const batching = { maxBatch: 16, maxWaitMs: 0 };
    const holder = createModelHolder({ source, pollIntervalMs: 0, batching, logger: silentLogger });
    let loading: Promise<ServedModel> | undefined;
    const monitor = createLiveMonitor({ settings, holder, loadShadow: (runId) => (loading = openServedModel(source, runId, { batching })), admission, replica, logger });
    const shadowed = options.serve ? await startTestServer(source, {}, { holder, live: monitor, admission }) : undefined;
    shadowing = {
      async stop() {
        await monitor.stop();
        await shadowed?.close();
        await holder.stop();
      },
    };
    await holder.start();
    await monitor.tick();
    await loading;
    // The load's own continuation hands the model to the monitor.
    await new Promise((resolve) => setImmediate(resolve));
    return { settings, holder, monitor, url: shadowed?.url ?? '' };
  }

  it('scores a forecast when a later request brings its actuals, and logs the matched error', async () => {
    // NAIVE repeats the last value: rows 0-5 forecast rows 6 and 7 as downAt(5) (through float32 model inputs).
    const first = await postJson(`${server.url}/predict`, { data: rows(0, 6) });
    expect(first.status).toBe(200);
    expect(first.json.predictions).toHaveLength(2);
    await vi.waitFor(async () => expect((await healthLive()).memory.points).toBe(2));
    const second = await postJson(`${server.url}/predict`, { data: rows(2, 6) });
    expect(second.status).toBe(200);
    const errors = [downAt(5) - downAt(6), downAt(5) - downAt(7)];
    const rmse = Math.sqrt((errors[0] ** 2 + errors[1] ** 2) / 2);
    const mae = (Math.abs(errors[0]) + Math.abs(errors[1])) / 2;
    await vi.waitFor(async () => expect((await healthLive()).runs[0]?.matched_total).toBe(2));
    const status = await healthLive();
    expect(status).toMatchObject({ enabled: true, window_points: 4, probation: null });
    expect(status.runs[0]).toMatchObject({ run_id: 'run-a', role: 'served', matched_total: 2 });
    expect(status.runs[0].targets.down.rmse).toBeCloseTo(rmse, 4);
    expect(status.runs[0].targets.down.mae).toBeCloseTo(mae, 4);

    await predictionLog.flush();
    const [object] = await store.list('inference-logs');
    const records = (await store.get('inference-logs', object.key)).toString().trim().split('\n').map((line) => JSON.parse(line));
    expect(records).toHaveLength(2);
    expect(records[0].live_matched).toBeUndefined();
    expect(records[1].live_matched).toHaveLength(1);
    expect(records[1].live_matched[0]).toMatchObject({ run_id: 'run-a', points: 2 });
    expect(records[1].live_matched[0].rmse).toBeCloseTo(rmse, 4);
  });

  it('exports the rolling figures as Prometheus series', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const status = await healthLive();
    expect(text).toContain(`flts_live_rmse{run_id="run-a",target="down"} ${status.runs[0].targets.down.rmse}`);
    expect(text).toContain(`flts_live_mae{run_id="run-a",target="down"} ${status.runs[0].targets.down.mae}`);
    expect(text).toMatch(/flts_live_matched_total\{run_id="run-a"\} \d+/);
    expect(text).toContain('flts_live_rollbacks_total 0');
  });

  it('scores POST /actuals in the request format, once per forecast point, and rejects bad bodies with a code', async () => {
    await postJson(`${server.url}/predict`, { data: rows(40, 6) });
    await postJson(`${server.url}/predict`, { data: rows(60, 6), identifier: 'other-site' });
    await vi.waitFor(async () => expect((await healthLive()).memory.points).toBeGreaterThanOrEqual(4));
    const actuals = { ts: [46, 47, 48].map(iso), down: [downAt(46), null, downAt(48)] };
    const scored = await postJson(`${server.url}/actuals`, { data: actuals });
    expect(scored.status).toBe(200);
    expect(scored.json).toMatchObject({ status: 'SUCCESS', rows: 3, matched: 1, runs: [{ run_id: 'run-a', points: 1 }] });
    expect(scored.json.runs[0].mae).toBeCloseTo(Math.abs(downAt(45) - downAt(46)), 4);
    // The same actuals again score nothing: each forecast point is scored once.
    expect((await postJson(`${server.url}/actuals`, { data: actuals })).json.matched).toBe(0);
    // Another series' forecast is only scored by that series' actuals.
    const otherTs = [66, 67].map(iso);
    expect((await postJson(`${server.url}/actuals`, { data: { ts: otherTs, down: [1, 2] } })).json.matched).toBe(0);
    expect((await postJson(`${server.url}/actuals`, { identifier: 'other-site', data: { ts: otherTs, down: [1, 2] } })).json.matched).toBe(2);

    const missing = await postJson(`${server.url}/actuals`, { data: { ts: otherTs, up: [1, 2] } });
    expect(missing.status).toBe(400);
    expect(missing.json.code).toBe('FLTS_REQUEST_INVALID');
    const badTime = await postJson(`${server.url}/actuals`, { data: { ts: ['yesterday'], down: [1] } });
    expect(badTime.status).toBe(400);
    expect(badTime.json.message).toContain("Column 'ts' contains an invalid timestamp");
  });

  it('answers POST /actuals with the rows no remembered forecast waited for: never forecast, scored already, or of another series', async () => {
    const ts = [200, 201, 900].map(iso);
    // A forecast of rows 200 and 201 served to this series (remembered as a /predict from request rows is).
    live.scorer.remember({ identifier: 'unmatched-site', runId: 'run-a', origin: Date.parse(ts[0]) - STEP_MS, targets: ['down'], time: [Date.parse(ts[0]), Date.parse(ts[1])], values: [[1, 1]] });
    const body = { identifier: 'unmatched-site', data: { ts, down: [2, 2, 2] } };
    // Row 900 was never forecast.
    expect((await postJson(`${server.url}/actuals`, body)).json).toMatchObject({ rows: 3, matched: 2, unmatched: 1, ignored: 0 });
    // Sent again: every row was scored already.
    expect((await postJson(`${server.url}/actuals`, body)).json).toMatchObject({ rows: 3, matched: 0, unmatched: 3 });
    expect((await postJson(`${server.url}/actuals`, { ...body, identifier: 'never-served' })).json).toMatchObject({ matched: 0, unmatched: 3 });
  });

  it('answers POST /actuals with an absurd value 200, leaving it unscored for every run and counting it', async () => {
    await postJson(`${server.url}/predict`, { data: rows(80, 6) });
    await vi.waitFor(async () => expect((await healthLive()).memory.points).toBeGreaterThanOrEqual(2));
    const before = (await healthLive()).runs[0];
    const [t86, t87] = [86, 87].map(iso);
    // 1e400 parses as Infinity: refused naming its place, not taken as a missing value (which went unscored unsaid).
    const infinite = await postJson(`${server.url}/actuals`, `{"data":{"ts":["${t86}","${t87}"],"down":[1,1e400]}}`);
    expect(infinite.status).toBe(400);
    expect(infinite.json.code).toBe('FLTS_REQUEST_INVALID');
    expect(infinite.json.message).toContain("Column 'down' has an infinite value at row 1");
    // 1e140 is finite (its square too): a broken client's value.
    const absurd = await postJson(`${server.url}/actuals`, `{"data":{"ts":["${t86}","${t87}"],"down":[1e140,null]}}`);
    expect(absurd.status).toBe(200);
    expect(absurd.json).toEqual({ status: 'SUCCESS', rows: 2, matched: 0, ignored: 1, unmatched: 0, kept: 0, runs: [] });
    const status = await healthLive();
    expect(status.runs[0].matched_total).toBe(before.matched_total);
    expect(status.runs[0].targets.down.rmse).toBe(before.targets.down.rmse);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('flts_live_actuals_ignored_total{reason="out_of_range"} 1');
    // The refused value left its point waiting, and so did the missing one: the values sent later are scored, once.
    const corrected = { data: { ts: [t86, t87], down: [downAt(86), downAt(87)] } };
    expect((await postJson(`${server.url}/actuals`, corrected)).json).toMatchObject({ matched: 2, ignored: 0, runs: [{ run_id: 'run-a', points: 2 }] });
    expect((await postJson(`${server.url}/actuals`, corrected)).json).toMatchObject({ matched: 0, ignored: 0 });
    expect((await healthLive()).runs[0].matched_total).toBe(before.matched_total + 2);
  });

  it('remembers the forecasts of Open Inference Protocol requests, per the identifier parameter', async () => {
    const data = rows(80, 6);
    const inputs = oipInputs(data);
    const inferred = await postJson(`${server.url}/v2/models/flts/infer`, { inputs, parameters: { identifier: 'oip-site' } });
    expect(inferred.status).toBe(200);
    const actuals = { ts: [iso(86)], down: [downAt(86)] };
    await vi.waitFor(async () => expect((await postJson(`${server.url}/actuals`, { identifier: 'oip-site', data: actuals })).json.matched).toBe(1));
    // The served run's live figures travel back as response parameters.
    const again = await postJson(`${server.url}/v2/models/flts/infer`, { inputs, parameters: { identifier: 'oip-site' } });
    const served = (await healthLive()).runs.find((run: { run_id: string }) => run.run_id === 'run-a');
    expect(again.json.parameters).toMatchObject({ run_id: 'run-a', live_matched_total: served.matched_total, live_rmse_down: served.targets.down.rmse, live_mae_down: served.targets.down.mae });
  });

  it('takes POST /actuals of a series\' share of rows no forecast waits for, refuses 100k of them coded, and one over its bounds before JSON.parse reads it', async () => {
    const accepted = await postJson(`${server.url}/actuals`, JSON.stringify({ identifier: 'bulk-site', data: rows(0, 10_000) }));
    expect({ status: accepted.status, rows: accepted.json.rows, kept: accepted.json.kept }).toEqual({ status: 200, rows: 10_000, kept: 10_000 });
    // Kept whole, 100k rows would have let every other series' early actuals go (live.earlyActualsPointsPerSeries).
    const large = await postJson(`${server.url}/actuals`, JSON.stringify({ identifier: 'bulk-site', data: rows(0, 100_000) }));
    expect({ status: large.status, code: large.json.code }).toEqual({ status: 413, code: 'FLTS_LIVE_EARLY_ACTUALS_TOO_MANY' });
    const wide = JSON.stringify({ data: { ...rows(0, 2), ...Object.fromEntries(Array.from({ length: 1_100 }, (_, i) => [`extra${i}`, [1, 2]])) } });
    const parse = vi.spyOn(JSON, 'parse');
    let refused;
    try {
      refused = await server.app.inject({ method: 'POST', url: '/actuals', headers: { 'content-type': 'application/json' }, payload: wide });
      expect(parse.mock.calls.filter(([text]) => text === wide)).toEqual([]);
    } finally {
      parse.mockRestore();
    }
    expect({ status: refused.statusCode, message: refused.json().message }).toEqual({ status: 400, message: 'Invalid request: body/data must NOT have more than 1024 properties.' });
  });

  it("holds a request's series identifier to the deployment identifier's rule on /predict, /actuals and OIP, refusing others with a coded 400 that shows them escaped", async () => {
    const data = rows(500, 6);
    const inputs = oipInputs(data);
    const actuals = { ts: [iso(506)], down: [downAt(506)] };
    const send = async (identifier: string) => ({
      predict: await postJson(`${server.url}/predict`, { data, identifier }),
      actuals: await postJson(`${server.url}/actuals`, { data: actuals, identifier }),
      oip: await postJson(`${server.url}/v2/models/flts/infer`, { inputs, parameters: { identifier } }),
    });
    // What a deployment identifier may be (the IDENTIFIER the reference's requests are filed under) is taken everywhere.
    // 128 emoji are 128 characters (256 UTF-16 units): before, refused past 64 of them.
    // A Persian word and a family emoji hold the joiners they need (test/identifier-joiners.test.ts): before, refused.
    const persian = '\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645';
    const family = '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}';
    for (const identifier of ['cell:7', 'plant 7', '_site', 'Ñandú-é', 'x'.repeat(128), '\u{1F600}'.repeat(100), '\u{1F600}'.repeat(128), persian, family]) {
      const { predict, actuals, oip } = await send(identifier);
      expect([identifier, predict.status, actuals.status, oip.status]).toEqual([identifier, 200, 200, 200]);
    }
    // "" names no series, on every route: the deployment's own (serve-prediction-records.test.ts).
    const empty = await send('');
    expect([empty.predict.status, empty.actuals.status, empty.oip.status]).toEqual([200, 200, 200]);
    // Before, each of these was a series of its own (up to 200 characters): a 200 on every route. The invisible ones
    // (U+200B to U+00A0) made a series that shows as "siteb" or "site b" does, in every listing, label and log line.
    const refused: Array<[string, string, string]> = [
      ['a/b', '"a/b"', 'holds "/" at position 2'],
      ['a\\b', '"a\\\\b"', 'holds "\\" at position 2'],
      ['..', '".."', 'names the folder itself or its parent'],
      ['.', '"."', 'names the folder itself or its parent'],
      ['z:1', '"z:1"', 'opens with a drive letter ("z:"), which the store reads as an absolute path'],
      ['site\nforged log line', '"site\\nforged log line"', 'holds U+000A (a control character) at position 5'],
      ['site\u2028b', '"site\\u2028b"', 'holds U+2028 LINE SEPARATOR at position 5'],
      ['site\u202Eetis', '"site\\u202eetis"', 'holds U+202E RIGHT-TO-LEFT OVERRIDE at position 5'],
      ['site\u0085', '"site\\u0085"', 'holds U+0085 (a control character) at position 5'],
      ['site\u200Bb', '"site\\u200bb"', 'holds U+200B ZERO WIDTH SPACE at position 5'],
      ['site\u200Cb', '"site\\u200cb"', 'holds U+200C ZERO WIDTH NON-JOINER at position 5, allowed only between letters it keeps from joining, or between a virama and a letter'],
      ['\u{1F600}\u200Db', '"\u{1F600}\\u200db"', 'holds U+200D ZERO WIDTH JOINER at position 2, allowed only inside an emoji sequence, or beside the virama of a conjunct'],
      // Shown as nothing, as a U+200B is: before, a series of its own.
      ['\u3164', '"\\u3164"', 'holds U+3164 HANGUL FILLER at position 1'],
      ['site\ufe0f', '"site\\ufe0f"', 'holds U+FE0F VARIATION SELECTOR-16 at position 5, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
      ['site\u2060b', '"site\\u2060b"', 'holds U+2060 WORD JOINER at position 5'],
      ['\uFEFFsiteb', '"\\ufeffsiteb"', 'holds U+FEFF ZERO WIDTH NO-BREAK SPACE at position 1'],
      ['site\u00ADb', '"site\\u00adb"', 'holds U+00AD SOFT HYPHEN at position 5'],
      ['site\u00A0b', '"site\\u00a0b"', 'holds U+00A0 NO-BREAK SPACE at position 5'],
      ['site\u3000b', '"site\\u3000b"', 'holds U+3000 IDEOGRAPHIC SPACE at position 5'],
      // A lone surrogate's folder would be named with U+FFFD in its place: another series'.
      ['site\uD800', '"site\\ud800"', 'holds U+D800 (half a surrogate pair, alone) at position 5'],
    ];
    for (const [identifier, shown, problem] of refused) {
      const { predict, actuals, oip } = await send(identifier);
      for (const [answer, where] of [[predict, "Field 'identifier'"], [actuals, "Field 'identifier'"], [oip, "Parameter 'identifier'"]] as const) {
        expect([identifier, answer.status, answer.json.code]).toEqual([identifier, 400, 'FLTS_REQUEST_INVALID']);
        expect(answer.json.message).toBe(`${where} must be a folder name of up to 128 characters: no "/", "\\", invisible (U+200B; joiners only where they join), control, line-separator or bidirectional characters, no space but U+0020, not "." or "..", not opening with a drive letter ("z:"); got ${shown}: it ${problem}.`);
      }
    }
    // Past 128 characters, the schema refuses it on every route, as it did past 200: emoji counted as characters.
    const long = await send('\u{1F600}'.repeat(129));
    expect([long.predict.json.message, long.actuals.json.message, long.oip.json.message]).toEqual([
      'Invalid request: body/identifier must NOT have more than 128 characters.',
      'Invalid request: body/identifier must NOT have more than 128 characters.',
      'Invalid request: body/parameters/identifier must NOT have more than 128 characters.',
    ]);
  });

  it("takes the deployment's own identifier as a request's series though it shows as another name (its setting warned of it), and refuses another such", async () => {
    // Before the invisible characters were refused, a deployment could be named so; its clients name it in requests.
    const own = 'Poble\u00A0Sec';
    const settings = resolveSettings({ flags: { 'live.windowPoints': 4 } }).settings;
    const batching = { maxBatch: 16, maxWaitMs: 0 };
    const holder = createModelHolder({ source, pollIntervalMs: 0, batching, logger: silentLogger });
    const monitor = createLiveMonitor({ settings, holder, loadShadow: (runId) => openServedModel(source, runId, { batching }), replica: 'own', logger: silentLogger });
    const deployment = await startTestServer(source, {}, { holder, live: monitor, identifier: own });
    try {
      await holder.start();
      const data = rows(700, 6);
      const send = async (identifier: string) => [
        await postJson(`${deployment.url}/predict`, { data, identifier }),
        await postJson(`${deployment.url}/actuals`, { data: { ts: [iso(706)], down: [downAt(706)] }, identifier }),
        await postJson(`${deployment.url}/v2/models/flts/infer`, { inputs: oipInputs(data), parameters: { identifier } }),
      ];
      const [predict, actuals, oip] = await send(own);
      expect([predict.status, actuals.status, oip.status]).toEqual([200, 200, 200]);
      expect(predict.json.identifier).toBe(own);
      for (const answer of await send('Poble\u00A0Sac')) {
        expect([answer.status, answer.json.code]).toEqual([400, 'FLTS_REQUEST_INVALID']);
        expect(answer.json.message).toMatch(/; got "Poble\\u00a0Sac": it holds U\+00A0 NO-BREAK SPACE at position 6\.$/);
      }
    } finally {
      await deployment.close();
      await holder.stop();
    }
  });

  it('answers POST /actuals with 409 FLTS_LIVE_DISABLED when live scoring is off', async () => {
    const plain = await startTestServer(source);
    try {
      await plain.holder.start();
      const response = await postJson(`${plain.url}/actuals`, { data: rows(0, 2) });
      expect(response.status).toBe(409);
      expect(response.json.code).toBe('FLTS_LIVE_DISABLED');
      expect(((await (await fetch(`${plain.url}/healthz`)).json()) as any).live).toEqual({ enabled: false });
    } finally {
      await plain.close();
    }
  });

  it('forecasts in shadow only where the rows fit under the serving bound, which clients still get alone, and says why it skipped them', async () => {
    // One row at most in flight: each request's two rows are served alone, and no shadow forecast of them fits.
    const admission = createForecastAdmission({ maxRows: 1 });
    const lines: Array<{ event: string; fields: Record<string, unknown> }> = [];
    const logger: Logger = { ...silentLogger, info: (fields: object, event?: string) => void lines.push({ event: event ?? '', fields: fields as Record<string, unknown> }), child: () => logger };
    const { settings, url } = await shadowServing({ replica: 'shadow-bound', shadowRun: 'run-shadow', admission, logger, serve: true });
    for (let from = 100; from < 104; from++) expect((await postJson(`${url}/predict`, { data: rows(from, 6) })).status).toBe(200);
    const live = await vi.waitFor(async () => {
      const status = await healthLiveAt(url);
      expect(status.shadow_skipped).toBe(4);
      return status;
    });
    expect(live.runs.find((run: { role: string }) => run.role === 'challenger')?.matched_total ?? 0).toBe(0);
    expect(admission.queuedRows).toBe(0);
    // Why: no room beside the clients' rows, on /healthz, /metrics and in one log line for the reason.
    expect({ no_room: live.shadow_no_room, failed: live.shadow_failed }).toEqual({ no_room: { serving_bound: 4 }, failed: {} });
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('flts_live_shadow_skipped_total{reason="serving_bound"} 4');
    const skipped = lines.filter((line) => line.event === 'live_shadow_skipped');
    expect(skipped.map((line) => line.fields)).toEqual([{ reason: 'serving_bound', shadow_run_id: 'run-shadow', run_id: 'run-a', rows: 2, shadow_in_flight: 0, max_shadow_in_flight: settings.serve.batchMaxSize }]);
  });

  it('says why a shadow run forecasts none of the requests: their failures by code on /healthz, and one warning per shadow run and code', async () => {
    const warnings: Array<{ event: string; fields: Record<string, unknown> }> = [];
    const logger: Logger = { ...silentLogger, warn: (fields: object, event?: string) => void warnings.push({ event: event ?? '', fields: fields as Record<string, unknown> }), child: () => logger };
    // A challenger that needs 12 input rows, where clients send the 6 the served run needs.
    const { url } = await shadowServing({ replica: 'shadow-failing', shadowRun: 'run-long', model: () => createNaiveModel({ ...WINDOW, inputSeqLen: 12 }), logger, serve: true });
    for (let from = 100; from < 103; from++) expect((await postJson(`${url}/predict`, { data: rows(from, 6) })).status).toBe(200);
    const live = await vi.waitFor(async () => {
      const status = await healthLiveAt(url);
      expect(status.shadow_skipped).toBe(3);
      return status;
    });
    const failed = warnings.filter((warning) => warning.event === 'live_shadow_forecast_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].fields).toMatchObject({ shadow_run_id: 'run-long', run_id: 'run-a', code: expect.stringMatching(/^FLTS_/) });
    expect(live.shadow_failed).toEqual({ [failed[0].fields.code as string]: 3 });
    expect(live.shadow_no_room).toEqual({});
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('flts_live_shadow_skipped_total{reason="failed"} 3');
  });

  it('scores a challenger named by FLTS_SERVE_SHADOW_RUN on the same traffic without serving it', async () => {
    const { url } = await shadowServing({ replica: 'shadow-test', shadowRun: 'run-shadow', serve: true });
    for (let from = 100; from < 104; from++) {
      const response = await postJson(`${url}/predict`, { data: rows(from, 6) });
      expect(response.json.run_id).toBe('run-a');
    }
    const live = await vi.waitFor(async () => {
      const status = await healthLiveAt(url);
      expect(status.runs.find((run: { role: string }) => run.role === 'challenger')?.matched_total).toBeGreaterThanOrEqual(3);
      return status;
    });
    const served = live.runs.find((run: { run_id: string }) => run.run_id === 'run-a');
    const challenger = live.runs.find((run: { run_id: string }) => run.run_id === 'run-shadow');
    expect(challenger.role).toBe('challenger');
    // The same model on the same requests: the same live error.
    expect(challenger.targets.down.rmse).toBeCloseTo(served.targets.down.rmse, 9);
  });
  it('scores POST /actuals sent as soon as its forecast was answered for the shadow run too, leaving nothing waiting', async () => {
    const { holder, monitor } = await shadowServing({ replica: 'shadow-actuals', shadowRun: 'run-shadow' });
    const earlierInput = { data: rows(300, 6), inferenceLength: 2 };
    const input = { data: rows(310, 6), inferenceLength: 2 };
    const [earlier, result] = await Promise.all([forecastWith(holder.current()!, earlierInput, 0), forecastWith(holder.current()!, input, 0)]);
    // The second request's observation waits on the shadow forecast of the first before it remembers its own.
    const observing = [monitor.observePrediction('series-a', earlierInput, earlier), monitor.observePrediction('series-a', input, result)];
    // Actuals of the second request's rows arrive before the shadow's forecast of it is done, or even started.
    const actuals = { identifier: 'series-a', time: Float64Array.from(result.forecast.time), values: { down: Float64Array.from([316, 317], downAt) } };
    const scored = await monitor.observeActualsInTurns(actuals);
    await Promise.all(observing);
    expect(scored.runs.map((run) => [run.run_id, run.points]).sort()).toEqual([['run-a', 2], ['run-shadow', 2]]);
    monitor.scorer.score({ identifier: 'series-a', time: Float64Array.from(earlier.forecast.time), values: { down: Float64Array.from([306, 307], downAt) } });
    expect(monitor.scorer.memory().points).toBe(0);
  });
  it('skips a shadow forecast when as many as one batch holds are in flight already, and says so by that reason', async () => {
    // One shadow forecast in flight at most.
    const { holder, monitor } = await shadowServing({ replica: 'shadow-limit', shadowRun: 'run-shadow', env: { FLTS_SERVE_BATCH_MAX_SIZE: '1' } });
    const inputs = [300, 310, 320].map((from) => ({ data: rows(from, 6), inferenceLength: 2 }));
    const results = await Promise.all(inputs.map((input) => forecastWith(holder.current()!, input, 0)));
    // The first request's shadow forecast is in flight; the next two observations wait for it and resume together
    // once it is done: the first of them starts its own shadow forecast, which leaves the other no room.
    await Promise.all(inputs.map((input, i) => monitor.observePrediction(`series-${i}`, input, results[i])));
    expect({ skipped: monitor.status().shadow_skipped, no_room: monitor.status().shadow_no_room }).toEqual({ skipped: 1, no_room: { shadow_limit: 1 } });
    expect(monitor.metrics.shadowSkipped()).toEqual({ shadow_limit: 1 });
  });
});
