import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { assertTrackingUri, createMlflowHttp, MAX_RESPONSE_BYTES, parseRetryAfter, trackingCallBudgetMs } from './mlflow-http.js';
import { createMlflowServers } from './mlflow-servers.js';
import { selfSignedCertificate } from './self-signed.fixture.js';
import { failure, withServer } from './tracking-server.fixture.js';

/** A server that accepts connections and never answers: the hung tracking server of F4. */
let silent: Server;
const sockets: Socket[] = [];
let silentUri: string;
let closedUri: string;

beforeAll(async () => {
  silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUri = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedUri = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  sockets.forEach((socket) => socket.destroy());
  await new Promise((resolve) => silent.close(resolve));
});

/** A logger keeping the delay of each retry the client announces, in order. */
function retryDelays(): { logger: Logger; delays: number[] } {
  const delays: number[] = [];
  const logger: Logger = { ...silentLogger, debug: (obj: unknown, msg?: string) => void (msg === 'mlflow_call_retrying' && delays.push((obj as { delay_ms: number }).delay_ms)), child: () => logger };
  return { logger, delays };
}

/** A server answering the nth request with `answers[n]` (status and headers, an MLflow error body unless 200), the last one over and over. */
async function withAnswers<T>(answers: ReadonlyArray<{ status: number; headers?: Record<string, string> }>, body: (uri: string, requests: () => number) => Promise<T>): Promise<T> {
  let requests = 0;
  return withServer(
    (req, res) => {
      const answer = answers[Math.min(requests, answers.length - 1)];
      requests += 1;
      req.resume().on('end', () => res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.status === 200 ? '{}' : '{"error_code":"TEMPORARILY_UNAVAILABLE","message":"slow down"}'));
    },
    (uri) => body(uri, () => requests),
  );
}

const NOW = Date.parse('Sun, 06 Dec 2026 05:00:00 GMT');
const search = { method: 'POST', path: '/api/2.0/mlflow/runs/search', json: {} } as const;

