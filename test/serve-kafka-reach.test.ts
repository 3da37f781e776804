import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MessageBus } from '../src/core/bus/message-bus.js';
import { resolveSettings } from '../src/core/config/settings.js';
import { startServe } from '../src/core/daemon/start-serve.js';
import { FltsError } from '../src/core/errors.js';
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

  it('passes the advertised addresses that did not answer along with serve.promotions_unavailable, as the error names them', async () => {
    const { settings } = resolveSettings({
      env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9' },
      flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.pollIntervalMs': 0, 'live.enabled': false },
    });
    const deps = await openDependencies(settings, { service: true });
    // What the Kafka bus throws when its brokers answer at their bootstrap address only (kafka-failure.ts).
    const elsewhere = new FltsError('FLTS_BUS_UNAVAILABLE', 'Kafka creating topics model-selected failed (brokers 127.0.0.1:9): no answer yet after 200 ms (still waiting); the brokers answered at their bootstrap address, but not at the address they advertise for the cluster (10.0.0.7:9092): ...', {
      details: { brokers: ['127.0.0.1:9'], advertised: ['10.0.0.7:9092'], waitedMs: 200 },
    });
    const bus: MessageBus = { ...deps.bus!, ensureTopics: async () => Promise.reject(elsewhere) };
    let unavailable: (event: Extract<FltsEvent, { type: 'serve.promotions_unavailable' }>) => void = () => {};
    const first = new Promise<Extract<FltsEvent, { type: 'serve.promotions_unavailable' }>>((resolve) => (unavailable = resolve));
    const onEvent = (event: FltsEvent): void => void (event.type === 'serve.promotions_unavailable' && unavailable(event));
    const serve = await startServe(settings, { store: deps.store, bus, onEvent, promotionRetry: { retries: Number.POSITIVE_INFINITY, baseDelayMs: 10, maxDelayMs: 10 } });
    try {
      // Before, only the message's text named them; the daemon's daemon_startup_retrying had them as a field already.
      expect(await first).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', message: elsewhere.message, advertised: ['10.0.0.7:9092'] });
    } finally {
      await serve.stop();
      await deps.close();
    }
  }, 20_000);
});
