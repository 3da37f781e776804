import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { silentLogger, type Logger } from '../logger.js';
import { listRunRecords } from '../registry/run-store.js';
import { leaseKey, readLease } from '../registry/work-lease.js';
import { createFsStore } from '../storage/fs-store.js';
import { withServer } from '../tracking/tracking-server.fixture.js';
import { addProcessedData } from '../workflows/loadable-run.fixture.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { encodeTrainClaim } from '../bus/messages.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import { syncRunsToTracking } from '../workflows/sync-runs-to-tracking.js';
import { createMirrorQueue } from './mirror-queue.js';
import { createMlflowServers } from '../tracking/mlflow-servers.js';
import { trackingClientFor } from '../tracking/tracking-deps.js';
import { roleTracking } from './role-tracking.js';
import { createSerialQueue } from './serial-queue.js';
import { mirrorTrainedRun, reconcileTraining, type TrainerContext } from './trainer-reconciler.js';
import { startTrainerRole } from './trainer-role.js';
import { startPromoterRole } from './promoter-role.js';
import { scopedPointerKey } from '../registry/pointers.js';
import { putJson } from '../storage/json-objects.js';
import { historyRecord } from '../../../test/helpers/promotion-record.js';

const HASH = 'f'.repeat(64);
let root: string;
let bus: MessageBus;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-role-tracking-'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/** Settings whose MLflow is `uri`, given up on quickly (one try of `timeoutMs`, a second unless given). */
const trackedAt = (uri: string, timeoutMs = 1000) => resolveSettings({ env: { INPUT_SEQ_LEN: '4', MLFLOW_TRACKING_URI: uri, FLTS_MLFLOW_TIMEOUT_MS: String(timeoutMs), FLTS_MLFLOW_RETRIES: '0' } }).settings;

/** `settings` for a trainer of NAIVE alone that resyncs only as it starts: what it trains and mirrors is the startup's. */
function naiveAtStartupOnly(settings: Settings): Settings {
  settings.daemon.trainerModels = ['NAIVE'];
  settings.daemon.resyncIntervalMs = 86_400_000;
  return settings;
}

/** A logger keeping each line's message and fields. */
function recordingLogger(lines: Array<{ level: string; message: string; fields: Record<string, unknown> }>): Logger {
  const at = (level: string) => (fields: object, message?: string) => void lines.push({ level, message: message ?? '', fields: fields as Record<string, unknown> });
  const logger: Logger = { ...silentLogger, info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

/** The samples of flts_daemon_tracking_failures_total, as `role code value` lines. */
async function trackingFailures(metrics: ReturnType<typeof createDaemonMetrics>): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.startsWith('flts_daemon_tracking_failures_total{'))
    .map((line) => line.replace(/^flts_daemon_tracking_failures_total\{role="(\w+)",code="(\w+)"\} /, '$1 $2 '));
}

/** A trainer tracked at `uri`, with processed data to train on; `logger` and `signal` default to silent and never. */
async function trackedTrainer(uri: string, options: { logger?: Logger; signal?: AbortSignal } = {}) {
  const settings = trackedAt(uri);
  const store = createFsStore(path.join(root, 'store'));
  await addProcessedData(store, settings, HASH);
  const metrics = createDaemonMetrics({ processMetrics: false });
  const signal = options.signal ?? new AbortController().signal;
  const base = { settings, store, bus, logger: options.logger ?? silentLogger, metrics, owner: 'daemon', signal };
  const mirrors = createMirrorQueue((runId, mirrorSignal) => mirrorTrainedRun(base, runId, mirrorSignal), { signal, onError: (_runId, error) => { throw error; } });
  const context: TrainerContext = { ...base, queue: createSerialQueue(), mirrors };
  return { settings, store, metrics, context };
}

