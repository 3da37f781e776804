import { describe, expect, it, vi } from 'vitest';
import type { LogRetention } from '../../src/core/serve/prediction-log-retention.js';
import { postJson, requestData, useTestServer } from './serve-fixtures.js';

const sweeps: Array<number | undefined> = [];
const retention: LogRetention = {
  lastSweep: undefined,
  sweepNow: async (days) => {
    sweeps.push(days);
    return { days: [], objects: 0, complete: true };
  },
  stop: async () => {},
};
const ADMIN = ['/reload_latest', '/prune_logs?retention_days=3'];
const json = { 'content-type': 'application/json' };
const keys = (count: number): string => `{${Array.from({ length: count }, (_, i) => `"k${i}":${i}`).join(',')}}`;

describe('serve > admin route bodies: bounded before JSON.parse, and small', () => {
  const server = useTestServer({ server: { reloadMinIntervalMs: 0, retention } });

  it('answers every body it took before: none, empty, {} and small JSON of any kind', async () => {
    const bodies: Array<{ headers?: Record<string, string>; payload?: string }> = [{}, { headers: json }, { headers: json, payload: '' }, ...['{}', 'null', '[]', '"x"', '1', '{"force":true}', '{"a":{"b":[1,{"c":2}]}}', keys(16)].map((payload) => ({ headers: json, payload }))];
    for (const url of ADMIN) {
      for (const body of bodies) {
        const answer = await server.app.inject({ method: 'POST', url, remoteAddress: '127.0.0.1', ...body });
        expect({ url, body, status: answer.statusCode }).toEqual({ url, body, status: 200 });
      }
    }
    expect(sweeps.length).toBe(bodies.length);
  });

  it('refuses /prune_logs with retention_days in its body, which it reads from the query string only, before sweeping', async () => {
    const before = sweeps.length;
    for (const url of ['/prune_logs', '/prune_logs?retention_days=3']) {
      const answer = await server.app.inject({ method: 'POST', url, remoteAddress: '127.0.0.1', headers: json, payload: '{"retention_days":30}' });
      const { code, message } = answer.json();
      expect({ url, status: answer.statusCode, code, message }).toEqual({
        url,
        status: 400,
        code: 'FLTS_REQUEST_INVALID',
        message: 'POST /prune_logs reads retention_days from its query string (/prune_logs?retention_days=N), never from its body; nothing was deleted.',
      });
    }
    expect(sweeps.length).toBe(before);
  });

  it('refuses a query parameter it does not read (a typo of retention_days) with a coded 400 naming it and retention_days, before sweeping', async () => {
    const before = sweeps.length;
    const answer = await server.app.inject({ method: 'POST', url: '/prune_logs?retention_day=3', remoteAddress: '127.0.0.1' });
    // Before, the typo was dropped and the configured retention swept: days the caller meant to keep were deleted.
    expect({ status: answer.statusCode, code: answer.json().code, message: answer.json().message }).toEqual({
      status: 400,
      code: 'FLTS_REQUEST_UNKNOWN_PARAMETER',
      message: 'POST /prune_logs does not read the query parameter retention_day: it takes retention_days in the query string. Nothing was done.',
    });
    const reload = await server.app.inject({ method: 'POST', url: '/reload_latest?force=true', remoteAddress: '127.0.0.1' });
    expect({ status: reload.statusCode, code: reload.json().code, message: reload.json().message }).toEqual({
      status: 400,
      code: 'FLTS_REQUEST_UNKNOWN_PARAMETER',
      message: 'POST /reload_latest does not read the query parameter force: it takes no query parameters. Nothing was done.',
    });
    expect(sweeps.length).toBe(before);
  });

  it('publishes in /openapi.json as not required the bodies of the routes that answer a POST without one', async () => {
    const document: any = await (await fetch(`${server.url}/openapi.json`)).json();
    const required = Object.fromEntries(Object.entries(document.paths).flatMap(([path, item]: [string, any]) => (item.post?.requestBody ? [[path, item.post.requestBody.required]] : [])));
    expect(required).toEqual({ '/predict': false, '/reload_latest': false, '/prune_logs': false, '/actuals': true, '/v2/models/{name}/infer': true, '/v2/models/{name}/versions/{version}/infer': true });
    expect(JSON.stringify(document)).not.toContain('x-flts-');
    for (const url of ['/predict', ...ADMIN]) {
      const answer = await server.app.inject({ method: 'POST', url, remoteAddress: '127.0.0.1' });
      expect({ url, status: answer.statusCode }).toEqual({ url, status: 200 });
    }
  });

  it('refuses a body over its bounds from its text, never parsing it, with a coded 400', async () => {
    const cases: Array<[string, string]> = [
      [keys(1000), 'body must NOT have more than 16 properties'],
      [`[${Array.from({ length: 3000 }, () => 0).join(',')}]`, 'body must NOT have more than 16 items'],
      [`{"a":${keys(17)}}`, 'body/a must NOT have more than 16 properties'],
      ['['.repeat(8000) + ']'.repeat(8000), "body/0/0/0/0 nests deeper than the 4 levels an admin route's body may have (the route reads no body: send none or {})"],
    ];
    const parse = vi.spyOn(JSON, 'parse');
    try {
      for (const url of ADMIN) {
        for (const [payload, reason] of cases) {
          const answer = await server.app.inject({ method: 'POST', url, remoteAddress: '127.0.0.1', headers: json, payload });
          expect(parse.mock.calls.filter(([text]) => text === payload)).toEqual([]);
          const { code, message } = answer.json();
          expect({ url, status: answer.statusCode, code, message }).toEqual({ url, status: 400, code: 'FLTS_REQUEST_INVALID', message: `Invalid request: ${reason}.` });
        }
      }
    } finally {
      parse.mockRestore();
    }
  });

  it('refuses a body over 16 KiB with a coded 413 naming that limit, sent whole or in chunks, while /predict takes 8 MB', async () => {
    const nested = `${'['.repeat(4_000_000)}${']'.repeat(4_000_000)}`;
    for (const url of ADMIN) {
      const whole = await postJson(`${server.url}${url}`, nested);
      expect(whole.status).toBe(413);
      expect(whole.json).toMatchObject({ code: 'FLTS_REQUEST_TOO_LARGE', message: 'Request body is larger than the limit of 16384 bytes.' });
      // Without a Content-Length the body is read up to the limit, then refused.
      const chunks = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(4096)));
          controller.close();
        },
      });
      const chunked = await fetch(`${server.url}${url}`, { method: 'POST', headers: json, body: chunks, duplex: 'half' } as RequestInit);
      expect(chunked.status).toBe(413);
      expect(await chunked.json()).toMatchObject({ code: 'FLTS_REQUEST_TOO_LARGE', message: 'Request body is larger than the limit of 16384 bytes.' });
    }
    const large = await postJson(`${server.url}/predict`, { data: requestData(6), pad: ' '.repeat(100_000) });
    expect(large.status).toBe(200);
    const over = await postJson(`${server.url}/predict`, { data: requestData(6), pad: ' '.repeat(9 * 1024 * 1024) });
    expect(over.json).toMatchObject({ code: 'FLTS_REQUEST_TOO_LARGE', message: 'Request body is larger than the limit of 8388608 bytes.' });
  });

  it('counts a key written twice once, as JSON.parse keeps it: /predict with an object of 64 fields of its own, one of them repeated', async () => {
    const fields = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`c${i}`, i]));
    const body = JSON.stringify({ data: requestData(6), index_col: 'ts', meta: fields }).replace(/}}$/, ',"c0":-1,"c63":0}}');
    const answer = await postJson(`${server.url}/predict`, body);
    expect(answer.status).toBe(200);
    // A field the route reads, written twice, is refused: which of the two was meant cannot be told.
    const twice = await postJson(`${server.url}/predict`, JSON.stringify({ data: requestData(6), index_col: 'ts' }).replace(/}$/, ',"index_col":"ts"}'));
    expect({ status: twice.status, code: twice.json.code }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID' });
    const admin = await server.app.inject({ method: 'POST', url: '/reload_latest', remoteAddress: '127.0.0.1', headers: json, payload: keys(16).replace(/}$/, ',"k3":1,"k\\u0034":2}') });
    expect(admin.statusCode).toBe(200);
  });
});
