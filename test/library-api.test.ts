import { execFile } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as flts from 'flts';
import { cleanEnvironment, REPO_ROOT, runCli } from './helpers/run-cli.js';
import { scratchFolders } from './helpers/scratch-folders.js';

/** Temporary folders of this file, removed when it ends. */
const mkdtemp = scratchFolders();

const EXAMPLE_DATA = path.join(REPO_ROOT, 'examples/data');
const DATA_FLAGS = { 'data.trainFile': path.join(EXAMPLE_DATA, 'example.csv'), 'data.testFile': path.join(EXAMPLE_DATA, 'example_test.csv') };

/** What a rejected call threw: its code when it is an FltsError, else the kind of error and its message. */
async function thrown(call: () => unknown): Promise<string> {
  try {
    await call();
  } catch (error) {
    return flts.isFltsError(error) ? error.code : `${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`;
  }
  return 'nothing thrown';
}

/** A JSON value with every object's keys in order, so two serializations compare by their values' text alone. */
function keysSorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keysSorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, keysSorted((value as Record<string, unknown>)[key])]));
}

/** A home with the example data processed and a NAIVE and an SNAIVE run trained through the library. */
async function trainedHome(prefix: string): Promise<{ home: string; settings: flts.Settings; store: flts.ObjectStore; runs: flts.RunRecord[] }> {
  const home = await mkdtemp(path.join(os.tmpdir(), prefix));
  const { settings } = flts.resolveSettings({ flags: { home, ...DATA_FLAGS } });
  const store = await flts.createObjectStore(settings);
  await flts.preprocess(settings, { store });
  const { runs } = await flts.trainModels({ models: ['NAIVE', 'SNAIVE'] }, settings, { store });
  return { home, settings, store, runs };
}

