import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import type { PredictionLog } from '../../src/core/serve/prediction-log.js';
import { pollUntil } from '../../src/core/retry.js';
import { buildServer } from '../../src/core/serve/build-server.js';
import { createModelHolder } from '../../src/core/serve/model-holder.js';
import { createServeMetrics } from '../../src/core/serve/serve-metrics.js';
import { MAX_PIPELINED_REQUESTS } from '../../src/core/serve/unread-answers.js';
import { createMemorySource, createNaiveModel, naiveSource, postJson, promotedSource, requestData, useTestServer, WINDOW, withTestServer, type RunningServer } from './serve-fixtures.js';
import { withTargetFloors } from '../../src/core/models/target-floors.js';
import { answerOver } from '../helpers/raw-answer.js';

/** Opens a raw connection to the server; resolves once connected. */
function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection. */
function readUntilClosed(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** What the server answers to raw bytes before it closes the connection: status line and the coded JSON body. */
async function answerTo(url: string, bytes: string): Promise<{ statusLine: string; body: any }> {
  const socket = await openSocket(url);
  const closed = readUntilClosed(socket);
  socket.write(bytes);
  const text = await closed;
  const [head, body] = text.split('\r\n\r\n');
  expect(head).toMatch(/\r\ncontent-length: \d+/i);
  expect(Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1])).toBe(Buffer.byteLength(body));
  return { statusLine: head.split('\r\n')[0], body: JSON.parse(body) };
}

