import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import { slowLeaveBus } from '../bus/slow-leave-bus.fixture.js';
import type { BusCloseOptions, MessageBus } from '../bus/message-bus.js';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { FltsEvent } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import { msLeft } from '../retry.js';
import { createFsStore } from '../storage/fs-store.js';
import { startServe } from './start-serve.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'flts-start-serve-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const settingsWith = (flags: Record<string, unknown> = {}) =>
  resolveSettings({ flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.pollIntervalMs': 0, ...flags } }).settings;

describe('core > daemon > start-serve', () => {
  it('follows promotions with a bus, and leaves the brokers within one deadline: the bus closes at the one its follower waited out', async () => {
    const settings = settingsWith({ 'bus.kafka.closeTimeoutMs': 200 });
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const closes: BusCloseOptions[] = [];
    const deadlineLeftAtClose: number[] = [];
    const bus: MessageBus = {
      ...fsBus,
      // A broker gone away: a subscription's stop (leaving its group) never answers.
      subscribe: async (...args) => ({ ...(await fsBus.subscribe(...args)), stop: () => new Promise<void>(() => {}) }),
      close: async (options) => {
        closes.push(options ?? {});
        if (options?.deadline) deadlineLeftAtClose.push(msLeft(options.deadline));
        await fsBus.close();
      },
    };
    const events: FltsEvent[] = [];
    let following: () => void = () => {};
    const followed = new Promise<void>((resolve) => (following = resolve));
    const serve = await startServe(settings, {
      store: createFsStore(path.join(home, 'store')),
      bus,
      onEvent: (event) => (events.push(event), event.type === 'serve.following_promotions' && following()),
    });
    await followed;
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(events.find((event) => event.type === 'serve.following_promotions')).toMatchObject({ topic: settings.bus.topics.modelSelected, group: serve.follower?.group });
    expect((await fetch(`${serve.url}/healthz`)).status).toBe(200);

    const [first, second] = await Promise.all([serve.stop(), serve.stop()]);
    expect(first).toEqual({ unwrittenRecords: 0, unfinished: [], requestsDrained: 0, requestsCut: 0, grpcCallsCut: 0, grpcCallsDrained: 0 });
    expect(second).toBe(first);
    // Closed once, at the deadline the follower's unsubscribe already waited out, not with a bus.kafka.closeTimeoutMs of its own.
    expect(closes).toHaveLength(1);
    // Under a millisecond: Node's timers count whole milliseconds from the event loop's cached clock, so the follower's
    // wait may end a fraction of one before performance.now() reaches the deadline; a close with its own 200 ms would be far above.
    expect(deadlineLeftAtClose).toHaveLength(1);
    expect(deadlineLeftAtClose[0]).toBeLessThan(1);
    await expect(fetch(`${serve.url}/healthz`)).rejects.toThrow();
  });

  it('says on /healthz and /metrics that it follows promotions once its group joined', async () => {
    const settings = settingsWith();
    let following: () => void = () => {};
    const followed = new Promise<void>((resolve) => (following = resolve));
    const serve = await startServe(settings, {
      store: createFsStore(path.join(home, 'store')),
      bus: createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 }),
      onEvent: (event) => event.type === 'serve.following_promotions' && following(),
    });
    try {
      await followed;
      const health = (await (await fetch(`${serve.url}/healthz`)).json()) as { promotions: { since: string } };
      expect(health.promotions).toEqual({ topic: settings.bus.topics.modelSelected, following: true, code: null, since: expect.any(String) });
      expect(Number.isNaN(Date.parse(health.promotions.since))).toBe(false);
      expect(await (await fetch(`${serve.url}/metrics`)).text()).toContain(`flts_serve_following_promotions{topic="${settings.bus.topics.modelSelected}"} 1`);
    } finally {
      await serve.stop();
    }
  });

  it('says on /healthz, by code only, and on /metrics that it does not follow promotions while the brokers cannot be reached', async () => {
    const settings = settingsWith();
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    // Brokers that do not answer: every attempt of the follower fails retriably, naming them in its message.
    const bus: MessageBus = {
      ...fsBus,
      ensureTopics: async () => {
        throw new FltsError('FLTS_BUS_UNAVAILABLE', 'Kafka brokers 10.9.8.7:9092 did not answer.');
      },
    };
    let unavailable = 0;
    const reached: Array<() => void> = [];
    const attemptsFailed = (count: number) => new Promise<void>((resolve) => (reached[count] = resolve));
    const retried = attemptsFailed(2);
    const retriedMore = attemptsFailed(4);
    const serve = await startServe(settings, {
      store: createFsStore(path.join(home, 'store')),
      bus,
      promotionRetry: { retries: Number.POSITIVE_INFINITY, baseDelayMs: 5, maxDelayMs: 20 },
      onEvent: (event) => event.type === 'serve.promotions_unavailable' && reached[++unavailable]?.(),
    });
    try {
      await retried;
      const text = await (await fetch(`${serve.url}/healthz`)).text();
      expect(text).not.toContain('10.9.8.7');
      const first = (JSON.parse(text) as { promotions: { since: string } }).promotions;
      expect(first).toEqual({ topic: settings.bus.topics.modelSelected, following: false, code: 'FLTS_BUS_UNAVAILABLE', since: expect.any(String) });
      // Since the episode began, not since the latest attempt.
      await retriedMore;
      expect(((await (await fetch(`${serve.url}/healthz`)).json()) as { promotions: unknown }).promotions).toEqual(first);
      expect(await (await fetch(`${serve.url}/metrics`)).text()).toContain(`flts_serve_following_promotions{topic="${settings.bus.topics.modelSelected}"} 0`);
    } finally {
      await serve.stop();
    }
  });

  it('names, on its line waiting for a first promotion, the bucket and pointers it reads and the bus topic a promotion arrives on', async () => {
    const settings = settingsWith();
    const warned: Array<{ fields: Record<string, unknown>; msg?: string }> = [];
    const logger: Logger = { ...silentLogger, warn: (fields: object, msg?: string) => void warned.push({ fields: fields as Record<string, unknown>, msg }), child: () => logger } as unknown as Logger;
    let waiting: () => void = () => {};
    const waited = new Promise<void>((resolve) => (waiting = resolve));
    const serve = await startServe(settings, {
      store: createFsStore(path.join(home, 'store')),
      bus: createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 }),
      logger,
      onEvent: (event) => event.type === 'serve.waiting_for_promotion' && waiting(),
    });
    await waited;
    await serve.stop();
    expect(warned.filter(({ msg }) => msg === 'serve_waiting_for_promotion').map(({ fields }) => fields)).toEqual([
      expect.objectContaining({
        bucket: settings.store.buckets.promotion,
        pointers: ['current.json', 'global/current.json'],
        learns_by: 'bus',
        promotion_topic: settings.bus.topics.modelSelected,
        poll_interval_ms: null,
      }),
    ]);
  });

  it('serves alone without a bus: no follower, and a stop that reports nothing unwritten', async () => {
    const events: FltsEvent[] = [];
    const serve = await startServe(settingsWith(), { store: createFsStore(path.join(home, 'store')), onEvent: (event) => events.push(event) });
    expect(serve.follower).toBeUndefined();
    expect(serve.runId()).toBeNull();
    expect(((await (await fetch(`${serve.url}/healthz`)).json()) as { promotions: unknown }).promotions).toBeNull();
    expect(await (await fetch(`${serve.url}/metrics`)).text()).not.toContain('flts_serve_following_promotions{');
    expect(events.map((event) => event.type)).toContain('serve.listening');
    expect(await serve.stop()).toEqual({ unwrittenRecords: 0, unfinished: [], requestsDrained: 0, requestsCut: 0, grpcCallsCut: 0, grpcCallsDrained: 0 });
    expect(events.map((event) => event.type)).not.toContain('serve.following_promotions');
  });
  it('is not ready from the moment its stop begins, while its follower still leaves the promotion group', async () => {
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    // A broker slow to take the leave: the stop waits on it.
    const { bus, leaveBegun, releaseLeaves } = slowLeaveBus(fsBus);
    let following: () => void = () => {};
    const followed = new Promise<void>((resolve) => (following = resolve));
    const serve = await startServe(settingsWith(), { store: createFsStore(path.join(home, 'store')), bus, onEvent: (event) => event.type === 'serve.following_promotions' && following() });
    await followed;
    expect(await (await fetch(`${serve.url}/readyz`)).json()).not.toHaveProperty('code');
    const stopping = serve.stop();
    await leaveBegun;
    // Before, readiness said what it said before the stop until the follower had left (bus.kafka.closeTimeoutMs with a
    // broker away): a load balancer kept routing here requests that the close then refused or cut.
    const during = await fetch(`${serve.url}/readyz`);
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ status: 'not_ready', code: 'FLTS_SERVE_STOPPING' });
    releaseLeaves();
    await stopping;
  });
});
