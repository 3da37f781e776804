import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus, ReceivedMessage } from '../bus/message-bus.js';
import { decodePromotion, encodeTrainingEvent } from '../bus/messages.js';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { sealRunRecord } from '../registry/run-record-seal.js';
import type { RunRecord } from '../registry/run-record.js';
import { saveRunRecord } from '../registry/run-store.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { promotionScope, readPromotionPointer, scopedPointerKey } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { autoPromote } from '../workflows/auto-promote.js';
import { addLoadableRun } from '../workflows/loadable-run.fixture.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { createDamagedRunReports, reconcilePromotion } from './promoter-reconciler.js';
import { acquireLease, leaseKey, readLease } from '../registry/work-lease.js';
import { startPromoterRole } from './promoter-role.js';
import { withServer } from '../tracking/tracking-server.fixture.js';
import type { RoleContext } from './role-registry.js';

const HASH = 'd'.repeat(64);
const settings = defaultSettings();
settings.daemon.expectedModelTypes = ['NAIVE'];
let root: string;
let bus: MessageBus;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-promoter-'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/**
 * A monotonic clock that moves a whole `leaseStaleMs` with each reading: a lease nobody beats is fresh at its first
 * sighting and stale at the next, however slowly the host runs the polls between them.
 */
function sightingsClock(staleMs: number): () => number {
  let now = 0;
  return () => (now += staleMs);
}

function promoter(store: ObjectStore): RoleContext {
  return { settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'promoter-a', signal: new AbortController().signal };
}

/** Saves `run` sealed as training seals it, then its test RMSE edited by hand, the seal left as it was. */
async function addEditedRun(store: ObjectStore, run: RunRecord): Promise<void> {
  const sealed = sealRunRecord(run);
  await saveRunRecord(store, settings, { ...sealed, metrics: { ...sealed.metrics!, test_rmse: 0.0001 } });
}

/** A logger keeping what is logged at warn and info. */
function recordingLogger(): { logger: Logger; warnings: Array<{ fields: Record<string, unknown>; msg?: string }>; infos: Array<{ fields: Record<string, unknown>; msg?: string }> } {
  const warnings: Array<{ fields: Record<string, unknown>; msg?: string }> = [];
  const infos: Array<{ fields: Record<string, unknown>; msg?: string }> = [];
  const logger: Logger = { trace() {}, debug() {}, error() {}, info: (fields, msg) => void infos.push({ fields: fields as Record<string, unknown>, msg }), warn: (fields, msg) => void warnings.push({ fields: fields as Record<string, unknown>, msg }), child: () => logger };
  return { logger, warnings, infos };
}

const leftOutLogs = (warnings: Array<{ fields: Record<string, unknown>; msg?: string }>) =>
  warnings.filter((warning) => warning.msg === 'daemon_promotion_runs_left_out').map((warning) => (warning.fields.runs as Array<{ run_id: string }>).map((run) => run.run_id));

