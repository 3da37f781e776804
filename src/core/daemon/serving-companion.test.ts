import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { encodePromotion } from '../bus/messages.js';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { deadlineIn } from '../retry.js';
import type { LiveMonitor } from '../serve/live-monitor.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createModelHolder, type ModelHolder } from '../serve/model-holder.js';
import type { ModelSource, PointerTarget } from '../serve/model-source.js';
import { createFsStore } from '../storage/fs-store.js';
import type { StepResult } from './daemon-metrics.js';
import { followPromotions, startServingCompanion } from './serving-companion.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-follow-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
const settings = defaultSettings();
const RETRY = { retries: Number.POSITIVE_INFINITY, baseDelayMs: 5, maxDelayMs: 20 };

/** The embedded bus, refusing its first `refusals` subscriptions as a broker that does not answer does. */
function flakyBus(refusals: number, error = new FltsError('FLTS_BUS_UNAVAILABLE', 'Kafka brokers 127.0.0.1:1 did not answer.')): { bus: MessageBus; attempts: () => number } {
  const bus = createFsBus({ root: mkdtempSync(path.join(root, 'bus-')), pollIntervalMs: 10 });
  let attempts = 0;
  return {
    bus: {
      ...bus,
      subscribe: async (...args: Parameters<MessageBus['subscribe']>) => {
        attempts++;
        if (attempts <= refusals) throw error;
        return bus.subscribe(...args);
      },
    },
    attempts: () => attempts,
  };
}

/** A replica's model holder serving nothing yet, with a pointer to r1, counting how often it reloads from the pointer. */
function countingHolder(): { holder: ModelHolder; reloads: () => number } {
  let reloads = 0;
  const holder = {
    status: () => ({ pinnedRunId: null }),
    readPointer: async () => ({ runId: 'r1', configHash: 'h', modelType: 'GRU' }),
    reloadFromPointer: async () => {
      reloads++;
      return { result: 'unchanged' };
    },
  } as unknown as ModelHolder;
  return { holder, reloads: () => reloads };
}

describe('core > daemon > followPromotions', () => {
  it('stops without waiting past its grace for a subscription whose broker went away, so the replica can close and write its records', async () => {
    const fs = createFsBus({ root: mkdtempSync(path.join(root, 'bus-')), pollIntervalMs: 10 });
    const stopped: string[] = [];
    // A broker gone before the stop: the consumer's disconnect and its group's deletion never hear back.
    const gone: MessageBus = {
      ...fs,
      subscribe: async (...args: Parameters<MessageBus['subscribe']>) => {
        const subscription = await fs.subscribe(...args);
        return { ...subscription, stop: () => (stopped.push(subscription.group), new Promise<void>(() => {})) };
      },
    };
    const follower = await followPromotions({ settings, bus: gone, holder: countingHolder().holder, logger: silentLogger }, { retry: RETRY, stopGraceMs: 20 });
    expect(await follower.joined).toBe(true);
    await follower.stop();
    expect(stopped).toEqual([follower.group]);
    await fs.close();
  }, 15_000);

  it("waits for a subscription whose broker went away until the stop's deadline, which the bus's close shares, not its own grace on top", async () => {
    const fs = createFsBus({ root: mkdtempSync(path.join(root, 'bus-')), pollIntervalMs: 10 });
    const gone: MessageBus = {
      ...fs,
      subscribe: async (...args: Parameters<MessageBus['subscribe']>) => ({ ...(await fs.subscribe(...args)), stop: () => new Promise<void>(() => {}) }),
    };
    // Its own grace (PROMOTION_FOLLOWER_STOP_GRACE_MS) is left as it is: the deadline handed to stop() decides.
    const follower = await followPromotions({ settings, bus: gone, holder: countingHolder().holder, logger: silentLogger }, { retry: RETRY });
    expect(await follower.joined).toBe(true);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      let stopped = false;
      const stopping = follower.stop(deadlineIn(1_000)).then(() => (stopped = true));
      await vi.advanceTimersByTimeAsync(999);
      expect(stopped).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(stopped).toBe(true);
      await stopping;
    } finally {
      vi.useRealTimers();
      await fs.close();
    }
  });

  it('keeps retrying a broker that does not answer in the background, then follows promotions', async () => {
    const { bus, attempts } = flakyBus(3);
    const { holder, reloads } = countingHolder();
    const waits: string[] = [];
    const follower = await followPromotions({ settings, bus, holder, logger: silentLogger }, { retry: RETRY, onUnavailable: (error) => waits.push(error.code) });
    try {
      expect(await follower.joined).toBe(true);
      expect(attempts()).toBe(4);
      expect(waits).toEqual(['FLTS_BUS_UNAVAILABLE', 'FLTS_BUS_UNAVAILABLE', 'FLTS_BUS_UNAVAILABLE']);
      const afterJoin = reloads();
      await bus.publish(settings.bus.topics.modelSelected, encodePromotion({ identifier: '', config_hash: 'h', run_id: 'r1', model_type: 'GRU' }));
      await expect.poll(reloads, { timeout: 5_000 }).toBeGreaterThan(afterJoin);
    } finally {
      await follower.stop();
      await bus.close();
    }
  });

  it('throws at once an error no wait can fix, and gives up retrying once stopped', async () => {
    const { bus } = flakyBus(1, new FltsError('FLTS_CONFIG_INVALID_VALUE', 'bus.kafka.brokers is empty.'));
    await expect(followPromotions({ settings, bus, holder: countingHolder().holder, logger: silentLogger }, { retry: RETRY })).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });

    const down = flakyBus(Number.POSITIVE_INFINITY);
    const follower = await followPromotions({ settings, bus: down.bus, holder: countingHolder().holder, logger: silentLogger }, { retry: RETRY });
    await follower.stop();
    expect(await follower.joined).toBe(false);
  });
});

