import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { BusCloseOptions, MessageBus } from '../bus/message-bus.js';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { FltsEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { createFsStore } from '../storage/fs-store.js';
import { createRoleRegistry, type RoleHandle } from './role-registry.js';
import { msLeft } from '../retry.js';
import { BUS_CLOSE_END_MS, DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS, DAEMON_SHUTDOWN_GRACE_MS, DAEMON_STOP_MARGIN_MS } from '../stop-budget.js';
import { startDaemon, type DaemonDeps } from './start-daemon.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'flts-start-daemon-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** What happened, in order: log messages (`log:<msg>`), role and bus calls. */
function recorder(): { seen: string[]; logger: Logger } {
  const seen: string[] = [];
  const write = (fields: object | string, msg?: string): void => void seen.push(`log:${typeof fields === 'string' ? fields : msg}`);
  const logger = { info: write, warn: write, error: write, debug: () => {}, child: () => logger } as unknown as Logger;
  return { seen, logger };
}

describe('core > daemon > start-daemon', () => {
  it('stopped while a role starts: starts no further role, stops those started before the bus closes, then says it stopped', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['first', 'second', 'third'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const { seen, logger } = recorder();
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const bus: MessageBus = { ...fsBus, close: async () => (seen.push('bus closed'), fsBus.close()) };
    await bus.publish('work', { key: null, value: 'unfinished' });
    let working: () => void = () => {};
    const handlerRuns = new Promise<void>((resolve) => (working = resolve));
    let entered: () => void = () => {};
    const secondStarting = new Promise<void>((resolve) => (entered = resolve));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handle = (name: string, stop: () => Promise<void> = async () => {}): RoleHandle => ({ name, subscriptions: [], status: () => ({}), stop: async () => (seen.push(`${name} stopped`), stop()) });
    const registry = createRoleRegistry({
      // Its one message is in its handler, which only ends when the subscription stops.
      first: async () => {
        const subscription = await bus.subscribe({ group: 'g-first', topics: ['work'] }, async (_message, { signal }) => {
          working();
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        });
        return handle('first', () => subscription.stop());
      },
      second: async () => {
        entered();
        await gate;
        return handle('second');
      },
      third: async () => (seen.push('third started'), handle('third')),
    });
    const events: FltsEvent[] = [];
    const controller = new AbortController();
    const starting = startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry, signal: controller.signal, onEvent: (event) => events.push(event) });
    const outcome = starting.then(() => 'started', (error: unknown) => error);
    await Promise.all([handlerRuns, secondStarting]);
    controller.abort();
    // The role being started finishes only after everything the stop does at once has been done.
    setImmediate(release);
    expect(await outcome).not.toBe('started');

    expect(seen).not.toContain('third started');
    expect(seen.filter((step) => !step.startsWith('log:daemon_role_started'))).toEqual(['log:daemon_listening', 'second stopped', 'first stopped', 'bus closed', 'log:daemon_stopped']);
    expect(events).toEqual([{ type: 'daemon.listening', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), roles: ['first', 'second', 'third'] }]);
    // The message in the handler when the stop came was left for the next start.
    const reader = createFsBus({ root: path.join(home, 'bus') });
    expect(await reader.lag('g-first', ['work'])).toMatchObject([{ committedOffset: -1, lag: 1 }]);
    await reader.close();
  });

  it('stops its roles side by side, each within its own grace, so the slowest one bounds the stop, not their sum', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['first', 'second'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const { seen, logger } = recorder();
    const bus = createFsBus({ root: path.join(home, 'bus') });
    // Each role's stop ends only once the other's has begun: one after the other, the first would wait out its grace.
    let stopsBegun = 0;
    let bothBegun: () => void = () => {};
    const together = new Promise<void>((resolve) => (bothBegun = resolve));
    const role = (name: string) => async (): Promise<RoleHandle> => ({
      name,
      subscriptions: [],
      status: () => ({}),
      stop: async () => {
        seen.push(`${name} stopping`);
        if (++stopsBegun === 2) bothBegun();
        await together;
        seen.push(`${name} stopped`);
      },
    });
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry: createRoleRegistry({ first: role('first'), second: role('second') }) });
    await daemon.stop();
    expect(seen.filter((step) => !['log:daemon_listening', 'log:daemon_role_started'].includes(step))).toEqual(['second stopping', 'first stopping', 'second stopped', 'first stopped', 'log:daemon_stopped']);
  }, 30_000);

  it('closes the bus beside the roles\' stops: a role waiting on the brokers (gone: its consumer\'s disconnect waits) is released by the bus\'s bounded close, not after its own grace', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['waiting'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const { seen, logger } = recorder();
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    let closing: () => void = () => {};
    const busClosing = new Promise<void>((resolve) => (closing = resolve));
    const bus: MessageBus = { ...fsBus, close: async () => (seen.push('bus closing'), closing(), fsBus.close()) };
    // Stands for a subscription whose disconnect waits for a broker that does not answer until the bus ends the connection.
    const registry = createRoleRegistry({
      waiting: async () => ({
        name: 'waiting',
        subscriptions: [],
        status: () => ({}),
        stop: async () => {
          seen.push('waiting stopping');
          await busClosing;
          seen.push('waiting stopped');
        },
      }),
    });
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry, rolesFirstMs: 50 });
    await daemon.stop();
    expect(seen.filter((step) => !['log:daemon_listening', 'log:daemon_role_started'].includes(step))).toEqual(['waiting stopping', 'bus closing', 'waiting stopped', 'log:daemon_stopped']);
  }, 30_000);

  it('warns once listening when /status answers loopback clients without a token on a port other hosts reach, and not with the token', async () => {
    const warnedOn = async (flags: Record<string, unknown>): Promise<string[]> => {
      const settings = resolveSettings({ flags: { home, 'daemon.roles': ['idle'], 'daemon.port': 0, ...flags } }).settings;
      const { seen, logger } = recorder();
      const registry = createRoleRegistry({ idle: async () => ({ name: 'idle', subscriptions: [], status: () => ({}), stop: async () => {} }) });
      const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus: createFsBus({ root: path.join(home, 'bus') }), logger, registry });
      await daemon.stop();
      return seen.filter((step) => step === 'log:admin_routes_without_token');
    };
    expect(await warnedOn({ 'daemon.host': '0.0.0.0' })).toEqual(['log:admin_routes_without_token']);
    expect(await warnedOn({ 'daemon.host': '0.0.0.0', 'serve.adminToken': 'admin-secret' })).toEqual([]);
    expect(await warnedOn({ 'daemon.host': '127.0.0.1' })).toEqual([]);
  }, 30_000);

  it('says which role outlasted its grace, and stops regardless', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['stuck'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const { seen, logger } = recorder();
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const bus: MessageBus = { ...fsBus, close: async () => (seen.push('bus closed'), fsBus.close()) };
    const registry = createRoleRegistry({ stuck: async () => ({ name: 'stuck', subscriptions: [], status: () => ({}), stop: () => (seen.push('stuck stopping'), new Promise<void>(() => {})) }) });
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry, roleStopGraceMs: 20 });
    await daemon.stop();
    expect(seen.filter((step) => !['log:daemon_listening', 'log:daemon_role_started'].includes(step))).toEqual(['stuck stopping', 'log:daemon_role_stop_slow', 'bus closed', 'log:daemon_stopped']);
  }, 30_000);

  it('closes the bus after roles that stop in time: an outcome a role publishes while it stops still goes out', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['finishing'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const { seen, logger } = recorder();
    const fsBus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const bus: MessageBus = { ...fsBus, close: async () => (seen.push('bus closing'), fsBus.close()) };
    // Stands for a resync's promotion under way when the stop came: it ends, then announces itself.
    const registry = createRoleRegistry({
      finishing: async () => ({
        name: 'finishing',
        subscriptions: [],
        status: () => ({}),
        stop: async () => {
          seen.push('finishing stopping');
          for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
          await bus.publish('model-selected', { key: null, value: 'announced' });
          seen.push('finishing published');
        },
      }),
    });
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry });
    await daemon.stop();
    // Before, the bus began closing as the role began stopping, and could end its producer under the notice.
    expect(seen.filter((step) => !['log:daemon_listening', 'log:daemon_role_started'].includes(step))).toEqual(['finishing stopping', 'finishing published', 'bus closing', 'log:daemon_stopped']);
  }, 30_000);

  it("closes the bus by the deadline its roles began leaving with, so that with the brokers away the stop waits for them bus.kafka.closeTimeoutMs once", async () => {
    const closeTimeoutMs = 3_000;
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['stuck'], 'daemon.port': 0, 'daemon.host': '127.0.0.1', 'bus.kind': 'kafka', 'bus.kafka.brokers': ['127.0.0.1:9'], 'bus.kafka.closeTimeoutMs': closeTimeoutMs } }).settings;
    const { logger } = recorder();
    const fsBus = createFsBus({ root: path.join(home, 'bus') });
    const closes: BusCloseOptions[] = [];
    const bus: MessageBus = { ...fsBus, close: async (options = {}) => (closes.push(options), fsBus.close()) };
    let roleStopBegan = Number.NaN;
    // Its group's leave waits for a broker that is away: it never ends.
    const registry = createRoleRegistry({ stuck: async () => ({ name: 'stuck', subscriptions: [], status: () => ({}), stop: () => ((roleStopBegan = performance.now()), new Promise<void>(() => {})) }) });
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry, roleStopGraceMs: 50 });
    const stopBegan = performance.now();
    await daemon.stop();
    expect(closes).toHaveLength(1);
    const leftAtRoleStop = closes[0].deadline!.atMs - roleStopBegan;
    // The deadline was taken as the roles began leaving (not when the bus's close began, after their head start).
    expect(closes[0].deadline!.atMs - closeTimeoutMs).toBeGreaterThanOrEqual(stopBegan);
    expect(leftAtRoleStop).toBeLessThanOrEqual(closeTimeoutMs);
  });

  it('stopped while a role still starts, waits for it within the deadline the stop began with, not before it: the bus\'s close ends the start, whose started roles stop before the daemon says it stopped', async () => {
    const closeTimeoutMs = 300;
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['first', 'joining'], 'daemon.port': 0, 'daemon.host': '127.0.0.1', 'bus.kind': 'kafka', 'bus.kafka.brokers': ['127.0.0.1:9'], 'bus.kafka.closeTimeoutMs': closeTimeoutMs } }).settings;
    const { seen, logger } = recorder();
    const fsBus = createFsBus({ root: path.join(home, 'bus') });
    const closes: BusCloseOptions[] = [];
    let closing: () => void = () => {};
    const busClosing = new Promise<void>((resolve) => (closing = resolve));
    const bus: MessageBus = { ...fsBus, close: async (options = {}) => (seen.push('bus closing'), closes.push(options), closing(), fsBus.close()) };
    const stepAt = new Map<string, number>();
    const timed: Logger = { ...logger, warn: (fields: object, msg?: string) => (stepAt.set(`log:${msg}`, performance.now()), logger.warn(fields, msg)) } as Logger;
    let entered: () => void = () => {};
    const joiningStarts = new Promise<void>((resolve) => (entered = resolve));
    const registry = createRoleRegistry({
      first: async () => ({ name: 'first', subscriptions: [], status: () => ({}), stop: async () => void seen.push('first stopped') }),
      // Stands for a subscribe whose broker does not answer (paused): it fails only once the bus's close ends its connections.
      joining: async () => {
        entered();
        await busClosing;
        throw new FltsError('FLTS_BUS_UNAVAILABLE', 'Kafka subscribing group g to t failed: the bus was closed.');
      },
    });
    const controller = new AbortController();
    const outcome = startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger: timed, registry, signal: controller.signal }).then(() => 'started', (error: unknown) => error);
    await joiningStarts;
    const stopBegan = performance.now();
    controller.abort();
    expect(await outcome).not.toBe('started');

    expect(closes).toHaveLength(1);
    // The deadline was taken as the stop began, before the wait for the start gave up; before, it was taken after
    // that wait (15 s - 2 s - closeTimeoutMs - 1 s at most), and the close waited its own closeTimeoutMs on top.
    const startWaitEnded = stepAt.get('log:daemon_role_start_slow')!;
    expect(closes[0].deadline!.atMs - closeTimeoutMs).toBeGreaterThanOrEqual(stopBegan);
    expect(closes[0].deadline!.atMs - closeTimeoutMs).toBeLessThan(startWaitEnded);
    expect(seen.filter((step) => !['log:daemon_listening', 'log:daemon_role_started'].includes(step))).toEqual(['log:daemon_role_start_slow', 'bus closing', 'first stopped', 'log:daemon_stopped']);
  });

  it('stops within its shutdown grace, its margin kept, at the longest bus.kafka.closeTimeoutMs it accepts and the slowest stop that allows: the close ending a second past the deadline, a role start it ended taking a second more to stop its roles', async () => {
    // On a fake clock: the stop's own timers, the bus's close and the role's start wait on it, and it moves at once.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const settings = resolveSettings({ flags: { home, 'daemon.roles': ['first', 'joining'], 'daemon.port': 0, 'daemon.host': '127.0.0.1', 'bus.kind': 'kafka', 'bus.kafka.brokers': ['127.0.0.1:9'], 'bus.kafka.closeTimeoutMs': DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS } }).settings;
      const { seen, logger } = recorder();
      const fsBus = createFsBus({ root: path.join(home, 'bus') });
      const at = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
      let closed: () => void = () => {};
      const busClosed = new Promise<void>((resolve) => (closed = resolve));
      // Gives up at the deadline, then ends its connections as late as a Kafka bus may (a connect's last retry).
      const bus: MessageBus = { ...fsBus, close: async (options = {}) => (await at(msLeft(options.deadline!) + BUS_CLOSE_END_MS), closed(), fsBus.close()) };
      let entered: () => void = () => {};
      const joiningStarts = new Promise<void>((resolve) => (entered = resolve));
      let firstStoppedAt = Number.NaN;
      const registry = createRoleRegistry({
        first: async () => ({ name: 'first', subscriptions: [], status: () => ({}), stop: async () => ((firstStoppedAt = performance.now()), void seen.push('first stopped')) }),
        // A subscribe waiting for a broker that does not answer, which fails once the bus's connections end: as late as that allows.
        joining: async () => {
          entered();
          await busClosed;
          await at(BUS_CLOSE_END_MS - 1);
          throw new FltsError('FLTS_BUS_UNAVAILABLE', 'Kafka subscribing group g to t failed: the bus was closed.');
        },
      });
      const controller = new AbortController();
      let settled = false;
      const outcome = startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry, signal: controller.signal }).finally(() => (settled = true));
      outcome.catch(() => {});
      await joiningStarts;
      const stopBegan = performance.now();
      controller.abort();
      while (!settled) await vi.advanceTimersByTimeAsync(10);
      await expect(outcome).rejects.toBeDefined();

      expect(seen).not.toContain('log:daemon_shutdown_grace_exceeded');
      expect(seen.filter((step) => !['log:daemon_listening', 'log:daemon_role_started'].includes(step))).toEqual(['log:daemon_role_start_slow', 'first stopped', 'log:daemon_stopped']);
      // The stop's last step ended with the grace less its margin, less the millisecond the start was quicker than its
      // bound: a longer close would eat into the margin, a shorter cap would leave part of the grace unused.
      expect(firstStoppedAt - stopBegan).toBe(DAEMON_SHUTDOWN_GRACE_MS - DAEMON_STOP_MARGIN_MS - 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a bus.kafka.closeTimeoutMs its shutdown grace cannot hold, before it listens', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['idle'], 'daemon.port': 0, 'daemon.host': '127.0.0.1', 'bus.kind': 'kafka', 'bus.kafka.brokers': ['127.0.0.1:9'], 'bus.kafka.closeTimeoutMs': DAEMON_SHUTDOWN_GRACE_MS } }).settings;
    const { seen, logger } = recorder();
    const bus = createFsBus({ root: path.join(home, 'bus') });
    const registry = createRoleRegistry({ idle: async () => ({ name: 'idle', subscriptions: [], status: () => ({}), stop: async () => {} }) });
    await expect(startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry })).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'bus.kafka.closeTimeoutMs', max: DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS } });
    expect(seen).toEqual([]);
    await bus.close();
  });

  it("refuses a serving role whose port is the health server's before it listens", async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['serving'], 'daemon.port': 19154, 'daemon.host': '127.0.0.1', 'serve.port': 19154, 'serve.host': '127.0.0.1' } }).settings;
    const { seen, logger } = recorder();
    const bus = createFsBus({ root: path.join(home, 'bus') });
    await expect(startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger })).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'daemon.port', port: 19154, sameAs: 'serve.port' } });
    expect(seen).toEqual([]);
    await bus.close();
  });

  it("refuses a serving role on the health server's port on a host written otherwise that shares its address", async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['serving'], 'daemon.port': 19354, 'daemon.host': 'localhost', 'serve.port': 19354, 'serve.host': '127.0.0.1' } }).settings;
    const { seen, logger } = recorder();
    const bus = createFsBus({ root: path.join(home, 'bus') });
    await expect(startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger })).rejects.toMatchObject({
      code: 'FLTS_CONFIG_INVALID_VALUE',
      message: expect.stringContaining('on hosts that share an address (localhost, 127.0.0.1)'),
      details: { setting: 'daemon.port', port: 19354, sameAs: 'serve.port' },
    });
    expect(seen).toEqual([]);
    await bus.close();
  });

  it('says in daemon_stopped what stopped it: the signal stoppedBy names, while running or starting, the code of a startup that failed, or a call of stop()', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['idle'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const store = createFsStore(path.join(home, 'store'));
    const bus = createFsBus({ root: path.join(home, 'bus') });
    const idle = async (): Promise<RoleHandle> => ({ name: 'idle', subscriptions: [], status: () => ({}), stop: async () => {} });
    /** The fields of the daemon_stopped line of a daemon started with `registry` and `deps`, stopped by `stop`. */
    async function stoppedLine(registry: ReturnType<typeof createRoleRegistry>, deps: Pick<DaemonDeps, 'signal' | 'stoppedBy'>, stop: (started: Promise<{ stop(): Promise<void> }>) => Promise<unknown>): Promise<object[]> {
      const lines: object[] = [];
      const write = (fields: object, msg?: string): void => void (msg === 'daemon_stopped' && lines.push(fields));
      const logger = { info: write, warn: () => {}, error: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;
      await stop(startDaemon(settings, { store, bus, logger, registry, ...deps }));
      return lines;
    }
    const signalled = new AbortController();
    expect(await stoppedLine(createRoleRegistry({ idle }), { signal: signalled.signal, stoppedBy: () => 'SIGTERM' }, async (started) => {
      const daemon = await started;
      signalled.abort();
      await daemon.stop();
    })).toEqual([{ stopped_by: 'SIGTERM' }]);
    expect(await stoppedLine(createRoleRegistry({ idle }), {}, async (started) => (await started).stop())).toEqual([{ stopped_by: 'stop()' }]);
    const failing = createRoleRegistry({ idle: async () => Promise.reject(new FltsError('FLTS_CONFIG_INVALID_VALUE', 'refused')) });
    expect(await stoppedLine(failing, {}, (started) => expect(started).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' }))).toEqual([{ stopped_by: 'FLTS_CONFIG_INVALID_VALUE' }]);
    const starting = new AbortController();
    let entered: () => void = () => {};
    const roleStarting = new Promise<void>((resolve) => (entered = resolve));
    // Its start ends with the stop, as a subscribe waiting for its group ends once the bus closes.
    const waiting = createRoleRegistry({ idle: async ({ signal }) => (entered(), new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))) });
    expect(await stoppedLine(waiting, { signal: starting.signal, stoppedBy: () => 'SIGINT' }, async (started) => {
      await roleStarting;
      starting.abort();
      await expect(started).rejects.toBeDefined();
    })).toEqual([{ stopped_by: 'SIGINT' }]);
    await bus.close();
  }, 30_000);

  it('stopped before it listened: binds nothing and says nothing of listening', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['idle'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const { seen, logger } = recorder();
    const registry = createRoleRegistry({ idle: async () => ({ name: 'idle', subscriptions: [], status: () => ({}), stop: async () => {} }) });
    const bus = createFsBus({ root: path.join(home, 'bus') });
    await expect(startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry, signal: AbortSignal.abort() })).rejects.toBeDefined();
    expect(seen).toEqual([]);
    await bus.close();
  });
});
