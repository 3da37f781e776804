import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus, PartitionLag } from '../bus/message-bus.js';
import { defaultSettings } from '../config/settings.js';
import { pollUntil } from '../retry.js';
import { readinessOf } from '../serve/readiness.js';
import { createFsStore } from '../storage/fs-store.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { buildHealthServer, READINESS_CHECK_MS } from './health-server.js';
import type { RoleHandle } from './role-registry.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-daemon-health-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** What the server at `port` answers a request written as raw bytes, read until it closes the connection. */
function answerTo(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(request)).once('error', reject);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.once('close', () => resolve(received));
  });
}

describe('core > daemon > health server', () => {
  it("asks the broker for every subscription's lag at once, so one slow answer does not hold up the others", async () => {
    const groups = ['train-lstm', 'train-gru', 'nonml-prophet'];
    const asked = new Set<string>();
    let everyoneAsked!: () => void;
    const allAsked = new Promise<void>((resolve) => (everyoneAsked = resolve));
    const fsBus = createFsBus({ root: path.join(root, 'bus') });
    // Each answer waits until every group has been asked: queried one after another, each would time out instead.
    const bus: MessageBus = {
      ...fsBus,
      lag: async (group: string, topics: string[]): Promise<PartitionLag[]> => {
        asked.add(group);
        if (asked.size === groups.length) everyoneAsked();
        await allAsked;
        return [{ topic: topics[0], partition: 0, committedOffset: 0, endOffset: groups.indexOf(group) + 1, lag: groups.indexOf(group) + 1 }];
      },
    };
    const roles: RoleHandle[] = [{ name: 'trainer', subscriptions: groups.map((group) => ({ group, topics: ['training-data'], stop: async () => undefined })), status: () => ({}), stop: async () => undefined }];
    const metrics = createDaemonMetrics();
    const app = await buildHealthServer({ settings: defaultSettings(), store: createFsStore(path.join(root, 'store')), bus, metrics, roles: () => roles, started: () => true, probeTimeoutMs: 2_000 });
    try {
      const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      for (const [index, group] of groups.entries()) expect(body).toContain(`flts_daemon_consumer_lag{group="${group}",topic="training-data",partition="0"} ${index + 1}`);
    } finally {
      await app.close();
      await fsBus.close();
    }
  });

  it("answers /readyz, once the stop began, as its serving role's readiness answers it then: one rule for both ports", async () => {
    const fsBus = createFsBus({ root: path.join(root, 'bus-stopping') });
    const stopping = new AbortController();
    const app = await buildHealthServer({ settings: defaultSettings(), store: createFsStore(path.join(root, 'store-stopping')), bus: fsBus, metrics: createDaemonMetrics(), roles: () => [], started: () => true, stopping: stopping.signal, probeTimeoutMs: 2_000 });
    try {
      stopping.abort();
      const answer = await app.inject({ method: 'GET', url: '/readyz' });
      // A serving replica with a model loaded and warm, whose stop began as the daemon's did.
      const serving = readinessOf({ status: () => ({ ready: true }) } as Parameters<typeof readinessOf>[0], true);
      expect({ ready: false, status: answer.statusCode, code: answer.json().code, reason: answer.json().reason }).toEqual(serving);
      expect(answer.json()).toMatchObject({ status: 'not_ready', state: 'stopping', components: { roles: false } });
    } finally {
      await app.close();
      await fsBus.close();
    }
  });

  it('says, while a role waits for its consumer group to let it in, which group and for how long at most', async () => {
    const fsBus = createFsBus({ root: path.join(root, 'bus-joining') });
    let joining: string[] = ['eval-promoter'];
    const bus: MessageBus = { ...fsBus, joining: () => joining };
    const app = await buildHealthServer({ settings: defaultSettings(), store: createFsStore(path.join(root, 'store-joining')), bus, metrics: createDaemonMetrics(), roles: () => [], started: () => false, probeTimeoutMs: 2_000 });
    try {
      const waiting = await app.inject({ method: 'GET', url: '/readyz' });
      expect(waiting.statusCode).toBe(503);
      expect(waiting.json().startup).toMatchObject({ waiting: 'group_join', groups: ['eval-promoter'], message: expect.stringContaining('bus.kafka.sessionTimeoutMs (10000 ms)') });
      joining = [];
      expect((await app.inject({ method: 'GET', url: '/readyz' })).json().startup).toBeUndefined();
    } finally {
      await app.close();
      await fsBus.close();
    }
  });

  it('exports what /readyz answers as flts_daemon_ready for every configured role, also before the roles started', async () => {
    const fsBus = createFsBus({ root: path.join(root, 'ready-bus') });
    const store = createFsStore(path.join(root, 'ready-store'));
    let started = false;
    let storeDown = false;
    const flaky = { ...store, list: async (bucket: string, prefix?: string) => (storeDown ? Promise.reject(new Error('store down')) : store.list(bucket, prefix)) };
    const metrics = createDaemonMetrics({ processMetrics: false });
    const app = await buildHealthServer({ settings: defaultSettings(), store: flaky, bus: fsBus, metrics, roles: () => [], configuredRoles: ['batch', 'promoter'], started: () => started, probeTimeoutMs: 2_000 });
    const scrape = async () => {
      const [metricsBody, readyz] = [(await app.inject({ method: 'GET', url: '/metrics' })).body, (await app.inject({ method: 'GET', url: '/readyz' })).statusCode];
      return { readyz, series: metricsBody.split('\n').filter((line) => line.startsWith('flts_daemon_ready{')) };
    };
    try {
      expect(await scrape()).toEqual({ readyz: 503, series: ['flts_daemon_ready{role="batch"} 0', 'flts_daemon_ready{role="promoter"} 0'] });
      started = true;
      expect(await scrape()).toEqual({ readyz: 200, series: ['flts_daemon_ready{role="batch"} 1', 'flts_daemon_ready{role="promoter"} 1'] });
      storeDown = true;
      expect(await scrape()).toEqual({ readyz: 503, series: ['flts_daemon_ready{role="batch"} 0', 'flts_daemon_ready{role="promoter"} 0'] });
    } finally {
      await app.close();
      await fsBus.close();
    }
  });

  it("holds connections to the serve API's limits: none beyond serve.maxConnections, and headers that never finish answered 408", async () => {
    const defaults = defaultSettings();
    const settings = { ...defaults, serve: { ...defaults.serve, maxConnections: 2, headersTimeoutMs: 2_000 } };
    const bus = createFsBus({ root: path.join(root, 'bus-limits') });
    const metrics = createDaemonMetrics({ processMetrics: false });
    const app = await buildHealthServer({ settings, store: createFsStore(path.join(root, 'store')), bus, metrics, roles: () => [], started: () => true });
    const held: Socket[] = [];
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const open = (): Promise<Socket> =>
        new Promise((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket)).once('error', reject);
          held.push(socket);
        });
      const answer = (socket: Socket): Promise<string> => {
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        return new Promise((resolve) => socket.once('close', () => resolve(text)));
      };
      // Two stalled requests take both connections; a third client gets nothing but a close.
      const stalled = await Promise.all([open(), open()]);
      const stalledAnswers = stalled.map(answer);
      for (const socket of stalled) socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      expect(await answer(await open())).toBe('');
      for (const text of await Promise.all(stalledAnswers)) {
        expect(text).toMatch(/^HTTP\/1.1 408 Request Timeout\r\n/);
        expect(text).toContain('"code":"FLTS_REQUEST_INVALID"');
      }
      // Counted as the serve API counts its own: a refusal at the cap is a connection, no request was read.
      const capCloses = (await metrics.registry.getSingleMetric('flts_daemon_http_connections_closed_at_cap_total')?.get())?.values.map(({ labels, value }) => `${labels.what} ${value}`);
      expect(capCloses?.sort()).toEqual(['idle 0', 'refused 1', 'slow 0']);
    } finally {
      held.forEach((socket) => socket.destroy());
      await app.close();
      await bus.close();
    }
  });

  it('closes connections that never send a byte at the headers timeout, so silent sockets at the cap do not keep probes out', async () => {
    const defaults = defaultSettings();
    const settings = { ...defaults, serve: { ...defaults.serve, maxConnections: 2, headersTimeoutMs: 1_000 } };
    const bus = createFsBus({ root: path.join(root, 'bus-silent') });
    const app = await buildHealthServer({ settings, store: createFsStore(path.join(root, 'store')), bus, metrics: createDaemonMetrics(), roles: () => [], started: () => true });
    const held: Socket[] = [];
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const silentClosed = Array.from({ length: 2 }, () => {
        const socket = connect({ host: '127.0.0.1', port });
        held.push(socket);
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        return new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
      });
      for (const text of await Promise.all(silentClosed)) expect(text).toMatch(/^HTTP\/1.1 408 Request Timeout\r\n/);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      held.forEach((socket) => socket.destroy());
      await app.close();
      await bus.close();
    }
  });

  it('resets a connection as it pipelines its 101st request, as the serve API does, and asks the store for none from that one on', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus-pipelined') });
    const store = createFsStore(path.join(root, 'store'));
    let storeAsked = 0;
    const counting = { ...store, list: async (bucket: string, prefix?: string) => (storeAsked++, store.list(bucket, prefix)) };
    const app = await buildHealthServer({ settings: defaultSettings(), store: counting, bus, metrics: createDaemonMetrics(), roles: () => [], started: () => true });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      // Without the bound, all 150 are answered, each asking the store, and the connection stays open for the keep-alive timeout.
      const outcome = await new Promise<{ answers: number; error?: string }>((resolve) => {
        let answers = 0;
        let error: string | undefined;
        const socket = connect({ host: '127.0.0.1', port }, () => socket.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(150)));
        socket.on('data', (chunk: Buffer) => {
          answers += chunk.toString().split('HTTP/1.1 200 OK').length - 1;
          if (answers === 150) socket.end();
        });
        socket.once('error', (caught: NodeJS.ErrnoException) => (error = caught.code));
        socket.once('close', () => resolve({ answers, error }));
      });
      expect(outcome.error).toBe('ECONNRESET');
      expect(outcome.answers).toBeLessThanOrEqual(100);
      expect(storeAsked).toBeLessThanOrEqual(100);
    } finally {
      await app.close();
      await bus.close();
    }
  });

  it('answers a probe whose client ends its side of the connection once the request is sent (nc -N), as the serve API does', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus-half-closed') });
    const store = createFsStore(path.join(root, 'store'));
    // The store answers the readiness probe only once the client's end has reached the server: the answer is still to
    // be written then, and Node alone ended the connection as the end arrived, dropping it.
    let clientEnded!: () => void;
    const ended = new Promise<void>((resolve) => (clientEnded = resolve));
    const waiting = { ...store, list: async (bucket: string, prefix?: string) => (await ended, store.list(bucket, prefix)) };
    const app = await buildHealthServer({ settings: defaultSettings(), store: waiting, bus, metrics: createDaemonMetrics(), roles: () => [], started: () => true });
    try {
      app.server.on('connection', (socket: Socket) => socket.once('end', () => setImmediate(clientEnded)));
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const answer = await new Promise<string>((resolve, reject) => {
        let received = '';
        const socket = connect({ host: '127.0.0.1', port }, () => socket.end('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).once('error', reject);
        socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
        socket.once('close', () => resolve(received));
      });
      expect(answer).toMatch(/^HTTP\/1.1 200 OK\r\n/);
      expect(JSON.parse(answer.split('\r\n\r\n')[1])).toMatchObject({ status: 'ready' });
    } finally {
      await app.close();
      await bus.close();
    }
  });

  it('answers 405 with Allow to every other method on its paths, as the serve API does, and 404 elsewhere before any body is read', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus-methods') });
    const app = await buildHealthServer({ settings: defaultSettings(), store: createFsStore(path.join(root, 'store')), bus, metrics: createDaemonMetrics(), roles: () => [], started: () => true });
    try {
      for (const method of ['POST', 'DELETE', 'TRACE', 'QUERY', 'PROPFIND', 'MKCOL']) {
        for (const url of ['/livez', '/healthz', '/readyz', '/metrics', '/status']) {
          const answer = await app.inject({ method: method as 'POST', url });
          expect({ method, url, status: answer.statusCode, code: answer.json().code, allow: answer.headers.allow }).toEqual({ method, url, status: 405, code: 'FLTS_REQUEST_METHOD_NOT_ALLOWED', allow: 'GET, HEAD' });
        }
      }
      const elsewhere = await app.inject({ method: 'PROPFIND', url: '/nowhere' });
      expect({ status: elsewhere.statusCode, code: elsewhere.json().code }).toEqual({ status: 404, code: 'FLTS_REQUEST_ROUTE_NOT_FOUND' });
      // The daemon publishes no /openapi.json: its 404 names its routes.
      expect(elsewhere.json().message).toBe('No route PROPFIND /nowhere; this port serves GET /livez, /healthz, /readyz, /metrics and /status.');
      // No route reads a body: one sent anyway is never parsed (fastify's JSON parser answered 400 before the 404).
      for (const payload of ['{not json', '['.repeat(100_000)]) {
        const posted = await app.inject({ method: 'POST', url: '/nowhere', headers: { 'content-type': 'application/json' }, payload });
        expect({ status: posted.statusCode, code: posted.json().code }).toEqual({ status: 404, code: 'FLTS_REQUEST_ROUTE_NOT_FOUND' });
      }
      // A path the router cannot decode is coded as every other refusal (fastify's own body was FST_ERR_BAD_URL).
      const undecodable = await app.inject({ method: 'GET', url: '/%E0%A4%A' });
      expect({ status: undecodable.statusCode, code: undecodable.json().code }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID' });
    } finally {
      await app.close();
      await bus.close();
    }
  });

  it('answers an Expect it cannot meet and an HTTP/1.1 request without a Host with coded refusals, as the serve API does', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus-expect') });
    const app = await buildHealthServer({ settings: defaultSettings(), store: createFsStore(path.join(root, 'store')), bus, metrics: createDaemonMetrics(), roles: () => [], started: () => true });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const expectation = await answerTo(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: the-moon\r\nConnection: close\r\n\r\n');
      expect(expectation).toMatch(/^HTTP\/1.1 417 /);
      expect(JSON.parse(expectation.split('\r\n\r\n')[1])).toMatchObject({ statusCode: 417, code: 'FLTS_REQUEST_INVALID' });
      const hostless = await answerTo(port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
      expect(hostless).toMatch(/^HTTP\/1.1 400 /);
      expect(JSON.parse(hostless.split('\r\n\r\n')[1])).toMatchObject({ statusCode: 400, code: 'FLTS_REQUEST_INVALID', message: 'An HTTP/1.1 request must have a Host header.' });
      // Whatever the target: one of no route, or `*`, is refused for its Host too, not answered 404 or 204.
      for (const [target, hosts, message] of [
        ['/nope', '', 'An HTTP/1.1 request must have a Host header.'],
        ['*', '', 'An HTTP/1.1 request must have a Host header.'],
        ['*', 'Host: a\r\nHost: b\r\n', 'A request must have one Host header, not several.'],
      ]) {
        const method = target === '*' ? 'OPTIONS' : 'GET';
        const answer = await answerTo(port, `${method} ${target} HTTP/1.1\r\n${hosts}Connection: close\r\n\r\n`);
        expect(answer).toMatch(/^HTTP\/1.1 400 /);
        expect(JSON.parse(answer.split('\r\n\r\n')[1])).toMatchObject({ code: 'FLTS_REQUEST_INVALID', message });
      }
    } finally {
      await app.close();
      await bus.close();
    }
  });

  it('answers a request waiting for 100 Continue without one, since no route reads a body', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus-continue') });
    const app = await buildHealthServer({ settings: defaultSettings(), store: createFsStore(path.join(root, 'store')), bus, metrics: createDaemonMetrics(), roles: () => [], started: () => true });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      for (const [head, status] of [
        ['POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n', '404'],
        ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n', '200'],
      ]) {
        // The server closes after its answer, its body never read: the client's end (net's default) then closes the connection.
        const answer = await answerTo(port, head);
        expect({ head, statuses: [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map(([, code]) => code) }).toEqual({ head, statuses: [status] });
      }
    } finally {
      await app.close();
      await bus.close();
    }
  });

  it('answers OPTIONS * 204 with the methods its paths take in Allow, as the serve API does, not a 404', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus-options') });
    const app = await buildHealthServer({ settings: defaultSettings(), store: createFsStore(path.join(root, 'store')), bus, metrics: createDaemonMetrics(), roles: () => [], started: () => true });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const text = await answerTo(port, 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      const [head, body] = text.split('\r\n\r\n');
      expect(head.split('\r\n')[0]).toBe('HTTP/1.1 204 No Content');
      expect(head).toMatch(/\r\nallow: GET, HEAD\r\n/i);
      expect(body).toBe('');
    } finally {
      await app.close();
      await bus.close();
    }
  });

  it('answers a CONNECT request (the daemon taken for a proxy) with a coded 405, as the serve API does', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus-connect') });
    const app = await buildHealthServer({ settings: defaultSettings(), store: createFsStore(path.join(root, 'store')), bus, metrics: createDaemonMetrics(), roles: () => [], started: () => true });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const text = await answerTo(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      expect(text).toMatch(/^HTTP\/1.1 405 Method Not Allowed\r\n/);
      expect(JSON.parse(text.split('\r\n\r\n')[1])).toMatchObject({ statusCode: 405, code: 'FLTS_REQUEST_METHOD_NOT_ALLOWED' });
    } finally {
      await app.close();
      await bus.close();
    }
  });
  it('counts every request it answers in flts_daemon_http_requests_total, those Node or its head checks refuse before any route too, as the serve API does', async () => {
    const defaults = defaultSettings();
    const settings = { ...defaults, serve: { ...defaults.serve, headersTimeoutMs: 500 } };
    const bus = createFsBus({ root: path.join(root, 'bus-counted') });
    const metrics = createDaemonMetrics({ processMetrics: false });
    const app = await buildHealthServer({ settings, store: createFsStore(path.join(root, 'store')), bus, metrics, roles: () => [], started: () => true });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const refusals: Array<[string, string]> = [
        ['not HTTP', 'hello there\r\n\r\n'],
        ['headers over the size limit', `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
        ['headers that never finish', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'],
        ['chunk extensions over the limit', `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1;${'a'.repeat(20_000)}`],
        ['a CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
        ['an Expect it cannot meet', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: the-moon\r\nConnection: close\r\n\r\n'],
        ['no HTTP version (HTTP/0.9)', 'GET /healthz\r\n\r\n'],
        ['no Host', 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'],
        ['no such path', 'GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'],
        ['a probe', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'],
      ];
      const statuses = [];
      for (const [what, request] of refusals) statuses.push([what, (await answerTo(port, request)).slice(9, 12)]);
      expect(statuses).toEqual([
        ['not HTTP', '400'],
        ['headers over the size limit', '431'],
        ['headers that never finish', '408'],
        ['chunk extensions over the limit', '413'],
        ['a CONNECT', '405'],
        ['an Expect it cannot meet', '417'],
        ['no HTTP version (HTTP/0.9)', '400'],
        ['no Host', '400'],
        ['no such path', '404'],
        ['a probe', '200'],
      ]);
      const counted = (await metrics.registry.getSingleMetric('flts_daemon_http_requests_total')?.get())?.values.map(({ labels, value }) => `${labels.route} ${labels.method} ${labels.status} ${value}`);
      expect(counted?.sort()).toEqual(
        [
          'unmatched unknown 400 1',
          'unmatched unknown 431 1',
          // Node hands on no request before its headers are whole: its method is not known.
          'unmatched unknown 408 1',
          // Refused by Node as its body arrived, after the route was matched: counted once, as that refusal.
          'unmatched POST 413 1',
          'unmatched CONNECT 405 1',
          'unmatched GET 417 1',
          // Both head-check refusals and the probe are of the route /healthz.
          '/healthz GET 400 2',
          'unmatched GET 404 1',
          '/healthz GET 200 1',
        ].sort(),
      );
    } finally {
      await app.close();
      await bus.close();
    }
  });
  it('counts a request once: one whose client left before its answer as 499, one Node answered 408 (its body too slow) as that alone', async () => {
    const defaults = defaultSettings();
    const settings = { ...defaults, serve: { ...defaults.serve, requestTimeoutMs: 500, headersTimeoutMs: 500 } };
    const bus = createFsBus({ root: path.join(root, 'bus-abandoned') });
    const store = createFsStore(path.join(root, 'store'));
    // The store answers the readiness probe only once the test lets it, after the client left or Node answered.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = { ...store, list: async (bucket: string, prefix?: string) => (await released, store.list(bucket, prefix)) };
    const metrics = createDaemonMetrics({ processMetrics: false });
    const app = await buildHealthServer({ settings, store: held, bus, metrics, roles: () => [], started: () => true });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const handedOn = (): Promise<void> => new Promise((resolve) => app.server.once('request', () => setImmediate(resolve)));
      // A client that gives up on its probe and resets its connection (one that only ends its side is answered, as nc -N is).
      const gone = connect({ host: '127.0.0.1', port }, () => gone.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      await handedOn();
      await new Promise((resolve) => gone.once('close', resolve).resetAndDestroy());
      // A probe promising a body it never sends: Node answers 408 at the request timeout, the route still waiting.
      expect((await answerTo(port, 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n')).slice(0, 12)).toBe('HTTP/1.1 408');
      const counted = async (): Promise<string[] | undefined> =>
        (await metrics.registry.getSingleMetric('flts_daemon_http_requests_total')?.get())?.values.map(({ labels, value }) => `${labels.route} ${labels.method} ${labels.status} ${value}`).sort();
      await pollUntil(10, AbortSignal.timeout(5_000), async () => (await counted())?.length === 2);
      // The routes still waiting finish with nothing more counted: their answers go nowhere.
      release();
      await app.close();
      expect(await counted()).toEqual(['/readyz GET 499 1', 'unmatched GET 408 1']);
    } finally {
      release();
      await app.close();
      await bus.close();
    }
  });

  it('gives up a check of the store that does not answer within READINESS_CHECK_MS, well inside the kubelet\'s 3 s probe timeout, and says so coded', async () => {
    const fsBus = createFsBus({ root: path.join(root, 'slow-store-bus') });
    const store = createFsStore(path.join(root, 'slow-store'));
    // A store that takes the listing and answers only when told: slow, not down.
    let answer = (): void => {};
    const slow = { ...store, list: (bucket: string, prefix?: string) => new Promise<Awaited<ReturnType<typeof store.list>>>((resolve) => (answer = () => void store.list(bucket, prefix).then(resolve))) };
    const app = await buildHealthServer({ settings: defaultSettings(), store: slow, bus: { ...fsBus, ensureTopics: async () => undefined }, metrics: createDaemonMetrics({ processMetrics: false }), roles: () => [], started: () => true });
    expect(READINESS_CHECK_MS).toBeLessThanOrEqual(2_000);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let settled = false;
      const asked = app.inject({ method: 'GET', url: '/readyz' }).finally(() => (settled = true));
      await vi.advanceTimersByTimeAsync(READINESS_CHECK_MS - 1);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const readyz = await asked;
      expect(readyz.statusCode).toBe(503);
      expect(readyz.json()).toEqual({
        status: 'not_ready',
        components: { roles: true, bus: true, store: false },
        code: 'FLTS_STORE_UNAVAILABLE',
        reason: `The object store failed a listing or gave no answer within ${READINESS_CHECK_MS} ms.`,
      });
    } finally {
      vi.useRealTimers();
      answer();
      await app.close();
      await fsBus.close();
    }
  });

  it('answers /livez 503 with the role and its code once a running role says it is stuck, and 200 while the store does not answer', async () => {
    const fsBus = createFsBus({ root: path.join(root, 'livez-bus') });
    const store = createFsStore(path.join(root, 'livez-store'));
    const down = { ...store, list: async () => Promise.reject(new Error('store down')) };
    let stuck: { code: string; reason: string } | undefined;
    const roles: RoleHandle[] = [
      { name: 'promoter', subscriptions: [], status: () => ({}), stop: async () => undefined },
      { name: 'serving', subscriptions: [], status: () => ({}), liveness: () => stuck, stop: async () => undefined },
    ];
    let started = false;
    const app = await buildHealthServer({ settings: defaultSettings(), store: down, bus: fsBus, metrics: createDaemonMetrics({ processMetrics: false }), roles: () => (started ? roles : []), started: () => started, probeTimeoutMs: 2_000 });
    try {
      // Starting, the store down: not ready, but alive (a restart would only wait for the store again).
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      expect((await app.inject({ method: 'GET', url: '/livez' })).json()).toEqual({ status: 'live' });
      started = true;
      expect((await app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
      stuck = { code: 'FLTS_SERVE_INFERENCE_STALLED', reason: 'A forward pass of the served model has run for 30001 ms, past serve.requestTimeoutMs (30000 ms): forecasts wait behind it.' };
      const livez = await app.inject({ method: 'GET', url: '/livez' });
      expect(livez.statusCode).toBe(503);
      expect(livez.json()).toEqual({ status: 'not_live', role: 'serving', ...stuck });
      // /healthz keeps its answer for the probes and scripts that read it.
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await fsBus.close();
    }
  });
});
