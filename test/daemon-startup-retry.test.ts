import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCliLogger } from '../src/cli/cli-logger.js';
import { createFsBus } from '../src/core/bus/fs-bus.js';
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
    expect(body).toMatchObject({ status: 'not_ready', components: { roles: false }, startup: { code: 'FLTS_STORE_UNAVAILABLE' } });
    expect(body.startup?.message).toContain(`http://${endpoint}`);
    expect((await fetch(`${listening.url as string}/healthz`)).status).toBe(200);

    controller.abort();
    expect(await outcome).not.toBe('started');
    expect(JSON.stringify(log.lines)).not.toContain(SECRET);
    expect(log.lines.map((line) => line.msg)).toContain('daemon_stopped');
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