describe('flts as a library (the built package, imported as `flts`)', () => {
  it('arguments of the wrong shape from a JavaScript caller are coded errors naming the function, never TypeErrors', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-library-args-'));
    const { settings } = flts.resolveSettings({ flags: { home } });
    const store = await flts.createObjectStore(settings);
    const js = flts as any; // what a JavaScript caller reaches
    const cases: Record<string, () => unknown> = {
      'resolveSettings(null)': () => js.resolveSettings(null),
      'resolveSettings({ file: path })': () => js.resolveSettings({ file: 'flts.config.json' }),
      'createObjectStore()': () => js.createObjectStore(),
      'createObjectStore(flags instead of settings)': () => js.createObjectStore({ home }),
      'createFsStore()': () => js.createFsStore(),
      'preprocess(settings)': () => js.preprocess(settings),
      'preprocess(settings, {})': () => js.preprocess(settings, {}),
      'trainModels()': () => js.trainModels(),
      'trainModels({ models: [] })': () => js.trainModels({ models: [] }, settings, { store }),
      'trainModels({ models: "NAIVE" })': () => js.trainModels({ models: 'NAIVE' }, settings, { store }),
      'trainModels(request, settings)': () => js.trainModels({ models: ['NAIVE'] }, settings),
      'evaluateRuns()': () => js.evaluateRuns(),
      'evaluateRuns({ configHash: 1 })': () => js.evaluateRuns({ configHash: 1 }, settings, { store }),
      'promote()': () => js.promote(),
      'promote({ runId: 5 })': () => js.promote({ runId: 5, source: 'manual', actor: 'a', reason: 'r' }, settings, { store }),
      'promote(no reason)': () => js.promote({ runId: 'abc', source: 'manual', actor: 'a' }, settings, { store }),
      'promote(no actor)': () => js.promote({ runId: 'abc', source: 'manual', reason: 'r' }, settings, { store }),
      'promoteBest({})': () => js.promoteBest({}, settings, { store }),
      'promoteBest({ configHash: 12 })': () => js.promoteBest({ configHash: 12, source: 'best', actor: 'a' }, settings, { store }),
      'rollback()': () => js.rollback(undefined, settings, { store }),
      'rollback(request, settings)': () => js.rollback({ source: 'rollback', actor: 'a' }, settings),
      'listPromotionHistory()': () => js.listPromotionHistory(),
      'readPromotionPointer(store)': () => js.readPromotionPointer(store),
      'listRunRecords(store)': () => js.listRunRecords(store),
      'readRunRecord(store, settings)': () => js.readRunRecord(store, settings),
      'loadRunForServing(store, settings, 42)': () => js.loadRunForServing(store, settings, 42),
      'validateCandidate(store, settings)': () => js.validateCandidate(store, settings),
      'autoPromote()': () => js.autoPromote(),
      'openForecaster(settings)': () => js.openForecaster(settings),
      'openForecaster(settings, { store }, { runId: 5 })': () => js.openForecaster(settings, { store }, { runId: 5 }),
      'openForecaster(settings, { store, onForecast: true })': () => js.openForecaster(settings, { store, onForecast: true }),
      'openForecaster(settings, { store }, { followPromotions: 1000 })': () => js.openForecaster(settings, { store }, { followPromotions: 1000 }),
      'openForecaster(settings, { store }, { followPromotions: { pollIntervalMs: 0 } })': () => js.openForecaster(settings, { store }, { followPromotions: { pollIntervalMs: 0 } }),
      'openForecaster(settings, { store }, { followPromotions: {} })': () => js.openForecaster(settings, { store }, { followPromotions: {} }),
      'startInferenceService(settings)': () => js.startInferenceService(settings),
      'startInferenceService(settings, {})': () => js.startInferenceService(settings, {}),
      'startServe(settings)': () => js.startServe(settings),
      'startServe(settings, { store, bus: {} })': () => js.startServe(settings, { store, bus: {} }),
      'buildServer()': () => js.buildServer(),
      // A holder that is not one failed each request as FLTS_INTERNAL (a TypeError inside the route).
      'buildServer({ holder: {} })': () => js.buildServer({ holder: {} }),
      'createMessageBus()': () => js.createMessageBus(),
      // Settings refuse a store kind other than fs and s3; hand-made ones got FLTS_NOT_IMPLEMENTED ("a later release").
      'createObjectStore({ ...settings, store: { kind: "gcs" } })': () => js.createObjectStore({ ...settings, store: { ...settings.store, kind: 'gcs' } }),
      'computeConfigHash()': () => js.computeConfigHash(),
      // Optional collaborators of the wrong shape failed as FLTS_INTERNAL (after recording a run) or a TypeError.
      'preprocess(settings, { store, onEvent: "x" })': () => js.preprocess(settings, { store, onEvent: 'x' }),
      'trainModels(request, settings, { store, logger: {} })': () => js.trainModels({ models: ['NAIVE'] }, settings, { store, logger: {} }),
      'trainModels(request, settings, { store, signal: "x" })': () => js.trainModels({ models: ['NAIVE'] }, settings, { store, signal: 'x' }),
      'promoteBest(request, settings, { store, bus: {} })': () => js.promoteBest({ source: 'best', actor: 'a' }, settings, { store, bus: {} }),
      'startInferenceService(settings, { store, logger: {} })': () => js.startInferenceService(settings, { store, logger: {} }),
      // A sweep without its retention threw a RangeError (an invalid date), without its store a TypeError.
      'sweepPredictionLogs({})': () => js.sweepPredictionLogs({}),
      'sweepPredictionLogs({ store, bucket })': () => js.sweepPredictionLogs({ store, bucket: 'inference-logs' }),
      'sweepPredictionLogs({ retentionDays: "7" })': () => js.sweepPredictionLogs({ store, bucket: 'inference-logs', retentionDays: '7' }),
      'startLogRetention({ store, bucket, retentionDays })': () => js.startLogRetention({ store, bucket: 'inference-logs', retentionDays: 7 }),
      'openDependencies()': () => js.openDependencies(),
      'openDependencies(settings, { service: "yes" })': () => js.openDependencies(settings, { service: 'yes' }),
      'openDependencies(settings, { logger: {} })': () => js.openDependencies(settings, { logger: {} }),
      'openDependencies(settings, { scratchDir: 3 })': () => js.openDependencies(settings, { scratchDir: 3 }),
    };
    const outcomes: Record<string, string> = {};
    for (const [name, call] of Object.entries(cases)) outcomes[name] = await thrown(call);
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(cases).map((name) => [name, 'FLTS_USAGE_INVALID_ARGUMENT'])));
    const error = await flts.promote({ runId: 5 as never, source: 'manual', actor: 'a', reason: 'r' }, settings, { store }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(flts.FltsError);
    expect((error as flts.FltsError).message).toBe('promote(): decision.runId must be a string, not number 5.');
    expect(flts.exitCodeFor(error as flts.FltsError)).toBe(2);
    const sweepError = await js.sweepPredictionLogs({ store, bucket: 'inference-logs' }).catch((e: unknown) => e);
    expect((sweepError as flts.FltsError).message).toBe('sweepPredictionLogs(): options.retentionDays must be a whole number of days, 0 or more, not undefined.');
  });

  it('a flag path that names no setting is FLTS_CONFIG_UNKNOWN_KEY, as an unknown key of a config file is (a typo used to be ignored)', async () => {
    // From TypeScript such a path does not compile (test/library-types.test.ts); from JavaScript it is refused.
    const js = flts as any;
    expect(await thrown(() => js.resolveSettings({ flags: { 'training.epoch': 2 } }))).toBe('FLTS_CONFIG_UNKNOWN_KEY');
    expect(js.resolveSettings({ flags: { 'training.epochs': 2, 'training.epoch': undefined } }).settings.training.epochs).toBe(2);
  });

  it('a model type or a promotion source flts does not know is refused before anything is recorded', async () => {
    const { settings, store, runs } = await trainedHome('flts-library-unknown-');
    const js = flts as any;
    // Each name was trained and recorded as a SUCCESS run of that "type" (a string: one per letter).
    expect(await thrown(() => js.trainModels({ models: ['NAIVE', 'FOO'] }, settings, { store }))).toBe('FLTS_MODEL_UNKNOWN_TYPE');
    expect(await thrown(() => js.trainModels({ models: 'NAIVE' }, settings, { store }))).toBe('FLTS_USAGE_INVALID_ARGUMENT');
    expect((await flts.listRunRecords(store, settings)).map((run) => run.run_id).sort()).toEqual(runs.map((run) => run.run_id).sort());
    // The source was written into the history as it came.
    expect(await thrown(() => js.promote({ runId: runs[0].run_id, source: 'bogus', actor: 'a', reason: 'r' }, settings, { store }))).toBe('FLTS_USAGE_INVALID_ARGUMENT');
    expect(await thrown(() => js.promoteBest({ source: 'manual', actor: 'a' }, settings, { store }))).toBe('FLTS_USAGE_INVALID_ARGUMENT');
    expect(await thrown(() => js.rollback({ source: 'best', actor: 'a' }, settings, { store }))).toBe('FLTS_USAGE_INVALID_ARGUMENT');
    expect(await flts.listPromotionHistory(store, settings)).toEqual([]);
  }, 120_000);

  it('promotions, a pin and rollbacks through the library leave the store exactly as `flts promote` does', async () => {
    const { home, runs } = await trainedHome('flts-library-promote-');
    const other = runs.find((run) => run.model_type === 'SNAIVE')!.run_id;
    // Copies made with the scratch folders', so they go with them when the file ends.
    const viaCli = await mkdtemp(path.join(os.tmpdir(), 'flts-library-promote-cli-'));
    const viaLibrary = await mkdtemp(path.join(os.tmpdir(), 'flts-library-promote-library-'));
    await cp(home, viaCli, { recursive: true });
    await cp(home, viaLibrary, { recursive: true });
    for (const args of [['--best'], ['--run', other], ['--rollback'], ['--best'], ['--run', other, '--pin'], ['--rollback', '--reason', 'back']]) {
      const run = await runCli(['promote', ...args], { env: { FLTS_HOME: viaCli, FLTS_OPERATOR: 'walker' } });
      expect(run.exitCode, run.stderr).toBe(0);
    }
    const { settings } = flts.resolveSettings({ flags: { home: viaLibrary } });
    const deps = { store: await flts.createObjectStore(settings) };
    await flts.promoteBest({ source: 'best', actor: 'walker' }, settings, deps);
    await flts.promote({ runId: other, source: 'manual', actor: 'walker', reason: `run ${other} promoted by request` }, settings, deps);
    await flts.rollback({ source: 'rollback', actor: 'walker' }, settings, deps);
    expect((await flts.promoteBest({ source: 'best', actor: 'walker' }, settings, deps)).changed).toBe(false);
    expect((await flts.promote({ runId: other, source: 'manual', actor: 'walker', reason: `run ${other} promoted by request`, pin: true }, settings, deps)).pinned).toBe(true);
    await flts.rollback({ source: 'rollback', actor: 'walker', reason: 'back' }, settings, deps);

    // Promotion times differ; everything else (which files, their fields, their order) is the same.
    const contents = async (root: string): Promise<string[]> => {
      const files = await promisify(execFile)('find', ['.', '-type', 'f'], { cwd: root });
      const names = files.stdout.trim().split('\n').sort();
      const timestamps = /\d{4}-\d\d-\d\dT\d\d[-:]\d\d[-:]\d\d\.\d+Z/g;
      return Promise.all(names.map(async (name) => `${name.replace(timestamps, 'T')}\n${(await readFile(path.join(root, name), 'utf8').catch(() => '')).replace(timestamps, 'T')}`));
    };
    const library = await contents(viaLibrary);
    expect(library.filter((file) => file.includes('promotion-T.json'))).toHaveLength(5);
    expect(library).toEqual(await contents(viaCli));
  }, 180_000);

  it('a promotion with the dependencies of openDependencies publishes on the bus the settings name the model-selected message `flts promote --run` publishes; without that bus it is refused before anything changes', async () => {
    const { home, runs } = await trainedHome('flts-library-bus-');
    const runId = runs.find((run) => run.model_type === 'SNAIVE')!.run_id;
    const viaCli = await mkdtemp(path.join(os.tmpdir(), 'flts-library-bus-cli-'));
    const viaLibrary = await mkdtemp(path.join(os.tmpdir(), 'flts-library-bus-library-'));
    await cp(home, viaCli, { recursive: true });
    await cp(home, viaLibrary, { recursive: true });
    const run = await runCli(['promote', '--run', runId], { env: { FLTS_HOME: viaCli, FLTS_BUS: 'fs', FLTS_OPERATOR: 'walker' } });
    expect(run.exitCode, run.stderr).toBe(0);

    const { settings } = flts.resolveSettings({ flags: { home: viaLibrary, 'bus.kind': 'fs' } });
    const decision = { runId, source: 'manual', actor: 'walker', reason: `run ${runId} promoted by request` } as const;
    // Only a store, as a library caller used to pass: refused, naming the bus, and nothing is promoted.
    const refused = await flts.promote(decision, settings, { store: await flts.createObjectStore(settings) }).then(() => undefined, (error: unknown) => error);
    expect(flts.isFltsError(refused) && refused.code).toBe('FLTS_USAGE_INVALID_ARGUMENT');
    expect((refused as flts.FltsError).details).toMatchObject({ function: 'promote', argument: 'deps.bus' });
    expect(await flts.readPromotionPointer(await flts.createObjectStore(settings), settings)).toBeUndefined();

    const deps = await flts.openDependencies(settings);
    try {
      expect((await flts.promote(decision, settings, deps)).published).toEqual({ topic: settings.bus.topics.modelSelected, ok: true });
    } finally {
      await deps.close();
    }
    const log = async (root: string): Promise<string> => readFile(path.join(root, 'bus', 'topics', `${settings.bus.topics.modelSelected}.log`), 'utf8');
    // The promotion's time and the append's time differ between the two; every other byte is the same.
    const timeless = (text: string): string => text.replace(/\d{4}-\d\d-\d\dT\d\d[-:]\d\d[-:]\d\d\.\d+Z/g, 'T').replace(/"(ts|timestamp)":\d+/g, '"$1":0');
    const [cli, library] = [await log(viaCli), await log(viaLibrary)];
    expect(library).toContain(runId);
    expect(timeless(library)).toBe(timeless(cli));
  }, 180_000);

  it('a program using the library prints nothing of flts, ignores the environment it is not given, and exits by itself after close (of the service and of a forecaster)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-library-program-'));
    const script = path.join(dir, 'program.mjs');
    await writeFile(
      script,
      `import { createObjectStore, evaluateRuns, openForecaster, preprocess, promoteBest, resolveSettings, startInferenceService, trainModels } from ${JSON.stringify(path.join(REPO_ROOT, 'dist/core/index.js'))};
const flags = { home: ${JSON.stringify(path.join(dir, 'home'))}, ...${JSON.stringify(DATA_FLAGS)}, 'data.sampleTrainRows': 600, 'data.sampleTestRows': 200,
  'training.epochs': 1, 'training.hiddenSize': 4, 'training.backend': 'cpu', 'training.engine': 'layers', 'serve.port': 0, 'serve.host': '127.0.0.1' };
const { settings } = resolveSettings({ flags });
const store = await createObjectStore(settings);
const processed = await preprocess(settings, { store });
await trainModels({ models: ['NAIVE', 'LSTM'] }, settings, { store });
await evaluateRuns({ configHash: processed.configHash }, settings, { store });
const promotion = await promoteBest({ source: 'best', actor: 'program' }, settings, { store });
const service = await startInferenceService(settings, { store });
const answer = await fetch(service.url + '/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
const body = await answer.json();
await service.close();
const forecaster = await openForecaster(settings, { store });
const inProcess = await forecaster.forecast();
await forecaster.close();
process.stdout.write(JSON.stringify({ status: answer.status, served: body.run_id, forecast: inProcess.run_id, promoted: promotion.record.run_id, identifier: settings.identifier, home: settings.home }));
`,
    );
    // Settings variables a library user's process may well have: the library reads none of them.
    const env = cleanEnvironment({ FLTS_HOME: path.join(dir, 'elsewhere'), TRAIN_FILE: '/nowhere.csv', EPOCHS: 'many', FLTS_STORE: 's3', FLTS_BUS: 'kafka', IDENTIFIER: 'site-b', FLTS_LOG_LEVEL: 'trace', DEBUG: '*' });
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script], { cwd: REPO_ROOT, env, timeout: 150_000 });
    expect(stderr).toBe('');
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ status: 200, identifier: '', home: path.join(dir, 'home') });
    expect(result.served).toBe(result.promoted);
    expect(result.forecast).toBe(result.promoted);
  }, 180_000);

  it('a server of startServe with a bus loads the run a promotion names, with no pointer poll, as `flts serve` does, and its stop closes the bus', async () => {
    const { home, runs } = await trainedHome('flts-lib-serve-');
    const flags = { home, ...DATA_FLAGS, 'bus.kind': 'fs', 'serve.pollIntervalMs': 0, 'serve.port': 0, 'serve.host': '127.0.0.1' } as const;
    const { settings } = flts.resolveSettings({ flags });
    const store = await flts.createObjectStore(settings);
    const fsBus = flts.createMessageBus(settings)!;
    let closes = 0;
    const bus: flts.MessageBus = { ...fsBus, close: (options) => ((closes += 1), fsBus.close(options)) };
    const events: flts.FltsEvent[] = [];
    const waiters: Array<{ until: (event: flts.FltsEvent) => boolean; resolve: () => void }> = [];
    const seen = (until: (event: flts.FltsEvent) => boolean): Promise<void> =>
      events.some(until) ? Promise.resolve() : new Promise((resolve) => waiters.push({ until, resolve }));
    const onEvent = (event: flts.FltsEvent): void => {
      events.push(event);
      for (const waiter of waiters.filter((w) => w.until(event))) waiter.resolve();
    };
    const serve = await flts.startServe(settings, { store, bus, onEvent });
    try {
      await seen((event) => event.type === 'serve.following_promotions');
      expect(serve.runId()).toBeNull();
      await flts.promote({ runId: runs[0].run_id, source: 'manual', actor: 'library-test', reason: 'a replica follows the bus' }, settings, { store, bus });
      await seen((event) => event.type === 'serve.model_loaded' && event.runId === runs[0].run_id);
      expect(serve.runId()).toBe(runs[0].run_id);
      expect((await fetch(`${serve.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await serve.stop()).toEqual({ unwrittenRecords: 0, unfinished: [], requestsDrained: 0, requestsCut: 0, grpcCallsCut: 0, grpcCallsDrained: 0 });
    }
    expect(closes).toBe(1);
    await expect(fetch(`${serve.url}/healthz`)).rejects.toThrow();
  });

  it('a forecaster answers in process what POST /predict answers for the same rows, to the last digit, and is released by close()', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-library-forecaster-'));
    const { settings } = flts.resolveSettings({
      flags: { home, ...DATA_FLAGS, 'data.sampleTrainRows': 600, 'data.sampleTestRows': 200, 'training.epochs': 5, 'training.hiddenSize': 16, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.predictionLog.enabled': false },
    });
    const store = await flts.createObjectStore(settings);
    await flts.preprocess(settings, { store });
    expect(await thrown(() => flts.openForecaster(settings, { store }))).toBe('FLTS_SERVE_NO_MODEL');
    const { runs } = await flts.trainModels({ models: ['NAIVE', 'LSTM'] }, settings, { store });
    const lstm = runs.find((run) => run.model_type === 'LSTM')!;
    const naive = runs.find((run) => run.model_type === 'NAIVE')!;
    await flts.promote({ runId: lstm.run_id, source: 'manual', actor: 'test', reason: 'forecaster' }, settings, { store });

    // Rows as a client sends them: the test file's columns, a gap in the model's input window for a warning.
    const [header, ...lines] = (await readFile(DATA_FLAGS['data.testFile'], 'utf8')).trim().split('\n');
    const names = header.split(',');
    const rows = lines.slice(0, 120).filter((_, i) => i !== 115);
    const data = Object.fromEntries(names.map((name, c) => [name, rows.map((line) => (c === 0 ? line.split(',')[c] : Number(line.split(',')[c])))]));
    const requests: Array<{ http: Record<string, unknown>; library: flts.ForecastRequest }> = [
      { http: {}, library: {} },
      { http: { data, index_col: 'time' }, library: { data, indexCol: 'time' } },
      // Past the horizon: recursive steps, intervals on the calibrated ones only.
      { http: { data, index_col: 'time', inference_length: 40 }, library: { data, indexCol: 'time', inferenceLength: 40 } },
    ];

    // The promoted run, and a run pinned by serve.runId on one side and options.runId on the other.
    const service = await flts.startInferenceService(settings, { store });
    const pinnedService = await flts.startInferenceService({ ...settings, serve: { ...settings.serve, runId: naive.run_id } }, { store });
    const forecaster = await flts.openForecaster(settings, { store });
    const pinned = await flts.openForecaster(settings, { store }, { runId: naive.run_id });
    try {
      expect(forecaster.run).toEqual({ runId: lstm.run_id, modelType: 'LSTM', configHash: lstm.config_hash });
      expect(pinned.run.runId).toBe(naive.run_id);
      for (const [server, inProcess] of [[service, forecaster], [pinnedService, pinned]] as const) {
        for (const { http, library } of requests) {
          const response = await server.app.inject({ method: 'POST', url: '/predict', payload: http });
          expect(response.statusCode, response.body).toBe(200);
          const { status, req_id, cached, ...served } = JSON.parse(response.body);
          const answer = await inProcess.forecast(library);
          expect(answer).toEqual(served);
          // The numbers as text: the same digits the API writes (its serializer puts `intervals` before the targets).
          expect(JSON.stringify(keysSorted(answer.predictions))).toBe(JSON.stringify(keysSorted(served.predictions)));
        }
      }
      const recursive = await forecaster.forecast(requests[2].library);
      expect(recursive.recursive).toBe(true);
      // A network that learned something (fewer epochs leave it at the target's floor, one value for every step).
      expect(new Set(recursive.predictions.map((row) => row.down)).size).toBeGreaterThan(1);
      expect(recursive.predictions[0].intervals).toBeDefined();
      expect(recursive.warnings?.[0].code).toBe('irregular_time_steps');

      // Bad rows are refused with the code /predict answers them with; bad arguments are usage errors.
      const badRows = { data: { time: ['2024-01-08 00:00:00'], down: [1] }, indexCol: 'time' };
      const refused = await service.app.inject({ method: 'POST', url: '/predict', payload: { data: badRows.data, index_col: 'time' } });
      expect(await thrown(() => forecaster.forecast(badRows))).toBe(JSON.parse(refused.body).code);
      const js = forecaster as any;
      const usage = {
        'forecast(5)': () => js.forecast(5),
        'forecast({ data: [] })': () => js.forecast({ data: [] }),
        'forecast({ inferenceLength: 0 })': () => js.forecast({ inferenceLength: 0 }),
        'forecast({ inferenceLength: 10001 })': () => js.forecast({ inferenceLength: 10_001 }),
        'forecast({ inferenceLength: "5" })': () => js.forecast({ inferenceLength: '5' }),
        'forecast({ indexCol: "" })': () => js.forecast({ indexCol: '' }),
        'forecast({}, { signal: "x" })': () => js.forecast({}, { signal: 'x' }),
        'reload(true)': () => js.reload(true),
        'reload({ force: "yes" })': () => js.reload({ force: 'yes' }),
      };
      const outcomes: Record<string, string> = {};
      for (const [name, call] of Object.entries(usage)) outcomes[name] = await thrown(call);
      expect(outcomes).toEqual(Object.fromEntries(Object.keys(usage).map((name) => [name, 'FLTS_USAGE_INVALID_ARGUMENT'])));
      const aborted = AbortSignal.abort(new Error('given up'));
      expect(await thrown(() => forecaster.forecast({}, { signal: aborted }))).toBe('Error: given up');
      expect(await thrown(() => flts.openForecaster(settings, { store }, { runId: 'no-such-run' }))).toBe('FLTS_RUN_NOT_FOUND');
      expect(await thrown(() => flts.openForecaster(settings, { store, signal: AbortSignal.abort(new Error('stopped')) }))).toBe('Error: stopped');

      // A forecast under way when close() is called is answered; the model is released after it.
      const last = forecaster.forecast(requests[2].library);
      await forecaster.close();
      expect((await last).predictions).toHaveLength(40);
    } finally {
      await forecaster.close();
      await pinned.close();
      await service.close();
      await pinnedService.close();
    }
    expect(await thrown(() => forecaster.forecast())).toBe('FLTS_USAGE_INVALID_ARGUMENT');
  }, 240_000);

  it('a forecaster admits the rows of its forecasts in flight up to serve.maxQueuedRows, as POST /predict does, and refuses past it with FLTS_SERVE_OVERLOADED', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-library-bound-'));
    const { settings } = flts.resolveSettings({ flags: { home, ...DATA_FLAGS, 'serve.maxQueuedRows': 30 } });
    const store = await flts.createObjectStore(settings);
    await flts.preprocess(settings, { store });
    const { runs } = await flts.trainModels({ models: ['NAIVE'] }, settings, { store });
    await flts.promote({ runId: runs[0].run_id, source: 'manual', actor: 'test', reason: 'bound' }, settings, { store });
    const forecaster = await flts.openForecaster(settings, { store });
    try {
      // Asked together: the first holds its 20 rows until it is answered, so the second would bring 40 in flight.
      const first = forecaster.forecast({ inferenceLength: 20 });
      const second = forecaster.forecast({ inferenceLength: 20 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      const refusal = await second;
      expect(flts.isFltsError(refusal) && { code: refusal.code, kind: refusal.kind, details: refusal.details }).toMatchObject({
        code: 'FLTS_SERVE_OVERLOADED',
        kind: 'unavailable',
        details: { queuedRows: 20, requestedRows: 20, maxQueuedRows: 30 },
      });
      // A library caller has no server to be told about.
      expect((refusal as flts.FltsError).message).toMatch(/^The forecaster is busy: 20 forecast rows are in flight and this forecast asks for 20, past the bound \(serve\.maxQueuedRows\) of 30; retry in \d+ s\.$/);
      expect((await first).predictions).toHaveLength(20);
      // The rows are given back once answered; a forecast larger than the bound alone is made when nothing else is in flight.
      expect((await forecaster.forecast({ inferenceLength: 40 })).predictions).toHaveLength(40);
    } finally {
      await forecaster.close();
    }
  }, 120_000);

  it('reload() of a run that cannot be loaded answers what POST /reload_latest answers, result failed with the coded error, and the run before goes on forecasting', async () => {
    const { settings, store, runs } = await trainedHome('flts-library-reload-failed-');
    const [a, b] = runs;
    const promote = (runId: string) => flts.promote({ runId, source: 'manual', actor: 'test', reason: 'reload' }, settings, { store });
    await promote(a.run_id);
    const forecaster = await flts.openForecaster(settings, { store });
    const service = await flts.startInferenceService({ ...settings, serve: { ...settings.serve, port: 0, host: '127.0.0.1', reloadMinIntervalMs: 0, predictionLog: { ...settings.serve.predictionLog, enabled: false } } }, { store });
    try {
      await promote(b.run_id);
      // B's files are gone from the store (a bucket emptied by hand, a lifecycle rule): the pointer names a run that is not there.
      const bucket = settings.store.buckets.runs;
      for (const { key } of await store.list(bucket)) if (key.includes(b.run_id)) await store.delete(bucket, key);
      const reloaded = await forecaster.reload();
      const served = JSON.parse((await service.app.inject({ method: 'POST', url: '/reload_latest' })).body);
      expect(served).toMatchObject({ status: 'not_loaded', result: 'failed', run_id: a.run_id });
      expect(reloaded).toMatchObject({ result: served.result, changed: false, run: { runId: a.run_id }, pinned: false });
      expect(flts.isFltsError(reloaded.error) && reloaded.error.message).toBe(served.message);
      expect(reloaded.degraded).toBe(forecaster.degraded);
      expect(reloaded.degraded).toContain(b.run_id);
      expect((await forecaster.forecast()).run_id).toBe(a.run_id);
    } finally {
      await forecaster.close();
      await service.close();
    }
  }, 120_000);

  it('onForecast hears each forecast as the record POST /predict appends to the prediction log for the same request', async () => {
    const { settings, store, runs } = await trainedHome('flts-library-records-');
    await flts.promote({ runId: runs[0].run_id, source: 'manual', actor: 'test', reason: 'records' }, settings, { store });
    const records: flts.PredictionLogRecord[] = [];
    const measured: flts.ForecastMeasures[] = [];
    const forecaster = await flts.openForecaster(settings, {
      store,
      onForecast: (record, measures) => {
        records.push(record);
        measured.push(measures);
      },
    });
    const serveSettings = { ...settings, serve: { ...settings.serve, port: 0, host: '127.0.0.1', predictionLog: { ...settings.serve.predictionLog, enabled: true, durability: 'sync' as const } } };
    const service = await flts.startInferenceService(serveSettings, { store });
    try {
      const [header, ...lines] = (await readFile(DATA_FLAGS['data.testFile'], 'utf8')).trim().split('\n');
      const names = header.split(',');
      const rows = lines.slice(0, 120);
      const data = Object.fromEntries(names.map((name, c) => [name, rows.map((line) => (c === 0 ? line.split(',')[c] : Number(line.split(',')[c])))]));
      for (const [http, library] of [[{}, {}], [{ data, index_col: 'time', inference_length: 12 }, { data, indexCol: 'time', inferenceLength: 12 }]] as const) {
        expect((await service.app.inject({ method: 'POST', url: '/predict', payload: http })).statusCode).toBe(200);
        await forecaster.forecast(library);
      }
      // With a sync log, each 200 waited for its record to be written.
      const bucket = settings.store.buckets.inferenceLogs;
      const written: flts.PredictionLogRecord[] = [];
      for (const { key } of (await store.list(bucket)).sort((x, y) => x.key.localeCompare(y.key))) {
        for (const line of (await store.get(bucket, key)).toString('utf8').trim().split('\n')) written.push(JSON.parse(line));
      }
      expect(written).toHaveLength(2);
      // Each its own request id and time; everything else the same, to the digit.
      const unstamped = ({ req_id, timestamp, ...rest }: flts.PredictionLogRecord) => {
        expect(req_id).toMatch(/\S/);
        expect(Number.isNaN(Date.parse(timestamp))).toBe(false);
        return rest;
      };
      expect(JSON.stringify(records.map(unstamped))).toBe(JSON.stringify(written.map(unstamped)));
      expect(new Set(records.map((record) => record.req_id)).size).toBe(2);
      // Beside each record, what the forecast measured: its run, rows and time, as the server's metrics count them.
      expect(measured.map(({ run, rowsPredicted, source }) => ({ run, rowsPredicted, source }))).toEqual(
        records.map((record, i) => ({
          run: { runId: record.run_id, modelType: record.model_type, configHash: record.config_hash },
          rowsPredicted: record.metrics.rows_predicted,
          source: i === 0 ? 'stored-test-data' : 'request',
        })),
      );
      expect(measured[1].rowsPredicted).toBe(12);
      for (const { durationMs, modelMs } of measured) {
        expect(modelMs).toBeGreaterThan(0);
        expect(durationMs).toBeGreaterThanOrEqual(modelMs);
      }
    } finally {
      await forecaster.close();
      await service.close();
    }
  }, 120_000);

  it('reload() in a loop loads no model again within serve.reloadMinIntervalMs, calls made meanwhile share one reload, and a promotion is still found at once', async () => {
    const { settings: trained, store, runs } = await trainedHome('flts-library-reload-loop-');
    const [a, b] = runs;
    const promote = (runId: string) => flts.promote({ runId, source: 'manual', actor: 'test', reason: 'loop' }, trained, { store });
    await promote(a.run_id);
    // An hour: every call of this test falls within the interval of the forecaster's opening.
    const settings = { ...trained, serve: { ...trained.serve, reloadMinIntervalMs: 3_600_000 } };
    // Counts the reads of a pointer; once armed, holds the next one, already read, until the test opens the gate.
    let pointerReads = 0;
    let gate: { entered: () => void; opened: Promise<void> } | undefined;
    const counting: flts.ObjectStore = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'get') return typeof value === 'function' ? value.bind(target) : value;
        return async (bucket: string, key: string) => {
          if (!key.endsWith('current.json')) return target.get(bucket, key);
          pointerReads++;
          const read = target.get(bucket, key);
          const held = gate;
          gate = undefined;
          if (held) {
            await read.catch(() => undefined);
            held.entered();
            await held.opened;
          }
          return read;
        };
      },
    });
    const loads = { pinned: 0, following: 0 };
    const counted = (which: keyof typeof loads) => (event: flts.FltsEvent) => void (event.type === 'serve.model_loaded' && loads[which]++);
    const pinned = await flts.openForecaster(settings, { store, onEvent: counted('pinned') }, { runId: a.run_id });
    const forecaster = await flts.openForecaster(settings, { store: counting, onEvent: counted('following') });
    try {
      const unchanged = { result: 'unchanged', changed: false, run: pinned.run, pinned: true };
      for (let i = 0; i < 3; i++) expect(await pinned.reload()).toEqual(unchanged);
      expect(await Promise.all([pinned.reload(), pinned.reload(), pinned.reload()])).toEqual([unchanged, unchanged, unchanged]);
      expect(loads.pinned).toBe(1);
      // Forced, it is loaded again: once for all the calls made together.
      const loaded = { ...unchanged, result: 'loaded' };
      expect(await Promise.all([pinned.reload({ force: true }), pinned.reload(), pinned.reload({ force: true })])).toEqual([loaded, loaded, loaded]);
      expect(loads.pinned).toBe(2);

      // Following the pointer: one reload reads it so many times; five calls made together read it as often.
      const readsBefore = pointerReads;
      expect(await forecaster.reload()).toMatchObject({ result: 'unchanged', changed: false });
      const readsOfOne = pointerReads - readsBefore;
      expect(readsOfOne).toBeGreaterThan(0);
      const together = await Promise.all(Array.from({ length: 5 }, () => forecaster.reload()));
      expect(together.map((outcome) => outcome.result)).toEqual(Array(5).fill('unchanged'));
      expect(pointerReads - readsBefore).toBe(2 * readsOfOne);
      // A call made while a reload runs gets a reload that reads the pointer after it: a run promoted meanwhile is found,
      // within the interval too.
      let open = (): void => undefined;
      const entered = new Promise<void>((resolve) => (gate = { entered: resolve, opened: new Promise<void>((release) => (open = release)) }));
      const running = forecaster.reload();
      await entered;
      await promote(b.run_id);
      const [second, third] = [forecaster.reload(), forecaster.reload()];
      open();
      expect(await running).toMatchObject({ result: 'unchanged', changed: false, run: { runId: a.run_id } });
      expect(await second).toMatchObject({ result: 'loaded', changed: true, run: { runId: b.run_id } });
      expect(await third).toEqual(await second);
      expect(loads.following).toBe(2);
    } finally {
      await pinned.close();
      await forecaster.close();
    }
  }, 120_000);

  it('a forecaster follows a promotion on reload() (or by polling, opted in) as `flts serve` does; forecasts under way finish on their run, a pinned run stays', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-library-reload-'));
    const { settings } = flts.resolveSettings({ flags: { home, ...DATA_FLAGS, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.predictionLog.enabled': false } });
    const store = await flts.createObjectStore(settings);
    await flts.preprocess(settings, { store });
    const { runs } = await flts.trainModels({ models: ['NAIVE', 'SNAIVE'] }, settings, { store });
    const [a, b] = runs;
    const promote = (runId: string) => flts.promote({ runId, source: 'manual', actor: 'test', reason: 'reload' }, settings, { store });
    await promote(a.run_id);

    // A store that holds the first read of a run's processed data once armed: a forecast after the stored test data
    // waits there, its model already taken, for as long as the test wants it under way. The read the load makes fails,
    // so that the forecast reads the data itself (a model is served without its test window, read again when asked).
    let gate: { entered: () => void; opened: Promise<void> } | undefined;
    let loadRead = true;
    const gated: flts.ObjectStore = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'get') return typeof value === 'function' ? value.bind(target) : value;
        return async (bucket: string, key: string) => {
          if (loadRead && key.endsWith('processed_data.meta.json')) {
            loadRead = false;
            throw new Error('the read at load fails');
          }
          const held = key.endsWith('processed_data.meta.json') ? gate : undefined;
          if (held) {
            gate = undefined;
            held.entered();
            await held.opened;
          }
          return target.get(bucket, key);
        };
      },
    });
    let open = (): void => undefined;

    const loaded = (events: string[], onLoaded?: (runId: string) => void) => (event: flts.FltsEvent) => {
      if (event.type !== 'serve.model_loaded') return;
      events.push(event.runId);
      onLoaded?.(event.runId);
    };
    const reloadedRuns: string[] = [];
    const polledRuns: string[] = [];
    let polledRun: ((runId: string) => void) | undefined;
    const forecaster = await flts.openForecaster(settings, { store: gated, onEvent: loaded(reloadedRuns) });
    const pinned = await flts.openForecaster(settings, { store }, { runId: a.run_id });
    const following = await flts.openForecaster(settings, { store, onEvent: loaded(polledRuns, (runId) => polledRun?.(runId)) }, { followPromotions: { pollIntervalMs: 20 } });
    let service: flts.InferenceService | undefined;
    try {
      expect(forecaster.run.runId).toBe(a.run_id);
      expect(await forecaster.reload()).toEqual({ result: 'unchanged', changed: false, run: forecaster.run, pinned: false });
      const entered = new Promise<void>((resolve) => (gate = { entered: resolve, opened: new Promise<void>((release) => (open = release)) }));
      const underWay = forecaster.forecast();
      await entered;

      // The polling forecaster swaps on its own: its serve.model_loaded event for B is awaited, nothing else.
      const polled = new Promise<string>((resolve) => (polledRun = (runId) => runId === b.run_id && resolve(runId)));
      await promote(b.run_id);
      const reloaded = await forecaster.reload();
      expect(reloaded).toEqual({ result: 'loaded', changed: true, run: { runId: b.run_id, modelType: b.model_type, configHash: b.config_hash }, pinned: false });
      expect(forecaster.run).toEqual(reloaded.run);
      open();
      const onA = await underWay;
      expect(onA.run_id).toBe(a.run_id);
      // As POST /reload_latest does for a pinned replica, the pinned run is loaded again (when forced, or past serve.reloadMinIntervalMs).
      expect(await pinned.reload({ force: true })).toEqual({ result: 'loaded', changed: false, run: { runId: a.run_id, modelType: a.model_type, configHash: a.config_hash }, pinned: true });
      expect(pinned.run.runId).toBe(a.run_id);
      expect(await polled).toBe(b.run_id);
      expect(following.run.runId).toBe(b.run_id);

      // What POST /predict answers for B, to the last digit, from the reloaded and the polling forecaster alike.
      service = await flts.startInferenceService(settings, { store });
      const [header, ...lines] = (await readFile(DATA_FLAGS['data.testFile'], 'utf8')).trim().split('\n');
      const names = header.split(',');
      const rows = lines.slice(0, 800);
      const data = Object.fromEntries(names.map((name, c) => [name, rows.map((line) => (c === 0 ? line.split(',')[c] : Number(line.split(',')[c])))]));
      for (const [http, library] of [[{}, {}], [{ data, index_col: 'time' }, { data, indexCol: 'time' }]] as const) {
        const response = await service.app.inject({ method: 'POST', url: '/predict', payload: http });
        expect(response.statusCode, response.body).toBe(200);
        const { status, req_id, cached, ...served } = JSON.parse(response.body);
        expect(served.run_id).toBe(b.run_id);
        for (const inProcess of [forecaster, following]) {
          const answer = await inProcess.forecast(library);
          expect(JSON.stringify(keysSorted(answer))).toBe(JSON.stringify(keysSorted(served)));
        }
      }
      // The forecast under way was A's, which answers otherwise than B.
      expect(JSON.stringify(onA.predictions)).not.toBe(JSON.stringify((await forecaster.forecast()).predictions));
      expect(reloadedRuns).toEqual([a.run_id, b.run_id]);
      expect(polledRuns).toEqual([a.run_id, b.run_id]);
    } finally {
      open();
      await forecaster.close();
      await pinned.close();
      await following.close();
      await service?.close();
    }
    expect(await thrown(() => forecaster.reload())).toBe('FLTS_USAGE_INVALID_ARGUMENT');
    expect(forecaster.run.runId).toBe(b.run_id);
  }, 180_000);
});
