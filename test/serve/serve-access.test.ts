import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { defaultSettings, resolveSettings } from '../../src/core/config/settings.js';
import { listensBeyondLoopback } from '../../src/core/serve/access-control.js';
import { startInferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { scratchFolders } from '../helpers/scratch-folders.js';
import { createDaemonMetrics } from '../../src/core/daemon/daemon-metrics.js';
import { buildHealthServer } from '../../src/core/daemon/health-server.js';
import type { MessageBus } from '../../src/core/bus/message-bus.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import type { LogRetention } from '../../src/core/serve/prediction-log-retention.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { answerOnce } from '../helpers/raw-answer.js';
import { promotedSource, requestData, useTestServer, withTestServer } from './serve-fixtures.js';

const REMOTE = { remoteAddress: '10.1.2.3' };

/** A logger that keeps its warnings as { msg, ...fields }. */
function warningsLogger(): { logger: Logger; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  const logger: Logger = { ...silentLogger, warn: (fields, msg) => void warnings.push({ msg, ...fields }), child: () => logger };
  return { logger, warnings };
}
const json = { 'content-type': 'application/json' };

describe('serve > access: admin and API tokens, loopback-only admin routes, reload rate limit', () => {
  const sweeps: Array<number | undefined> = [];
  const retention: LogRetention = { lastSweep: undefined, stop: async () => {}, sweepNow: async (days) => (sweeps.push(days), { complete: true, days: [], objects: 0 }) };
  const open = useTestServer({ server: { reloadMinIntervalMs: 60_000, retention } });
  const scratch = scratchFolders();
  const guarded = useTestServer({ server: { access: { adminToken: 'admin-secret', apiToken: 'api-secret' }, reloadMinIntervalMs: 0 } });

  it('answers /reload_latest without a token only to loopback clients', async () => {
    const remote = await open.app.inject({ method: 'POST', url: '/reload_latest', ...REMOTE });
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({ code: 'FLTS_AUTH_FORBIDDEN' });
    expect(remote.body).not.toMatch(/at .*\.js/);
    const local = await open.app.inject({ method: 'POST', url: '/reload_latest', remoteAddress: '127.0.0.1' });
    expect(local.statusCode).toBe(200);
    expect((await open.app.inject({ method: 'POST', url: '/predict', payload: { data: requestData(6) }, headers: json, ...REMOTE })).statusCode).toBe(200);
  });

  it('answers the admin routes without a token to no request a loopback connection carries for someone else: a proxy, a web page, another host name', async () => {
    const { port } = new URL(open.url);
    const answerTo = (head: string): Promise<string> => answerOnce(open.url, head);
    const ask = async (target: string, headers: string): Promise<{ status: string; code?: string; message?: string }> => {
      const text = await answerTo(`POST ${target} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`);
      const body = JSON.parse(text.split('\r\n\r\n')[1]);
      return { status: text.split('\r\n')[0], code: body.code, message: body.message };
    };
    const refused = (target: string, why: string) => ({
      status: 'HTTP/1.1 403 Forbidden',
      code: 'FLTS_AUTH_FORBIDDEN',
      message: `POST ${target} answers only local clients while no admin token is set (FLTS_SERVE_ADMIN_TOKEN): this request came over loopback, but ${why}.`,
    });
    const cases: Array<[string, string, string]> = [
      // A proxy on the same host (nginx, an Istio sidecar from 127.0.0.6) relays a remote client from a loopback address.
      ['/reload_latest', 'Host: flts.example.com\r\nX-Forwarded-For: 203.0.113.9\r\n', 'it was forwarded by a proxy (X-Forwarded-For)'],
      ['/reload_latest', 'Host: 127.0.0.1\r\nx-forwarded-proto: http\r\n', 'it was forwarded by a proxy (x-forwarded-proto)'],
      ['/reload_latest', 'Host: 127.0.0.1\r\nForwarded: for=203.0.113.9\r\n', 'it was forwarded by a proxy (Forwarded)'],
      ['/reload_latest', 'Host: 127.0.0.1\r\nX-Real-IP: 203.0.113.9\r\n', 'it was forwarded by a proxy (X-Real-IP)'],
      ['/reload_latest', 'Host: 127.0.0.1\r\nx-envoy-attempt-count: 1\r\n', 'it was forwarded by a proxy (x-envoy-attempt-count)'],
      // Any web page may POST to 127.0.0.1 without a preflight (no body needed): it would delete prediction logs.
      ['/prune_logs?retention_days=1', 'Host: 127.0.0.1:8000\r\nOrigin: https://evil.example\r\n', 'it was sent by a web page (Origin)'],
      ['/prune_logs?retention_days=1', 'Host: 127.0.0.1:8000\r\nSec-Fetch-Site: cross-site\r\n', 'it was sent by a web page (Sec-Fetch-Site)'],
      // DNS rebinding: a page whose name now resolves to 127.0.0.1 is same-origin with the server, and reads its answers.
      ['/reload_latest', 'Host: evil.example:8000\r\n', 'it names a host other than localhost or a loopback address (Host)'],
    ];
    for (const [target, headers, why] of cases) expect({ headers, answer: await ask(target, headers) }).toEqual({ headers, answer: refused(target.split('?')[0], why) });
    expect(sweeps).toEqual([]);
    // The operator's own calls: curl, and a browser tab opened on the address (Sec-Fetch-Site: none).
    const hosts = ['127.0.0.1', `127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', '[::1]:8000', 'flts.localhost'];
    for (const host of hosts) {
      expect({ host, answer: await ask('/prune_logs?retention_days=7', `Host: ${host}\r\n`) }).toEqual({ host, answer: expect.objectContaining({ status: 'HTTP/1.1 200 OK' }) });
    }
    expect(await ask('/prune_logs?retention_days=7', 'Host: localhost\r\nSec-Fetch-Site: none\r\n')).toMatchObject({ status: 'HTTP/1.1 200 OK' });
    expect(sweeps).toEqual(Array(hosts.length + 1).fill(7));
    // With the admin token a proxied call is the operator's: the token says who it is.
    const { port: guardedPort } = new URL(guarded.url);
    const proxied = await guarded.app.inject({ method: 'POST', url: '/reload_latest', headers: { host: `flts.example.com:${guardedPort}`, 'x-forwarded-for': '203.0.113.9', authorization: 'Bearer admin-secret' }, remoteAddress: '127.0.0.1' });
    expect(proxied.statusCode).toBe(200);
  });

  it('refuses a POST a browser sent for a page of another site, whatever the tokens; programs and the server\'s own pages still get through', async () => {
    const data = requestData(7);
    const inferBody = JSON.stringify({ inputs: [
      { name: 'timestamp', shape: [7], datatype: 'BYTES', data: data.ts },
      { name: 'down', shape: [7], datatype: 'FP64', data: data.down },
      { name: 'up', shape: [7], datatype: 'FP64', data: data.up },
    ] });
    const predictBody = JSON.stringify({ data });
    const ask = async (server: { url: string }, target: string, headers: string, body: string): Promise<{ status: string; code?: string; message?: string }> => {
      const { port } = new URL(server.url);
      const text = await answerOnce(server.url, `POST ${target} HTTP/1.1\r\n${headers.replaceAll('<port>', port)}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      const json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      return { status: text.split('\r\n')[0], code: json.code, message: json.message };
    };
    const page = (header: string) => ({ status: 'HTTP/1.1 403 Forbidden', code: 'FLTS_REQUEST_CROSS_SITE', message: expect.stringContaining(`a browser sent it for a page this server does not serve (${header})`) });
    const text = 'Content-Type: text/plain;charset=UTF-8\r\n';
    const json = 'Content-Type: application/json\r\n';
    // What a page of another site may send without a preflight: a text/plain fetch (the infer route reads it as JSON)
    // or a form; and a browser without Sec-Fetch-Site judged by its Origin (`null`: a sandboxed frame, a file:// page).
    const refused: Array<[string, string, string, string]> = [
      ['/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nOrigin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n${text}`, inferBody, 'Sec-Fetch-Site'],
      ['/v2/models/flts/versions/run-a/infer', `Host: 127.0.0.1:<port>\r\nSec-Fetch-Site: same-site\r\n${text}`, inferBody, 'Sec-Fetch-Site'],
      ['/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nOrigin: https://evil.example\r\n${text}`, inferBody, 'Origin'],
      ['/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nOrigin: null\r\n${text}`, inferBody, 'Origin'],
      ['/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nOrigin: http://127.0.0.1:1\r\n${text}`, inferBody, 'Origin'],
      ['/predict', `Host: 127.0.0.1:<port>\r\nOrigin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\nContent-Type: application/x-www-form-urlencoded\r\n`, 'data=1', 'Sec-Fetch-Site'],
      ['/actuals', `Host: 192.168.1.20:<port>\r\nOrigin: http://intranet.example\r\n${text}`, predictBody, 'Origin'],
      ['/actuals', `Host: 127.0.0.1:<port>\r\nSec-Fetch-Site: cross-site\r\n${json}`, predictBody, 'Sec-Fetch-Site'],
    ];
    for (const [target, headers, body, header] of refused) expect({ target, headers, answer: await ask(open, target, headers, body) }).toEqual({ target, headers, answer: page(header) });
    // The API token does not make such a request the page's: it is refused with the right token too.
    const withToken = await ask(guarded, '/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nAuthorization: Bearer api-secret\r\nSec-Fetch-Site: cross-site\r\n${text}`, inferBody);
    expect(withToken).toEqual(page('Sec-Fetch-Site'));
    // curl, Python requests, tritonclient (no Origin, no Sec-Fetch-Site), a tab opened on the address, and a page the
    // server itself served (same origin, with or without Sec-Fetch-Site, the default port left out of the Origin).
    const taken: Array<[string, string, string]> = [
      ['/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n${json}`, inferBody],
      ['/predict', `Host: 127.0.0.1:<port>\r\nUser-Agent: python-requests/2.32.3\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\n${json}`, predictBody],
      ['/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nUser-Agent: python/gevent-http-client-1.5.5\r\n`, inferBody],
      ['/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nSec-Fetch-Site: none\r\n${text}`, inferBody],
      ['/v2/models/flts/infer', `Host: 127.0.0.1:<port>\r\nOrigin: http://127.0.0.1:<port>\r\nSec-Fetch-Site: same-origin\r\n${text}`, inferBody],
      ['/predict', `Host: LOCALHOST:<port>\r\nOrigin: http://localhost:<port>\r\n${json}`, predictBody],
      ['/predict', `Host: localhost:80\r\nOrigin: http://localhost\r\n${json}`, predictBody],
    ];
    for (const [target, headers, body] of taken) expect({ target, headers, answer: await ask(open, target, headers, body) }).toEqual({ target, headers, answer: expect.objectContaining({ status: 'HTTP/1.1 200 OK' }) });
    // Reading is left alone: a page may load /healthz (it cannot read the answer either).
    expect((await open.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(200);
  });

  it('refuses a page that reached the server over loopback under another name (DNS rebinding) on its state-changing routes, with no token set', async () => {
    const predictBody = JSON.stringify({ data: requestData(6) });
    const ask = async (headers: string): Promise<{ status: string; code?: string; message?: string }> => {
      const { port } = new URL(open.url);
      const text = await answerOnce(open.url, `POST /predict HTTP/1.1\r\n${headers.replaceAll('<port>', port)}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(predictBody)}\r\nConnection: close\r\n\r\n${predictBody}`);
      const json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      return { status: text.split('\r\n')[0], code: json.code, message: json.message };
    };
    // The page's name resolves to 127.0.0.1 now: the browser calls the request same-origin, by both headers or by Origin
    // alone, and lets the page add what headers it likes, a proxy's too, without a preflight.
    for (const headers of [
      'Host: evil.example:<port>\r\nOrigin: http://evil.example:<port>\r\nSec-Fetch-Site: same-origin\r\n',
      'Host: evil.example:<port>\r\nOrigin: http://evil.example:<port>\r\n',
      'Host: evil.example:<port>\r\nOrigin: http://evil.example:<port>\r\nSec-Fetch-Site: same-origin\r\nX-Forwarded-For: 203.0.113.9\r\n',
    ]) {
      expect({ headers, answer: await ask(headers) }).toEqual({
        headers,
        answer: { status: 'HTTP/1.1 403 Forbidden', code: 'FLTS_REQUEST_CROSS_SITE', message: 'POST /predict is not taken from a web page of another site: a browser sent it over loopback for a page whose host name is not a loopback address (Host; DNS rebinding).' },
      });
    }
    // A tab on localhost, a program naming any host, and a proxy on the same host serving a page under its own name that
    // sends its upstream's address as Host (nginx's default proxy_pass).
    for (const headers of [
      'Host: localhost:<port>\r\nOrigin: http://localhost:<port>\r\nSec-Fetch-Site: same-origin\r\n',
      'Host: flts.example.com\r\n',
      'Host: 127.0.0.1:<port>\r\nOrigin: https://flts.example.com\r\nSec-Fetch-Site: same-origin\r\nX-Forwarded-For: 203.0.113.9\r\n',
    ]) {
      expect({ headers, answer: await ask(headers) }).toEqual({ headers, answer: expect.objectContaining({ status: 'HTTP/1.1 200 OK' }) });
    }
  });

  it('tells a wrong token from a missing one in WWW-Authenticate (RFC 6750), and logs refused attempts, by their rate, without a token or the target', async () => {
    const { logger, warnings } = warningsLogger();
    await withTestServer(promotedSource(), { server: { access: { adminToken: 'admin-secret', apiToken: 'api-secret' }, logger } }, async (server) => {
      const body = { data: requestData(6) };
      const wrong = await server.app.inject({ method: 'POST', url: '/predict', payload: body, headers: { ...json, authorization: 'Bearer guess-1' }, ...REMOTE });
      expect({ status: wrong.statusCode, code: wrong.json().code, challenge: wrong.headers['www-authenticate'] }).toEqual({ status: 401, code: 'FLTS_AUTH_REQUIRED', challenge: 'Bearer error="invalid_token"' });
      const missing = await server.app.inject({ method: 'POST', url: '/reload_latest?access_token=guess-2', ...REMOTE });
      expect({ status: missing.statusCode, challenge: missing.headers['www-authenticate'] }).toEqual({ status: 401, challenge: 'Bearer' });
      // The first refusal is logged at once, the ones after it within the window counted.
      expect(warnings).toEqual([{ msg: 'auth_refused', code: 'FLTS_AUTH_REQUIRED', reason: 'token_invalid', route: '/predict', method: 'POST', remote: '10.1.2.3' }]);
      await server.app.inject({ method: 'POST', url: '/reload_latest', headers: { authorization: 'Bearer guess-3' }, remoteAddress: '10.9.9.9' });
      await server.app.inject({ method: 'POST', url: '/predict', payload: body, headers: { ...json, authorization: 'Bearer api-secret' } });
      expect(warnings).toHaveLength(1);
    });
    // The server's stop logs what its window had counted.
    expect(warnings.slice(1)).toEqual([
      { msg: 'auth_refused_repeated', refused_count: 2, reasons: { token_missing: 1, token_invalid: 1 }, routes: ['POST /reload_latest'], remotes: ['10.1.2.3', '10.9.9.9'], remotes_count: 2, window_ms: 60_000 },
    ]);
    expect(JSON.stringify(warnings)).not.toMatch(/guess|secret|access_token/);
  });

  it('limits forced reloads: one in flight is shared, the next soon after gets 429 with Retry-After', async () => {
    const source = promotedSource();
    await withTestServer(source, { server: { reloadMinIntervalMs: 60_000 } }, async (limited) => {
      const loadsBefore = source.loaded.length;
      const together = await Promise.all([1, 2, 3].map(() => limited.app.inject({ method: 'POST', url: '/reload_latest' })));
      expect(together.map((r) => r.statusCode)).toEqual([200, 200, 200]);
      const after = await limited.app.inject({ method: 'POST', url: '/reload_latest' });
      expect(after.statusCode).toBe(429);
      expect(after.json()).toMatchObject({ code: 'FLTS_SERVE_RELOAD_RATE_LIMITED' });
      expect(Number(after.headers['retry-after'])).toBeGreaterThan(0);
      // The error's details (retryAfterSec) reach the client as Retry-After, not as fields: the body is the one documented shape.
      expect(Object.keys(after.json()).sort()).toEqual(['code', 'detail', 'error', 'message', 'statusCode']);
      expect(source.loaded.length - loadsBefore).toBeLessThanOrEqual(1);
    });
  });

  it('with an admin token, needs it as a bearer token from any client, loopback included', async () => {
    const none = await guarded.app.inject({ method: 'POST', url: '/reload_latest', remoteAddress: '127.0.0.1' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const wrong = await guarded.app.inject({ method: 'POST', url: '/reload_latest', headers: { authorization: 'Bearer api-secret' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toContain('admin-secret');
    const right = await guarded.app.inject({ method: 'POST', url: '/reload_latest', headers: { authorization: 'Bearer admin-secret' }, ...REMOTE });
    expect(right.statusCode).toBe(200);
  });

  it('refuses a request to a guarded route with two Authorization headers, whichever comes first, with a coded 400', async () => {
    const answerTo = (head: string): Promise<string> => answerOnce(guarded.url, head);
    for (const [path, good] of [['/predict', 'api-secret'], ['/reload_latest', 'admin-secret']]) {
      for (const tokens of [[good, 'other'], ['other', good], [good, good]]) {
        const authorization = tokens.map((token) => `Authorization: Bearer ${token}\r\n`).join('');
        const text = await answerTo(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${authorization}Connection: close\r\n\r\n`);
        expect({ path, tokens, status: text.split('\r\n')[0], body: JSON.parse(text.split('\r\n\r\n')[1]) }).toEqual({
          path,
          tokens,
          status: 'HTTP/1.1 400 Bad Request',
          body: expect.objectContaining({ code: 'FLTS_REQUEST_INVALID', message: 'A request must have one Authorization header, not several.' }),
        });
      }
    }
  });

  it('with an API token, guards /predict, /actuals and the OIP infer route but never the health routes', async () => {
    const body = { data: requestData(6) };
    expect((await guarded.app.inject({ method: 'POST', url: '/predict', payload: body, headers: json })).statusCode).toBe(401);
    expect((await guarded.app.inject({ method: 'POST', url: '/v2/models/flts/infer', payload: {}, headers: json })).statusCode).toBe(401);
    // The versioned route too, whatever the version: the token is checked before the version is.
    for (const version of ['run-a', 'run-old']) expect((await guarded.app.inject({ method: 'POST', url: `/v2/models/flts/versions/${version}/infer`, payload: {}, headers: json })).statusCode).toBe(401);
    const versioned = await guarded.app.inject({ method: 'POST', url: '/v2/models/flts/versions/run-a/infer', payload: { inputs: [] }, headers: { ...json, authorization: 'Bearer api-secret' } });
    expect(versioned.json().code).toBe('FLTS_REQUEST_INVALID');
    expect((await guarded.app.inject({ method: 'POST', url: '/actuals', payload: body, headers: json })).statusCode).toBe(401);
    // With the token the request reaches the route (this server has live scoring off).
    const actuals = await guarded.app.inject({ method: 'POST', url: '/actuals', payload: body, headers: { ...json, authorization: 'Bearer api-secret' } });
    expect(actuals.json().code).toBe('FLTS_LIVE_DISABLED');
    const ok = await guarded.app.inject({ method: 'POST', url: '/predict', payload: body, headers: { ...json, authorization: 'Bearer api-secret' } });
    expect(ok.statusCode).toBe(200);
    for (const url of ['/healthz', '/readyz', '/v2/health/ready']) expect((await guarded.app.inject({ method: 'GET', url, ...REMOTE })).statusCode).toBe(200);
  });

  it("guards the daemon's /status the same way and leaves its probes open", async () => {
    const build = (adminToken: string) => {
      const settings = defaultSettings();
      settings.serve.adminToken = adminToken;
      return buildHealthServer({ settings, store: {} as ObjectStore, bus: {} as MessageBus, metrics: createDaemonMetrics({ processMetrics: false }), roles: () => [], started: () => true });
    };
    const loopbackOnly = await build('');
    expect((await loopbackOnly.inject({ method: 'GET', url: '/status', ...REMOTE })).statusCode).toBe(403);
    expect((await loopbackOnly.inject({ method: 'GET', url: '/status', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    // As Node names a client's address: IPv6 loopback, IPv4 loopback on a dual-stack listener; nothing else is local.
    for (const [remoteAddress, status] of [['::1', 200], ['::ffff:127.0.0.1', 200], ['127.0.0.6', 200], ['::ffff:10.1.2.3', 403], ['fe80::1', 403], ['0.0.0.0', 403]] as const) {
      expect({ remoteAddress, status: (await loopbackOnly.inject({ method: 'GET', url: '/status', remoteAddress })).statusCode }).toEqual({ remoteAddress, status });
    }
    expect((await loopbackOnly.inject({ method: 'GET', url: '/healthz', ...REMOTE })).statusCode).toBe(200);
    // A page rebinding its name to 127.0.0.1 would read the roles and the work in progress; a proxy would hand them out.
    for (const headers of [{ host: 'evil.example:9100' }, { 'x-forwarded-for': '203.0.113.9' }, { origin: 'https://evil.example' }]) {
      const answer = await loopbackOnly.inject({ method: 'GET', url: '/status', headers, remoteAddress: '127.0.0.1' });
      expect({ headers, status: answer.statusCode, code: answer.json().code }).toEqual({ headers, status: 403, code: 'FLTS_AUTH_FORBIDDEN' });
    }
    // Logged, by reason: a refusal of the loopback rule is the operator's to see as much as a wrong token.
    const { logger, warnings } = warningsLogger();
    const logged = await buildHealthServer({ settings: defaultSettings(), store: {} as ObjectStore, bus: {} as MessageBus, metrics: createDaemonMetrics({ processMetrics: false }), roles: () => [], started: () => true, logger });
    await logged.inject({ method: 'GET', url: '/status', ...REMOTE });
    await logged.close();
    expect(warnings).toEqual([{ msg: 'auth_refused', code: 'FLTS_AUTH_FORBIDDEN', reason: 'not_local', route: '/status', method: 'GET', remote: '10.1.2.3' }]);
    const withToken = await build('daemon-secret');
    expect((await withToken.inject({ method: 'GET', url: '/status', remoteAddress: '127.0.0.1' })).statusCode).toBe(401);
    expect((await withToken.inject({ method: 'GET', url: '/status', headers: { authorization: 'Bearer daemon-secret' }, ...REMOTE })).statusCode).toBe(200);
    await Promise.all([loopbackOnly.close(), withToken.close()]);
  });

  it('warns at start when the admin routes answer loopback clients without a token on a port other hosts reach', async () => {
    expect(['127.0.0.1', '127.0.0.6', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'].filter(listensBeyondLoopback)).toEqual([]);
    expect(['0.0.0.0', '::', '[::]', '10.1.2.3', 'flts.example.com'].every(listensBeyondLoopback)).toBe(true);
    const home = await scratch(path.join(os.tmpdir(), 'flts-serve-exposure-'));
    const startWith = (flags: Record<string, unknown>) => startupWarnings(home, 'admin_routes_without_token', { 'live.enabled': false, ...flags });
    expect(await startWith({ 'serve.host': '0.0.0.0' })).toEqual([
      { msg: 'admin_routes_without_token', host: '0.0.0.0', routes: ['POST /reload_latest', 'POST /prune_logs'], setting: 'FLTS_SERVE_ADMIN_TOKEN' },
    ]);
    expect(await startWith({ 'serve.host': '0.0.0.0', 'serve.adminToken': 'admin-secret' })).toEqual([]);
    expect(await startWith({ 'serve.host': '127.0.0.1' })).toEqual([]);
  });

  it('warns at start when the scoring routes, POST /actuals among them, answer anyone on a port other hosts reach without an API token', async () => {
    const home = await scratch(path.join(os.tmpdir(), 'flts-serve-open-scoring-'));
    const startWith = (flags: Record<string, unknown>) => startupWarnings(home, 'scoring_routes_without_token', { 'live.enabled': true, ...flags });
    // Before, nothing said that anyone reaching the port could send actuals into the live probation of a promotion.
    expect(await startWith({ 'serve.host': '0.0.0.0' })).toEqual([
      { msg: 'scoring_routes_without_token', host: '0.0.0.0', routes: ['POST /predict', 'POST /actuals', 'POST /v2/models/flts/infer'], setting: 'FLTS_SERVE_API_TOKEN' },
    ]);
    // Live scoring off, /actuals scores nothing: the open prediction routes are still said.
    expect(await startWith({ 'serve.host': '0.0.0.0', 'live.enabled': false })).toEqual([
      { msg: 'scoring_routes_without_token', host: '0.0.0.0', routes: ['POST /predict', 'POST /v2/models/flts/infer'], setting: 'FLTS_SERVE_API_TOKEN' },
    ]);
    expect(await startWith({ 'serve.host': '0.0.0.0', 'serve.apiToken': 'api-secret' })).toEqual([]);
    expect(await startWith({ 'serve.host': '127.0.0.1' })).toEqual([]);
  });
});

/** The `event` lines an inference service logs as it starts on `home` with `flags` (and closes). */
async function startupWarnings(home: string, event: string, flags: Record<string, unknown>): Promise<Array<Record<string, unknown>>> {
  const { logger, warnings } = warningsLogger();
  const { settings } = resolveSettings({ flags: { home, 'serve.port': 0, 'serve.pollIntervalMs': 0, 'serve.predictionLog.enabled': false, ...flags } });
  const service = await startInferenceService(settings, { store: createFsStore(path.join(home, 'store')), logger });
  await service.close();
  return warnings.filter((line) => line.msg === event);
}
