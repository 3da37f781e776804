import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCliLogger } from '../src/cli/cli-logger.js';
import { createFsBus } from '../src/core/bus/fs-bus.js';
import { createMessageBus } from '../src/core/bus/index.js';
import { createKafkaBus } from '../src/core/bus/kafka-bus.js';
import { resolveSettings } from '../src/core/config/settings.js';
import { createRoleRegistry } from '../src/core/daemon/role-registry.js';
import { startDaemon, type DaemonDeps } from '../src/core/daemon/start-daemon.js';
import { FltsError } from '../src/core/errors.js';
import { createFsStore } from '../src/core/storage/fs-store.js';
import type { ObjectStore } from '../src/core/storage/object-store.js';
import { createS3Store } from '../src/core/storage/s3-store.js';

const SECRET = 'daemon-secret-never-shown';
const FAST_RETRY = { retries: Number.POSITIVE_INFINITY, baseDelayMs: 5, maxDelayMs: 20, jitter: false };

describe('daemon startup against a store that is not there', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-startup-'));
  const settings = resolveSettings({ flags: { home, 'daemon.roles': ['idle'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
  const registry = createRoleRegistry({ idle: async () => ({ name: 'idle', subscriptions: [], status: () => ({}), stop: async () => {} }) });
  const sockets = new Set<net.Socket>();
  // Accepts connections and never answers.
  const blackhole = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {}).on('close', () => sockets.delete(socket)).resume();
  });
  afterEach(() => sockets.forEach((socket) => socket.destroy()));
  afterAll(async () => {
    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  /** The daemon's log lines, and a promise of the first line with message `msg`. */
  function capture(): { deps: Pick<DaemonDeps, 'logger'>; lines: Array<Record<string, unknown>>; first: (msg: string) => Promise<Record<string, unknown>> } {
    const lines: Array<Record<string, unknown>> = [];
    const waiting: Array<{ msg: string; resolve: (line: Record<string, unknown>) => void }> = [];
    const logger = createCliLogger('info', 'flts-daemon', {
      write: (text: string) => {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const wait of waiting.filter((w) => w.msg === line.msg)) wait.resolve(line);
      },
    });
    const first = (msg: string) => new Promise<Record<string, unknown>>((resolve) => {
      const seen = lines.find((line) => line.msg === msg);
      if (seen) resolve(seen);
      else waiting.push({ msg, resolve });
    });
    return { deps: { logger }, lines, first };
  }

  it('keeps retrying a blackholed S3 endpoint, reports why on /readyz, and stops when told to', async () => {
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const endpoint = `127.0.0.1:${(blackhole.address() as net.AddressInfo).port}`;
    const store = createS3Store({ endpoint, accessKey: 'a', secretKey: SECRET, idleTimeoutMs: 100, requestTimeoutMs: 300 });
    const log = capture();
    const controller = new AbortController();
    const starting = startDaemon(settings, { ...log.deps, store, bus: createFsBus({ root: path.join(home, 'bus') }), registry, signal: controller.signal, startupRetry: FAST_RETRY });
    const outcome = starting.then(() => 'started', (error: unknown) => error);

    const listening = await log.first('daemon_listening');
    const retrying = await log.first('daemon_startup_retrying');
    expect(retrying).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    const response = await fetch(`${listening.url as string}/readyz`);
    const body = (await response.json()) as { status: string; components: Record<string, boolean>; startup?: { code: string; message: string } };
    expect(response.status).toBe(503);
    // The endpoint is the operator's to read, in the log; /readyz answers anyone who reaches the port.
    expect(retrying.err).toContain(`http://${endpoint}`);
    expect(body.startup?.message).not.toContain(endpoint);
    expect(body).toMatchObject({ status: 'not_ready', components: { roles: false }, startup: { waiting: 'store', code: 'FLTS_STORE_UNAVAILABLE' } });
    expect((await fetch(`${listening.url as string}/healthz`)).status).toBe(200);

    controller.abort();
    expect(await outcome).not.toBe('started');
    expect(JSON.stringify(log.lines)).not.toContain(SECRET);
    expect(log.lines.map((line) => line.msg)).toContain('daemon_stopped');
  });

  /** /healthz, /readyz and /metrics, the routes anyone who reaches the port may call, as their text. */
  async function publicAnswers(url: string): Promise<Record<string, string>> {
    const answers: Record<string, string> = {};
    for (const route of ['/healthz', '/readyz', '/metrics']) answers[route] = await (await fetch(`${url}${route}`)).text();
    return answers;
  }

  it('says on its public routes what startup waits for by code, never the endpoint nor the access key id a store outage names, which the log keeps', async () => {
    // As an S3 store's messages name them (a credentials source that does not answer names the key it renews).
    const ENDPOINT = 'http://minio.internal:9000';
    const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
    const fsStore = createFsStore(path.join(home, 'store'));
    let down = true;
    const store = new Proxy(fsStore, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          down ? Promise.reject(new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${ENDPOINT} is unavailable (ECONNREFUSED) while renewing the credentials of access key id '${ACCESS_KEY_ID}'.`)) : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    const log = capture();
    const controller = new AbortController();
    const starting = startDaemon(settings, { ...log.deps, store, bus: createFsBus({ root: path.join(home, 'bus') }), registry, signal: controller.signal, startupRetry: FAST_RETRY });
    try {
      const listening = await log.first('daemon_listening');
      const retrying = await log.first('daemon_startup_retrying');
      const answers = await publicAnswers(listening.url as string);
      for (const [route, text] of Object.entries(answers)) {
        expect({ route, endpoint: text.includes('minio.internal'), key: text.includes(ACCESS_KEY_ID) }).toEqual({ route, endpoint: false, key: false });
      }
      expect(JSON.parse(answers['/readyz'])).toEqual({
        status: 'not_ready',
        components: { roles: false, bus: true, store: false },
        startup: {
          waiting: 'store',
          code: 'FLTS_STORE_UNAVAILABLE',
          message: "Waiting to start the roles: the object store's buckets cannot be ensured yet (FLTS_STORE_UNAVAILABLE). Startup tries again until it succeeds; the daemon_startup_retrying log line gives the cause.",
        },
      });
      // The operator reads the whole of it in the log.
      expect(retrying).toMatchObject({ waiting: 'store', code: 'FLTS_STORE_UNAVAILABLE' });
      expect(retrying.err).toBe(`S3 endpoint ${ENDPOINT} is unavailable (ECONNREFUSED) while renewing the credentials of access key id '${ACCESS_KEY_ID}'.`);
    } finally {
      down = false;
      controller.abort();
      await starting.then((daemon) => daemon.stop(), () => undefined);
    }
  });

  it('says on /readyz that it waits for the broker by code, never the broker address its cause names, which the log keeps', async () => {
    // A listener that closes every connection at once: kafkajs' connect fails as against a broker that is not there.
    const closing = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
    const broker = `127.0.0.1:${(closing.address() as net.AddressInfo).port}`;
    const kafkaSettings = resolveSettings({ flags: { home, 'daemon.roles': ['idle'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' }, env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker } }).settings;
    const log = capture();
    const controller = new AbortController();
    const bus = createKafkaBus({ ...kafkaSettings.bus.kafka, brokerRetries: 0, logger: log.deps.logger });
    const starting = startDaemon(kafkaSettings, { ...log.deps, store: createFsStore(path.join(home, 'store')), bus, registry, signal: controller.signal, startupRetry: FAST_RETRY });
    try {
      const listening = await log.first('daemon_listening');
      const retrying = await log.first('daemon_startup_retrying');
      expect(retrying).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', err: expect.stringContaining(broker) });
      // Not /metrics: flts_bus_connection_failures_total is labelled by broker, for the dashboards and alerts.
      const { ['/metrics']: _metrics, ...probes } = await publicAnswers(listening.url as string);
      for (const [route, text] of Object.entries(probes)) expect({ route, broker: text.includes(broker) }).toEqual({ route, broker: false });
      expect(JSON.parse(probes['/readyz'])).toMatchObject({ status: 'not_ready', startup: { waiting: 'bus', code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringContaining("the message bus's pipeline topics cannot be ensured yet (FLTS_BUS_UNAVAILABLE)") } });
      expect(retrying).toMatchObject({ waiting: 'bus' });
    } finally {
      controller.abort();
      await starting.then((daemon) => daemon.stop(), () => undefined);
      await new Promise((resolve) => closing.close(resolve));
    }
  });

  it("says why it waits for a bootstrap broker that refuses connections within bus.kafka.commandConnectTimeoutMs, not after kafkajs' retries of the connect", async () => {
    const closing = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
    const broker = `127.0.0.1:${(closing.address() as net.AddressInfo).port}`;
    const kafkaSettings = resolveSettings({ flags: { home, 'daemon.roles': ['idle'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' }, env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '300' } }).settings;
    const log = capture();
    const controller = new AbortController();
    // The service's bus as `flts daemon` makes it: no bound of a command's, kafkajs' retries of the connect (about 25 s) as they are.
    const bus = createMessageBus(kafkaSettings, { logger: log.deps.logger })!;
    const starting = startDaemon(kafkaSettings, { ...log.deps, store: createFsStore(path.join(home, 'store')), bus, registry, signal: controller.signal, startupRetry: FAST_RETRY });
    try {
      // Before, the bound began once the connect was over: the first line came with kafkajs' own error, ~25 s on.
      const retrying = await log.first('daemon_startup_retrying');
      expect(retrying).toMatchObject({ waiting: 'bus', code: 'FLTS_BUS_UNAVAILABLE' });
      expect(retrying.err).toContain(`Kafka admin connect failed (brokers ${broker}): not connected yet after 300 ms (still waiting): the bootstrap broker (${broker}) refused the connection or did not answer`);
      expect(retrying).not.toHaveProperty('advertised');
    } finally {
      controller.abort();
      await starting.then((daemon) => daemon.stop(), () => undefined);
      await bus.close();
      await new Promise((resolve) => closing.close(resolve));
    }
  });

  it('names the role whose start it waits for on /readyz by code, never the broker its cause names, and starts it once it can', async () => {
    let down = true;
    const roles = createRoleRegistry({
      flaky: async () => {
        if (down) throw new FltsError('FLTS_BUS_UNAVAILABLE', 'The broker kafka-0.kafka.internal:9092 did not answer (ECONNREFUSED).');
        return { name: 'flaky', subscriptions: [], status: () => ({}), stop: async () => {} };
      },
    });
    const log = capture();
    const starting = startDaemon({ ...settings, daemon: { ...settings.daemon, roles: ['flaky'] } }, { ...log.deps, store: createFsStore(path.join(home, 'store')), bus: createFsBus({ root: path.join(home, 'bus') }), registry: roles, startupRetry: FAST_RETRY });
    const listening = await log.first('daemon_listening');
    const retrying = await log.first('daemon_startup_retrying');
    const readyz = await (await fetch(`${listening.url as string}/readyz`)).text();
    down = false;
    const daemon = await starting;
    try {
      expect(readyz).not.toContain('kafka.internal');
      expect(JSON.parse(readyz)).toMatchObject({ status: 'not_ready', startup: { waiting: 'role', role: 'flaky', code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringContaining('role flaky cannot start yet (FLTS_BUS_UNAVAILABLE)') } });
      expect(retrying).toMatchObject({ waiting: 'role', role: 'flaky', code: 'FLTS_BUS_UNAVAILABLE', err: 'The broker kafka-0.kafka.internal:9092 did not answer (ECONNREFUSED).' });
      // Started, it says nothing of the wait any more.
      expect(await (await fetch(`${daemon.url}/readyz`)).json()).not.toHaveProperty('startup');
    } finally {
      await daemon.stop();
    }
  });

  it('starts its roles once the store answers', async () => {
    const fsStore = createFsStore(path.join(home, 'store'));
    let failures = 2;
    const flaky: ObjectStore = {
      ...fsStore,
      ensureBucket: async (bucket) => {
        if (failures > 0) {
          failures -= 1;
          throw new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://127.0.0.1:1 did not answer.');
        }
        return fsStore.ensureBucket(bucket);
      },
    };
    const log = capture();
    const daemon = await startDaemon(settings, { ...log.deps, store: flaky, bus: createFsBus({ root: path.join(home, 'bus') }), registry, startupRetry: FAST_RETRY });
    try {
      expect(daemon.roles().map((role) => role.name)).toEqual(['idle']);
      expect(log.lines.filter((line) => line.msg === 'daemon_startup_retrying')).toHaveLength(2);
      expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
    } finally {
      await daemon.stop();
    }
  });

  it('fails at once on an error that waiting does not mend', async () => {
    const fsStore = createFsStore(path.join(home, 'store'));
    let calls = 0;
    const refusing: ObjectStore = {
      ...fsStore,
      ensureBucket: async () => {
        calls += 1;
        throw new FltsError('FLTS_PATH_UNUSABLE', 'Cannot mkdir /store: read-only filesystem (EROFS).');
      },
    };
    await expect(startDaemon(settings, { store: refusing, bus: createFsBus({ root: path.join(home, 'bus') }), registry, startupRetry: FAST_RETRY })).rejects.toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
    expect(calls).toBe(1);
  });
});
