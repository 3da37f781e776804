import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import { slowLeaveBus } from '../bus/slow-leave-bus.fixture.js';
import { resolveSettings } from '../config/settings.js';
import { silentLogger, type Logger } from '../logger.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { startServingRole } from './serving-role.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'flts-serving-role-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A store that takes every call and answers none, as an S3 endpoint that accepts connections and then stays silent. */
function silentStore(): { store: ObjectStore; called: Promise<void> } {
  let first: () => void = () => {};
  const called = new Promise<void>((resolve) => (first = resolve));
  const store = new Proxy({ kind: 's3', location: 'http://127.0.0.1:1' } as unknown as ObjectStore, {
    get: (target, name) =>
      name in target
        ? (target as unknown as Record<string | symbol, unknown>)[name]
        : () => {
            first();
            return new Promise(() => {});
          },
  });
  return { store, called };
}

describe('core > daemon > serving role', () => {
  it('a daemon stopped while the role waits for a silent store ends its start, rather than waiting for the store', { timeout: 20_000 }, async () => {
    const { settings } = resolveSettings({ flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.shutdownWritesTimeoutMs': 100 } });
    const { store, called } = silentStore();
    const bus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const controller = new AbortController();
    const starting = startServingRole({ settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'test', signal: controller.signal });
    const outcome = starting.then(() => 'started', (error: unknown) => error);
    await called;
    controller.abort(new Error('daemon stopping'));
    expect(await outcome).toMatchObject({ message: 'daemon stopping' });
    await bus.close();
  });

  it('cuts the requests still in flight where its stop grace leaves room for the last writes, and says so', async () => {
    const { settings } = resolveSettings({ flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.shutdownWritesTimeoutMs': 100 } });
    const lines: Array<[string, object]> = [];
    const logger: Logger = { ...silentLogger, info: (obj, msg) => lines.push([msg ?? '', obj]), warn: (obj, msg) => lines.push([msg ?? '', obj]), child: () => logger };
    const bus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const store = createFsStore(path.join(home, 'store'));
    // A grace of 1 s: the drain gets half of it (the writes and the stop margin would leave it none).
    const role = await startServingRole({ settings, store, bus, logger, metrics: createDaemonMetrics(), owner: 'test', signal: new AbortController().signal, stopGraceMs: 1_000 });
    const url = new URL(String(role.status().url));
    // A request whose body is still arriving: the 100 Continue comes once the route reads its body, so it is in flight.
    const request = http.request({ host: url.hostname, port: url.port, path: '/predict', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 1000, expect: '100-continue' } });
    const ended = new Promise<string>((resolve) => {
      request.on('response', (response) => resolve(`answered ${response.statusCode}`));
      request.on('error', (error) => resolve(`cut: ${error.message}`));
    });
    await new Promise<void>((resolve) => request.once('continue', resolve));
    request.write('{"data":');
    // Before, the stop waited for this body until serve.bodyIdleTimeoutMs (5 s), past the grace, and said nothing.
    await role.stop();
    expect(await ended).toMatch(/^cut/);
    expect(lines.filter(([msg]) => msg.startsWith('serve_stop'))).toEqual([
      ['serve_stop_requests_cut', expect.objectContaining({ requests_cut: 1, requests_drained: 0, drain_ms: expect.any(Number) })],
      ['serve_stopped', { requests_drained: 0, requests_cut: 1 }],
    ]);
    await bus.close();
  });
  it('is not ready from the moment its stop begins, while its companion still leaves the promotion group', async () => {
    const { settings } = resolveSettings({ flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.pollIntervalMs': 0 } });
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    // A broker slow to take the leave: the stop waits on it.
    const { bus, leaveBegun, releaseLeaves } = slowLeaveBus(fsBus);
    const role = await startServingRole({ settings, store: createFsStore(path.join(home, 'store')), bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'test', signal: new AbortController().signal });
    const url = String(role.status().url);
    expect(await (await fetch(`${url}/readyz`)).json()).not.toHaveProperty('code');
    const stopping = role.stop();
    await leaveBegun;
    // Before, readiness said what it said before the stop until the companion had stopped.
    const during = await fetch(`${url}/readyz`);
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ status: 'not_ready', code: 'FLTS_SERVE_STOPPING' });
    releaseLeaves();
    await stopping;
    await fsBus.close();
  });

  it("is not ready from the daemon's first step of a stop, its abort of the roles' signal, before the role's own stop is called", async () => {
    const { settings } = resolveSettings({ flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.pollIntervalMs': 0 } });
    const bus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const daemon = new AbortController();
    const role = await startServingRole({ settings, store: createFsStore(path.join(home, 'store')), bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'test', signal: daemon.signal });
    const url = String(role.status().url);
    expect(await (await fetch(`${url}/readyz`)).json()).not.toHaveProperty('code');
    daemon.abort();
    // Before, the role said what it said before the stop until the daemon called its stop(), which waits for any role
    // still starting beside it.
    const during = await fetch(`${url}/readyz`);
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ status: 'not_ready', code: 'FLTS_SERVE_STOPPING' });
    await role.stop();
    await bus.close();
  });

  it('says on /healthz that it follows promotions from its start, and not while its consumer crashes, as the daemon\'s bus reports it', async () => {
    const { settings } = resolveSettings({ flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1' } });
    const bus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const metrics = createDaemonMetrics({ processMetrics: false });
    const role = await startServingRole({ settings, store: createFsStore(path.join(home, 'store')), bus, logger: silentLogger, metrics, owner: 'test', signal: new AbortController().signal });
    const url = String(role.status().url);
    const promotions = async (): Promise<any> => ((await (await fetch(`${url}/healthz`)).json()) as { promotions: unknown }).promotions;
    const topic = settings.bus.topics.modelSelected;
    // Before, a daemon's serving role said promotions: null.
    const joined = await promotions();
    expect(joined).toEqual({ topic, following: true, code: null, since: expect.any(String) });
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(new RegExp(`^flts_serve_following_promotions\\{topic="${topic}"\\} 1$`, 'm'));
    // The daemon's bus reports its consumers' crashes to the daemon's metrics (a broker gone after the start).
    const group = role.subscriptions[0].group;
    metrics.bus.consumerCrashed(group, 'FLTS_BUS_UNAVAILABLE');
    expect(await promotions()).toEqual({ topic, following: false, code: 'FLTS_BUS_UNAVAILABLE', since: expect.any(String) });
    metrics.bus.crashing(group, false);
    expect(await promotions()).toMatchObject({ topic, following: true, code: null });
    await role.stop();
    await bus.close();
  });
});
