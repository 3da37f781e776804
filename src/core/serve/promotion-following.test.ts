import { describe, expect, it } from 'vitest';
import { createPromotionFollowing } from './promotion-following.js';
import { createServeMetrics } from './serve-metrics.js';

describe('serve > promotion following', () => {
  it('stops following while the joined group\'s consumer crashes, as its bus reports it, and follows again once it is back', async () => {
    const metrics = createServeMetrics({ processMetrics: false });
    let clock = Date.parse('2026-01-01T00:00:00.000Z');
    const promotions = createPromotionFollowing('model-selected', { metrics, now: () => new Date(clock) });
    const gauge = async (): Promise<string | undefined> => (await metrics.registry.metrics()).split('\n').find((line) => line.startsWith('flts_serve_following_promotions{'));
    expect(promotions.status()).toEqual({ topic: 'model-selected', following: false, code: null, since: '2026-01-01T00:00:00.000Z' });
    clock += 1000;
    promotions.notFollowing('FLTS_BUS_UNAVAILABLE');
    expect(promotions.status()).toEqual({ topic: 'model-selected', following: false, code: 'FLTS_BUS_UNAVAILABLE', since: '2026-01-01T00:00:00.000Z' });
    clock += 1000;
    promotions.joined('serving-r1');
    expect(promotions.status()).toEqual({ topic: 'model-selected', following: true, code: null, since: '2026-01-01T00:00:02.000Z' });
    expect(await gauge()).toBe('flts_serve_following_promotions{topic="model-selected"} 1');

    // Another group's crash (the claim actuals follower's) is not the promotions'.
    metrics.bus.consumerCrashed('serving-r1-actuals', 'FLTS_BUS_UNAVAILABLE');
    expect(promotions.status().following).toBe(true);
    clock += 1000;
    metrics.bus.consumerCrashed('serving-r1', 'FLTS_BUS_UNAVAILABLE');
    metrics.bus.crashing('serving-r1', true);
    expect(promotions.status()).toEqual({ topic: 'model-selected', following: false, code: 'FLTS_BUS_UNAVAILABLE', since: '2026-01-01T00:00:03.000Z' });
    expect(await gauge()).toBe('flts_serve_following_promotions{topic="model-selected"} 0');
    clock += 1000;
    metrics.bus.crashing('serving-r1', false);
    expect(promotions.status()).toEqual({ topic: 'model-selected', following: true, code: null, since: '2026-01-01T00:00:04.000Z' });
    expect(await gauge()).toBe('flts_serve_following_promotions{topic="model-selected"} 1');

    // Leaving: a crash episode its subscription's stop ends is not a return to the group.
    metrics.bus.consumerCrashed('serving-r1', 'FLTS_BUS_UNAVAILABLE');
    promotions.stop();
    metrics.bus.crashing('serving-r1', false);
    expect(promotions.status()).toMatchObject({ following: false, code: 'FLTS_BUS_UNAVAILABLE' });
  });
});
