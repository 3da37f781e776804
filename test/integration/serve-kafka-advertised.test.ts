import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/core/config/settings.js';
import { startServe } from '../../src/core/daemon/start-serve.js';
import { serveStopBudgetMs } from '../../src/core/stop-budget.js';
import type { FltsEvent } from '../../src/core/events.js';
import { openDependencies } from '../../src/core/workflows/open-dependencies.js';
import { createTrainedHome, type TrainedHome } from '../helpers/poblesec-slice.js';
import { skipNote, useServers } from '../helpers/servers.js';

/**
 * The kafka-secure broker's ELSEWHERE listener (scripts/infra/infra.sh) answers at its bootstrap address and
 * advertises one nobody answers at: every call after the connect goes there, and kafkajs retries it for minutes.
 */
const secure = await useServers('kafka-secure');
const vars = secure.vars;

type Unavailable = Extract<FltsEvent, { type: 'serve.promotions_unavailable' }>;

describe.skipIf(secure.skip)(`integration > serve > Kafka brokers that advertise an address nobody answers at${skipNote(secure)}`, () => {
  let slice: TrainedHome;
  beforeAll(async () => {
    slice = await createTrainedHome('flts-serve-advertised-', ['NAIVE']);
  }, 120_000);
  afterAll(() => slice?.remove());

  it("serves the store's model, says FLTS_BUS_UNAVAILABLE naming the advertised address within bus.kafka.commandConnectTimeoutMs, and stops within its budget", async () => {
    const { settings } = resolveSettings({
      env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: vars.KAFKA_SECURE_ADVERTISING_ELSEWHERE_SERVERS, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '2000', FLTS_KAFKA_CLOSE_TIMEOUT_MS: '3000' },
      flags: { ...slice.flags, 'serve.port': 0, 'serve.host': '127.0.0.1', 'live.enabled': false },
    });
    const advertised = vars.KAFKA_SECURE_UNREACHABLE_ADVERTISED;
    // The dependencies `flts serve` opens (Serve.run): a service's bus.
    const deps = await openDependencies(settings, { service: true });
    let unavailable: (event: Unavailable) => void = () => {};
    const firstUnavailable = new Promise<Unavailable>((resolve) => (unavailable = resolve));
    const onEvent = (event: FltsEvent): void => void (event.type === 'serve.promotions_unavailable' && unavailable(event));
    // Before, the promotion follower's first attempt waited at the advertised address for kafkajs' retries (~160 s),
    // and the start with it: past this test's timeout, with nothing said.
    const serve = await startServe(settings, { store: deps.store, bus: deps.bus, onEvent });
    let stopped = false;
    try {
      const reason = await firstUnavailable;
      expect(reason).toMatchObject({ topic: settings.bus.topics.modelSelected, code: 'FLTS_BUS_UNAVAILABLE' });
      expect(reason.message).toContain('no answer yet after 2000 ms (still waiting)');
      expect(reason.message).toContain(`but not at the address they advertise for the cluster (${advertised})`);
      // The bus only wakes the replica early: what it serves comes from the store, ready meanwhile.
      const ready = await fetch(`${serve.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', run_id: slice.runs[0].run_id });
      const health = (await (await fetch(`${serve.url}/healthz`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: 'ok', model_ready: true, run_id: slice.runs[0].run_id });
      // The stop ends the follower's retries and the listing still under way with the bus's close: within the stop
      // budget a deployment's grace period is sized by, where the listing alone would have held it for minutes.
      const began = performance.now();
      await serve.stop();
      stopped = true;
      expect(performance.now() - began).toBeLessThan(serveStopBudgetMs(settings));
    } finally {
      if (!stopped) await serve.stop();
      await deps.close();
    }
  }, 90_000);
});
