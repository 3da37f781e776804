import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { encodePromotion } from '../bus/messages.js';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { LiveMonitor } from '../serve/live-monitor.js';
import type { ModelHolder } from '../serve/model-holder.js';
import { createFsStore } from '../storage/fs-store.js';
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

/** A replica's model holder, counting how often it re-reads the promotion pointer. */
function countingHolder(): { holder: ModelHolder; reloads: () => number } {
  let reloads = 0;
  const holder = {
    status: () => ({ pinnedRunId: null }),
    reloadFromPointer: async () => {
      reloads++;
      return { result: 'unchanged' };
    },
  } as unknown as ModelHolder;
  return { holder, reloads: () => reloads };
}

describe('core > daemon > followPromotions', () => {
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

  it('keeps serving when the broker denies the claim actuals subscription, saying so, and stops the promotion one on any other failure', async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_fields: object, message?: string) => void warnings.push(message ?? ''), child: () => logger };
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
    const denied = claimsRefusedWith(new FltsError('FLTS_BUS_ACCESS_DENIED', 'the broker denied it (GROUP_AUTHORIZATION_FAILED)'));
    const companion = await startServingCompanion({ settings, bus: denied.bus, holder: countingHolder().holder, logger, live, store });
    try {
      expect(companion.actuals).toBeUndefined();
      expect(warnings).toEqual(['live_claims_denied']);
    } finally {
      await companion.stop();
      await denied.fsBus.close();
    }
    const broken = claimsRefusedWith(new FltsError('FLTS_CONFIG_INVALID_VALUE', 'bus.kafka.brokers is empty.'));
    await expect(startServingCompanion({ settings, bus: broken.bus, holder: countingHolder().holder, logger, live, store })).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    await broken.fsBus.close();
  });
});