describe('core > daemon > promoter-reconciler', () => {
  it('tells once of a damaged run of the data it waits on, not at every look', async () => {
    const store = createFsStore(path.join(root, 'store'));
    // The only NAIVE run of the data was edited since training: the promoter waits for a NAIVE run.
    await addEditedRun(store, fakeRun('naive-edited', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH));
    const { logger, warnings, infos } = recordingLogger();
    const damaged = createDamagedRunReports();
    for (let look = 0; look < 3; look++) {
      expect(await reconcilePromotion({ ...promoter(store), logger }, HASH, new AbortController().signal, damaged)).toMatchObject({ result: 'waiting', missing: ['NAIVE'] });
    }
    expect(leftOutLogs(warnings)).toEqual([['naive-edited']]);
    expect(warnings[0].fields).toMatchObject({ config_hash: HASH, runs: [{ run_id: 'naive-edited', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('edited since training') }] });
    // The step's own line stays what it was.
    expect(infos.filter((info) => info.msg === 'daemon_promotion_waiting')).toHaveLength(3);
    for (const info of infos) expect(info.fields).not.toHaveProperty('corrupt_runs');
  });

  it('tells once of a damaged run found after the data was promoted, and not again of one its promotion named', async () => {
    const store = createFsStore(path.join(root, 'store'));
    const run = fakeRun('naive-6', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
    await addLoadableRun(store, settings, { ...run, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } });
    await addEditedRun(store, fakeRun('lstm-edited', 'LSTM', { rmse: 0.2, mae: 0.2, mse: 0.04 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH));
    const { logger, warnings } = recordingLogger();
    const damaged = createDamagedRunReports();
    const look = () => reconcilePromotion({ ...promoter(store), logger }, HASH, new AbortController().signal, damaged);
    expect(await look()).toMatchObject({ result: 'promoted', record: { run_id: 'naive-6' } });
    // The promotion itself named the run it chose without.
    expect(warnings.filter((warning) => warning.msg === 'promotion_runs_left_out')).toHaveLength(1);
    expect(await look()).toMatchObject({ result: 'already-promoted', corrupt_runs: [{ run_id: 'lstm-edited' }] });
    expect(leftOutLogs(warnings)).toEqual([]);
    // Another run edited later is told of at the next look, once.
    await addEditedRun(store, fakeRun('gru-edited', 'GRU', { rmse: 0.2, mae: 0.2, mse: 0.04 }, '2026-01-01T00:02:00.000Z', 'SUCCESS', HASH));
    expect(await look()).toMatchObject({ result: 'already-promoted' });
    expect(await look()).toMatchObject({ result: 'already-promoted' });
    expect(leftOutLogs(warnings)).toEqual([['gru-edited']]);
  });

  it('remembers a bounded number of damaged runs told of, forgetting the oldest first', () => {
    const { logger, warnings } = recordingLogger();
    const damaged = createDamagedRunReports(2);
    const corrupt = (...ids: string[]) => ids.map((run_id) => ({ run_id, code: 'FLTS_RUN_CORRUPT', message: `Run ${run_id} is damaged` }));
    damaged.report(logger, HASH, corrupt('a', 'b'));
    damaged.report(logger, HASH, corrupt('a', 'b', 'c'));
    damaged.report(logger, HASH, corrupt('b', 'c'));
    // a was forgotten when c came: told of again.
    damaged.report(logger, HASH, corrupt('a', 'c'));
    expect(leftOutLogs(warnings)).toEqual([['a', 'b'], ['c'], ['a']]);
  });

  it('moves the pointers of a promotion stopped after its history record, and announces it, when the step runs again', async () => {
    const store = createFsStore(path.join(root, 'store'));
    const run = fakeRun('naive-1', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
    await addLoadableRun(store, settings, { ...run, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } });
    // The store goes away right after the history record: no pointer is written.
    let away = false;
    const flaky: ObjectStore = {
      ...store,
      put: async (bucket, key, ...rest) => {
        if (away || key === scopedPointerKey(settings)) {
          away = true;
          throw new FltsError('FLTS_STORE_UNAVAILABLE', 'The store is away.');
        }
        return store.put(bucket, key, ...rest);
      },
    };
    await expect(reconcilePromotion(promoter(flaky), HASH, new AbortController().signal)).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    expect(await listPromotionHistory(store, settings)).toHaveLength(1);
    expect(await readPromotionPointer(store, settings)).toBeUndefined();

    const selected: ReceivedMessage[] = [];
    const reader = await bus.subscribe({ group: 'replica', topics: [settings.bus.topics.modelSelected] }, async (message) => void selected.push(message));
    // The retry (redelivery or resync) finds the promotion made: it must not leave replicas without the run.
    const outcome = await reconcilePromotion(promoter(store), HASH, new AbortController().signal);
    expect(outcome.result).toBe('already-promoted');
    expect(await readPromotionPointer(store, settings)).toMatchObject({ run_id: 'naive-1', source: 'auto' });
    expect(await listPromotionHistory(store, settings)).toHaveLength(1);
    await expect.poll(() => selected.map((message) => decodePromotion(message).run_id)).toEqual(['naive-1']);
    await reader.stop();
  });

  it('retries the SUCCESS whose promotion could not be announced, and announces it then, instead of committing it', async () => {
    const store = createFsStore(path.join(root, 'store'));
    const fast = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10, retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 } });
    // The broker is away for the promotion's notice, and back for everything after it.
    let refusals = 1;
    const flaky: MessageBus = {
      ...fast,
      publish: async (topic, message) => {
        if (topic === settings.bus.topics.modelSelected && refusals-- > 0) throw new FltsError('FLTS_BUS_UNAVAILABLE', 'The broker is away.');
        return fast.publish(topic, message);
      },
    };
    const stopping = new AbortController();
    const role = await startPromoterRole({ ...promoter(store), bus: flaky, signal: stopping.signal });
    try {
      const selected: ReceivedMessage[] = [];
      const reader = await fast.subscribe({ group: 'replica', topics: [settings.bus.topics.modelSelected] }, async (message) => void selected.push(message));
      const run = fakeRun('naive-2', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
      await addLoadableRun(store, settings, { ...run, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } });
      await fast.publish(settings.bus.topics.modelTraining, encodeTrainingEvent({ status: 'SUCCESS', modelType: 'NAIVE', experiment: 'NonML', configHash: HASH, runId: 'naive-2' }));

      await expect.poll(() => selected.map((message) => decodePromotion(message).run_id), { timeout: 20_000 }).toEqual(['naive-2']);
      expect(await listPromotionHistory(store, settings)).toHaveLength(1);
      await reader.stop();
    } finally {
      stopping.abort();
      await role.stop();
      await fast.close();
    }
  });

  it('announces again the promotion of a promoter that died after its pointers and before its notice, once its lease is seen abandoned', async () => {
    const store = createFsStore(path.join(root, 'store'));
    const quick = { ...settings, daemon: { ...settings.daemon, heartbeatMs: 50 } };
    const run = fakeRun('naive-4', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
    await addLoadableRun(store, quick, { ...run, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } });
    // The first promoter moves the pointers and is killed before its notice reaches the broker: its lease stays, unbeating.
    const work = { step: `promote-${promotionScope(quick)}`, configHash: HASH, modelType: '' };
    const dead = await acquireLease({ store, settings: { ...quick, daemon: { ...quick.daemon, heartbeatMs: 3_600_000 } }, owner: 'promoter-dead', logger: silentLogger }, work, new AbortController().signal);
    expect(dead).toBeDefined();
    const silent: MessageBus = { ...bus, publish: async (topic, message) => (topic === settings.bus.topics.modelSelected ? undefined : bus.publish(topic, message)) };
    const made = await autoPromote(HASH, 'daemon:promoter-dead', quick, { store, bus: silent, logger: silentLogger });
    expect(made).toMatchObject({ result: 'promoted', record: { run_id: 'naive-4' } });
    expect(await readPromotionPointer(store, quick)).toMatchObject({ run_id: 'naive-4' });

    const selected: ReceivedMessage[] = [];
    const reader = await bus.subscribe({ group: 'replica', topics: [settings.bus.topics.modelSelected] }, async (message) => void selected.push(message));
    // The restarted promoter finds the promotion made (its redelivered SUCCESS, or its startup resync).
    const outcome = await reconcilePromotion({ ...promoter(store), settings: quick, monotonic: sightingsClock(quick.daemon.leaseStaleMs) }, HASH, new AbortController().signal);
    expect(outcome.result).toBe('already-promoted');
    await expect.poll(() => selected.map((message) => decodePromotion(message).run_id), { timeout: 20_000 }).toEqual(['naive-4']);
    expect(await readLease(store, quick, leaseKey(work.step, HASH, ''))).toBeUndefined();
    expect(await listPromotionHistory(store, quick)).toHaveLength(1);
    await reader.stop();
    await dead?.release();
  });

  it('announces once a promotion whose promoter was killed between its history record and its pointers, however many looks find it', async () => {
    const store = createFsStore(path.join(root, 'store'));
    const quick = { ...settings, daemon: { ...settings.daemon, heartbeatMs: 50 } };
    const run = fakeRun('naive-6', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
    await addLoadableRun(store, quick, { ...run, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } });
    // The first promoter holds its lease, records the promotion and is killed before its pointers: lease and record stay.
    const work = { step: `promote-${promotionScope(quick)}`, configHash: HASH, modelType: '' };
    const dead = await acquireLease({ store, settings: { ...quick, daemon: { ...quick.daemon, heartbeatMs: 3_600_000 } }, owner: 'promoter-dead', logger: silentLogger }, work, new AbortController().signal);
    expect(dead).toBeDefined();
    const killed: ObjectStore = {
      ...store,
      put: async (bucket, key, ...rest) => {
        if (key === scopedPointerKey(quick)) throw new FltsError('FLTS_STORE_UNAVAILABLE', 'The process is gone.');
        return store.put(bucket, key, ...rest);
      },
    };
    await expect(autoPromote(HASH, 'daemon:promoter-dead', quick, { store: killed, bus, logger: silentLogger })).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    expect(await readPromotionPointer(store, quick)).toBeUndefined();

    const selected: ReceivedMessage[] = [];
    const reader = await bus.subscribe({ group: 'replica', topics: [settings.bus.topics.modelSelected] }, async (message) => void selected.push(message));
    // The restarted promoter looks twice: its startup resync and the SUCCESS the killed one left uncommitted.
    const restarted = { ...promoter(store), settings: quick, monotonic: sightingsClock(quick.daemon.leaseStaleMs) };
    for (let look = 0; look < 2; look++) expect((await reconcilePromotion(restarted, HASH, new AbortController().signal)).result).toBe('already-promoted');
    expect(await readPromotionPointer(store, quick)).toMatchObject({ run_id: 'naive-6' });
    expect(await readLease(store, quick, leaseKey(work.step, HASH, ''))).toBeUndefined();
    // Everything published before this marker has been delivered once it arrives.
    await bus.publish(settings.bus.topics.modelSelected, { key: 'marker', value: '{}' });
    await expect.poll(() => selected.at(-1)?.key, { timeout: 20_000 }).toBe('marker');
    expect(selected.slice(0, -1).map((message) => decodePromotion(message).run_id)).toEqual(['naive-6']);
    expect(await listPromotionHistory(store, quick)).toHaveLength(1);
    await reader.stop();
    await dead?.release();
  });

  it('announces at the next resync a promotion of a resync whose notice the broker refused, with no message left to retry it', async () => {
    const store = createFsStore(path.join(root, 'store'));
    const run = fakeRun('naive-5', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
    await addLoadableRun(store, settings, { ...run, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } });
    let refusals = 1;
    const flaky: MessageBus = {
      ...bus,
      publish: async (topic, message) => {
        if (topic === settings.bus.topics.modelSelected && refusals-- > 0) throw new FltsError('FLTS_BUS_UNAVAILABLE', 'The broker is away.');
        return bus.publish(topic, message);
      },
    };
    // A resync's step (no SUCCESS message behind it, so no redelivery): the pointers move, the notice is refused.
    await expect(reconcilePromotion({ ...promoter(store), bus: flaky }, HASH, new AbortController().signal)).rejects.toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE' });
    expect(await readPromotionPointer(store, settings)).toMatchObject({ run_id: 'naive-5' });

    const selected: ReceivedMessage[] = [];
    const reader = await bus.subscribe({ group: 'replica', topics: [settings.bus.topics.modelSelected] }, async (message) => void selected.push(message));
    // The next resync finds the promotion made; before, the notice was owed for good (its lease was released).
    expect((await reconcilePromotion({ ...promoter(store), bus: flaky }, HASH, new AbortController().signal)).result).toBe('already-promoted');
    await expect.poll(() => selected.map((message) => decodePromotion(message).run_id)).toEqual(['naive-5']);
    expect(await readLease(store, settings, leaseKey(`promote-${promotionScope(settings)}`, HASH, ''))).toBeUndefined();
    // Told once: a later resync announces nothing more.
    expect((await reconcilePromotion({ ...promoter(store), bus: flaky }, HASH, new AbortController().signal)).result).toBe('already-promoted');
    await reader.stop();
    expect(selected).toHaveLength(1);
  });

  it('waits out the lease of a promoter that died instead of answering busy until the next resync, then promotes', async () => {
    const store = createFsStore(path.join(root, 'store'));
    const quick = { ...settings, daemon: { ...settings.daemon, heartbeatMs: 50 } };
    const run = fakeRun('naive-3', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
    await addLoadableRun(store, quick, { ...run, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } });
    // A promoter took the lease and died: it never heartbeats nor releases it.
    const dead = await acquireLease({ store, settings: { ...quick, daemon: { ...quick.daemon, heartbeatMs: 3_600_000 } }, owner: 'promoter-dead', logger: silentLogger }, { step: `promote-${promotionScope(quick)}`, configHash: HASH, modelType: '' }, new AbortController().signal);
    expect(dead).toBeDefined();
    const outcome = await reconcilePromotion({ ...promoter(store), settings: quick, monotonic: sightingsClock(quick.daemon.leaseStaleMs) }, HASH, new AbortController().signal);
    expect(outcome).toMatchObject({ result: 'promoted', record: { run_id: 'naive-3' } });
    await dead?.release();
  });

  it("says in its daemon_promotion_promoted line whether the promotion's MLflow mark was written: the alias, not written (and why), or off", async () => {
    // MLflow as a mark meets it: the run mirrored as m1, version 1 of flts-global made of it.
    const answer = (url: string, runId: string): object => {
      if (url.includes('/experiments/search')) return { experiments: [{ experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' }] };
      if (url.includes('/runs/search')) return { runs: [{ info: { run_id: 'm1', experiment_id: '1', artifact_uri: 'mlflow-artifacts:/1/m1/artifacts' }, data: { params: [], metrics: [], tags: [{ key: 'flts.run_id', value: runId }, { key: 'flts.mirror_complete', value: 'true' }] } }] };
      if (url.includes('/registered-models/get')) return { registered_model: { name: 'flts-global' } };
      if (url.includes('/model-versions/search')) return { model_versions: [{ name: 'flts-global', version: '1', run_id: 'm1' }] };
      return {};
    };
    const promotedLine = async (name: string, uri: string | undefined) => {
      const tracked = structuredClone(settings);
      if (uri) tracked.tracking = { ...tracked.tracking, uri, timeoutMs: 1000, retries: 0 };
      const store = createFsStore(path.join(root, name));
      const run = fakeRun(`naive-${name}`, 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
      await addLoadableRun(store, tracked, { ...run, timings: { ...run.timings, finished_at: '2026-01-01T00:01:00.000Z' } });
      const { logger, infos } = recordingLogger();
      expect(await reconcilePromotion({ ...promoter(store), settings: tracked, logger }, HASH, new AbortController().signal)).toMatchObject({ result: 'promoted' });
      const line = infos.find((info) => info.msg === 'daemon_promotion_promoted');
      return { run_id: line?.fields.record && (line.fields.record as { run_id: string }).run_id, mlflow_mark: line?.fields.mlflow_mark, mlflow_mark_code: line?.fields.mlflow_mark_code };
    };

    expect(await promotedLine('untracked', undefined)).toEqual({ run_id: 'naive-untracked', mlflow_mark: 'off', mlflow_mark_code: undefined });
    expect(await withServer((_request, response) => void response.writeHead(503).end(), (uri) => promotedLine('down', uri))).toEqual({ run_id: 'naive-down', mlflow_mark: 'not_written', mlflow_mark_code: 'FLTS_TRACKING_UNAVAILABLE' });
    const marked = await withServer(
      (request, response) => {
        request.resume().on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(request.url ?? '', 'naive-up'))));
      },
      (uri) => promotedLine('up', uri),
    );
    expect(marked).toEqual({ run_id: 'naive-up', mlflow_mark: 'alias', mlflow_mark_code: undefined });
  });
});