describe('core > daemon > startServingCompanion', () => {
  it('reads the promotion pointer again each time its group rejoins, since what was published meanwhile never arrives', async () => {
    const fsBus = createFsBus({ root: mkdtempSync(path.join(root, 'bus-')), pollIntervalMs: 10 });
    const joins: Array<() => void> = [];
    // The file bus joins once; a Kafka group rejoins after a broker restart, from the end of the topic.
    const bus: MessageBus = {
      ...fsBus,
      subscribe: (options, handler) => {
        if (options.onJoin) joins.push(options.onJoin);
        return fsBus.subscribe(options, handler);
      },
    };
    const { holder, reloads } = countingHolder();
    const subscription = await startServingCompanion({ settings, bus, holder, logger: silentLogger });
    try {
      // The first join is covered by the read that follows subscribing, once.
      expect(reloads()).toBe(1);
      expect(joins).toHaveLength(1);
      joins[0]();
      await expect.poll(reloads, { timeout: 5_000 }).toBe(2);
    } finally {
      await subscription.stop();
      await fsBus.close();
    }
  });

  it('keeps serving when the brokers refuse the claim actuals subscription (its ACLs, or the inference-data topic they will not create), saying so, and stops the promotion one on any other failure', async () => {
    const warnings: Array<{ message?: string; code?: string }> = [];
    const logger = { ...silentLogger, warn: (fields: { code?: string }, message?: string) => void warnings.push({ message, code: fields.code }), child: () => logger };
    const live = {} as unknown as LiveMonitor;
    const store = createFsStore(mkdtempSync(path.join(root, 'store-')));
    const claimsRefusedWith = (error: FltsError) => {
      const fsBus = createFsBus({ root: mkdtempSync(path.join(root, 'bus-')), pollIntervalMs: 10 });
      const bus: MessageBus = {
        ...fsBus,
        subscribe: (options, handler) => (options.topics.includes(settings.bus.topics.inferenceData) ? Promise.reject(error) : fsBus.subscribe(options, handler)),
      };
      return { bus, fsBus };
    };
    const refusals = [
      new FltsError('FLTS_BUS_ACCESS_DENIED', 'the broker denied it (GROUP_AUTHORIZATION_FAILED)'),
      new FltsError('FLTS_BUS_TOPIC_REFUSED', 'the broker refused to create inference-data (INVALID_REPLICATION_FACTOR: Replication factor: 3 larger than available brokers: 1.)'),
    ];
    for (const refusal of refusals) {
      warnings.length = 0;
      const refused = claimsRefusedWith(refusal);
      const companion = await startServingCompanion({ settings, bus: refused.bus, holder: countingHolder().holder, logger, live, store });
      try {
        expect(companion.actuals).toBeUndefined();
        expect(warnings).toEqual([{ message: 'live_claims_denied', code: refusal.code }]);
      } finally {
        await companion.stop();
        await refused.fsBus.close();
      }
    }
    const broken = claimsRefusedWith(new FltsError('FLTS_CONFIG_INVALID_VALUE', 'bus.kafka.brokers is empty.'));
    await expect(startServingCompanion({ settings, bus: broken.bus, holder: countingHolder().holder, logger, live, store })).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    await broken.fsBus.close();
  });
});

/**
 * A run registry in memory: `runs` load (a naive model each), any other run id fails as a missing run; `loads` lists
 * every load attempt; `promote` moves the pointer as a promotion does (a new record, so a new timestamp).
 */
function registryInMemory(...runs: string[]): { source: ModelSource; loads: string[]; promote: (runId: string) => void } {
  const window = { inputSeqLen: 2, outputSeqLen: 1, features: ['down'], targets: ['down'] };
  const loads: string[] = [];
  let pointer: PointerTarget | undefined;
  let promotions = 0;
  const source: ModelSource = {
    async loadRun(runId) {
      loads.push(runId);
      if (!runs.includes(runId)) throw new FltsError('FLTS_RUN_NOT_FOUND', `No run ${runId}.`);
      return { run: { runId, modelType: 'NAIVE', configHash: 'h' }, model: createNaiveModel(window), scaler: { method: 'MinMaxScaler', columns: ['down'], offset: [0], scale: [1] } };
    },
    readPointer: async () => pointer,
    loadTestFrame: () => Promise.reject(new FltsError('FLTS_DATA_NOT_PROCESSED', 'No test frame.')),
  };
  const promote = (runId: string): void => {
    pointer = { runId, configHash: 'h', modelType: 'NAIVE', source: 'current.json', timestamp: new Date(Date.UTC(2026, 0, 1) + ++promotions * 1000).toISOString() };
  };
  return { source, loads, promote };
}

