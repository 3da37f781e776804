import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { defaultSettings, type Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { addLoadableRun, addProcessedData } from '../workflows/loadable-run.fixture.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { startPromoterRole } from './promoter-role.js';
import type { RoleContext, RoleHandle } from './role-registry.js';
import { startTrainerRole } from './trainer-role.js';

const HASH = 'c'.repeat(64);
const OUTAGE = "S3 endpoint http://127.0.0.1:9 did not answer for 10 s (store.s3.idleTimeoutMs) while accessing object 'processed_data.json' in bucket 'processed-data'.";

type Line = { level: string; fields: Record<string, unknown> };

let root: string;
let bus: MessageBus;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-resync-failure-'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/** Which calls of the store fail: all of them, as an S3 endpoint that stopped answering, or only some. */
type Failing = (method: string, args: unknown[]) => boolean;
const EVERY_CALL: Failing = () => true;
/** The data is read; its training or promotion cannot be stored. */
const WRITES: Failing = (method) => /^(put|delete|append|removeEmpty)/.test(method);

/** `store` whose calls `which` names fail with `failure()` once `failing.on` is set. */
function breakable(store: ObjectStore, failure: () => Error, which: Failing = EVERY_CALL): { store: ObjectStore; failing: { on: boolean } } {
  const failing = { on: false };
  const proxy = new Proxy(store, {
    get: (target, key) => {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (failing.on && which(String(key), args) ? Promise.reject(failure()) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { store: proxy, failing };
}

/**
 * Starts `start` on `store`, resyncing every 20 ms, and gives the first `count` lines it writes as `event`, with their
 * level and fields; the role is stopped before it returns.
 */
async function firstLines(start: (context: RoleContext) => Promise<RoleHandle>, settings: Settings, store: ObjectStore, event: string, count: number): Promise<Line[]> {
  settings.daemon.resyncIntervalMs = 20;
  const lines: Line[] = [];
  let enough!: () => void;
  const seen = new Promise<void>((resolve) => (enough = resolve));
  const at = (level: string) => (fields: object, msg?: string) => {
    if (msg !== event || lines.length === count) return;
    lines.push({ level, fields: fields as Record<string, unknown> });
    if (lines.length === count) enough();
  };
  const logger = { ...silentLogger, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
  logger.child = () => logger;
  const controller = new AbortController();
  const role = await start({ settings, store, bus, logger, metrics: createDaemonMetrics({ processMetrics: false }), owner: 'daemon-a', signal: controller.signal });
  try {
    await seen;
    return lines;
  } finally {
    controller.abort();
    await role.stop();
  }
}

const outage = (): Error => new FltsError('FLTS_STORE_UNAVAILABLE', OUTAGE);

describe('core > daemon > a failing resync', () => {
  const roles = [
    { role: 'trainer', start: startTrainerRole, event: 'daemon_trainer_resync_failed' },
    { role: 'promoter', start: startPromoterRole, event: 'daemon_promoter_resync_failed' },
  ] as const;

  for (const { role, start, event } of roles) {
    it(`${role}: says a store outage at startup and at each resync at warn with its code and reason, no stack`, async () => {
      const settings = defaultSettings();
      settings.daemon.trainerModels = ['NAIVE'];
      const { store, failing } = breakable(createFsStore(path.join(root, 'store')), outage);
      failing.on = true;
      const lines = await firstLines(start, settings, store, event, 3);
      expect(lines).toEqual([1, 2, 3].map(() => ({ level: 'warn', fields: { code: 'FLTS_STORE_UNAVAILABLE', reason: OUTAGE } })));
    }, 30_000);

    it(`${role}: keeps any other failure at error with the error itself, stack and all`, async () => {
      const settings = defaultSettings();
      settings.daemon.trainerModels = ['NAIVE'];
      const bug = new TypeError('cannot read properties of undefined');
      const { store, failing } = breakable(createFsStore(path.join(root, 'store')), () => bug);
      failing.on = true;
      const lines = await firstLines(start, settings, store, event, 2);
      expect(lines).toEqual([1, 2].map(() => ({ level: 'error', fields: { err: bug } })));
    }, 30_000);
  }

  it('trainer: says an outage that fails the training of the latest data by its code and reason, naming the model type and data', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    const { store, failing } = breakable(createFsStore(path.join(root, 'store')), outage, WRITES);
    await addProcessedData(store, settings, HASH);
    failing.on = true;
    const lines = await firstLines(startTrainerRole, settings, store, 'daemon_trainer_resync_failed', 2);
    expect(lines).toEqual([1, 2].map(() => ({ level: 'warn', fields: { model_type: 'NAIVE', config_hash: HASH, code: 'FLTS_STORE_UNAVAILABLE', reason: OUTAGE } })));
  }, 30_000);

  it('promoter: says an outage that fails the promotion of a candidate by its code and reason, naming the data', async () => {
    const settings = defaultSettings();
    settings.daemon.expectedModelTypes = ['NAIVE'];
    const { store, failing } = breakable(createFsStore(path.join(root, 'store')), outage, WRITES);
    await addLoadableRun(store, settings, fakeRun('naive-1', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH));
    failing.on = true;
    const lines = await firstLines(startPromoterRole, settings, store, 'daemon_promoter_resync_failed', 2);
    expect(lines).toEqual([1, 2].map(() => ({ level: 'warn', fields: { config_hash: HASH, code: 'FLTS_STORE_UNAVAILABLE', reason: OUTAGE } })));
  }, 30_000);

  it('trainer: says an outage that fails the upkeep of finished leases at warn by its code and reason, no stack', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    const { store, failing } = breakable(createFsStore(path.join(root, 'store')), outage, (method, args) => method === 'list' && args[1] === 'leases/train/');
    failing.on = true;
    const lines = await firstLines(startTrainerRole, settings, store, 'daemon_finished_leases_failed', 2);
    expect(lines).toEqual([1, 2].map(() => ({ level: 'warn', fields: { code: 'FLTS_STORE_UNAVAILABLE', reason: OUTAGE } })));
  }, 30_000);
});
