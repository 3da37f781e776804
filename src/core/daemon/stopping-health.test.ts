import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { resolveSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { createRoleRegistry, type RoleHandle } from './role-registry.js';
import { startDaemon } from './start-daemon.js';
import { expectStoppingRefusal, requestAcrossClose } from '../../../test/helpers/raw-answer.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-stopping-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const ROLES = ['trainer', 'promoter', 'batch', 'serving'];

/** The four roles' names, each stop held until `release`: the daemon stays in its stop while the test asks its port. */
function heldRoles(): { registry: ReturnType<typeof createRoleRegistry>; stopsBegun: Promise<void>; release: () => void } {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let begun = 0;
  let allBegun: () => void = () => {};
  const stopsBegun = new Promise<void>((resolve) => (allBegun = resolve));
  const role = (name: string) => async (): Promise<RoleHandle> => ({
    name,
    subscriptions: [],
    status: () => ({}),
    stop: async () => {
      if (++begun === ROLES.length) allBegun();
      await gate;
    },
  });
  return { registry: createRoleRegistry(Object.fromEntries(ROLES.map((name) => [name, role(name)]))), stopsBegun, release };
}

describe('core > daemon > health port while the daemon stops', () => {
  it('answers /readyz 503 FLTS_SERVE_STOPPING from the signal on, for every role, and /healthz until the end, each answer closing its connection', async () => {
    const { settings } = resolveSettings({ flags: { home, 'daemon.roles': ROLES, 'daemon.port': 0, 'daemon.host': '127.0.0.1' } });
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const signal = new AbortController();
    // What the health port asks the bus once the stop began: a closing Kafka bus may hold each question for the probe's timeout.
    const askedWhileStopping: string[] = [];
    const bus: MessageBus = {
      ...fsBus,
      lag: async (...args) => (signal.signal.aborted && askedWhileStopping.push('lag'), fsBus.lag(...args)),
      ensureTopics: async (...args) => (signal.signal.aborted && askedWhileStopping.push('ensureTopics'), fsBus.ensureTopics(...args)),
    };
    const { registry, stopsBegun, release } = heldRoles();
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, registry, signal: signal.signal });
    expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
    // SIGTERM: flts daemon aborts the signal, then calls stop() once it has said so.
    signal.abort();
    // Before, /readyz answered 200 until stop() ran, then 503 with no code, after asking the closing bus.
    const first = await fetch(`${daemon.url}/readyz`);
    expect(first.status).toBe(503);
    expect(first.headers.get('connection')).toBe('close');
    expect(await first.json()).toMatchObject({ status: 'not_ready', state: 'stopping', code: 'FLTS_SERVE_STOPPING' });
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics.split('\n').filter((line) => line.startsWith('flts_daemon_ready{')).sort()).toEqual(ROLES.map((role) => `flts_daemon_ready{role="${role}"} 0`).sort());
    expect(await (await fetch(`${daemon.url}/status`)).json()).toMatchObject({ state: 'stopping' });
    expect(askedWhileStopping).toEqual([]);
    const stopped = daemon.stop();
    await stopsBegun;
    const readyz = await fetch(`${daemon.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ code: 'FLTS_SERVE_STOPPING' });
    const healthz = await fetch(`${daemon.url}/healthz`);
    expect(healthz.status).toBe(200);
    expect(healthz.headers.get('connection')).toBe('close');
    release();
    await stopped;
    await fsBus.close();
  });

  it('refuses coded, with Retry-After and Connection: close, a request that reaches it once its close began', async () => {
    const { settings } = resolveSettings({ flags: { home, 'daemon.roles': ROLES, 'daemon.port': 0, 'daemon.host': '127.0.0.1' } });
    const bus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const { registry, release } = heldRoles();
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, registry });
    const { head, body, ended, stopped } = await requestAcrossClose(daemon.app.server, 'GET /healthz HTTP/1.1', async () => {
      const stopping = daemon.stop();
      release();
      return stopping;
    });
    // Before, fastify's own 503, with no code and no Retry-After.
    expectStoppingRefusal({ head, body, ended });
    await stopped;
    await bus.close();
  });
});
