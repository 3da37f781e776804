import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { resolveSettings } from '../config/settings.js';
import { silentLogger, type Logger } from '../logger.js';
import { listRunRecords } from '../registry/run-store.js';
import { leaseKey, readLease } from '../registry/work-lease.js';
import { createFsStore } from '../storage/fs-store.js';
import { withServer } from '../tracking/tracking-server.fixture.js';
import { addProcessedData } from '../workflows/loadable-run.fixture.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { createSerialQueue } from './serial-queue.js';
import { reconcileTraining, type TrainerContext } from './trainer-reconciler.js';

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

/** Settings whose MLflow is `uri`, given up on quickly (one try of a second). */
const trackedAt = (uri: string) => resolveSettings({ env: { INPUT_SEQ_LEN: '4', MLFLOW_TRACKING_URI: uri, FLTS_MLFLOW_TIMEOUT_MS: '1000', FLTS_MLFLOW_RETRIES: '0' } }).settings;

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
  const context: TrainerContext = { settings, store, bus, logger: options.logger ?? silentLogger, metrics, owner: 'daemon', signal, queue: createSerialQueue() };
  return { settings, store, metrics, context };
}

/** MLflow as far as a mirror needs it: an experiment, no runs yet. */
const plausible = (url: string): object => (url.includes('/experiments/') ? { experiment: { experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' }, experiment_id: '1' } : url.includes('/runs/search') ? { runs: [] } : {});

describe('core > daemon > role tracking', () => {
  it('counts an MLflow call a role gives up on in flts_daemon_tracking_failures_total, the run trained regardless', async () => {
    await withServer(
      (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>Welcome to nginx!</html>'),
      async (uri) => {
        const { settings, store, metrics, context } = await trackedTrainer(uri);
        expect((await reconcileTraining(context, { configHash: HASH, modelType: 'NAIVE' }, context.signal)).result).toBe('trained');
        expect((await listRunRecords(store, settings, { configHash: HASH })).map((run) => run.status)).toEqual(['SUCCESS']);
        const counted = await trackingFailures(metrics);
        expect(counted.find((line) => line.startsWith('trainer FLTS_TRACKING_UNAVAILABLE '))).toMatch(/ [1-9]\d*$/);
      },
    );
  });

  it('mirrors a trained run with the model\'s lease released and the serial queue free: a hanging MLflow holds neither for the next training', async () => {
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
        const outcome = reconcileTraining(context, { configHash: HASH, modelType: 'NAIVE' }, context.signal);
        await mirrorStarted;
        // The run is trained and its lease gone while the mirror waits on the server; the queue takes the next task.
        expect((await listRunRecords(store, settings, { configHash: HASH })).map((run) => run.status)).toEqual(['SUCCESS']);
        expect(await readLease(store, settings, leaseKey('train', HASH, 'NAIVE'))).toBeUndefined();
        expect(await context.queue.run(async () => 'the next training')).toBe('the next training');

        hanging = false;
        for (const response of held) response.writeHead(503).end();
        expect((await outcome).result).toBe('trained');
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
        expect(stalled.size).toBeGreaterThan(0);
        expect(lines.filter((line) => line.level !== 'info' && /mlflow/i.test(line.message))).toEqual([]);
        expect((await trackingFailures(metrics)).filter((line) => !line.endsWith(' 0'))).toEqual([]);
      },
    );
  });
});