/** MLflow as far as a mirror needs it: an experiment, no runs yet. */
const plausible = (url: string): object => (url.includes('/experiments/') ? { experiment: { experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' }, experiment_id: '1' } : url.includes('/runs/search') ? { runs: [] } : {});

describe('core > daemon > role tracking', () => {
  it("gives every role's MLflow clients the daemon's server state: an outage, or a server without logged models, is told once per daemon, not at each sync", () => {
    const settings = trackedAt('http://127.0.0.1:19309');
    const context = { settings, logger: silentLogger, metrics: createDaemonMetrics({ processMetrics: false }), trackingServers: createMlflowServers() };
    const [trainer, promoter] = ['trainer', 'promoter'].map((role) => trackingClientFor(settings, roleTracking(context, role, new AbortController().signal)));
    expect(trainer.server).toBe(promoter.server);
    expect(trackingClientFor(settings, roleTracking({ ...context, trackingServers: createMlflowServers() }, 'trainer', new AbortController().signal)).server).not.toBe(trainer.server);
  });

  it('counts an MLflow call a role gives up on in flts_daemon_tracking_failures_total, the run trained regardless', async () => {
    await withServer(
      (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>Welcome to nginx!</html>'),
      async (uri) => {
        const { settings, store, metrics, context } = await trackedTrainer(uri);
        expect((await reconcileTraining(context, { configHash: HASH, modelType: 'NAIVE' }, context.signal)).result).toBe('trained');
        expect((await listRunRecords(store, settings, { configHash: HASH })).map((run) => run.status)).toEqual(['SUCCESS']);
        await context.mirrors.idle();
        const counted = await trackingFailures(metrics);
        expect(counted.find((line) => line.startsWith('trainer FLTS_TRACKING_UNAVAILABLE '))).toMatch(/ [1-9]\d*$/);
      },
    );
  });

  it('mirrors a trained run after the training returned, lease released and serial queue free: a hanging MLflow holds neither the claim nor the next training', async () => {
    const held = new Set<ServerResponse>();
    let hanging = true;
    let mirroring!: () => void;
    const mirrorStarted = new Promise<void>((resolve) => (mirroring = resolve));
    await withServer(
      (_request, response) => {
        if (!hanging) return void response.writeHead(503).end();
        held.add(response);
        mirroring();
      },
      async (uri) => {
        const { settings, store, metrics, context } = await trackedTrainer(uri);
        expect((await reconcileTraining(context, { configHash: HASH, modelType: 'NAIVE' }, context.signal)).result).toBe('trained');
        // Returned before the mirror gave up on the server (nothing counted yet), the run trained and its lease gone.
        expect((await trackingFailures(metrics)).filter((line) => !line.endsWith(' 0'))).toEqual([]);
        expect((await listRunRecords(store, settings, { configHash: HASH })).map((run) => run.status)).toEqual(['SUCCESS']);
        expect(await readLease(store, settings, leaseKey('train', HASH, 'NAIVE'))).toBeUndefined();
        await mirrorStarted;
        expect(await context.queue.run(async () => 'the next training')).toBe('the next training');

        hanging = false;
        for (const response of held) response.writeHead(503).end();
        await context.mirrors.idle();
        expect((await trackingFailures(metrics)).filter((line) => !line.endsWith(' 0'))).toEqual(['trainer FLTS_TRACKING_UNAVAILABLE 1']);
      },
    );
  });

  it('counts a run the mirror could not write, which the mirror reports in its result rather than failing', async () => {
    await withServer(
      // Everything answers as MLflow does, but the run it creates has no artifact location the mirror can write to.
      (request, response) => {
        const run = { info: { run_id: 'r1', experiment_id: '1', status: 'RUNNING' }, data: {} };
        const body = /\/runs\/(create|get)/.test(request.url ?? '') ? { run } : plausible(request.url ?? '');
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      },
      async (uri) => {
        const { metrics, context } = await trackedTrainer(uri);
        expect((await reconcileTraining(context, { configHash: HASH, modelType: 'NAIVE' }, context.signal)).result).toBe('trained');
        await context.mirrors.idle();
        expect((await trackingFailures(metrics)).filter((line) => !line.endsWith(' 0'))).toEqual(['trainer FLTS_TRACKING_REJECTED 1']);
      },
    );
  });


  it.each([
    ['at its first call', () => true],
    ['while the run is created', (url: string) => url.includes('/runs/create')],
  ])('does not count nor warn of an MLflow call left because the daemon stopped %s', async (_when, stallsOn: (url: string) => boolean) => {
    const stop = new AbortController();
    const stalled = new Set<ServerResponse>();
    await withServer(
      // The stop comes while the trainer's mirror waits on the server for an answer that never comes.
      (request, response) => {
        if (!stallsOn(request.url ?? '')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(plausible(request.url ?? '')));
        stalled.add(response);
        stop.abort();
      },
      async (uri) => {
        const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
        const { metrics, context } = await trackedTrainer(uri, { logger: recordingLogger(lines), signal: stop.signal });
        await reconcileTraining(context, { configHash: HASH, modelType: 'NAIVE' }, stop.signal).catch(() => undefined);
        await context.mirrors.idle();
        expect(stalled.size).toBeGreaterThan(0);
        expect(lines.filter((line) => line.level !== 'info' && /mlflow/i.test(line.message))).toEqual([]);
        expect((await trackingFailures(metrics)).filter((line) => !line.endsWith(' 0'))).toEqual([]);
      },
    );
  });
  it('mirrors at its resync a run MLflow lacks, with no claim and nothing to train: the mirror an outage cut short is not left for the next training', async () => {
    // Trained while MLflow answered with a proxy's page: SUCCESS in the registry, mirrored nowhere.
    const { settings, store } = await withServer(
      (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>Welcome to nginx!</html>'),
      async (uri) => {
        const trainer = await trackedTrainer(uri);
        expect((await reconcileTraining(trainer.context, { configHash: HASH, modelType: 'NAIVE' }, trainer.context.signal)).result).toBe('trained');
        await trainer.context.mirrors.idle();
        return trainer;
      },
    );
    const [run] = await listRunRecords(store, settings, { configHash: HASH });
    expect(run.status).toBe('SUCCESS');

    let created!: (body: string) => void;
    const runCreated = new Promise<string>((resolve) => (created = resolve));
    await withServer(
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          if (request.url?.includes('/runs/create') && body.includes(run.run_id)) created(body);
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(plausible(request.url ?? '')));
        });
      },
      async (uri) => {
        const tracked = naiveAtStartupOnly(trackedAt(uri));
        const role = await startTrainerRole({ settings: tracked, store, bus, logger: silentLogger, metrics: createDaemonMetrics({ processMetrics: false }), owner: 'trainer-b', signal: new AbortController().signal });
        try {
          // The startup resync finds the run trained (no training, no notice) and mirrors what MLflow lacks.
          expect(await runCreated).toContain(run.run_id);
        } finally {
          await role.stop();
        }
        expect((await listRunRecords(store, settings, { configHash: HASH })).map((record) => record.run_id)).toEqual([run.run_id]);
      },
    );
  });

  it('answers a claim while MLflow holds its run\'s mirror, stops with the mirror in flight, and leaves the run to the next sync', async () => {
    const held = new Set<ServerResponse>();
    let mirroring!: () => void;
    const mirrorStarted = new Promise<void>((resolve) => (mirroring = resolve));
    let handled!: (outcome: string) => void;
    const claimHandled = new Promise<string>((resolve) => (handled = resolve));
    const observed = createFsBus({ root: path.join(root, 'observed-bus'), pollIntervalMs: 10, onDelivery: (event) => handled(event.outcome) });
    await withServer(
      // MLflow that accepts every call and never answers.
      (_request, response) => {
        held.add(response);
        mirroring();
      },
      async (uri) => {
        // Five seconds a call: the mirror gives up on it only well after the claim's effect.
        const settings = naiveAtStartupOnly(trackedAt(uri, 5000));
        const store = createFsStore(path.join(root, 'store'));
        const metrics = createDaemonMetrics({ processMetrics: false });
        const role = await startTrainerRole({ settings, store, bus: observed, logger: silentLogger, metrics, owner: 'trainer-a', signal: new AbortController().signal });
        try {
          await addProcessedData(store, settings, HASH);
          await observed.publish(settings.bus.topics.trainingData, encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 10, configHash: HASH, identifier: '' }));
          // The claim is handled (and committed) with its run SUCCESS, before the mirror gave up on the server.
          expect(await claimHandled).toBe('handled');
          expect((await trackingFailures(metrics)).filter((line) => !line.endsWith(' 0'))).toEqual([]);
          await mirrorStarted;
        } finally {
          // The role's own stop, the daemon's signal untouched: the mirror is aborted, not waited for.
          await role.stop();
          await observed.close();
        }
        expect(held.size).toBeGreaterThan(0);
        expect([...held].every((response) => !response.headersSent)).toBe(true);
        expect((await trackingFailures(metrics)).filter((line) => !line.endsWith(' 0'))).toEqual([]);

        // The run is pending in the registry, and the next sync mirrors it.
        const [run] = await listRunRecords(store, settings, { configHash: HASH });
        expect(run.status).toBe('SUCCESS');
        const mlflow = new MemoryMlflow();
        const synced = await syncRunsToTracking(store, settings, {}, { client: mlflow.client });
        expect(synced.status).toBe('ok');
        expect(mlflow.created).toEqual([run.run_id]);
      },
    );
  });

  it('has the promoter write, at its own resync, the MLflow mark a promotion made while MLflow was down left out: no tracked trainer is needed for it', async () => {
    // MLflow as a promotion mark meets it: run naive-1 mirrored as m1, version 1 of flts-global made of it.
    const asked: string[] = [];
    const aliases: unknown[] = [];
    const answer = (url: string): object => {
      if (url.includes('/experiments/search')) return { experiments: [{ experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' }] };
      if (url.includes('/runs/search')) return { runs: [{ info: { run_id: 'm1', experiment_id: '1', artifact_uri: 'mlflow-artifacts:/1/m1/artifacts' }, data: { params: [], metrics: [], tags: [{ key: 'flts.run_id', value: 'naive-1' }, { key: 'flts.mirror_complete', value: 'true' }] } }] };
      if (url.includes('/registered-models/get')) return { registered_model: { name: 'flts-global' } };
      if (url.includes('/model-versions/search')) return { model_versions: [{ name: 'flts-global', version: '1', run_id: 'm1' }] };
      return {};
    };
    await withServer(
      (request, response) => {
        let body = '';
        request.on('data', (chunk) => (body += chunk)).on('end', () => {
          asked.push(`${request.method} ${request.url?.split('?')[0]}`);
          if (request.url?.startsWith('/api/2.0/mlflow/registered-models/alias') && request.method === 'POST') aliases.push(JSON.parse(body));
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(request.url ?? '')));
        });
      },
      async (uri) => {
        const settings = trackedAt(uri);
        const store = createFsStore(path.join(root, 'store'));
        // The promotion is in service; its mark was never recorded (MLflow was down when it was made).
        await putJson(store, settings.store.buckets.promotion, scopedPointerKey(settings), { ...historyRecord('naive-1', null, 1), source: 'auto' });
        const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
        const metrics = createDaemonMetrics({ processMetrics: false });
        const stopping = new AbortController();
        const role = await startPromoterRole({ settings, store, bus, logger: recordingLogger(lines), metrics, owner: 'promoter-a', signal: stopping.signal });
        try {
          await expect.poll(() => lines.find((line) => line.message === 'mlflow_promotion_mark_written')?.fields, { timeout: 15_000 }).toMatchObject({ run_id: 'naive-1', marker: 'alias' });
          expect(aliases).toEqual([{ name: 'flts-global', alias: 'champion', version: '1' }]);
          expect(await trackingFailures(metrics)).toContain('promoter FLTS_TRACKING_UNAVAILABLE 0');
        } finally {
          stopping.abort();
          await role.stop();
        }
      },
    );
    expect(asked).toContain('POST /api/2.0/mlflow/registered-models/alias');
  });

  it('says on /metrics and in its /status how many runs MLflow still lacks and how long the oldest has waited, while MLflow is down', async () => {
    await withServer(
      (_request, response) => response.writeHead(503).end(),
      async (uri) => {
        const settings = naiveAtStartupOnly(trackedAt(uri));
        const store = createFsStore(path.join(root, 'store'));
        await addProcessedData(store, settings, HASH);
        const metrics = createDaemonMetrics({ processMetrics: false });
        let clock = 5_000;
        let wallNow = Date.now();
        // The startup resync trains the processed data, and its mirror finds MLflow down.
        const role = await startTrainerRole({ settings, store, bus, logger: silentLogger, metrics, owner: 'trainer-lag', signal: new AbortController().signal, monotonic: () => clock, wall: () => wallNow });
        const backlogLines = async () => (await metrics.registry.metrics()).split('\n').filter((line) => /^flts_daemon_tracking_(unmirrored_runs|oldest_unmirrored_seconds)\{/.test(line));
        try {
          await vi.waitFor(async () => expect(await trackingFailures(metrics)).toContain('trainer FLTS_TRACKING_UNAVAILABLE 2'), { timeout: 20_000, interval: 20 });
          // Aged from the run's finished_at once a sync has read it, whatever this process's own clock says.
          const [run] = await listRunRecords(store, settings);
          clock += 1_000;
          wallNow = Date.parse(run.timings.finished_at ?? '') + 90_000;
          expect(await backlogLines()).toEqual(['flts_daemon_tracking_unmirrored_runs{role="trainer"} 1', 'flts_daemon_tracking_oldest_unmirrored_seconds{role="trainer"} 90']);
          expect(role.status()).toEqual({ models: ['NAIVE'], training: [], mlflow_backlog: { runs: 1, oldest_age_seconds: 90 } });
        } finally {
          await role.stop();
        }
      },
    );
  });

  it('counts the runs MLflow lacks that another process trained, from the store, when the trainer starts while MLflow is down', async () => {
    const store = createFsStore(path.join(root, 'store'));
    // Trained without tracking (as `flts train` during an outage, or another trainer): a run of the registry, no mirror.
    const untracked = naiveAtStartupOnly(resolveSettings({ env: { INPUT_SEQ_LEN: '4' } }).settings);
    await addProcessedData(store, untracked, HASH);
    const other = await startTrainerRole({ settings: untracked, store, bus, logger: silentLogger, metrics: createDaemonMetrics({ processMetrics: false }), owner: 'trainer-other', signal: new AbortController().signal });
    try {
      await vi.waitFor(async () => expect((await listRunRecords(store, untracked)).map((run) => run.status)).toEqual(['SUCCESS']), { timeout: 20_000, interval: 20 });
    } finally {
      await other.stop();
    }
    await withServer(
      (_request, response) => response.writeHead(503).end(),
      async (uri) => {
        const settings = naiveAtStartupOnly(trackedAt(uri));
        const metrics = createDaemonMetrics({ processMetrics: false });
        let clock = 5_000;
        // An hour after the other process finished it by its clock: the lag a restart used to count from zero again.
        const [run] = await listRunRecords(store, settings);
        const wall = (): number => Date.parse(run.timings.finished_at ?? '') + 3_600_000;
        // Nothing to train: the startup's mirror of the backlog alone finds MLflow down.
        const role = await startTrainerRole({ settings, store, bus, logger: silentLogger, metrics, owner: 'trainer-restarted', signal: new AbortController().signal, monotonic: () => clock, wall });
        try {
          await vi.waitFor(() => expect(role.status()).toMatchObject({ mlflow_backlog: { runs: 1 } }), { timeout: 20_000, interval: 20 });
          clock += 60_000;
          expect(role.status()).toEqual({ models: ['NAIVE'], training: [], mlflow_backlog: { runs: 1, oldest_age_seconds: 3_600 } });
          expect(await metrics.registry.metrics()).toMatch(/^flts_daemon_tracking_oldest_unmirrored_seconds\{role="trainer"\} 3600$/m);
          expect(await metrics.registry.metrics()).toMatch(/^flts_daemon_tracking_unmirrored_runs\{role="trainer"\} 1$/m);
        } finally {
          await role.stop();
        }
      },
    );
  });

  it('says nothing of an MLflow backlog without a tracking URI', async () => {
    const settings = naiveAtStartupOnly(resolveSettings({ env: { INPUT_SEQ_LEN: '4' } }).settings);
    const metrics = createDaemonMetrics({ processMetrics: false });
    const role = await startTrainerRole({ settings, store: createFsStore(path.join(root, 'store')), bus, logger: silentLogger, metrics, owner: 'trainer-untracked', signal: new AbortController().signal });
    try {
      expect(role.status()).toEqual({ models: ['NAIVE'], training: [] });
      expect(await metrics.registry.metrics()).not.toMatch(/^flts_daemon_tracking_unmirrored_runs\{/m);
    } finally {
      await role.stop();
    }
  });
});