describe('core > daemon > startServingCompanion (the pointer decides, a message only wakes)', () => {
  const N = 20;
  const notice = (runId: string) => encodePromotion({ identifier: '', config_hash: 'h', run_id: runId, model_type: 'NAIVE' });

  /** A replica serving `first`, following promotions: reloads from the pointer and handled notices are counted. */
  async function replica(runs: string[], first: string) {
    const registry = registryInMemory(...runs);
    registry.promote(first);
    const holder = createModelHolder({ source: registry.source, pollIntervalMs: 0, retryFailedMs: 600_000, batching: { maxBatch: 1, maxWaitMs: 0 }, logger: silentLogger });
    await holder.start();
    let reloads = 0;
    const counted: ModelHolder = { ...holder, reloadFromPointer: (options) => (reloads++, holder.reloadFromPointer(options)) };
    let handled = 0;
    const onLine = (_fields: object, message?: string): void => void (message === 'serve_promotion_received' && handled++);
    const logger = { ...silentLogger, info: onLine, child: () => logger };
    const bus = createFsBus({ root: mkdtempSync(path.join(root, 'bus-')), pollIntervalMs: 5 });
    const steps: StepResult[] = [];
    const companion = await startServingCompanion({ settings, bus, holder: counted, logger, countStep: (result) => steps.push(result) });
    const before = reloads;
    return {
      ...registry,
      holder,
      bus,
      steps,
      reloads: () => reloads - before,
      handled: () => handled,
      async close() {
        await companion.stop();
        await bus.close();
        await holder.stop();
      },
    };
  }

  it('reloads nothing for a flood of notices naming the run it serves, and loads a real promotion at once', async () => {
    const r = await replica(['run-a', 'run-b'], 'run-a');
    try {
      for (let i = 0; i < N; i++) await r.bus.publish(settings.bus.topics.modelSelected, notice('run-a'));
      await expect.poll(r.handled, { timeout: 10_000 }).toBe(N);
      expect(r.reloads()).toBe(0);
      expect(r.loads).toEqual(['run-a']);

      r.promote('run-b');
      await r.bus.publish(settings.bus.topics.modelSelected, notice('run-b'));
      await expect.poll(() => r.holder.status().current?.runId, { timeout: 10_000 }).toBe('run-b');
      expect(r.reloads()).toBe(1);
      expect(r.loads).toEqual(['run-a', 'run-b']);
    } finally {
      await r.close();
    }
  });

  it('tries a promoted run that fails to load once per promotion, not once per copy of its notice', async () => {
    const r = await replica(['run-a'], 'run-a');
    try {
      r.promote('run-gone');
      for (let i = 0; i < N; i++) await r.bus.publish(settings.bus.topics.modelSelected, notice('run-gone'));
      await expect.poll(r.handled, { timeout: 10_000 }).toBe(N);
      expect(r.loads).toEqual(['run-a', 'run-gone']);
      expect(r.holder.status()).toMatchObject({ current: { runId: 'run-a' }, degraded: { runId: 'run-gone', code: 'FLTS_RUN_NOT_FOUND' } });

      // Promoted again (a new record): tried again at once, despite the wait after its failure.
      r.promote('run-gone');
      await r.bus.publish(settings.bus.topics.modelSelected, notice('run-gone'));
      await expect.poll(r.handled, { timeout: 10_000 }).toBe(N + 1);
      expect(r.loads).toEqual(['run-a', 'run-gone', 'run-gone']);
    } finally {
      await r.close();
    }
  });

  it('counts every notice as a step, as the other roles count theirs: a skip, a load, a failed load and an invalid notice', async () => {
    const r = await replica(['run-a', 'run-b'], 'run-a');
    try {
      for (let i = 0; i < 3; i++) await r.bus.publish(settings.bus.topics.modelSelected, notice('run-a'));
      await expect.poll(() => r.steps.length, { timeout: 10_000 }).toBe(3);
      expect(r.steps).toEqual(['skipped', 'skipped', 'skipped']);

      r.promote('run-b');
      await r.bus.publish(settings.bus.topics.modelSelected, notice('run-b'));
      // Loaded before the next promotion: the pointer, not the notice, names what a notice loads.
      await expect.poll(() => r.steps.length, { timeout: 10_000 }).toBe(4);
      r.promote('run-gone');
      await r.bus.publish(settings.bus.topics.modelSelected, notice('run-gone'));
      await r.bus.publish(settings.bus.topics.modelSelected, { key: 'promotion', value: '{"run_id": 7}' });
      await expect.poll(() => r.steps.length, { timeout: 10_000 }).toBe(6);
      expect(r.steps.slice(3)).toEqual(['done', 'failed', 'invalid']);
    } finally {
      await r.close();
    }
  });
});
