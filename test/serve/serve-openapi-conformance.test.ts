import { describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import type { LiveMonitor } from '../../src/core/serve/live-monitor.js';
import type { LogRetention } from '../../src/core/serve/prediction-log-retention.js';
import { documentProblems, requestProblems, type OpenApiDocument } from './openapi-conformance.js';
import { checkElements, OIP_DATATYPES } from '../../src/core/serve/oip-tensors.js';
import { JSON_BODY_MEDIA_TYPES } from '../../src/core/serve/openapi-document.js';
import { requestData, useTestServer, type RunningServer } from './serve-fixtures.js';

const json = { 'content-type': 'application/json' };
const retention: LogRetention = { lastSweep: undefined, sweepNow: async () => ({ days: [], objects: 0, complete: true }), stop: async () => {} };
const TOKENS = { adminToken: 'admin-secret', apiToken: 'api-secret' };
/** Live scoring that takes every forecast and every set of actuals the handlers parsed, scoring none: POST /actuals answers 200. */
const scoringNothing = { observeActualsInTurns: async () => ({ runs: [], ignored: 0, unmatched: 0 }), observePrediction: async () => [], scorer: { figures: () => [] } } as unknown as LiveMonitor;

type Body = Record<string, unknown> | undefined;

/** Requests of each route on both sides of what its handler requires, and what the handler answers (400: refused). */
function requestsAround(): Array<{ path: string; url: string; body: Body; why: string }> {
  const rows = requestData(7);
  const tensor = (name: string, datatype: string, data: unknown[], shape: number[] = [data.length]) => ({ name, datatype, shape, data });
  const inputs = [tensor('timestamp', 'BYTES', rows.ts), tensor('down', 'FP64', rows.down), tensor('up', 'FP64', rows.up)];
  const infer = (change: Record<string, unknown> = {}, first: Record<string, unknown> = {}) => ({ inputs: [{ ...inputs[0], ...first }, ...inputs.slice(1)], ...change });
  const predict = (body: Body, why: string) => ({ path: '/predict', url: '/predict', body, why });
  const actuals = (body: Body, why: string) => ({ path: '/actuals', url: '/actuals', body, why });
  const inferOn = (name: string, body: Body, why: string) => ({ path: '/v2/models/{name}/infer', url: `/v2/models/${name}/infer`, body, why });
  return [
    predict({ data: rows }, 'rows of every feature'),
    predict(undefined, 'no body: the stored test data'),
    predict({ data: null, inference_length: 3 }, 'null data: the stored test data'),
    predict({ data: rows, note: { by: ['me', 1], at: null } }, "a client's own field, as deep as rows"),
    predict({ data: {} }, 'data without columns'),
    predict({ data: { ...rows, up: 5 } }, 'a column that is no array'),
    predict({ data: { ts: [], down: [], up: [] } }, 'columns without rows'),
    predict({ data: { ...rows, ts: rows.ts.map((ts) => [ts]) } }, 'rows nested in arrays'),
    predict({ data: { stamp: rows.ts, down: rows.down, up: rows.up } }, 'no timestamp column'),
    predict({ data: { stamp: rows.ts, down: rows.down, up: rows.up }, index_col: 'stamp' }, 'the timestamp column named by index_col'),
    predict({ data: rows, note: { by: [['me']] } }, "a client's own field nested deeper than rows"),
    actuals({ data: { ts: rows.ts, down: rows.down } }, 'actuals of the target'),
    actuals({ data: { ts: rows.ts, down: rows.down.map(() => null) } }, 'missing actuals'),
    actuals(undefined, 'no body'),
    actuals({ data: null }, 'null data'),
    actuals({ data: {} }, 'data without columns'),
    actuals({ data: { ts: rows.ts, down: rows.down }, note: [[['deep']]] }, "a client's own field nested deeper than rows"),
    inferOn('flts', infer(), 'a tensor per column'),
    inferOn('flts', infer({ id: 'r-1', parameters: { identifier: 'series-a', inference_length: 2 }, outputs: [{ name: 'down' }] }), 'with parameters and outputs'),
    inferOn('flts', infer({}, { shape: [7, 1], data: rows.ts.map((ts) => [ts]) }), 'data nested as deep as its shape'),
    inferOn('other', infer(), 'another model: 404'),
    inferOn('flts', infer({}, { datatype: '' }), 'an empty datatype'),
    inferOn('flts', infer({}, { datatype: 'FP16' }), 'a datatype of the protocol the server does not decode'),
    inferOn('flts', infer({}, { data: undefined }), 'an input without data'),
    inferOn('flts', infer({}, { data: undefined, parameters: { binary_data_size: 0 } }), 'binary data in a JSON body'),
    inferOn('flts', { inputs: [tensor('flag', 'BOOL', [0, 1]), ...inputs] }, 'BOOL data of numbers'),
    inferOn('flts', { inputs: [tensor('small', 'INT8', [1, 128]), ...inputs] }, 'INT8 data past 127'),
    inferOn('flts', { inputs: [tensor('wide', 'FP32', [1, 1e39]), ...inputs] }, 'FP32 data past its range'),
    inferOn('flts', infer({}, { data: rows.ts.map((ts) => [ts]) }), 'data nested deeper than its shape'),
    inferOn('flts', infer({ parameters: { identifier: '' } }), 'an empty identifier'),
  ];
}

async function publishedDocument(server: RunningServer): Promise<OpenApiDocument> {
  return (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json();
}

/** Sends `request` and returns its status beside what it breaks of the document (`path` as the document writes it). */
async function answerAgainstDocument(server: RunningServer, path: string, request: InjectOptions & { method: string; url: string }): Promise<{ status: number; problems: string[] }> {
  const response = await server.app.inject({ remoteAddress: '127.0.0.1', ...request });
  return { status: response.statusCode, problems: documentProblems(await publishedDocument(server), request.method, path, response) };
}

describe('serve > /openapi.json: every answer is one the published document declares', () => {
  const ready = useTestServer({ server: { retention } });
  const guarded = useTestServer({ server: { access: TOKENS, retention } });
  const unready = useTestServer({ load: false });
  const scoring = useTestServer({ server: { live: scoringNothing } });

  it('publishes what each handler requires of a request: the document takes a request exactly when the handler does', async () => {
    const document = await publishedDocument(scoring);
    for (const { path, url, body, why } of requestsAround()) {
      const answer = await scoring.app.inject({ method: 'POST', url, ...(body === undefined ? {} : { headers: json, payload: body }) });
      const problems = requestProblems(document, 'POST', path, body);
      // 404 (another model) is no refusal of the request: a valid one to a model not served.
      expect({ url, why, takenByDocument: problems.length === 0, takenByHandler: answer.statusCode !== 400 }, `${answer.statusCode} ${answer.body.slice(0, 300)} / ${problems.join('; ')}`).toEqual({
        url,
        why,
        takenByDocument: answer.statusCode !== 400,
        takenByHandler: answer.statusCode !== 400,
      });
    }
  });

  it("keeps the handler's words first: a request the document refuses is answered by the handler, as before it was published", async () => {
    const cases: Array<[string, Body, string]> = [
      ['/predict', { data: {} }, "Request payload must include a non-empty 'data' object"],
      ['/actuals', { data: null }, "Request payload must include a non-empty 'data' object"],
      ['/predict', { data: { ts: [] } }, 'Request data must include at least one row.'],
      ['/v2/models/flts/infer', { inputs: [{ name: 'ts', shape: [1], datatype: '' }] }, "Input 'ts' has datatype ''; expected one of BOOL"],
      ['/v2/models/flts/infer', { inputs: [{ name: 'ts', shape: [1], datatype: 'BYTES' }] }, "Input 'ts' has neither 'data' nor a binary_data_size parameter."],
    ];
    for (const [url, body, message] of cases) {
      const answer = await scoring.app.inject({ method: 'POST', url, headers: json, payload: body });
      expect({ url, status: answer.statusCode, code: answer.json().code, message: answer.json().message }).toEqual({ url, status: 400, code: 'FLTS_REQUEST_INVALID', message: expect.stringContaining(message) });
    }
  });

  it('says of each JSON body the +json media types the server reads it under, in words: OpenAPI 3.0 has no range of a suffix', async () => {
    const document = await publishedDocument(scoring);
    const bodies = Object.entries(document.paths).flatMap(([path, operations]) => Object.entries(operations).flatMap(([method, operation]) => (operation.requestBody ? [{ path, method, body: operation.requestBody as { description?: string; content?: Record<string, unknown> } }] : [])));
    expect(bodies.length).toBeGreaterThan(3);
    for (const { path, method, body } of bodies) {
      // Each key a media type or an RFC 7231 range a client can send or match: no 'application/*+json'.
      expect({ path, method, types: Object.keys(body.content ?? {}).filter((type) => !/^[a-z]+\/(?:\*|[a-z0-9.+-]+)$/.test(type)) }).toEqual({ path, method, types: [] });
      if (body.content && 'application/json' in body.content) expect({ path, method, description: body.description }).toEqual({ path, method, description: expect.stringContaining(JSON_BODY_MEDIA_TYPES) });
    }
    // What it says is what the server does: a body sent as application/vnd.api+json is answered as one sent as application/json.
    for (const { url, body } of requestsAround().filter((request) => request.body !== undefined).slice(0, 4)) {
      const asJson = await scoring.app.inject({ method: 'POST', url, headers: json, payload: body });
      const asApiJson = await scoring.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' }, payload: JSON.stringify(body) });
      expect({ url, status: asApiJson.statusCode }).toEqual({ url, status: asJson.statusCode });
    }
  });

  it('publishes one element schema for each datatype the server decodes, and no other', async () => {
    const document = await publishedDocument(ready);
    const body = document.paths['/v2/models/{name}/infer'].post.requestBody?.content?.['application/json']?.schema as { properties: { inputs: { items: { properties: { datatype: { enum: string[] } } } } } };
    expect(body.properties.inputs.items.properties.datatype.enum).toEqual([...OIP_DATATYPES]);
    // Each datatype's published elements are the ones the handler takes, at the edges of its range and past them.
    const probes = [0, 1, -1, 0.5, 127, 128, -128, -129, 255, 256, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 63 - 1024, 2 ** 63, -(2 ** 63), -(2 ** 63) - 2048, 2 ** 64 - 2048, 2 ** 64, 3.4e38, 3.5e38, -3.5e38, true, 'x', null];
    const disagreements: string[] = [];
    for (const datatype of OIP_DATATYPES) {
      for (const value of probes) {
        const request = { inputs: [{ name: 'x', shape: [1], datatype, data: [value] }] };
        const byDocument = requestProblems(document, 'POST', '/v2/models/{name}/infer', request).length === 0;
        const byHandler = await checkElements('x', datatype, [value]).then(
          () => true,
          () => false,
        );
        if (byDocument !== byHandler) disagreements.push(`${datatype} ${String(value)}: document ${byDocument}, handler ${byHandler}`);
      }
    }
    expect(disagreements).toEqual([]);
    // The published document carries no mark of how it was made.
    expect(JSON.stringify(document)).not.toContain('x-flts');
  });

  it("declares the Open Inference Protocol readiness answers: a model not served (404) and one not warm yet (503)", async () => {
    expect(await answerAgainstDocument(ready, '/v2/models/{name}/ready', { method: 'GET', url: '/v2/models/flts/ready' })).toEqual({ status: 200, problems: [] });
    expect(await answerAgainstDocument(ready, '/v2/models/{name}/ready', { method: 'GET', url: '/v2/models/other/ready' })).toEqual({ status: 404, problems: [] });
    expect(await answerAgainstDocument(unready, '/v2/models/{name}/ready', { method: 'GET', url: '/v2/models/flts/ready' })).toEqual({ status: 503, problems: [] });
    expect(await answerAgainstDocument(unready, '/v2/health/ready', { method: 'GET', url: '/v2/health/ready' })).toEqual({ status: 503, problems: [] });
    expect(await answerAgainstDocument(ready, '/v2/health/ready', { method: 'GET', url: '/v2/health/ready' })).toEqual({ status: 200, problems: [] });
  });

  it('declares the answers of the model routes of a version: as unversioned for the served run, 404 for another', async () => {
    for (const [path, url] of [['/v2/models/{name}/versions/{version}', '/v2/models/flts/versions/run-a'], ['/v2/models/{name}/versions/{version}/ready', '/v2/models/flts/versions/run-a/ready']]) {
      expect(await answerAgainstDocument(ready, path, { method: 'GET', url })).toEqual({ status: 200, problems: [] });
      expect(await answerAgainstDocument(ready, path, { method: 'GET', url: url.replace('run-a', 'run-old') })).toEqual({ status: 404, problems: [] });
    }
    expect(await answerAgainstDocument(unready, '/v2/models/{name}/versions/{version}/ready', { method: 'GET', url: '/v2/models/flts/versions/run-a/ready' })).toEqual({ status: 503, problems: [] });
    const data = requestData(7);
    const inputs = [
      { name: 'timestamp', shape: [7], datatype: 'BYTES', data: data.ts },
      { name: 'down', shape: [7], datatype: 'FP64', data: data.down },
      { name: 'up', shape: [7], datatype: 'FP64', data: data.up },
    ];
    const infer = (version: string) => ({ method: 'POST', url: `/v2/models/flts/versions/${version}/infer`, headers: { 'content-type': 'application/json' }, payload: { inputs } });
    expect(await answerAgainstDocument(ready, '/v2/models/{name}/versions/{version}/infer', infer('run-a'))).toEqual({ status: 200, problems: [] });
    expect(await answerAgainstDocument(ready, '/v2/models/{name}/versions/{version}/infer', infer('run-old'))).toEqual({ status: 404, problems: [] });
  });

  it('declares both answers of the inference route: JSON, and binary outputs after their JSON header', async () => {
    const data = requestData(7);
    const inputs = [
      { name: 'timestamp', shape: [7], datatype: 'BYTES', data: data.ts },
      { name: 'down', shape: [7], datatype: 'FP64', data: data.down },
      { name: 'up', shape: [7], datatype: 'FP64', data: data.up },
    ];
    for (const parameters of [{}, { binary_data_output: true }]) {
      const answer = await answerAgainstDocument(ready, '/v2/models/{name}/infer', { method: 'POST', url: '/v2/models/flts/infer', headers: json, payload: { inputs, parameters } });
      expect({ parameters, ...answer }).toEqual({ parameters, status: 200, problems: [] });
    }
  });

  it('declares the content type and body of the metrics, counters and protocol metadata routes', async () => {
    for (const url of ['/metrics', '/prometheus', '/stats', '/v2', '/v2/health/live']) {
      expect({ url, ...(await answerAgainstDocument(ready, url, { method: 'GET', url })) }).toEqual({ url, status: 200, problems: [] });
    }
    const document = await publishedDocument(ready);
    const undeclared = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, operation]) =>
        Object.entries(operation.responses ?? {}).flatMap(([status, response]) => (response.content && Object.keys(response.content).length > 0 ? [] : [`${method.toUpperCase()} ${path} ${status}`])),
      ),
    );
    expect(undeclared).toEqual([]);
    // The routes' own answers are unchanged by their schemas: fastify serializes by them, which drops undeclared keys.
    expect(Object.keys((await ready.app.inject({ method: 'GET', url: '/stats' })).json())).toEqual(expect.arrayContaining(['completed', 'avg_exec_ms', 'event_loop_lag_max_ms', 'model_loaded', 'status']));
    expect((await ready.app.inject({ method: 'GET', url: '/v2' })).json()).toEqual({ name: 'flts', version: expect.stringMatching(/^\d+\.\d+\.\d+/), extensions: ['binary_tensor_data'] });
  });

  it('declares the 401 of every route that takes a token, asked without it or with a wrong one', async () => {
    const cases: Array<[string, InjectOptions & { method: string; url: string }]> = [
      ['/actuals', { method: 'POST', url: '/actuals', headers: json, payload: { data: requestData(3) } }],
      ['/v2/models/{name}/infer', { method: 'POST', url: '/v2/models/flts/infer', headers: json, payload: { inputs: [] } }],
      ['/predict', { method: 'POST', url: '/predict', headers: json, payload: {} }],
      ['/reload_latest', { method: 'POST', url: '/reload_latest' }],
      ['/prune_logs', { method: 'POST', url: '/prune_logs' }],
    ];
    for (const [path, request] of cases) {
      for (const authorization of [undefined, 'Bearer wrong']) {
        const answer = await answerAgainstDocument(guarded, path, { ...request, headers: { ...request.headers, ...(authorization ? { authorization } : {}) } });
        expect({ path, authorization, ...answer }).toEqual({ path, authorization, status: 401, problems: [] });
      }
    }
  });

  it('declares the headers error answers always carry: WWW-Authenticate on a 401, Retry-After on a 429', async () => {
    const document = await publishedDocument(guarded);
    for (const path of ['/predict', '/actuals', '/v2/models/{name}/infer', '/v2/models/{name}/versions/{version}/infer', '/reload_latest', '/prune_logs']) {
      expect({ path, headers: Object.keys(document.paths[path].post.responses?.['401']?.headers ?? {}) }).toEqual({ path, headers: ['WWW-Authenticate'] });
    }
    expect(Object.keys(document.paths['/reload_latest'].post.responses?.['429']?.headers ?? {})).toEqual(['Retry-After']);
    const reload = { method: 'POST', url: '/reload_latest', headers: { authorization: `Bearer ${TOKENS.adminToken}` } };
    const answers = [await answerAgainstDocument(guarded, '/reload_latest', reload), await answerAgainstDocument(guarded, '/reload_latest', reload)];
    expect(answers).toEqual([{ status: 200, problems: [] }, { status: 429, problems: [] }]);
  });

  it('publishes which token each route needs as bearer security schemes, and none while no token is set', async () => {
    const document = await publishedDocument(guarded);
    expect(Object.keys(document.components?.securitySchemes ?? {}).sort()).toEqual(['adminToken', 'apiToken']);
    expect(Object.values(document.components?.securitySchemes ?? {}).every((scheme) => scheme.type === 'http' && scheme.scheme === 'bearer')).toBe(true);
    const security = Object.fromEntries(Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).flatMap(([method, operation]) => (operation.security ? [[`${method.toUpperCase()} ${path}`, operation.security]] : []))));
    expect(security).toEqual({
      'POST /predict': [{ apiToken: [] }],
      'POST /actuals': [{ apiToken: [] }],
      'POST /v2/models/{name}/infer': [{ apiToken: [] }],
      'POST /v2/models/{name}/versions/{version}/infer': [{ apiToken: [] }],
      'POST /reload_latest': [{ adminToken: [] }],
      'POST /prune_logs': [{ adminToken: [] }],
    });
    for (const [route, operation] of Object.entries(security)) {
      const [method, path] = route.split(' ');
      expect({ route, declared: Object.keys(document.paths[path][method.toLowerCase()].responses ?? {}) }).toEqual({ route, declared: expect.arrayContaining(['401']) });
    }
    const open = await publishedDocument(ready);
    expect(open.components?.securitySchemes).toBeUndefined();
    expect(JSON.stringify(open.paths)).not.toContain('"security"');
    // The document names the tokens' settings, never their values.
    expect(JSON.stringify(document)).not.toMatch(/admin-secret|api-secret/);
  });

  it('answers 405 with Allow to every method fastify routes on a known path, TRACE and QUERY (without a Content-Type) included', async () => {
    for (const method of ['TRACE', 'QUERY'] as const) {
      for (const url of ['/healthz', '/predict', '/v2/models/flts']) {
        const answer = await ready.app.inject({ method: method as InjectOptions['method'] & string, url });
        expect({ method, url, status: answer.statusCode, code: answer.json().code }).toEqual({ method, url, status: 405, code: 'FLTS_REQUEST_METHOD_NOT_ALLOWED' });
        expect(answer.headers.allow).toBeTruthy();
      }
    }
  });

  it('answers 405 with Allow to the methods Node parses and fastify does not route (WebDAV and the rest), on a known path only', async () => {
    for (const method of ['PROPFIND', 'MKCOL', 'SEARCH', 'LINK', 'M-SEARCH', 'PURGE']) {
      for (const url of ['/healthz', '/predict', '/v2/models/flts/infer']) {
        const answer = await ready.app.inject({ method: method as InjectOptions['method'] & string, url, headers: json, payload: '{"data":' });
        expect({ method, url, status: answer.statusCode, code: answer.json().code, allow: answer.headers.allow }).toEqual({ method, url, status: 405, code: 'FLTS_REQUEST_METHOD_NOT_ALLOWED', allow: url === '/healthz' ? 'GET, HEAD' : 'POST' });
      }
      const elsewhere = await ready.app.inject({ method: method as InjectOptions['method'] & string, url: '/no-such-route' });
      expect({ method, status: elsewhere.statusCode, code: elsewhere.json().code }).toEqual({ method, status: 404, code: 'FLTS_REQUEST_ROUTE_NOT_FOUND' });
    }
  });
});