describe('core > tracking > mlflow-http', () => {
  it('joins the API path after a reverse proxy\'s path prefix, and refuses a URI whose query would swallow it, token masked', async () => {
    const seen: string[] = [];
    const answer = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      seen.push(req.url ?? '');
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"runs":[]}'));
    };
    await withServer(answer, async (uri) => {
      for (const prefixed of [`${uri}/mlflow`, `${uri}/mlflow/`]) {
        expect(await createMlflowHttp({ uri: prefixed, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger })(search)).toEqual({ runs: [] });
      }
      // As MLflow's client joins them, the path lands inside the query and every call reaches "/": refused, not sent.
      for (const broken of [`${uri}/?token=tok-5e1d`, `${uri}/mlflow?x=1&access_token=tok-5e1d`, `${uri}/mlflow#tok-5e1d`]) {
        let error: unknown;
        try {
          createMlflowHttp({ uri: broken, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger });
        } catch (thrown) {
          error = thrown;
        }
        expect(error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'tracking.uri' } });
        expect((error as FltsError).message).toMatch(/(query string|fragment), which MLflow's API paths would be appended after/);
        if (!broken.includes('#')) expect((error as FltsError).message).not.toContain('tok-5e1d');
      }
    });
    expect(seen).toEqual(['/mlflow/api/2.0/mlflow/runs/search', '/mlflow/api/2.0/mlflow/runs/search']);
    expect(() => assertTrackingUri('http://127.0.0.1:9/?token=tok-5e1d')).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE' }));
  });

  it('reports a server that never answers as FLTS_TRACKING_UNAVAILABLE after every attempt timed out', async () => {
    // The budget's clock stands still, so a busy host's late timers cannot use up the budget before the last attempt.
    const options = { uri: silentUri, timeoutMs: 200, retry: { retries: 2, baseDelayMs: 10 }, logger: silentLogger, now: () => 0 };
    const started = Date.now();
    const error = await failure(createMlflowHttp(options)({ method: 'GET', path: '/api/2.0/mlflow/experiments/get-by-name', query: { experiment_name: 'Default' } }));
    expect(error).toBeInstanceOf(FltsError);
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(error.details.attempts).toBe(3);
    expect(error.message).toMatch(/no answer within the time limit/);
    // Each attempt waited out its own time limit.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 200);
  });

  it('ends a call to a server that never answers within its budget', async () => {
    // The clock the call reads has used up its whole budget by the time the first attempt times out (as on a host
    // that stalled the process): retries remain, but none is asked for, however long the host really took.
    let clock = 0;
    const options = { uri: silentUri, timeoutMs: 200, retry: { retries: 2, baseDelayMs: 10 }, logger: silentLogger, now: () => clock };
    const budgetMs = trackingCallBudgetMs(options);
    const call = createMlflowHttp(options)({ method: 'GET', path: '/api/2.0/mlflow/experiments/get-by-name', query: { experiment_name: 'Default' } });
    clock = budgetMs;
    const error = await failure(call);
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.message).toMatch(/no answer within the time limit/);
    expect(error.details).toMatchObject({ attempts: 1, elapsedMs: budgetMs, budgetMs });
  });

  it('reports a closed port as unavailable with the connection error', async () => {
    const options = { uri: closedUri, timeoutMs: 1000, retry: { retries: 1, baseDelayMs: 10 }, logger: silentLogger };
    const error = await failure(createMlflowHttp(options)({ method: 'POST', path: '/api/2.0/mlflow/runs/search', json: {} }));
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details.attempts).toBe(2);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('retries a write that lost a race with another writer of the same row, and no other 400', async () => {
    // MLflow's answer when two writers insert the same tag at once (SQLite backend), then its answer to a bad value.
    const answers = [
      { status: 400, body: { error_code: 'BAD_REQUEST', message: '(sqlite3.IntegrityError) UNIQUE constraint failed: tags.key, tags.run_uuid' } },
      { status: 200, body: {} },
      { status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: 'Changing param values is not allowed.' } },
    ];
    let requests = 0;
    const server = createHttpServer((req, res) => {
      const answer = answers[requests++];
      req.resume().on('end', () => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const call = createMlflowHttp({ uri: `http://127.0.0.1:${(server.address() as { port: number }).port}`, timeoutMs: 2000, retry: { retries: 2, baseDelayMs: 1 }, logger: silentLogger });
      const tag = { method: 'POST', path: '/api/2.0/mlflow/runs/set-tag', json: { run_id: 'r', key: 'flts.mirror_complete', value: 'true' } } as const;
      await expect(call(tag)).resolves.toEqual({});
      expect(requests).toBe(2);
      const error = await failure(call({ method: 'POST', path: '/api/2.0/mlflow/runs/log-parameter', json: {} }));
      expect(error.code).toBe('FLTS_TRACKING_REJECTED');
      expect(requests).toBe(3);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stops reading an answer past MAX_RESPONSE_BYTES and reports it at once instead of holding it in memory', async () => {
    expect(MAX_RESPONSE_BYTES).toBeLessThan(40 << 20);
    let requests = 0;
    const error = await withServer(
      (req, res) => {
        requests += 1;
        // Chunked, so no content-length gives it away, like a proxy streaming a download: only the bytes received can stop it.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1 << 20, 0x20);
        let left = 40;
        const pump = (): void => {
          while (left > 0 && !res.destroyed) {
            left -= 1;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end('{}');
        };
        pump();
      },
      (uri) => failure(createMlflowHttp({ uri, timeoutMs: 30_000, retry: { retries: 2, baseDelayMs: 1 }, logger: silentLogger })({ method: 'POST', path: '/api/2.0/mlflow/runs/search', json: {} })),
    );
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details.reason).toBe('too_large');
    expect(error.message).toContain(`${MAX_RESPONSE_BYTES / 1024 / 1024} MB`);
    expect(requests).toBe(1);
  });

  it('follows no redirect, so the credentials never reach the host it names, and reports it with the location', async () => {
    const elsewhere: Array<string | undefined> = [];
    const error = await withServer(
      (req, res) => {
        elsewhere.push(req.headers.authorization);
        res.end('{}');
      },
      (otherUri) =>
        withServer(
          (req, res) => res.writeHead(307, { location: `${otherUri}${req.url}` }).end(),
          (uri) => failure(createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 2, baseDelayMs: 1 }, token: 'the-secret-token', logger: silentLogger })({ method: 'POST', path: '/api/2.0/mlflow/runs/create', json: {} })),
        ),
    );
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'redirect', status: 307 });
    expect(error.message).toMatch(/redirect to "http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/mlflow\/runs\/create"/);
    expect(JSON.stringify(error)).not.toContain('the-secret-token');
    expect(elsewhere).toEqual([]);
  });

  it('sends the user:password of the URI as basic auth, as MLflow\'s own client does, and a token or user set beats it', async () => {
    const seen: Array<{ authorization?: string; url?: string }> = [];
    const answers = await withServer(
      (req, res) => {
        seen.push({ authorization: req.headers.authorization, url: req.url });
        req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      },
      async (uri) => {
        const withUserinfo = uri.replace('http://', 'http://al%40ice:pa%3Ass%20word@');
        const call = (extra: { token?: string; username?: string; password?: string }) =>
          createMlflowHttp({ uri: `${withUserinfo}/`, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger, ...extra })(search);
        return [await call({}), await call({ token: 'the-token' }), await call({ username: 'bob', password: 'bobs-password' })];
      },
    );
    expect(answers).toEqual([{}, {}, {}]);
    // Percent-escapes of the URI decoded, as requests decodes them.
    expect(seen[0].authorization).toBe(`Basic ${Buffer.from('al@ice:pa:ss word').toString('base64')}`);
    expect(seen[1].authorization).toBe('Bearer the-token');
    expect(seen[2].authorization).toBe(`Basic ${Buffer.from('bob:bobs-password').toString('base64')}`);
    seen.forEach((request) => expect(request.url).toBe('/api/2.0/mlflow/runs/search'));
  });

  it('masks the credentials it sent wherever a refusal, a failure or a page quotes them back', async () => {
    const token = 'tok-3f9c1a7e';
    const password = 'pw-8d2b44';
    // A proxy or auth plugin quoting the Authorization header it got, in an MLflow error, a 5xx body and a page title.
    const echo = (status: number, page: boolean) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) =>
      req.resume().on('end', () => {
        const said = `refused: ${req.headers.authorization} (${Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString()})`;
        if (page) res.writeHead(status, { 'content-type': 'text/html' }).end(`<html><title>${said}</title></html>`);
        else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 'PERMISSION_DENIED', message: said }));
      });
    for (const [status, page] of [[403, false], [401, true], [500, false], [200, true]] as const) {
      for (const credentials of [{ token }, { username: 'alice', password }]) {
        // The retry of a 500 is logged with its reason, which quotes the answer.
        const reasons: string[] = [];
        const logging: Logger = { ...silentLogger, warn: (obj) => void reasons.push(JSON.stringify(obj)), child: () => logging };
        const error = await withServer(echo(status, page), (uri) => failure(createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 1, baseDelayMs: 1 }, logger: logging, ...credentials })(search)));
        const shown = JSON.stringify({ message: error.message, details: error.details, hint: error.hint, reasons });
        expect(shown, `HTTP ${status}`).toContain('***');
        expect(shown, `HTTP ${status}`).not.toContain(token);
        expect(shown, `HTTP ${status}`).not.toContain(password);
        expect(shown, `HTTP ${status}`).not.toContain(Buffer.from(`alice:${password}`).toString('base64'));
        expect(reasons.length, `HTTP ${status}`).toBe(status === 500 ? 1 : 0);
      }
    }
    // Masked before the opening of a body is cut, so that no head of the token is left at the cut.
    const cut = await withServer(
      (req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${'y'.repeat(115)}${req.headers.authorization?.replace('Bearer ', '')}`)),
      (uri) => failure(createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger, token })(search)),
    );
    expect(cut.details.reason).toBe('not_json');
    expect(cut.message).not.toContain(token.slice(0, 3));
  });

  it('says in the hint of a 401 or 403 which credentials it sent, none included', async () => {
    const refuse = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) =>
      req.resume().on('end', () => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error_code":"UNAUTHENTICATED","message":"You are not authenticated."}'));
    const refusal = (uri: string, extra: { token?: string } = {}) => failure(createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger, ...extra })(search));
    const [anonymous, withToken, fromUri] = await withServer(refuse, async (uri) => [await refusal(uri), await refusal(uri, { token: 'tok-3f9c1a7e' }), await refusal(uri.replace('http://', 'http://u:pw-8d2b44@'))]);
    expect(anonymous.code).toBe('FLTS_TRACKING_REJECTED');
    expect(anonymous.details).toMatchObject({ status: 401, mlflowErrorCode: 'UNAUTHENTICATED', credentials: 'none' });
    expect(anonymous.hint).toMatch(/sent no credentials: set MLFLOW_TRACKING_TOKEN/);
    expect(withToken.details.credentials).toBe('token');
    expect(withToken.hint).toMatch(/MLFLOW_TRACKING_TOKEN/);
    expect(fromUri.details).toMatchObject({ credentials: 'uri', uri: expect.stringContaining('***@') });
    expect(JSON.stringify(fromUri)).not.toContain('pw-8d2b44');
  });

  it('reports a TLS handshake that fails at once, without retrying it, and says what to set', async () => {
    // An https:// URI naming a plain http server: what a certificate Node does not trust also comes to, asking again
    // gets the same refusal. Before, every call retried it for its whole budget.
    const { logger, delays } = retryDelays();
    const error = await withServer(
      (req, res) => res.end('{}'),
      (uri) => failure(createMlflowHttp({ uri: uri.replace('http://', 'https://'), timeoutMs: 5000, retry: { retries: 3, baseDelayMs: 1 }, logger })(search)),
    );
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'tls', tlsCode: 'ERR_SSL_WRONG_VERSION_NUMBER', path: '/api/2.0/mlflow/runs/search' });
    expect(error.message).toMatch(/^MLflow tracking server https:\/\/127\.0\.0\.1:\d+ refused POST \/api\/2\.0\/mlflow\/runs\/search at the TLS handshake \(ERR_SSL_WRONG_VERSION_NUMBER\): wrong version number$/);
    expect(error.hint).toMatch(/https:\/\/ MLFLOW_TRACKING_URI naming a plain http:\/\/ server/);
    expect(error.details.attempts).toBeUndefined();
    expect(delays).toEqual([]);
  });

  it('trusts the CA of MLFLOW_TRACKING_SERVER_CERT_PATH (tracking.caFile) for an https server, as MLflow\'s own client does', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'flts-mlflow-ca-'));
    try {
      const server = selfSignedCertificate();
      const caFile = path.join(folder, 'ca.pem');
      const otherCa = path.join(folder, 'other-ca.pem');
      writeFileSync(caFile, server.cert);
      writeFileSync(otherCa, selfSignedCertificate('another CA').cert);
      const https = createHttpsServer({ cert: server.cert, key: server.key }, (req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"runs":[]}')));
      await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
      const uri = `https://127.0.0.1:${(https.address() as { port: number }).port}`;
      const call = (file?: string) => createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 2, baseDelayMs: 1 }, logger: silentLogger, caFile: file })(search);
      try {
        // Before, the setting did not exist: the variable was passed over and the certificate refused.
        expect(await call(caFile)).toEqual({ runs: [] });
        const untrusted = await failure(call());
        expect(untrusted.details).toMatchObject({ reason: 'tls' });
        expect(untrusted.hint).toMatch(/MLFLOW_TRACKING_SERVER_CERT_PATH \(setting tracking\.caFile\)/);
        const another = await failure(call(otherCa));
        expect(another.message).toContain(`checked against the CA certificates of MLFLOW_TRACKING_SERVER_CERT_PATH (${otherCa})`);
      } finally {
        https.closeAllConnections();
        await new Promise((resolve) => https.close(resolve));
      }
      const notPem = path.join(folder, 'not.pem');
      writeFileSync(notPem, 'not a certificate');
      expect(() => createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger, caFile: notPem })).toThrow(
        expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringMatching(/^MLFLOW_TRACKING_SERVER_CERT_PATH \(setting tracking\.caFile\) = .*not\.pem is not a PEM file/) }),
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('sends the client certificate of MLFLOW_TRACKING_CLIENT_CERT_PATH to a server that asks for one (mutual TLS), as MLflow\'s own client does', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'flts-mlflow-mtls-'));
    try {
      const server = selfSignedCertificate('mlflow server');
      const client = selfSignedCertificate('flts client');
      const stranger = selfSignedCertificate('another client');
      const caFile = path.join(folder, 'ca.pem');
      writeFileSync(caFile, server.cert);
      // One PEM with the certificate and its key, the file `requests` takes as `cert` from MLflow's client.
      const clientFile = path.join(folder, 'client.pem');
      writeFileSync(clientFile, client.cert + client.key);
      const strangerFile = path.join(folder, 'stranger.pem');
      writeFileSync(strangerFile, stranger.key + stranger.cert);
      const seen: string[] = [];
      const https = createHttpsServer({ cert: server.cert, key: server.key, ca: client.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
        seen.push(String((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN));
        req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"runs":[]}'));
      });
      await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
      const uri = `https://127.0.0.1:${(https.address() as { port: number }).port}`;
      const { logger, delays } = retryDelays();
      const call = (clientCertFile?: string) => createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 2, baseDelayMs: 1 }, logger, caFile, clientCertFile })(search);
      try {
        // Before, the variable was passed over: no certificate was sent, and the server's alert came out as
        // "other side closed", retried as a network failure.
        const without = await failure(call());
        expect(without.code).toBe('FLTS_TRACKING_UNAVAILABLE');
        expect(without.details).toMatchObject({ reason: 'tls', tlsCode: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
        expect(without.hint).toMatch(/asks for a client certificate .*MLFLOW_TRACKING_CLIENT_CERT_PATH \(setting tracking\.clientCertFile\)/);
        expect(await call(clientFile)).toEqual({ runs: [] });
        expect(seen).toEqual(['flts client']);
        expect(delays).toEqual([]);
        // Node's server drops a certificate it does not trust without an alert, so this one reads as a closed connection.
        expect(await failure(call(strangerFile))).toMatchObject({ code: 'FLTS_TRACKING_UNAVAILABLE' });
        expect(seen).toEqual(['flts client']);
      } finally {
        https.closeAllConnections();
        await new Promise((resolve) => https.close(resolve));
      }
      // A file MLflow's client could not use either is refused when the client is made, naming the variable.
      const certOnly = path.join(folder, 'cert-only.pem');
      writeFileSync(certOnly, client.cert);
      const mismatched = path.join(folder, 'mismatched.pem');
      writeFileSync(mismatched, client.cert + stranger.key);
      const made = (clientCertFile: string) => () => createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger, clientCertFile });
      expect(made(certOnly)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringMatching(/^MLFLOW_TRACKING_CLIENT_CERT_PATH \(setting tracking\.clientCertFile\) = .*cert-only\.pem holds no private key/) }));
      expect(made(mismatched)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringMatching(/mismatched\.pem holds a private key that is not the key of its first certificate \(CN=flts client\)/) }));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('accepts a certificate nobody it trusts signed with MLFLOW_TRACKING_INSECURE_TLS, saying once that it does not verify, and refuses it beside a CA file', async () => {
    const server = selfSignedCertificate('unknown CA');
    const https = createHttpsServer({ cert: server.cert, key: server.key }, (req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"runs":[]}')));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const uri = `https://127.0.0.1:${(https.address() as { port: number }).port}`;
    const warnings: Array<{ event?: string; fields: object }> = [];
    const logger: Logger = { ...silentLogger, warn: (fields, event) => void warnings.push({ event, fields }), child: () => logger };
    try {
      const verified = await failure(createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger })(search));
      expect(verified.details).toMatchObject({ reason: 'tls' });
      expect(warnings).toEqual([]);
      // Before, the variable was passed over and the certificate refused as above.
      const insecure = createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger, insecureTls: true });
      expect(await insecure(search)).toEqual({ runs: [] });
      expect(await insecure(search)).toEqual({ runs: [] });
      expect(await createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger, insecureTls: true })(search)).toEqual({ runs: [] });
      expect(warnings).toEqual([{ event: 'mlflow_tls_verification_off', fields: { uri, setting: 'tracking.insecureTls', env: 'MLFLOW_TRACKING_INSECURE_TLS' } }]);
    } finally {
      https.closeAllConnections();
      await new Promise((resolve) => https.close(resolve));
    }
    expect(() => createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger, insecureTls: true, caFile: '/etc/mlflow/ca.pem' })).toThrow(
      expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringMatching(/^MLFLOW_TRACKING_INSECURE_TLS \(setting tracking\.insecureTls\) is true and MLFLOW_TRACKING_SERVER_CERT_PATH \(setting tracking\.caFile\) = \/etc\/mlflow\/ca\.pem is set/) }),
    );
  });

  it('reports a 200 that is not a JSON object (a proxy or login page, a truncated body) once, without retrying it', async () => {
    for (const body of ['<!doctype html><html><body>Sign in</body></html>', '{"run": {"info": ', '[]', 'null']) {
      let requests = 0;
      const error = await withServer(
        (req, res) => {
          requests += 1;
          res.writeHead(200, { 'content-type': 'text/html' }).end(body);
        },
        (uri) => failure(createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 2, baseDelayMs: 1 }, logger: silentLogger })({ method: 'GET', path: '/api/2.0/mlflow/runs/get', query: { run_id: 'r' } })),
      );
      expect(error.code, body).toBe('FLTS_TRACKING_UNAVAILABLE');
      expect(error.details.reason).toBe('not_json');
      expect(error.hint).toMatch(/not as an MLflow tracking server/);
      expect(requests).toBe(1);
    }
  });

  it('describes an HTML page by its status, content type and title, never with its markup', async () => {
    // A proxy's login page: before, its first 120 (200 for an error status) characters of markup were the message.
    const page = `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><script>window.__csrf = "the-secret-token";</script>\n<title>\n  Sign in &amp; continue &#8211; Corp SSO ${'x'.repeat(200)}</title></head><body><form>${'<input>'.repeat(500)}</form></body></html>`;
    for (const [status, code] of [[200, 'FLTS_TRACKING_UNAVAILABLE'], [502, 'FLTS_TRACKING_UNAVAILABLE'], [403, 'FLTS_TRACKING_REJECTED']] as const) {
      const error = await withServer(
        (req, res) => req.resume().on('end', () => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(page)),
        (uri) => failure(createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger })(search)),
      );
      expect(error.code, `HTTP ${status}`).toBe(code);
      expect(error.message, `HTTP ${status}`).toContain(`HTTP ${status}`);
      expect(error.message).toContain('an HTML page (content-type text/html; charset=utf-8) titled "Sign in & continue \u2013 Corp SSO xxxxx');
      expect(error.message).not.toMatch(/[<>]/);
      expect(error.message.length).toBeLessThan(400);
      expect(JSON.stringify(error)).not.toContain('the-secret-token');
    }
    // No title, and markup sent under another content type, are pages all the same.
    const untitled = await withServer(
      (req, res) => req.resume().on('end', () => res.writeHead(503, { 'content-type': 'text/plain' }).end('<html><body><h1>Service Unavailable</h1></body></html>')),
      (uri) => failure(createMlflowHttp({ uri, timeoutMs: 5000, retry: { retries: 0, baseDelayMs: 1 }, logger: silentLogger })(search)),
    );
    expect(untitled.message).toContain('HTTP 503: an HTML page (content-type text/plain), without a title');
  });

  it('reads Retry-After as delta-seconds or any of the three HTTP-date forms, and nothing absurd', () => {
    expect(parseRetryAfter('2', NOW)).toBe(2000);
    expect(parseRetryAfter(['0'], NOW)).toBe(0);
    for (const date of ['Sun, 06 Dec 2026 05:01:30 GMT', 'Sunday, 06-Dec-26 05:01:30 GMT', 'Sun Dec  6 05:01:30 2026']) expect(parseRetryAfter(date, NOW), date).toBe(90_000);
    for (const absurd of [undefined, '', '-5', '1.5', '+3', 'soon', 'a 1', '99999999999', 'Sun, 06 Dec 2026 04:59:00 GMT', 'Sun, 06 Dec 2099 05:00:00 GMT']) expect(parseRetryAfter(absurd, NOW), absurd).toBeUndefined();
  });

  it('tells an outage once when the server stops answering and once when it answers again, over calls and the clients sharing its state, each retry at debug', async () => {
    const lines: Array<[string, string, Record<string, unknown>]> = [];
    const keep = (level: string) => (obj: object, msg?: string) => void lines.push([level, msg ?? '', obj as Record<string, unknown>]);
    const logger: Logger = { ...silentLogger, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error'), child: () => logger };
    const unavailable = Array.from({ length: 8 }, () => ({ status: 503 }));
    const servers = createMlflowServers();
    await withAnswers([...unavailable, { status: 200 }], async (uri, requests) => {
      const client = (): ReturnType<typeof createMlflowHttp> => createMlflowHttp({ uri, timeoutMs: 2000, retry: { retries: 3, baseDelayMs: 1 }, logger, server: servers.of(uri) });
      const [first, second] = [client(), client()];
      for (const call of [first, second]) expect((await failure(call(search))).code).toBe('FLTS_TRACKING_UNAVAILABLE');
      expect(requests()).toBe(8);
      await expect(second(search)).resolves.toEqual({});
      await expect(first(search)).resolves.toEqual({});
    });
    const told = lines.filter(([level]) => level !== 'debug').map(([level, msg, fields]) => [level, msg, fields.failures ?? fields.status]);
    expect(told).toEqual([
      ['warn', 'mlflow_unavailable', 503],
      ['info', 'mlflow_available_again', 8],
    ]);
    expect(lines.filter(([, msg]) => msg === 'mlflow_call_retrying').map(([level]) => level)).toEqual(Array(6).fill('debug'));
  });

  it("keeps each client's outage its own unless given a shared state: two clients of one server, logging apart, each tell the outage they saw begin and end, on their own clock", async () => {
    const told: string[] = [];
    const loggerOf = (name: string): Logger => {
      const logger: Logger = {
        ...silentLogger,
        info: (obj: object, msg?: string) => void told.push(`${name} ${msg} ${(obj as { failures: number }).failures} ${(obj as { outage_ms: number }).outage_ms}`),
        warn: (_obj: object, msg?: string) => void told.push(`${name} ${msg}`),
        child: () => logger,
      };
      return logger;
    };
    const clock = (start: number) => () => start;
    await withAnswers([{ status: 503 }, { status: 503 }, { status: 200 }, { status: 200 }], async (uri) => {
      const health = createMlflowHttp({ uri, timeoutMs: 2000, retry: { retries: 0, baseDelayMs: 1 }, logger: loggerOf('health'), now: clock(1_000) });
      const sync = createMlflowHttp({ uri, timeoutMs: 2000, retry: { retries: 0, baseDelayMs: 1 }, logger: loggerOf('sync'), now: clock(5_000_000) });
      expect((await failure(health(search))).code).toBe('FLTS_TRACKING_UNAVAILABLE');
      expect((await failure(sync(search))).code).toBe('FLTS_TRACKING_UNAVAILABLE');
      await expect(sync(search)).resolves.toEqual({});
      await expect(health(search)).resolves.toEqual({});
    });
    expect(told).toEqual(['health mlflow_unavailable', 'sync mlflow_unavailable', 'sync mlflow_available_again 1 0', 'health mlflow_available_again 1 0']);
  });

  it('waits the Retry-After a 429, or a gateway\'s 502 or 504, asks for before the next attempt, in place of its own backoff', async () => {
    for (const status of [429, 502, 504]) {
      const { logger, delays } = retryDelays();
      await withAnswers([{ status, headers: { 'retry-after': '1' } }, { status: 200 }], async (uri, requests) => {
        await expect(createMlflowHttp({ uri, timeoutMs: 2000, retry: { retries: 2, baseDelayMs: 1 }, logger })(search)).resolves.toEqual({});
        expect(requests(), `HTTP ${status}`).toBe(2);
      });
      expect(delays, `HTTP ${status}`).toEqual([1000]);
    }
  });

  it('gives up at once, naming the wait, when a 429, 502, 503 or 504 asks to wait past what is left of the call budget', async () => {
    for (const [status, retryAfter, askedMs] of [
      [503, 'Sun, 06 Dec 2026 05:01:00 GMT', 60_000],
      [429, '120', 120_000],
      [502, '30', 30_000],
      [504, 'Sun, 06 Dec 2026 05:00:45 GMT', 45_000],
    ] as const) {
      const { logger, delays } = retryDelays();
      const error = await withAnswers([{ status, headers: { 'retry-after': retryAfter } }], async (uri, requests) => {
        const failed = await failure(createMlflowHttp({ uri, timeoutMs: 2000, retry: { retries: 3, baseDelayMs: 1 }, logger, now: () => NOW })(search));
        expect(requests()).toBe(1);
        return failed;
      });
      expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
      expect(error.details).toMatchObject({ reason: 'retry_after_past_budget', retryAfterMs: askedMs, attempts: 1, status });
      expect(error.message).toContain(`asked to wait ${askedMs / 1000}.0 s (Retry-After)`);
      expect(delays).toEqual([]);
    }
  });

  it('falls back to its own backoff for a Retry-After that is absurd, and for one on a status that does not carry it', async () => {
    for (const [status, retryAfter] of [
      [429, '-5'],
      [429, 'soon'],
      [429, '99999999999'],
      [503, 'Sun, 06 Dec 2026 04:00:00 GMT'],
      [500, '120'],
      [501, '120'],
    ] as const) {
      const { logger, delays } = retryDelays();
      const error = await withAnswers([{ status, headers: { 'retry-after': retryAfter } }], async (uri, requests) => {
        const failed = await failure(createMlflowHttp({ uri, timeoutMs: 2000, retry: { retries: 2, baseDelayMs: 1 }, logger, now: () => NOW })(search));
        expect(requests(), retryAfter).toBe(3);
        return failed;
      });
      expect(error.details, retryAfter).toMatchObject({ attempts: 3, status });
      expect(error.details.reason).toBeUndefined();
      expect(delays.length).toBe(2);
      delays.forEach((delay) => expect(delay, retryAfter).toBeLessThanOrEqual(2));
    }
  });

  it('rejects tracking URIs that are not http(s), naming the setting', () => {
    expect(() => assertTrackingUri('file:///tmp/mlruns')).toThrow(/MLFLOW_TRACKING_URI/);
    expect(assertTrackingUri('http://127.0.0.1:5000/')).toBe('http://127.0.0.1:5000');
  });
});
