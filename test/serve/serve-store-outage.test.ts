import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import { defaultSettings, type Settings } from '../../src/core/config/settings.js';
import { exitCodeFor, FltsError } from '../../src/core/errors.js';
import type { FltsEvent } from '../../src/core/events.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { startInferenceService, unwrittenAtStop, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { promote } from '../../src/core/workflows/promote.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { postJson, readJsonResponse } from './serve-fixtures.js';

/** The internal address and the access key id the store's errors name, as an S3 store's do. */
const ENDPOINT = 'http://minio.internal:9000';
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';

/**
 * A store whose every call fails as an unreachable S3 endpoint does while `down` is true, or as one that refuses the
 * credentials while `refusing` is.
 */
function outageStore(inner: ObjectStore): { store: ObjectStore; setDown(down: boolean): void; setRefusing(refusing: boolean): void } {
  let down = false;
  let refusing = false;
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down) return Promise.reject(new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${ENDPOINT} is unavailable (ECONNREFUSED).`));
        if (refusing) return Promise.reject(new FltsError('FLTS_STORE_AUTH_FAILED', `S3 endpoint ${ENDPOINT} refused the credentials of access key id '${ACCESS_KEY_ID}' (SignatureDoesNotMatch).`));
        return value.apply(target, args);
      };
    },
  });
  return { store, setDown: (value) => (down = value), setRefusing: (value) => (refusing = value) };
}

/** outageStore's failures, for the calls on `bucket` alone: the rest of the store answers. */
function bucketOutage(inner: ObjectStore, bucket: string): ReturnType<typeof outageStore> {
  const failing = outageStore(inner);
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      const failingCall = Reflect.get(failing.store, name, receiver) as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => (args[0] === bucket ? failingCall(...args) : value.apply(target, args));
    },
  });
  return { ...failing, store };
}

/** The text of a log line's fields holds no stack frame. */
const stackFree = (fields: object): boolean => !/\n\s+at /.test(JSON.stringify(fields));

/** A store whose every call, from `goAway()` on, is accepted and never answered, as by an S3 endpoint that has gone silent. */
function silencingStore(inner: ObjectStore): { store: ObjectStore; goAway(): void } {
  let gone = false;
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (gone ? new Promise(() => {}) : value.apply(target, args));
    },
  });
  return { store, goAway: () => (gone = true) };
}

function prefixed<T>(prefix: string, entries: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(entries).map(([name, value]) => [`${prefix} ${name}`, value]));
}

/** 'pending' while the promise has not settled (after the microtasks queued so far). */
async function settled<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('serve > the store unavailable at startup', () => {
  let root: string;
  let fsStore: ObjectStore;
  let settings: Settings;
  let service: InferenceService | undefined;

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-outage-'));
    fsStore = createFsStore(root);
    const defaults = defaultSettings();
    settings = { ...defaults, serve: { ...defaults.serve, port: 0, pollIntervalMs: 0 } };
    await addLoadableRun(fsStore, settings, fakeRun('good', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'));
    await promote({ runId: 'good', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store: fsStore });
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  const readyz = async () => readJsonResponse(await fetch(`${service!.url}/readyz`));

  it('listens, says on /readyz that the pointer cannot be read, and serves the promoted run once the store answers', async () => {
    const { store, setDown } = outageStore(fsStore);
    setDown(true);
    service = await startInferenceService(settings, { store });

    const waiting = await readyz();
    expect(waiting.status).toBe(503);
    expect(waiting.json).toMatchObject({ status: 'not_ready', degraded: true, degraded_code: 'FLTS_STORE_UNAVAILABLE' });
    expect(waiting.json.reason).toContain('The promotion pointer cannot be read');

    setDown(false);
    await service.holder.reloadFromPointer();
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ready', run_id: 'good', degraded: false });
  });

  it('waits for a pinned run while the store is unavailable, instead of exiting', async () => {
    const { store, setDown } = outageStore(fsStore);
    setDown(true);
    let loaded: (runId: string) => void = () => undefined;
    const loadedRun = new Promise<string>((resolve) => (loaded = resolve));
    const onEvent = (event: FltsEvent): void => {
      if (event.type === 'serve.model_loaded') loaded(event.runId);
    };
    service = await startInferenceService({ ...settings, serve: { ...settings.serve, runId: 'good' } }, { store, onEvent });

    const waiting = await readyz();
    expect(waiting.status).toBe(503);
    expect(waiting.json).toMatchObject({ degraded: true, degraded_code: 'FLTS_STORE_UNAVAILABLE', pinned_run_id: 'good' });

    setDown(false);
    expect(await loadedRun).toBe('good');
    expect((await readyz()).json).toMatchObject({ status: 'ready', run_id: 'good', degraded: false });
  });

  it('ends the start when the store refuses the credentials, pinned or following the pointer', async () => {
    const { store, setRefusing } = outageStore(fsStore);
    setRefusing(true);
    for (const runId of ['', 'good']) {
      await expect(startInferenceService({ ...settings, serve: { ...settings.serve, runId } }, { store })).rejects.toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED' });
    }
  });

  it('gives up waiting for a pinned run when the store, back from an outage, refuses the credentials', async () => {
    const { store, setDown, setRefusing } = outageStore(fsStore);
    setDown(true);
    service = await startInferenceService({ ...settings, serve: { ...settings.serve, runId: 'good' } }, { store });
    expect(await settled(service.holder.gaveUp)).toBe('pending');
    setRefusing(true);
    setDown(false);
    expect(await service.holder.gaveUp).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED' });
    expect((await readyz()).json).toMatchObject({ status: 'not_ready', degraded_code: 'FLTS_STORE_AUTH_FAILED' });
  });

  it('gives up following the pointer when the store, back from an outage, refuses the credentials while nothing is served', async () => {
    const { store, setDown, setRefusing } = outageStore(fsStore);
    setDown(true);
    service = await startInferenceService({ ...settings, serve: { ...settings.serve, pollIntervalMs: 10 } }, { store });
    expect(await settled(service.holder.gaveUp)).toBe('pending');
    setRefusing(true);
    setDown(false);
    expect(await service.holder.gaveUp).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED' });
  });

  it('keeps serving its model, degraded, when the store refuses the credentials later', async () => {
    const { store, setRefusing } = outageStore(fsStore);
    service = await startInferenceService({ ...settings, serve: { ...settings.serve, pollIntervalMs: 10 } }, { store });
    setRefusing(true);
    await waitFor(() => service!.holder.status().degraded?.code === 'FLTS_STORE_AUTH_FAILED', 'the refusal on /readyz');
    expect(service.holder.status().current?.runId).toBe('good');
    expect(await settled(service.holder.gaveUp)).toBe('pending');
  });

  it('shows on its public routes the code of a store outage, never the endpoint nor the access key id its message names, which the log keeps', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const logger: Logger = { ...silentLogger, warn: (obj) => void warnings.push(obj as Record<string, unknown>), child: () => logger };
    const { store, setDown, setRefusing } = outageStore(fsStore);
    setDown(true);
    service = await startInferenceService(settings, { store, logger });
    const publicAnswers = async (): Promise<{ healthz: { status: number; json: any }; readyz: { status: number; json: any } }> => ({
      healthz: await readJsonResponse(await fetch(`${service!.url}/healthz`)),
      readyz: await readyz(),
    });
    // /predict is open too, and says why no model is served in its FLTS_SERVE_NO_MODEL.
    const unavailable = { ...(await publicAnswers()), predict: await postJson(`${service!.url}/predict`, { data: {} }) };
    expect(unavailable.healthz.json).toMatchObject({ degraded: true, degraded_code: 'FLTS_STORE_UNAVAILABLE', degraded_reason: 'The promotion pointer cannot be read (FLTS_STORE_UNAVAILABLE); no model is served.' });
    expect(unavailable.readyz).toMatchObject({ status: 503, json: { status: 'not_ready', reason: 'The promotion pointer cannot be read (FLTS_STORE_UNAVAILABLE); no model is served.' } });
    expect(unavailable.predict).toMatchObject({ status: 503, json: { code: 'FLTS_SERVE_NO_MODEL', message: 'The promotion pointer cannot be read (FLTS_STORE_UNAVAILABLE); no model is served.' } });
    // Back, then refusing the credentials while the run is served: degraded, and still serving.
    setDown(false);
    await service.holder.reloadFromPointer();
    setRefusing(true);
    await service.holder.reloadFromPointer();
    const refused = await publicAnswers();
    expect(refused.healthz.json).toMatchObject({ run_id: 'good', degraded_code: 'FLTS_STORE_AUTH_FAILED', degraded_reason: 'The promotion pointer cannot be read (FLTS_STORE_AUTH_FAILED); still serving run good.' });
    for (const [route, answer] of Object.entries({ ...prefixed('unavailable', unavailable), ...prefixed('refused', refused) })) {
      const text = JSON.stringify(answer.json);
      expect({ route, endpoint: text.includes('minio.internal'), key: text.includes(ACCESS_KEY_ID) }).toEqual({ route, endpoint: false, key: false });
    }
    // The operator reads the whole of it in the log.
    expect(warnings.filter((fields) => fields.code === 'FLTS_STORE_AUTH_FAILED').map((fields) => fields.reason)).toEqual([
      `The promotion pointer cannot be read (FLTS_STORE_AUTH_FAILED: S3 endpoint ${ENDPOINT} refused the credentials of access key id '${ACCESS_KEY_ID}' (SignatureDoesNotMatch).); still serving run good.`,
    ]);
  });

  it('forecasts from the stored test data, without data in the request, through a store outage or refusal that began after the model was loaded', async () => {
    const { store, setDown, setRefusing } = outageStore(fsStore);
    service = await startInferenceService(settings, { store });
    setDown(true);
    const duringOutage = await postJson(`${service.url}/predict`, {});
    expect(duringOutage).toMatchObject({ status: 200, json: { run_id: 'good', source: 'stored-test-data' } });
    setDown(false);
    setRefusing(true);
    const duringRefusal = await postJson(`${service.url}/predict`, {});
    expect(duringRefusal).toMatchObject({ status: 200, json: { run_id: 'good', source: 'stored-test-data' } });
    expect(duringRefusal.json.predictions).toEqual(duringOutage.json.predictions);
  });

  it('answers a forecast without data 503 with Retry-After when the store cannot give the test data, naming only the code of the cause, which the log line has whole and without a stack', async () => {
    const errors: Array<[Record<string, unknown>, string | undefined]> = [];
    const logger: Logger = { ...silentLogger, error: (obj, msg) => void errors.push([obj as Record<string, unknown>, msg]), child: () => logger };
    const { store, setDown, setRefusing } = bucketOutage(fsStore, settings.store.buckets.processed);
    setRefusing(true);
    service = await startInferenceService(settings, { store, logger });
    const refused = await postJson(`${service.url}/predict`, {});
    setRefusing(false);
    setDown(true);
    const down = await postJson(`${service.url}/predict`, {});
    for (const [answer, cause] of [[refused, 'FLTS_STORE_AUTH_FAILED'], [down, 'FLTS_STORE_UNAVAILABLE']] as const) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('5');
      expect(answer.json).toMatchObject({
        code: 'FLTS_SERVE_TEST_DATA_UNAVAILABLE',
        message: `The stored test data of run good cannot be read from the object store now (${cause}); retry later, or send the rows to forecast as data.`,
      });
      const text = JSON.stringify(answer.json);
      expect({ endpoint: text.includes('minio.internal'), key: text.includes(ACCESS_KEY_ID) }).toEqual({ endpoint: false, key: false });
    }
    expect(errors.map(([fields, msg]) => [msg, fields.code, fields.cause])).toEqual([
      ['request_failed', 'FLTS_SERVE_TEST_DATA_UNAVAILABLE', `FLTS_STORE_AUTH_FAILED: S3 endpoint ${ENDPOINT} refused the credentials of access key id '${ACCESS_KEY_ID}' (SignatureDoesNotMatch).`],
      ['request_failed', 'FLTS_SERVE_TEST_DATA_UNAVAILABLE', `FLTS_STORE_UNAVAILABLE: S3 endpoint ${ENDPOINT} is unavailable (ECONNREFUSED).`],
    ]);
    expect(errors.filter(([fields]) => !stackFree(fields))).toEqual([]);
    // The read is tried again once the store is back.
    setDown(false);
    expect(await postJson(`${service.url}/predict`, {})).toMatchObject({ status: 200, json: { source: 'stored-test-data' } });
  });

  it('still refuses at once a pinned run that does not exist', async () => {
    await expect(startInferenceService({ ...settings, serve: { ...settings.serve, runId: 'missing' } }, { store: fsStore })).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
  });
});

describe('serve > stopping while the store does not answer', () => {
  let root: string;
  let fsStore: ObjectStore;
  let settings: Settings;

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-stop-'));
    fsStore = createFsStore(root);
    const defaults = defaultSettings();
    settings = {
      ...defaults,
      serve: { ...defaults.serve, port: 0, pollIntervalMs: 0, shutdownWritesTimeoutMs: 200, predictionLog: { ...defaults.serve.predictionLog, flushIntervalMs: 3_600_000 } },
    };
    await addLoadableRun(fsStore, settings, fakeRun('good', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'));
    await promote({ runId: 'good', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store: fsStore });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('gives up the last writes after serve.shutdownWritesTimeoutMs and says how many prediction records were not written', async () => {
    const errors: Array<[object, string | undefined]> = [];
    const logger: Logger = { ...silentLogger, error: (obj, msg) => errors.push([obj, msg]), child: () => logger };
    const { store, goAway } = silencingStore(fsStore);
    const service = await startInferenceService(settings, { store, logger });
    await service.holder.reloadFromPointer();
    for (let i = 0; i < 3; i++) {
      expect((await postJson(`${service.url}/predict`, { data: { time: ['2024-01-01 00:00:00', '2024-01-01 00:02:00', '2024-01-01 00:04:00'], down: [1.5, 2.5, 3.5] } })).status).toBe(200);
    }
    goAway();
    // Before, the stop waited on the last flush for as long as the store kept it: here, for good.
    const report = await service.close();
    expect(report.unwrittenRecords).toBe(3);
    expect(report.unfinished).toContain('prediction-log');
    expect(errors).toEqual([[expect.objectContaining({ unwritten_records: 3, unfinished: report.unfinished, timeout_ms: 200 }), 'serve_stop_unwritten']]);
    const error = unwrittenAtStop(report, 200, store.location);
    expect(error).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', details: { unwrittenRecords: 3 } });
    expect(exitCodeFor(error)).toBe(6);
    expect(error.message).toMatch(/^Stopped without writing 3 prediction records (and the live state )?to the store at .+: it did not take them within 200 ms \(serve\.shutdownWritesTimeoutMs\)\.$/);
  });

  it('says the store refused the last writes when it answered with a refusal before the time ran out', async () => {
    const warnings: Array<[object, string | undefined]> = [];
    const logger: Logger = { ...silentLogger, warn: (obj, msg) => warnings.push([obj, msg]), child: () => logger };
    const { store, setDown } = outageStore(fsStore);
    const service = await startInferenceService({ ...settings, serve: { ...settings.serve, shutdownWritesTimeoutMs: 60_000 } }, { store, logger });
    await service.holder.reloadFromPointer();
    for (let i = 0; i < 2; i++) {
      expect((await postJson(`${service.url}/predict`, { data: { time: ['2024-01-01 00:00:00', '2024-01-01 00:02:00', '2024-01-01 00:04:00'], down: [1.5, 2.5, 3.5] } })).status).toBe(200);
    }
    setDown(true);
    const report = await service.close();
    expect(report).toEqual({ unwrittenRecords: 2, unfinished: [], requestsDrained: 0, requestsCut: 0, grpcCallsCut: 0, grpcCallsDrained: 0 });
    // One line with the code and the store's message: a stack told nothing more, at every write of an outage.
    expect(warnings.filter(([, msg]) => msg === 'prediction_log_write_failed').map(([fields]) => fields)).toEqual([
      { code: 'FLTS_STORE_UNAVAILABLE', err: `S3 endpoint ${ENDPOINT} is unavailable (ECONNREFUSED).`, records: 2 },
    ]);
    const error = unwrittenAtStop(report, 60_000, store.location);
    expect(exitCodeFor(error)).toBe(6);
    expect(error.message).toMatch(/^Stopped without writing 2 prediction records to the store at .+: it refused them \(the warnings logged before say why\)\.$/);
  });

  it('stops with nothing to report when the last writes are taken', async () => {
    // Writes that are taken must be reported taken: 200 ms is the give-up of the tests above, which a loaded
    // machine can spend on the live-state write alone; only a hang exceeds this one.
    const service = await startInferenceService({ ...settings, serve: { ...settings.serve, shutdownWritesTimeoutMs: 60_000 } }, { store: fsStore });
    await service.holder.reloadFromPointer();
    expect((await postJson(`${service.url}/predict`, { data: { time: ['2024-01-01 00:00:00', '2024-01-01 00:02:00', '2024-01-01 00:04:00'], down: [1.5, 2.5, 3.5] } })).status).toBe(200);
    expect(await service.close()).toEqual({ unwrittenRecords: 0, unfinished: [], requestsDrained: 0, requestsCut: 0, grpcCallsCut: 0, grpcCallsDrained: 0 });
    expect((await fsStore.list(settings.store.buckets.inferenceLogs)).length).toBe(1);
  });
});