describe('serve > hardening: what Node refuses before routing', () => {
  // Headers are given far less time than the whole request, so the headers timeout (not the idle socket's) ends a slow
  // request; a whole second, so that a loaded machine still sends the other tests' headers (a /metrics fetch) in time.
  const server = useTestServer({ server: { limits: { requestTimeoutMs: 10_000, headersTimeoutMs: 1000 } }, load: false });

  it('answers HTTP/2 with prior knowledge (a gRPC client sent to the HTTP port) with a coded 400 that names the protocol', async () => {
    const { statusLine, body } = await answerTo(server.url, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(body).toMatchObject({ statusCode: 400, code: 'FLTS_REQUEST_INVALID' });
    expect(body.message).toMatch(/^The request is HTTP\/2 with prior knowledge; this port speaks HTTP\/1\.1 /);
  });

  it('answers a request that is not HTTP, or has a bad header line, with a coded 400', async () => {
    for (const bytes of ['GARBAGE\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n']) {
      const { statusLine, body } = await answerTo(server.url, bytes);
      expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect(body).toMatchObject({ statusCode: 400, code: 'FLTS_REQUEST_INVALID', error: 'Bad Request' });
      expect(body.message).toMatch(/^The request is not valid HTTP\/1\.1 \(HPE_[A-Z_]+\)\.$/);
      expect(body.detail).toBe(body.message);
    }
  });

  it('answers headers over the size limit with a coded 431, and headers too slow to arrive with a coded 408', async () => {
    const big = await answerTo(server.url, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(big.body).toMatchObject({ statusCode: 431, code: 'FLTS_REQUEST_TOO_LARGE', message: expect.stringMatching(/headers are larger than the limit of \d+ bytes/) });

    const slow = await answerTo(server.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expect(slow.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(slow.body).toMatchObject({ statusCode: 408, code: 'FLTS_REQUEST_INVALID', message: 'The request did not arrive in time (its headers are given 1000 ms, the whole request 10000 ms).' });
  });

  it('answers an Expect header other than 100-continue with a coded 417', async () => {
    const { statusLine, body } = await answerTo(server.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: bogus\r\nConnection: close\r\n\r\n');
    expect(statusLine).toBe('HTTP/1.1 417 Expectation Failed');
    expect(body).toMatchObject({ statusCode: 417, code: 'FLTS_REQUEST_INVALID', message: "Expect: 'bogus' is not supported; only 100-continue is." });
    // Node reads 100-continue as a word anywhere in the header, and sent 100 Continue, then the answer, for these.
    for (const expectation of ['100-continue-please', '100-continue, bogus']) {
      const answer = await answerTo(server.url, `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: ${expectation}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      expect({ expectation, statusLine: answer.statusLine, code: answer.body.code }).toEqual({ expectation, statusLine: 'HTTP/1.1 417 Expectation Failed', code: 'FLTS_REQUEST_INVALID' });
    }
  });

  it('sends 100 Continue once the body is to be read, not to a request refused without it (a Content-Length over the limit, a Content-Encoding)', async () => {
    /** What the server sends to a request's headers alone until it answers with a final status. */
    const answerToHeaders = async (head: string): Promise<{ socket: Socket; seen: () => string; final: Promise<void> }> => {
      const socket = await openSocket(server.url);
      let text = '';
      const final = new Promise<void>((resolve) => socket.on('data', (chunk: Buffer) => (text += chunk.toString()) && /HTTP\/1\.1 [2-5]\d\d /.test(text) && resolve()));
      socket.write(head);
      return { socket, seen: () => text, final };
    };
    const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map(([, status]) => status);
    for (const [head, status] of [
      ['POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nExpect: 100-continue\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n', '400'],
      ['POST /reload_latest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n', '413'],
      // A path that does not exist is answered before its body is read, whatever the body.
      ['POST /no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n', '404'],
    ] as const) {
      const { socket, seen, final } = await answerToHeaders(head);
      await final;
      expect(statuses(seen())).toEqual([status]);
      socket.destroy();
    }
  });

  it('answers a path that does not exist 404 whatever its body (media type, Content-Encoding, size, JSON that does not parse)', async () => {
    const bodies: Array<[Record<string, string>, string]> = [
      [{ 'content-type': 'text/plain' }, 'hello'],
      [{ 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{}'],
      [{ 'content-type': 'application/json' }, '{not json'],
      [{ 'content-type': 'application/json' }, `{"pad":"${'x'.repeat(9 * 1024 * 1024)}"}`],
    ];
    for (const [headers, payload] of bodies) {
      const answer = await server.app.inject({ method: 'POST', url: '/no-such-route', headers, payload });
      expect({ headers, status: answer.statusCode, code: answer.json().code }).toEqual({ headers, status: 404, code: 'FLTS_REQUEST_ROUTE_NOT_FOUND' });
    }
  });

  it('answers an HTTP/1.1 request without a Host header, or with two, with a coded 400 (Node\'s own is empty), and HTTP/1.0 without one as usual', async () => {
    const { statusLine, body } = await answerTo(server.url, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(body).toMatchObject({ statusCode: 400, code: 'FLTS_REQUEST_INVALID', message: 'An HTTP/1.1 request must have a Host header.' });
    const old = await answerTo(server.url, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(old.statusLine).toBe('HTTP/1.1 200 OK');
    // Two are refused too (Node kept the first and served the request).
    const twice = await answerTo(server.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nhost: elsewhere.example\r\nConnection: close\r\n\r\n');
    expect(twice.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(twice.body).toMatchObject({ statusCode: 400, code: 'FLTS_REQUEST_INVALID', message: 'A request must have one Host header, not several.' });
  });

  it('answers a request line without an HTTP version (which Node reads as HTTP/0.9) with a coded 400, not as HTTP/1.0', async () => {
    for (const bytes of ['GET /healthz\r\n\r\n', 'OPTIONS *\r\nHost: 127.0.0.1\r\n\r\n']) {
      const { statusLine, body } = await answerTo(server.url, bytes);
      expect({ bytes, statusLine, body }).toEqual({ bytes, statusLine: 'HTTP/1.1 400 Bad Request', body: expect.objectContaining({ code: 'FLTS_REQUEST_INVALID', message: 'The request line has no HTTP version; send METHOD target HTTP/1.1.' }) });
    }
  });

  it('answers a CONNECT request (the server taken for a proxy) with a coded 405 and closes, counted as a client error', async () => {
    const { statusLine, body } = await answerTo(server.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(statusLine).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(body).toMatchObject({ statusCode: 405, code: 'FLTS_REQUEST_METHOD_NOT_ALLOWED', message: "Method CONNECT is not allowed: this server is not a proxy (target 'example.com:443')." });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="CONNECT",status="405"\} 1$/m);
  });

  it('answers OPTIONS * (a question about the server, RFC 9110 section 9.3.7) 204 with the methods its paths take in Allow, not a 404', async () => {
    const socket = await openSocket(server.url);
    const closed = readUntilClosed(socket);
    socket.write('OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const [head, body] = (await closed).split('\r\n\r\n');
    const [statusLine, ...headerLines] = head.split('\r\n');
    expect(statusLine).toBe('HTTP/1.1 204 No Content');
    const allow = headerLines.find((line) => /^allow: /i.test(line))?.replace(/^allow: /i, '');
    expect(allow).toBe('GET, HEAD, POST');
    expect(body).toBe('');
    // A path still answers 405 for OPTIONS, with its own Allow; * with another method is no path either.
    const onPath = await server.app.inject({ method: 'OPTIONS', url: '/predict' });
    expect({ status: onPath.statusCode, allow: onPath.headers.allow }).toEqual({ status: 405, allow: 'POST' });
    const otherMethod = await answerTo(server.url, 'GET * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(otherMethod).toMatchObject({ statusLine: 'HTTP/1.1 404 Not Found', body: { code: 'FLTS_REQUEST_ROUTE_NOT_FOUND' } });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="OPTIONS",status="204"\} 1$/m);
  });

  it('counts what it refuses as client errors of no route, by the method once a request line was read', async () => {
    await answerTo(server.url, 'GARBAGE\r\n\r\n');
    await answerTo(server.url, 'PUT /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: bogus\r\nConnection: close\r\n\r\n');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="unknown",status="400"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="PUT",status="417"\} 1$/m);
    expect(metrics).not.toMatch(/^flts_http_requests_total\{[^}]*status="5\d\d"\}/m);
  });
});

describe('serve > hardening: strict bodies, dates in range, connection limits', () => {
  // The default timeouts, which only a hang exceeds: a loaded machine can take more than a few hundred ms to carry
  // the large bodies sent here. The 408 tests have their own server, whose short timeouts are what they test.
  const server = useTestServer();
  const timing = useTestServer({ server: { limits: { requestTimeoutMs: 400, headersTimeoutMs: 300 } } });

  it('refuses a JSON null body and inference_length given as text, boolean or array', async () => {
    for (const body of ['null', '{"inference_length":"5"}', '{"inference_length":true}', '{"inference_length":[4]}', '{"data":""}', '{"data":false}']) {
      const { status, json } = await postJson(`${server.url}/predict`, body);
      expect({ body, status, code: json.code }).toEqual({ body, status: 400, code: 'FLTS_REQUEST_INVALID' });
    }
    const query = await postJson(`${server.url}/predict?inference_length=3`, {});
    expect(query.status).toBe(200);
    expect(query.json.predictions).toHaveLength(3);
  });

  it('refuses on /predict and /actuals a query parameter they do not read, naming it and the ones they do, and forecasts with the body field', async () => {
    const data = requestData(6);
    // Before, ?identifier= was dropped: the forecast was filed and scored under the deployment's series, with a 200.
    const misplaced = await postJson(`${server.url}/predict?identifier=plant-7&inference_length=3`, { data });
    expect({ status: misplaced.status, code: misplaced.json.code, message: misplaced.json.message }).toEqual({
      status: 400,
      code: 'FLTS_REQUEST_UNKNOWN_PARAMETER',
      message: 'POST /predict does not read the query parameter identifier: it takes inference_length in the query string; identifier is a field of the JSON body. Nothing was done.',
    });
    const typo = await postJson(`${server.url}/predict?inference_lenght=3`, { data });
    expect({ status: typo.status, code: typo.json.code, message: typo.json.message }).toEqual({
      status: 400,
      code: 'FLTS_REQUEST_UNKNOWN_PARAMETER',
      message: 'POST /predict does not read the query parameter inference_lenght: it takes inference_length in the query string. Nothing was done.',
    });
    const twice = await postJson(`${server.url}/predict?inference_length=3&inference_length=4`, { data });
    // Before, the list the two made was refused as "querystring/inference_length must be integer".
    expect({ status: twice.status, code: twice.json.code, message: twice.json.message }).toEqual({
      status: 400,
      code: 'FLTS_REQUEST_INVALID',
      message: 'POST /predict takes the query parameter inference_length once; it was given 2 times. Nothing was done.',
    });
    const actuals = await postJson(`${server.url}/actuals?identifier=plant-7`, { data: { ts: data.ts, down: data.down } });
    expect({ status: actuals.status, code: actuals.json.code, message: actuals.json.message }).toEqual({
      status: 400,
      code: 'FLTS_REQUEST_UNKNOWN_PARAMETER',
      message: 'POST /actuals does not read the query parameter identifier: it takes no query parameters; identifier is a field of the JSON body. Nothing was done.',
    });
    // The body field, and the query parameter the route reads, are taken as before.
    const body = await postJson(`${server.url}/predict?inference_length=3`, { data, identifier: 'plant-7' });
    expect({ status: body.status, rows: body.json.predictions?.length }).toEqual({ status: 200, rows: 3 });
  });

  it("takes the query's inference_length over the body's, as the reference does, and says so in the published document", async () => {
    const both = await postJson(`${server.url}/predict?inference_length=3`, { inference_length: 2 });
    expect(both.status).toBe(200);
    expect(both.json.predictions).toHaveLength(3);
    // Before, the document described the query parameter as the body's field, silent on which of the two is taken.
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    const parameter = document.paths['/predict'].post.parameters.find((entry: { name: string }) => entry.name === 'inference_length');
    expect(parameter).toMatchObject({ in: 'query', description: expect.stringMatching(/Taken over the body's inference_length when both are given\.$/) });
  });

  it('refuses columns whose names differ only in case on /predict and infer, and forecasts as before without the twin', async () => {
    const rows = requestData(6);
    const alone = await postJson(`${server.url}/predict`, { data: rows });
    expect(alone.status).toBe(200);
    // Before, `Down` was dropped without a word and each of these answered 200: the values under it went unused.
    const twins = { ...rows, Down: rows.down.map((value) => (value as number) * 1000) };
    const predict = await postJson(`${server.url}/predict`, { data: twins });
    expect({ status: predict.status, code: predict.json.code }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID' });
    expect(predict.json.message).toBe("Columns 'down' and 'Down' of 'data' differ only in case; which one is meant cannot be told: send one of them.");
    const inputs = Object.entries(twins).map(([name, values]) => ({ name, shape: [6], datatype: name === 'ts' ? 'BYTES' : 'FP64', data: values }));
    const infer = await postJson(`${server.url}/v2/models/flts/infer`, { inputs });
    expect({ status: infer.status, code: infer.json.code }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID' });
    expect(infer.json.message).toMatch(/'down' and 'Down' .*differ only in case/);
    expect((await postJson(`${server.url}/predict`, { data: rows })).json.predictions).toEqual(alone.json.predictions);
  });

  it('refuses a column, field or tensor field written twice in the JSON on /predict, /actuals and infer with a coded 400', async () => {
    const rows = requestData(6);
    const columns = JSON.stringify(rows).slice(1, -1);
    // Before, /predict answered 200 with a forecast of the last `down` alone, the first dropped without a word.
    const predict = await postJson(`${server.url}/predict`, `{"data":{${columns},"down":${JSON.stringify(rows.down.map(() => 1e6))}}}`);
    expect({ status: predict.status, code: predict.json.code, message: predict.json.message }).toEqual({
      status: 400,
      code: 'FLTS_REQUEST_INVALID',
      message: 'Invalid request: body/data has the key "down" twice; JSON would keep only the last of them: write each key once.',
    });
    const actuals = await postJson(`${server.url}/actuals`, `{"data":{${columns}},"identifier":"a","identifier":"b"}`);
    expect({ status: actuals.status, code: actuals.json.code }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID' });
    const tensors = Object.entries(rows).map(([name, values]) => JSON.stringify({ name, shape: [6], datatype: name === 'ts' ? 'BYTES' : 'FP64', data: values }));
    tensors[1] = tensors[1].replace(/}$/, `,"data":${JSON.stringify(rows.down.map(() => 1e6))}}`);
    const infer = await postJson(`${server.url}/v2/models/flts/infer`, `{"inputs":[${tensors.join(',')}]}`);
    expect({ status: infer.status, code: infer.json.code }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID' });
    expect(infer.json.message).toMatch(/^Invalid request: body\/inputs\/1 has the key "data" twice/);
    expect((await postJson(`${server.url}/predict`, { data: rows })).status).toBe(200);
  });

  it('refuses a /predict or /actuals body over its bounds from its text, before JSON.parse reads it, with the schema\'s answer', async () => {
    const many = (count: number, value: unknown = 'x'): Record<string, unknown> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`c${i}`, value]));
    const rows = requestData(6);
    const cases: Array<[string, string]> = [
      [JSON.stringify({ data: rows, ...many(10_000) }), 'body must NOT have more than 64 properties'],
      [JSON.stringify({ data: { ...rows, ...many(1_100, [1, 2, 3, 4, 5, 6]) } }), 'body/data must NOT have more than 1024 properties'],
      [JSON.stringify({ data: rows, client: many(65) }), 'body/client must NOT have more than 64 properties'],
      [JSON.stringify({ data: { ...rows, down: [[1], [2], [3], [4], [5], [6]] } }), "body/data/down nests deeper than the 3 levels a request of rows has (the body, its data, and a column's array of values)"],
      [`{"data":{"ts":${'['.repeat(200_000)}1${']'.repeat(200_000)}}}`, "body/data/ts nests deeper than the 3 levels a request of rows has (the body, its data, and a column's array of values)"],
      [JSON.stringify({ data: rows, client: { a: { b: {} } } }), "body/client/a/b nests deeper than the 3 levels a request of rows has (the body, its data, and a column's array of values)"],
    ];
    const parse = vi.spyOn(JSON, 'parse');
    try {
      for (const [body, reason] of cases) {
        const answers = [];
        for (const route of ['/predict', '/actuals']) answers.push({ route, answer: await server.app.inject({ method: 'POST', url: route, headers: { 'content-type': 'application/json' }, payload: body }) });
        expect(parse.mock.calls.filter(([text]) => text === body)).toEqual([]);
        for (const { route, answer } of answers) {
          const { code, message } = answer.json();
          expect({ route, status: answer.statusCode, code, message }).toEqual({ route, status: 400, code: 'FLTS_REQUEST_INVALID', message: `Invalid request: ${reason}.` });
        }
      }
    } finally {
      parse.mockRestore();
    }
    // Within the bounds: a client's few fields of its own, and thousands of rows.
    const large = requestData(5_000);
    const within = await postJson(`${server.url}/predict`, { data: large, index_col: 'ts', client: { name: 'x', tags: ['a', 'b'] }, ...many(50) });
    expect(within.status).toBe(200);
  });

  it('names the path asked for in a 405, not the pattern of the route it matched', async () => {
    // Before: "Method GET is not allowed on /v2/models/:name/infer".
    for (const [url, path] of [['/v2/models/flts/infer?x=1', '/v2/models/flts/infer'], ['/predict?inference_length=2', '/predict']]) {
      const answer = await server.app.inject({ method: 'GET', url });
      expect(answer.statusCode).toBe(405);
      expect(answer.json()).toMatchObject({ code: 'FLTS_REQUEST_METHOD_NOT_ALLOWED', message: `Method GET is not allowed on ${path}; allowed: POST.` });
    }
  });

  it('answers 404 and 405 without parsing the JSON body, which neither reads, whatever it holds', async () => {
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const cases: Array<[string, string, string, number, string]> = [
      ['PUT', '/predict', nested, 405, 'FLTS_REQUEST_METHOD_NOT_ALLOWED'],
      ['POST', '/healthz', nested, 405, 'FLTS_REQUEST_METHOD_NOT_ALLOWED'],
      ['POST', '/no-such-route', nested, 404, 'FLTS_REQUEST_ROUTE_NOT_FOUND'],
      // Malformed: the answer is still about the method or the path, which a client fixes first.
      ['PATCH', '/actuals', '{"data":', 405, 'FLTS_REQUEST_METHOD_NOT_ALLOWED'],
    ];
    const parse = vi.spyOn(JSON, 'parse');
    try {
      for (const [method, url, payload, status, code] of cases) {
        const answer = await server.app.inject({ method: method as 'PUT', url, headers: { 'content-type': 'application/json' }, payload });
        expect(parse.mock.calls.filter(([text]) => text === payload)).toEqual([]);
        expect({ url, status: answer.statusCode, code: answer.json().code }).toEqual({ url, status, code });
      }
    } finally {
      parse.mockRestore();
    }
  });

  it('answers the requests pipelined behind a body refused whole (malformed, over a bound, of another media type), and closes after a body too large', async () => {
    const request = (path: string, type: string, body: string, extra = ''): string =>
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const last = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
    const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map(([, status]) => status);
    const refusedWhole = [
      request('/predict', 'application/json', '{"data":'),
      request('/predict', 'application/json', `{"data":{"ts":${'['.repeat(10)}1${']'.repeat(10)}}}`),
      request('/predict', 'text/plain', '{}'),
      request('/v2/models/flts/infer', 'application/json', '{"inputs":'),
      request('/predict', 'application/json', '{}'),
    ];
    const socket = await openSocket(server.url);
    const answers = readUntilClosed(socket);
    socket.write(refusedWhole.join('') + last);
    expect(statuses(await answers)).toEqual(['400', '400', '415', '400', '200', '200']);
    // The body of a 413 is not read: what follows it on the connection cannot be told from it.
    const tooLarge = await openSocket(server.url);
    const closed = readUntilClosed(tooLarge);
    tooLarge.write(request('/reload_latest', 'application/json', `{"x":"${'x'.repeat(20_000)}"}`) + last);
    expect(statuses(await closed)).toEqual(['413']);
  });

  it('refuses a body with a Content-Encoding other than identity, compressed or not, with a coded 400 naming the encoding', async () => {
    const text = JSON.stringify({ data: requestData(6) });
    const infer = JSON.stringify({ inputs: ['ts', 'down', 'up'].map((name) => ({ name, shape: [6], datatype: name === 'ts' ? 'BYTES' : 'FP64', data: requestData(6)[name] })) });
    for (const [path, type, body] of [
      ['/predict', 'application/json', text],
      ['/v2/models/flts/infer', 'application/json', infer],
      ['/v2/models/flts/infer', 'application/octet-stream', infer],
    ] as const) {
      for (const [encoding, sent] of [['gzip', gzipSync(body)], ['br', Buffer.from(body)], ['deflate, identity', Buffer.from(body)]] as const) {
        const answer = await server.app.inject({ method: 'POST', url: path, headers: { 'content-type': type, 'content-encoding': encoding }, payload: sent });
        expect({ path, type, encoding, status: answer.statusCode, json: answer.json() }).toMatchObject({
          path,
          type,
          encoding,
          status: 400,
          json: { code: 'FLTS_REQUEST_INVALID', message: `Content-Encoding '${encoding}' is not supported; send the body uncompressed (no Content-Encoding).` },
        });
      }
      const identity = await server.app.inject({ method: 'POST', url: path, headers: { 'content-type': type, 'content-encoding': 'Identity' }, payload: body });
      expect(identity.statusCode).toBe(200);
    }
  });

  it('refuses a body with a transfer coding before chunked (gzip, chunked), which Node undoes only the chunking of, with a coded 400', async () => {
    const body = JSON.stringify({ data: requestData(6) });
    const chunked = (encoding: string) =>
      `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: ${encoding}\r\nConnection: close\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    for (const encoding of ['gzip, chunked', 'deflate,chunked']) {
      const { statusLine, body: json } = await answerTo(server.url, chunked(encoding));
      expect({ encoding, statusLine, json }).toMatchObject({
        encoding,
        statusLine: 'HTTP/1.1 400 Bad Request',
        json: { code: 'FLTS_REQUEST_INVALID', message: `Transfer-Encoding '${encoding}' is not supported; send the body uncompressed, chunked or with a Content-Length.` },
      });
    }
    expect((await answerTo(server.url, chunked('Chunked'))).statusLine).toBe('HTTP/1.1 200 OK');
  });

  it('reads inference_length in the query string as decimal digits only: 0x10, 1e1, 16.0, " 16" or digits past the safe integers are refused', async () => {
    for (const text of ['0x10', '0b10', '1e1', '16.0', '%2016', '16%20', '']) {
      const { status, json } = await postJson(`${server.url}/predict?inference_length=${text}`, {});
      expect({ text, status, code: json.code, message: json.message }).toEqual({ text, status: 400, code: 'FLTS_REQUEST_INVALID', message: 'Invalid request: querystring/inference_length must be integer.' });
    }
    // Digits past the safe integers: Ajv reads 309 nines as Infinity and its maximum let that through, to a 500.
    for (const [text, message] of [['9'.repeat(309), 'must be <= 10000'], [`-${'9'.repeat(400)}`, 'must be >= 1'], ['9007199254740993', 'must be <= 10000']]) {
      const { status, json } = await postJson(`${server.url}/predict?inference_length=${text}`, {});
      expect({ status, code: json.code, message: json.message }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID', message: `Invalid request: querystring/inference_length ${message}.` });
    }
    const decimal = await postJson(`${server.url}/predict?inference_length=016`, {});
    expect(decimal.status).toBe(200);
    expect(decimal.json.predictions).toHaveLength(16);
  });

  it('forecasts from year 0018 in year 0018, and refuses forecasts past 9999', async () => {
    const ancient = requestData(6, { start: Date.UTC(2018, 0, 1) });
    ancient.ts = (ancient.ts as string[]).map((ts) => `00${ts.slice(2)}`);
    const { status, json } = await postJson(`${server.url}/predict`, { data: ancient });
    expect(status).toBe(200);
    expect(json.predictions[0].ts).toBe('0018-01-01T00:12:00');

    const stepping = { ts: Array.from({ length: 6 }, (_, i) => `${String(1000 + 999 * i).padStart(4, '0')}-01-01 00:00:00`), down: [1, 2, 3, 4, 5, 6], up: [1, 1, 1, 1, 1, 1] };
    stepping.ts = stepping.ts.slice(0, 5).concat(['9000-01-01 00:00:00']);
    const past = await postJson(`${server.url}/predict?inference_length=300`, { data: stepping });
    expect(past.status).toBe(400);
    expect(past.json.message).toMatch(/past 9999-12-31/);

    // Epoch numbers end in 2286 (nanoseconds below 1e19): larger ones are refused as no time at all.
    const epoch = requestData(6, { start: 8.64e15 - 10 * YEAR_MS, step: YEAR_MS });
    epoch.ts = Array.from({ length: 6 }, (_, i) => 1e19 + i * 1e12);
    const nearEnd = await postJson(`${server.url}/predict`, { data: epoch });
    expect(nearEnd.status).toBe(400);
    expect(nearEnd.json.code).toBe('FLTS_REQUEST_INVALID');
  });

  it('refuses with a coded 400 a forecast that finite but enormous inputs make non-finite', async () => {
    const source = naiveSource('run-n');
    source.promote('run-n');
    await withTestServer(source, {}, async (naive) => {
      const huge = requestData(6);
      // Finite in the request, beyond float32 once in the model's window: persistence forecasts Infinity.
      huge.down = (huge.down as number[]).map(() => 1e300);
      const { status, json } = await postJson(`${naive.url}/predict`, { data: huge });
      expect(status).toBe(400);
      expect(json).toMatchObject({ code: 'FLTS_FORECAST_NOT_FINITE', message: expect.stringContaining('down') });
      expect((await postJson(`${naive.url}/predict`, { data: requestData(6) })).status).toBe(200);
    });
  });

  it('refuses inputs near -1e308 for a target floored at 0 as it refuses +1e308, never answering the overflow as a forecast of 0', async () => {
    const source = createMemorySource();
    // down never went negative in training: its floor is where 0 falls on the scaler, (0 - 10) / 100.
    source.runs.set('run-f', () => withTargetFloors(createNaiveModel({ ...WINDOW, targetFloors: { down: -0.1 } })));
    source.promote('run-f');
    await withTestServer(source, {}, async (floored) => {
      for (const extreme of [1e308, -1e308]) {
        const data = requestData(6);
        data.down = (data.down as number[]).map(() => extreme);
        const { status, json } = await postJson(`${floored.url}/predict`, { data });
        expect({ extreme, status, code: json.code }).toEqual({ extreme, status: 400, code: 'FLTS_FORECAST_NOT_FINITE' });
      }
      // Below the floor but finite: still raised to 0.
      const negative = requestData(6);
      negative.down = (negative.down as number[]).map(() => -5);
      const { status, json } = await postJson(`${floored.url}/predict`, { data: negative });
      expect(status).toBe(200);
      expect(json.predictions.map((row: { down: number }) => row.down)).toEqual([0, 0]);
    });
  });

  it('answers a body that trickles in beyond the request timeout with a coded 408 and closes, and still answers the next request', async () => {
    const slow = await answerTo(timing.url, 'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    expect(slow.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(slow.body).toMatchObject({ statusCode: 408, code: 'FLTS_REQUEST_INVALID' });
    expect((await postJson(`${timing.url}/predict`, { data: requestData(6) })).status).toBe(200);
  });

  it('answers headers that never finish with a coded 408 and closes', async () => {
    const slow = await answerTo(timing.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expect(slow.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(slow.body).toMatchObject({ statusCode: 408, code: 'FLTS_REQUEST_INVALID' });
  });

  describe('the connection cap', () => {
    const HOUR_MS = 3_600_000;
    const POST_HEADERS = 'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n';

    /**
     * Runs `use` against a server of its own capped at `maxConnections`, with `open` connecting raw sockets that are
     * destroyed before the server closes: a failing test leaves no request in flight for the close to wait on.
     */
    async function withCapped(maxConnections: number, use: (capped: RunningServer, open: () => Promise<Socket>) => Promise<void>, slowHeadGraceMs?: number): Promise<void> {
      const held: Socket[] = [];
      await withTestServer(createMemorySource(), { server: { limits: { maxConnections, slowHeadGraceMs } }, load: false }, async (capped) => {
        const open = async (): Promise<Socket> => {
          const socket = await openSocket(capped.url);
          held.push(socket);
          return socket;
        };
        try {
          await use(capped, open);
        } finally {
          held.forEach((socket) => socket.destroy());
        }
      });
    }

    it('admits a client at the cap in place of the connection idle the longest, never one with a request in flight or arriving', async () => {
      await withCapped(3, async (capped, open) => {
        const accepted: Socket[] = [];
        capped.app.server.on('connection', (socket: Socket) => accepted.push(socket));
        // Answered in this order, so `posting` has been idle the longest, then `arriving`, then `idle`.
        const [posting, arriving, idle] = [await open(), await open(), await open()];
        for (const socket of [posting, arriving, idle]) expect(await healthzOver(socket)).toMatch(/^HTTP\/1.1 200/);
        const idleClosed = readUntilClosed(idle);
        // A request in flight: its headers are read, its body is still to come.
        const inFlight = new Promise((resolve) => capped.app.server.once('request', resolve));
        posting.write(POST_HEADERS);
        await inFlight;
        // A request arriving: part of its headers read, no request yet.
        const serverArriving = accepted.find((socket) => socket.remotePort === arriving.localPort)!;
        const readBefore = serverArriving.bytesRead;
        arriving.write('GET /healthz HTTP/1.1\r\n');
        expect(await pollUntil(10, AbortSignal.timeout(10_000), async () => serverArriving.bytesRead > readBefore)).toBe(true);

        expect(await healthzOver(await open())).toMatch(/^HTTP\/1.1 200/);
        expect(await idleClosed).toBe('');
        expect(await answerJsonOver(arriving, 'Host: 127.0.0.1\r\n\r\n')).toMatch(/^HTTP\/1.1 200/);
        expect(await answerJsonOver(posting, '{}')).toMatch(/^HTTP\/1.1 503/);
        expect(await capClosesOf(capped)).toEqual({ idle: 1, slow: 0, refused: 0 });
      });
    });

    it('never takes a connection whose next pipelined request is arriving, read with the one answered before it, for an idle one', async () => {
      await withCapped(2, async (capped, open) => {
        const [pipelining, idle] = [await open(), await open()];
        // One write: a whole request, then the start of the next one, read by the server before the first is answered.
        expect(await answerJsonOver(pipelining, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\n')).toMatch(/^HTTP\/1.1 200/);
        expect(await healthzOver(idle)).toMatch(/^HTTP\/1.1 200/);
        const idleClosed = readUntilClosed(idle);

        expect(await healthzOver(await open())).toMatch(/^HTTP\/1.1 200/);
        expect(await idleClosed).toBe('');
        expect(await answerJsonOver(pipelining, 'Host: 127.0.0.1\r\n\r\n')).toMatch(/^HTTP\/1.1 200/);
        expect(await capClosesOf(capped)).toEqual({ idle: 1, slow: 0, refused: 0 });
      });
    });

    it('refuses a client at the cap when every connection held is busy, and keeps serving them', async () => {
      await withCapped(2, async (capped, open) => {
        const posting = await open();
        expect(await healthzOver(posting)).toMatch(/^HTTP\/1.1 200/);
        const inFlight = new Promise((resolve) => capped.app.server.once('request', resolve));
        posting.write(POST_HEADERS);
        await inFlight;
        // Connected and not asking yet: its request may be on its way (within the grace, an hour here however slow the host).
        const fresh = await open();
        expect(await readUntilClosed(await open())).toBe('');
        expect(await answerJsonOver(posting, '{}')).toMatch(/^HTTP\/1.1 503/);
        expect(await healthzOver(fresh)).toMatch(/^HTTP\/1.1 200/);
        expect(await capClosesOf(capped)).toEqual({ idle: 0, slow: 0, refused: 1 });
      }, HOUR_MS);
    });

    it('admits a client at the cap in place of the connection whose request head has been arriving the longest, once past the grace', async () => {
      // A grace of 0: every head still arriving is past it, so the test needs no clock (connection-cap.test.ts times it).
      await withCapped(
        2,
        async (capped, open) => {
          // Two clients dripping their heads hold every connection: their request lines sent, their headers never.
          const [first, second] = [await open(), await open()];
          const firstClosed = readUntilClosed(first);
          for (const socket of [first, second]) socket.write('GET /healthz HTTP/1.1\r\n');

          expect(await healthzOver(await open())).toMatch(/^HTTP\/1.1 200/);
          expect(await firstClosed).toBe('');
          expect(await answerJsonOver(second, 'Host: 127.0.0.1\r\n\r\n')).toMatch(/^HTTP\/1.1 200/);
          expect(await capClosesOf(capped)).toEqual({ idle: 0, slow: 1, refused: 0 });
        },
        0,
      );
    });
  });

  it('logs a prediction-log record that fails after the answer was sent, instead of leaving an unhandled rejection', async () => {
    const failure = new Error('the record cannot be written');
    const predictionLog: PredictionLog = {
      durability: 'buffered',
      append() {
        throw failure;
      },
      flush: async () => {},
      close: async () => {},
      dropped: 0,
      unwritten: 0,
    };
    let warned!: (warning: [object, string | undefined]) => void;
    const warning = new Promise<[object, string | undefined]>((resolve) => (warned = resolve));
    const logger: Logger = { ...silentLogger, warn: (obj, msg) => warned([obj, msg]), child: () => logger };
    await withTestServer(promotedSource(), { server: { predictionLog, logger } }, async (own) => {
      expect((await postJson(`${own.url}/predict`, { data: requestData(6) })).status).toBe(200);
      expect(await warning).toEqual([{ err: failure }, 'prediction_log_append_failed']);
    });
  });
});

describe('serve > hardening: clients that stall', () => {
  /** A logger that keeps what is logged at warn and error. */
  function recordingLogger(): { logger: Logger; problems: Array<[string, object, string | undefined]> } {
    const problems: Array<[string, object, string | undefined]> = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (obj, msg) => problems.push(['warn', obj, msg]),
      error: (obj, msg) => problems.push(['error', obj, msg]),
      child: () => logger,
    };
    return { logger, problems };
  }

  function promotedNaive() {
    const source = naiveSource('run-n');
    source.promote('run-n');
    return source;
  }

  it('answers a chunked body that stops arriving with a coded 408 after the request timeout, counted as a client error', async () => {
    const { logger, problems } = recordingLogger();
    await withTestServer(promotedNaive(), { server: { logger, limits: { requestTimeoutMs: 300, headersTimeoutMs: 300 } } }, async (own) => {
      const started = performance.now();
      const stalled = await answerTo(own.url, 'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"data": \r\n');
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
      expect(stalled.statusLine).toBe('HTTP/1.1 408 Request Timeout');
      expect(stalled.body).toMatchObject({
        statusCode: 408,
        code: 'FLTS_REQUEST_INVALID',
        message: 'The request did not arrive in time (its headers are given 300 ms, the whole request 300 ms).',
      });

      const metrics = await (await fetch(`${own.url}/metrics`)).text();
      expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="POST",status="408"\} 1$/m);
      expect(metrics).not.toMatch(/^flts_http_requests_total\{[^}]*status="5\d\d"\}/m);
      // Counted once: answered 408, not also as a request its client abandoned (499).
      expect(metrics).not.toMatch(/^flts_http_requests_total\{[^}]*status="499"\}/m);
      expect(problems).toEqual([]);
    });
  });

  it('answers a body that stops arriving part-way with a coded 408 once none of it came for serve.bodyIdleTimeoutMs, well before the request timeout, and frees its room in the body budget', async () => {
    const { logger, problems } = recordingLogger();
    const limits = { requestTimeoutMs: 20_000, headersTimeoutMs: 1000, bodyIdleTimeoutMs: 200 };
    await withTestServer(promotedNaive(), { server: { logger, limits } }, async (own) => {
      const head = 'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';
      for (const stalled of [`${head}Content-Length: 1000\r\n\r\n{"data": `, `${head}Transfer-Encoding: chunked\r\n\r\n9\r\n{"data": \r\n`]) {
        const started = performance.now();
        const answer = await answerTo(own.url, stalled);
        // Far from the request timeout, which alone answered it before (and with another code).
        expect(performance.now() - started).toBeLessThan(limits.requestTimeoutMs / 2);
        expect(answer.statusLine).toBe('HTTP/1.1 408 Request Timeout');
        expect(answer.body).toMatchObject({
          statusCode: 408,
          code: 'FLTS_REQUEST_BODY_STALLED',
          message: 'The request body stopped arriving: no byte of it came for 200 ms (serve.bodyIdleTimeoutMs).',
        });
      }
      const metrics = await (await fetch(`${own.url}/metrics`)).text();
      expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="POST",status="408"\} 2$/m);
      expect(metrics).not.toMatch(/^flts_http_requests_total\{[^}]*status="499"\}/m);
      expect(metrics).toMatch(/^flts_request_body_bytes_in_flight 0$/m);
      // The connection after it is served as ever, its body sent with its headers.
      expect((await postJson(`${own.url}/predict`, { data: requestData(6) })).status).toBe(200);
      expect(problems).toEqual([]);
    });
  });

  /**
   * Sends `head`, then `first` at once, then `piece` every `everyMs` (a client's pace, not a wait for the server) until
   * the server closes the connection or the body is sent; the answer, and how long it took from the head.
   */
  async function sendPaced(url: string, head: string, first: string, rest: string, piece: number, everyMs: number): Promise<{ text: string; ms: number }> {
    const socket = await openSocket(url);
    socket.setNoDelay(true);
    const closed = readUntilClosed(socket);
    const started = performance.now();
    socket.write(head + first);
    let at = 0;
    const pace = setInterval(() => {
      if (socket.destroyed || socket.writableEnded || at >= rest.length) return clearInterval(pace);
      socket.write(rest.slice(at, (at += piece)));
      if (at >= rest.length) socket.end();
    }, everyMs);
    try {
      const text = await closed;
      return { text, ms: performance.now() - started };
    } finally {
      clearInterval(pace);
    }
  }

  it('answers a body that goes on arriving, but slower than serve.minBodyBytesPerSec over a window, with the coded 408 of a stalled body, well before the request timeout, and frees its room in the body budget', async () => {
    const { logger, problems } = recordingLogger();
    // A byte every 50 ms is never idle for the idle timeout, and brings 10 of the 100 bytes each 1 s window must.
    const limits = { requestTimeoutMs: 20_000, headersTimeoutMs: 1000, bodyIdleTimeoutMs: 2000, minBodyBytesPerSec: 100, minBodyRateWindowMs: 1000 };
    await withTestServer(promotedNaive(), { server: { logger, limits } }, async (own) => {
      const body = JSON.stringify({ data: requestData(6) }).padEnd(4000, ' ');
      const head = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      // Trickled from the first byte, and trickled after most of the body came at once: the rate is each window's, so
      // the bytes of the first do not pay for the silence after them.
      for (const sentAtOnce of [0, 3000]) {
        const { text, ms } = await sendPaced(own.url, head, body.slice(0, sentAtOnce), body.slice(sentAtOnce), 1, 50);
        expect(ms).toBeLessThan(limits.requestTimeoutMs / 2);
        const [answerHead, answerBody] = text.split('\r\n\r\n');
        expect(answerHead.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
        expect(JSON.parse(answerBody)).toMatchObject({ statusCode: 408, code: 'FLTS_REQUEST_BODY_STALLED' });
        expect(JSON.parse(answerBody).message).toMatch(/^The request body arrived too slowly: \d+ bytes? of it in the last \d+ ms, under the least rate of 100 bytes\/s \(serve\.minBodyBytesPerSec\)\.$/);
      }
      // Six times the least rate, over two windows: served.
      const paced = JSON.stringify({ data: requestData(6) }).padEnd(1200, ' ');
      const pacedHead = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${paced.length}\r\nConnection: close\r\n\r\n`;
      const served = await sendPaced(own.url, pacedHead, '', paced, 60, 100);
      expect(served.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"status":"SUCCESS"/);
      expect(served.ms).toBeGreaterThan(limits.minBodyRateWindowMs);

      const metrics = await (await fetch(`${own.url}/metrics`)).text();
      expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="POST",status="408"\} 2$/m);
      expect(metrics).not.toMatch(/^flts_http_requests_total\{[^}]*status="499"\}/m);
      expect(metrics).toMatch(/^flts_request_body_bytes_in_flight 0$/m);
      expect(problems).toEqual([]);
    });
  });

  it('answers a body of declared length that keeps the least rate but cannot arrive before the request timeout at its rate, with the coded 408 at the end of a window, and serves one that can', async () => {
    const { logger, problems } = recordingLogger();
    // 60 bytes every 50 ms (about 1200 bytes/s), twelve times the least rate: 100,000 bytes would take over 80 s.
    const limits = { requestTimeoutMs: 10_000, headersTimeoutMs: 1000, bodyIdleTimeoutMs: 2000, minBodyBytesPerSec: 100, minBodyRateWindowMs: 1000 };
    await withTestServer(promotedNaive(), { server: { logger, limits, bodyLimitBytes: 200_000 } }, async (own) => {
      const body = JSON.stringify({ data: requestData(6) }).padEnd(100_000, ' ');
      const head = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      const { text, ms } = await sendPaced(own.url, head, '', body, 60, 50);
      expect(ms).toBeLessThan(limits.requestTimeoutMs / 2);
      const [answerHead, answerBody] = text.split('\r\n\r\n');
      expect(answerHead.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
      expect(JSON.parse(answerBody)).toMatchObject({ statusCode: 408, code: 'FLTS_REQUEST_BODY_STALLED' });
      expect(JSON.parse(answerBody).message).toMatch(/^The request body cannot arrive before the request timeout: \d+ of its 100000 bytes are still to come, at \d+ bytes\/s \(its rate over the last \d+ ms\) that takes \d+ ms, and the request timeout \(serve\.requestTimeoutMs\) falls in \d+ ms\.$/);

      // The same pace for a body it finishes in about 2 s, past a window: served.
      const paced = JSON.stringify({ data: requestData(6) }).padEnd(2400, ' ');
      const pacedHead = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${paced.length}\r\nConnection: close\r\n\r\n`;
      const served = await sendPaced(own.url, pacedHead, '', paced, 60, 50);
      expect(served.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"status":"SUCCESS"/);
      expect(served.ms).toBeGreaterThan(limits.minBodyRateWindowMs);

      const metrics = await (await fetch(`${own.url}/metrics`)).text();
      expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="POST",status="408"\} 1$/m);
      expect(metrics).toMatch(/^flts_request_body_bytes_in_flight 0$/m);
      expect(problems).toEqual([]);
    });
  });

  it('refuses a chunked body at once, coded 413, when a chunk-size line takes it past the body limit, rather than waiting for the chunk until the request timeout', async () => {
    const { logger, problems } = recordingLogger();
    // No idle timeout: only the chunk-size line can have the request answered before the request timeout.
    const limits = { requestTimeoutMs: 20_000, headersTimeoutMs: 1000, bodyIdleTimeoutMs: 0 };
    await withTestServer(promotedNaive(), { server: { logger, limits, bodyLimitBytes: 4096 } }, async (own) => {
      const head = 'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
      const bodies = [
        // The largest size llhttp reads (16 hex digits), one past the limit, and two chunks that pass it together.
        'ffffffffffffffff\r\n',
        '1001\r\n',
        `800;name=value\r\n${' '.repeat(0x800)}\r\n801\r\n`,
      ];
      for (const body of bodies) {
        const started = performance.now();
        const answer = await answerTo(own.url, head + body);
        expect(performance.now() - started).toBeLessThan(limits.requestTimeoutMs / 2);
        expect(answer.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
        expect(answer.body).toMatchObject({ statusCode: 413, code: 'FLTS_REQUEST_TOO_LARGE', message: 'Request body is larger than the limit of 4096 bytes: a chunk of it announces more than that (with the chunks before it).' });
      }
      // The size line in a read after the head's (or the same one, if the writes are read together).
      const socket = await openSocket(own.url);
      const closed = readUntilClosed(socket);
      socket.setNoDelay(true);
      socket.write(`${head}1\r\n{\r\n`);
      await new Promise((resolve) => setImmediate(resolve));
      socket.write('ffffffff\r\n');
      expect(await closed).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n[\s\S]*"code":"FLTS_REQUEST_TOO_LARGE"/);

      const metrics = await (await fetch(`${own.url}/metrics`)).text();
      expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="POST",status="413"\} 4$/m);
      expect(metrics).toMatch(/^flts_request_body_bytes_in_flight 0$/m);
      expect(problems).toEqual([]);
    });
  });

  it('serves chunked bodies up to the body limit, one after another on a kept-alive connection, their chunk sizes read as they arrive', async () => {
    await withTestServer(promotedNaive(), { server: { bodyLimitBytes: 4096, limits: { requestTimeoutMs: 20_000, headersTimeoutMs: 1000, bodyIdleTimeoutMs: 0 } } }, async (own) => {
      const json = JSON.stringify({ data: requestData(6) });
      // Padded to the limit exactly, in chunks of every size (extensions on some), split across writes anywhere.
      const text = json.padEnd(4096, ' ');
      let chunks = '';
      for (let at = 0, size = 1; at < text.length; at += size, size = size * 2 + 1) {
        const piece = text.slice(at, at + size);
        chunks += `${piece.length.toString(16)}${size % 3 === 0 ? ';x=y' : ''}\r\n${piece}\r\n`;
      }
      const request = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`;
      const socket = await openSocket(own.url);
      try {
        for (let i = 0; i < 3; i++) {
          const cut = 40 + i * 1700;
          socket.write(request.slice(0, cut));
          expect(await answerJsonOver(socket, request.slice(cut))).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"status":"SUCCESS"/);
        }
      } finally {
        socket.destroy();
      }
    });
  });

  it('answers a client that ends its side of the connection once its requests are sent (nc -N), then closes', async () => {
    await withTestServer(promotedNaive(), { server: {} }, async (own) => {
      // Rows enough that the forecast is still being made when the end of the connection arrives.
      const body = JSON.stringify({ data: requestData(20_000) });
      const predict = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const socket = await openSocket(own.url);
      const closed = readUntilClosed(socket);
      // A forecast and a probe pipelined behind it, then the client's end: both answered before the server closes.
      socket.end(`${predict}GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      const text = await closed;
      expect([...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map(([, code]) => code)).toEqual(['200', '200']);
      expect(text).toContain('"status":"SUCCESS"');

      const metrics = await (await fetch(`${own.url}/metrics`)).text();
      expect(metrics).toMatch(/^flts_http_requests_total\{route="\/predict",method="POST",status="200"\} 1$/m);
      expect(metrics).not.toMatch(/^flts_http_requests_total\{[^}]*status="499"\}/m);

      // Ended before its request is whole, it is still refused, coded.
      const cut = await openSocket(own.url);
      const refused = readUntilClosed(cut);
      cut.end(predict.slice(0, -10));
      expect(await refused).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*"code":"FLTS_REQUEST_INVALID"/);
      // Counted once, as the 400 it was answered, not also as a request its client abandoned (499).
      const counts = (await (await fetch(`${own.url}/metrics`)).text()).match(/^flts_http_requests_total\{[^}]*method="POST"[^}]*\} \d+$/gm);
      expect(counts).toEqual(['flts_http_requests_total{route="/predict",method="POST",status="200"} 1', 'flts_http_requests_total{route="unmatched",method="POST",status="400"} 1']);
    });
  });

  it('closes the connection of an answer sent before the body its request promised arrives, instead of a 408 at the request timeout', async () => {
    const limits = { requestTimeoutMs: 300, headersTimeoutMs: 300 };
    await withTestServer(createMemorySource(), { server: { limits, access: { apiToken: 'secret' } }, load: false }, async (own) => {
      const promising = [
        ['OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n', '204'],
        ['POST /no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', '404'],
        // A client waiting for a 100 Continue that a refusal never sends: its body never comes.
        ['POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n', '401'],
        ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n', '200'],
      ] as const;
      for (const [head, status] of promising) {
        const socket = await openSocket(own.url);
        const closed = readUntilClosed(socket);
        socket.write(head);
        // The server ends its side after the answer; the client's end (net's default) then closes the connection.
        const text = await closed;
        expect({ head, statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map(([, code]) => code), close: /\r\nconnection: close\r\n/i.test(text) }).toEqual({ head, statuses: [status], close: true });
      }
      // A body that arrived with its headers keeps the connection for the next request.
      const socket = await openSocket(own.url);
      const closed = readUntilClosed(socket);
      socket.write('POST /no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      expect([...(await closed).matchAll(/HTTP\/1\.1 (\d{3}) /g)].map(([, code]) => code)).toEqual(['404', '200']);

      const metrics = await (await fetch(`${own.url}/metrics`)).text();
      expect(metrics).not.toMatch(/^flts_http_requests_total\{[^}]*status="408"\}/m);
      expect(metrics).toMatch(/^flts_http_requests_total\{route="unmatched",method="OPTIONS",status="204"\} 1$/m);
    });
  });

  it('gives its answer to a client that sends its whole body before it reads, when the answer came first, and closes after the body', async () => {
    // A keep-alive timeout of its own: a connection kept open after such an answer shows in a second, not 72.
    await withTestServer(createMemorySource(), { server: { access: { apiToken: 'secret' }, limits: { keepAliveTimeoutMs: 1000 } }, load: false }, async (own) => {
      for (const [path, status] of [['/predict', '401'], ['/no-such-route', '404']] as const) {
        const socket = await openSocket(own.url);
        // As Python's http.client does: nothing is read until the body is written. Had the server closed as soon as it
        // answered, the body still arriving made its kernel reset the connection, and the reset dropped the answer.
        socket.pause();
        const body = Buffer.alloc(4 * 1024 * 1024, 'x');
        socket.once('error', () => {});
        socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        const written = new Promise<Error | undefined>((resolve) => socket.write(body, (error) => resolve(error ?? undefined)));
        expect(await written).toBeUndefined();
        const closed = readUntilClosed(socket);
        socket.resume();
        const text = await closed;
        expect({ path, status: text.split('\r\n')[0], close: /\r\nconnection: close\r\n/i.test(text) }).toEqual({ path, status: expect.stringMatching(`^HTTP/1.1 ${status} `), close: true });
      }
    });
  });

  // Linux only: the kernel's send queues are read from /proc/net/tcp (elsewhere the keep-alive timeout closes it).
  it.skipIf(process.platform !== 'linux')('resets a connection whose client does not take its answer within the request timeout, and keeps an idle one', async () => {
    const { logger, problems } = recordingLogger();
    const limits = { requestTimeoutMs: 300, headersTimeoutMs: 300, keepAliveTimeoutMs: 600_000 };
    await withTestServer(promotedNaive(), { server: { logger, limits } }, async (own) => {
      // The socket's inactivity timeout, 150 ms after the reset is due, closes such a connection silently when a busy
      // machine delays the reset's check: off, so that only the reset can close it.
      own.app.server.timeout = 0;
      const accepted: Socket[] = [];
      own.app.server.on('connection', (socket: Socket) => accepted.push(socket));
      const idle = await openSocket(own.url);
      expect(await healthzOver(idle)).toMatch(/^HTTP\/1.1 200/);
      // A forecast of 10,000 rows (about 550 KB) is more than the client's receive buffer takes without reading.
      const slow = await openSocket(own.url);
      slow.on('error', () => {});
      const body = JSON.stringify({ data: requestData(6) });
      slow.write(`POST /predict?inference_length=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      slow.pause();
      const [idleOnServer, slowOnServer] = accepted;
      await new Promise((resolve) => slowOnServer.once('close', resolve));
      expect(idleOnServer.destroyed).toBe(false);
      expect(await healthzOver(idle)).toMatch(/^HTTP\/1.1 200/);
      expect(problems).toEqual([['warn', { remote: '127.0.0.1', unacknowledged_bytes: expect.any(Number) }, 'http_answer_not_taken']]);
      expect((problems[0][1] as { unacknowledged_bytes: number }).unacknowledged_bytes).toBeGreaterThan(0);
      idle.destroy();
      slow.destroy();
    });
  });

  /** Sends `count` copies of `request` on one raw connection whose client never reads; resolves with the server's side of it. */
  async function pipelineUnread(server: RunningServer, request: string, count: number): Promise<{ client: Socket; onServer: Socket }> {
    const accepted = new Promise<Socket>((resolve) => server.app.server.once('connection', resolve));
    const client = await openSocket(server.url);
    client.on('error', () => {});
    client.pause();
    client.write(request.repeat(count));
    return { client, onServer: await accepted };
  }

  it('resets a connection whose answers Node holds (behind a full kernel queue) once none is taken for the request timeout', { timeout: 30_000 }, async () => {
    const { logger, problems } = recordingLogger();
    const limits = { requestTimeoutMs: 300, headersTimeoutMs: 300, keepAliveTimeoutMs: 600_000 };
    await withTestServer(promotedNaive(), { server: { logger, limits, maxQueuedRows: 0 } }, async (own) => {
      // The socket's inactivity timeout (the request timeout and two checking intervals) would close such a connection
      // too, silently and a moment later: off, so that only the reset can close it.
      own.app.server.timeout = 0;
      const body = JSON.stringify({ data: requestData(6) });
      const request = `POST /predict?inference_length=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      // 20 forecasts of 10,000 rows (about 11 MB): more than the kernel queues of a client that reads nothing take.
      const { client, onServer } = await pipelineUnread(own, request, 20);
      await new Promise((resolve) => (onServer.destroyed ? resolve(undefined) : onServer.once('close', resolve)));
      expect(problems).toEqual([['warn', { remote: '127.0.0.1', unsent_bytes: expect.any(Number) }, 'http_answer_not_taken']]);
      expect((problems[0][1] as { unsent_bytes: number }).unsent_bytes).toBeGreaterThan(0);
      client.destroy();
    });
  });

  it('resets at once a connection with more requests in flight than the pipelining bound, before building their answers', async () => {
    const { logger, problems } = recordingLogger();
    // Timeouts far beyond the test's: only the bound can close the connection in time.
    const limits = { requestTimeoutMs: 300_000, headersTimeoutMs: 300_000, keepAliveTimeoutMs: 600_000 };
    await withTestServer(promotedNaive(), { server: { logger, limits }, load: false }, async (own) => {
      // 1,000 GETs of 49 bytes: Node parses every one of the first 64 KB read (over 1,300) before it stops reading.
      const { client, onServer } = await pipelineUnread(own, 'GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 1000);
      const started = performance.now();
      await new Promise((resolve) => (onServer.destroyed ? resolve(undefined) : onServer.once('close', resolve)));
      expect(performance.now() - started).toBeLessThan(30_000);
      expect(problems).toEqual([['warn', { remote: '127.0.0.1', requests_in_flight: MAX_PIPELINED_REQUESTS + 1 }, 'http_too_many_pipelined']]);
      // The requests in flight when it was reset were never answered: counted as abandoned.
      await vi.waitFor(async () => {
        const metrics = await (await fetch(`${own.url}/metrics`)).text();
        expect(Number(/^flts_http_requests_total\{route="\/openapi.json",method="GET",status="499"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      }, { timeout: 30_000, interval: 20 });
      expect((await fetch(`${own.url}/healthz`)).status).toBe(200);
      client.destroy();
    });
  });

  it('runs no route for the requests read with the one that passed the pipelining bound, the connection being reset', async () => {
    const metrics = createServeMetrics({ processMetrics: false });
    const holder = createModelHolder({ source: naiveSource('run-a'), pollIntervalMs: 0, batching: { maxBatch: 16, maxWaitMs: 0 }, metrics, logger: silentLogger });
    const app = await buildServer({ holder, metrics });
    let routed = 0;
    app.addHook('preHandler', async () => void routed++);
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      const accepted = new Promise<Socket>((resolve) => app.server.once('connection', resolve));
      const client = connect({ host: '127.0.0.1', port }, () => client.write('GET /v2/models/flts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(1000)));
      client.on('error', () => {});
      client.pause();
      const onServer = await accepted;
      await new Promise((resolve) => (onServer.destroyed ? resolve(undefined) : onServer.once('close', resolve)));
      client.destroy();
      // Read in one chunk (49 KB), all 1,000 reached a route before: each built an answer for a connection already gone.
      expect(routed).toBeLessThanOrEqual(MAX_PIPELINED_REQUESTS);
    } finally {
      await app.close();
      await holder.stop();
    }
  });

  it('counts the forecasts a connection reset for pipelining left unanswered as pipelining, not as overload or a client gone', async () => {
    const limits = { requestTimeoutMs: 300_000, headersTimeoutMs: 300_000, keepAliveTimeoutMs: 600_000 };
    await withTestServer(promotedNaive(), { server: { logger: recordingLogger().logger, limits } }, async (own) => {
      let seen = 0;
      let onSeen = (): void => {};
      own.app.server.on('request', () => {
        seen++;
        onSeen();
      });
      const accepted = new Promise<Socket>((resolve) => own.app.server.once('connection', resolve));
      const client = await openSocket(own.url);
      client.on('error', () => {});
      client.pause();
      const onServer = await accepted;
      const body = JSON.stringify({ data: requestData(6) });
      const request = `POST /predict?inference_length=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      // Slices of 20, each once the server has read the one before: the first 10 fill the bound (100,000 rows) and the
      // rest are refused while the connection is still under the pipelining bound, their 503s held behind answers
      // (over 5 MB) the client does not take, until the 101st request in flight resets it.
      for (let sent = 20; !onServer.destroyed; sent += 20) {
        client.write(request.repeat(20));
        await new Promise<void>((resolve) => {
          onSeen = () => seen >= sent && resolve();
          onServer.once('close', () => resolve());
          onSeen();
        });
      }
      const refused = async (reason: string): Promise<number> => {
        const metrics = await (await fetch(`${own.url}/metrics`)).text();
        return Number(new RegExp(`^flts_forecast_refused_total\\{route="/predict",reason="${reason}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
      };
      // Every request left in flight on the connection is counted once its answer's close is seen.
      await vi.waitFor(async () => expect(await refused('pipelining')).toBeGreaterThanOrEqual(MAX_PIPELINED_REQUESTS - 10), { timeout: 30_000, interval: 20 });
      expect(await refused('overloaded')).toBe(0);
      expect(await refused('cancelled')).toBe(0);
      client.destroy();
    });
  });
});

/** Connections closed for the cap so far, by what (flts_http_connections_closed_at_cap_total). */
async function capClosesOf(server: RunningServer): Promise<Record<string, number>> {
  const metric = await server.metrics.registry.getSingleMetric('flts_http_connections_closed_at_cap_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map(({ labels, value }) => [String(labels.what), value]));
}

/** One keep-alive GET /healthz over a raw socket; resolves with the response head and body. */
function healthzOver(socket: Socket): Promise<string> {
  return answerJsonOver(socket, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
}

/** Writes `bytes` (what is left of a request, or a whole one) and resolves with the JSON answer read back, or what came before a close. */
const answerJsonOver = (socket: Socket, bytes: string): Promise<string> => answerOver(socket, bytes, (text) => text.includes('\r\n\r\n') && text.endsWith('}'));
