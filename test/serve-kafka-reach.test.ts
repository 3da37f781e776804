import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../src/core/config/settings.js';
import { startServe } from '../src/core/daemon/start-serve.js';
import type { FltsEvent } from '../src/core/events.js';
import { openDependencies } from '../src/core/workflows/open-dependencies.js';

/**
 * Brokers that answer at their bootstrap address and never at the one they advertise: the admin connects, and its
 * first listing of the topics (sent to the advertised address) never ends, as kafkajs retries it for minutes.
 */
const admin = vi.hoisted(() => ({
  listTopics: vi.fn(() => new Promise<string[]>(() => {})),
  connect: vi.fn(async () => {}),
  disconnect: vi.fn(async () => {}),
}));

vi.mock('../src/core/bus/kafkajs-module.js', async () => (await import('../src/core/bus/fake-kafkajs.fixture.js')).fakeKafkajsModule(admin));

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'flts-serve-kafka-reach-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('serve > Kafka brokers that do not answer at their advertised address', () => {
  it('serves at once, says FLTS_BUS_UNAVAILABLE within bus.kafka.commandConnectTimeoutMs, and tries again on the same request', async () => {
    const { settings } = resolveSettings({
      env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9', FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '200' },
      flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.pollIntervalMs': 0, 'live.enabled': false },
    });
    // The dependencies `flts serve` opens (Serve.run): a service's bus, which bounds no call by itself.
    const deps = await openDependencies(settings, { service: true });
    const unavailable: Array<Extract<FltsEvent, { type: 'serve.promotions_unavailable' }>> = [];
    let second: () => void = () => {};
    const triedAgain = new Promise<void>((resolve) => (second = resolve));
    const onEvent = (event: FltsEvent): void => {
      if (event.type !== 'serve.promotions_unavailable') return;
      unavailable.push(event);
      if (unavailable.length === 2) second();
    };
    // Before, the promotion follower's first attempt waited as long as the listing (kafkajs' retries, ~160 s with real
    // brokers; for ever here): the start never ended and nothing said why promotions were not followed.
    const serve = await startServe(settings, { store: deps.store, bus: deps.bus, onEvent, promotionRetry: { retries: Number.POSITIVE_INFINITY, baseDelayMs: 10, maxDelayMs: 10 } });
    try {
      expect(unavailable[0]).toMatchObject({ topic: settings.bus.topics.modelSelected, code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringContaining('no answer yet after 200 ms (still waiting)') });
      // The server answers meanwhile: what it serves comes from the store, the bus only wakes it early.
      expect((await fetch(`${serve.url}/healthz`)).status).toBe(200);
      await triedAgain;
      expect(unavailable[1]).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE' });
      // Each attempt waits on for the one listing still under way rather than sending another beside it.
      expect(admin.listTopics).toHaveBeenCalledTimes(1);
    } finally {
      await serve.stop();
      await deps.close();
    }
  }, 20_000);
});
