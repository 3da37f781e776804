import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  SCALER,
  STEP_MS,
  WINDOW,
  expectedWindow,
  lstmModel,
  postJson,
  requestData,
  scaledTestFrame,
  useTestServer,
} from './serve-fixtures.js';

const unscaleDown = (scaled: number): number => scaled * SCALER.scale[0] + SCALER.offset[0];

describe('serve > inference API over HTTP', () => {
  const server = useTestServer({ server: { identifier: '', bodyLimitBytes: 64 * 1024 }, load: false });
  const reference = lstmModel();

  afterAll(() => reference.dispose());

  it('is live but not ready before a model is loaded, and ready once it is warm', async () => {
    const readyz = await fetch(`${server.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ status: 'not_ready' });
    expect((await fetch(`${server.url}/ready`)).status).toBe(503);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(503);
    const healthz = await (await fetch(`${server.url}/healthz`)).json();
    expect(healthz).toMatchObject({ status: 'ok', service: 'inference-api', model_ready: false, startup_ready_ms: null, run_id: null });
    const early = await postJson(`${server.url}/predict`, { data: requestData(6) });
    expect(early.status).toBe(503);
    expect(early.json.code).toBe('FLTS_SERVE_NO_MODEL');

    await server.holder.start();
    const after = await fetch(`${server.url}/readyz`);
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ status: 'ready', run_id: 'run-a', config_hash: 'hash-run-a', model_type: 'LSTM', degraded: false });
    expect(await (await fetch(`${server.url}/ready`)).json()).toEqual({ status: 'ready' });
    const live: any = await (await fetch(`${server.url}/healthz`)).json();
    expect(live).toMatchObject({ model_ready: true, queue_length: 0, run_id: 'run-a', model_type: 'LSTM', config_hash: 'hash-run-a' });
    expect(typeof live.startup_ready_ms).toBe('number');
    expect(Date.parse(live.loaded_at)).not.toBeNaN();
  });

  it('predicts in original units what the model computes on the scaled window', async () => {
    const data = requestData(9);
    const { status, json } = await postJson(`${server.url}/predict`, { data });
    expect(status).toBe(200);
    const direct = await reference.predict({ windows: expectedWindow(data), forecastTimes: new Float64Array(WINDOW.outputSeqLen), size: 1 });
    const lastTs = Date.parse(`${(data.ts as string[])[8].replace(' ', 'T')}Z`);
    expect(json).toMatchObject({ status: 'SUCCESS', identifier: 'default', run_id: 'run-a', model_type: 'LSTM', config_hash: 'hash-run-a', cached: false, recursive: false, source: 'request' });
    expect(json.req_id).toMatch(/^[0-9a-f]{8}$/);
    expect(json.predictions).toHaveLength(2);
    json.predictions.forEach((row: { ts: string; down: number }, h: number) => {
      expect(row.ts).toBe(new Date(lastTs + (h + 1) * STEP_MS).toISOString().slice(0, 19));
      expect(row.down).toBeCloseTo(unscaleDown(direct[h]), 4);
      expect(Object.keys(row).sort()).toEqual(['down', 'ts']);
    });
  });

  it('forecasts beyond the horizon recursively and says so', async () => {
    const data = requestData(8);
    const { status, json } = await postJson(`${server.url}/predict?inference_length=5`, { data, inference_length: 1 });
    expect(status).toBe(200);
    expect(json.predictions).toHaveLength(5);
    expect(json.recursive).toBe(true);
    expect(json.note).toMatch(/recursive/);
    const stamps = json.predictions.map((row: { ts: string }) => Date.parse(`${row.ts}Z`));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i] - stamps[i - 1]).toBe(STEP_MS);
    const first = await reference.predict({ windows: expectedWindow(data), forecastTimes: new Float64Array(2), size: 1 });
    expect(json.predictions[0].down).toBeCloseTo(unscaleDown(first[0]), 4);
    expect(json.predictions[1].down).toBeCloseTo(unscaleDown(first[1]), 4);
  });

  it('forecasts from the latest stored test window on an empty body, computed each time', async () => {
    const frame = scaledTestFrame(30);
    const windows = new Float32Array(WINDOW.inputSeqLen * WINDOW.features.length);
    for (let r = 0; r < WINDOW.inputSeqLen; r++) {
      WINDOW.features.forEach((feature, f) => (windows[r * WINDOW.features.length + f] = frame.values[feature][30 - WINDOW.inputSeqLen + r]));
    }
    const direct = await reference.predict({ windows, forecastTimes: new Float64Array(2), size: 1 });
    for (const init of [{ body: '' }, { body: '{}' }, { body: undefined, headers: {} }]) {
      const response = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...init });
      expect(response.status).toBe(200);
      const json: any = await response.json();
      expect(json.source).toBe('stored-test-data');
      expect(json.cached).toBe(false);
      expect(json.predictions[0].ts).toBe(new Date(frame.time[29] + STEP_MS).toISOString().slice(0, 19));
      expect(json.predictions[0].down).toBeCloseTo(unscaleDown(direct[0]), 4);
    }
    const first = await postJson(`${server.url}/predict`, {});
    const second = await postJson(`${server.url}/predict`, {});
    expect(first.json.req_id).not.toBe(second.json.req_id);
  });

  const badBodies: Array<[string, unknown, RegExp]> = [
    ['missing column', { data: { ts: requestData(6).ts, down: requestData(6).down } }, /Missing required feature columns: up/],
    ['non-numeric column', { data: { ...requestData(6), up: ['a', 1, 2, 3, 4, 5] } }, /non-numeric values: up/],
    ['null value', { data: { ...requestData(6), down: [1, 2, null, 4, 5, 6] } }, /'down' has a null, NaN or infinite value at row 2/],
    ['too few rows', { data: requestData(3) }, /Too few rows: 3 given/],
    ['unparsable timestamp', { data: { ...requestData(6), ts: ['2018-02-06 00:00:00', 'yesterday', '2018-02-06 00:04:00', '2018-02-06 00:06:00', '2018-02-06 00:08:00', '2018-02-06 00:10:00'] } }, /invalid timestamp at row 1/],
    ['duplicate timestamps (F9)', { data: { ...requestData(6), ts: Array(6).fill('2018-02-06 00:00:00') } }, /duplicate timestamp.*zero time step/],
    ['partly duplicate timestamps', { data: { ...requestData(6), ts: ['2018-02-06 00:00:00', '2018-02-06 00:02:00', '2018-02-06 00:02:00', '2018-02-06 00:04:00', '2018-02-06 00:06:00', '2018-02-06 00:08:00'] } }, /duplicate timestamp at rows 1 and 2/],
    ['decreasing timestamps', { data: { ...requestData(6), ts: [...(requestData(6).ts as string[])].reverse() } }, /not increasing at row 1/],
    ['no timestamp column', { data: { down: [1, 2, 3, 4, 5], up: [1, 2, 3, 4, 5] } }, /timestamp column/],
    ['unknown index_col', { data: requestData(6), index_col: 'when' }, /index_col 'when'/],
    ['ragged columns', { data: { ...requestData(6), up: [1, 2] } }, /different lengths/],
    ['data not an object', { data: [1, 2, 3] }, /body\/data must be object/],
    ['column not an array', { data: { ...requestData(6), up: 3 } }, /must be arrays/],
    ['inference_length too large', { data: requestData(6), inference_length: 10001 }, /inference_length must be <= 10000/],
    ['inference_length zero', { data: requestData(6), inference_length: 0 }, /inference_length must be >= 1/],
  ];

  it.each(badBodies)('answers 400 naming the problem: %s', async (_name, body, message) => {
    const { status, json } = await postJson(`${server.url}/predict`, body);
    expect(status).toBe(400);
    expect(json).toMatchObject({ error: 'Bad Request', code: 'FLTS_REQUEST_INVALID', statusCode: 400 });
    expect(json.message).toMatch(message);
    expect(json.detail).toBe(json.message);
    expect(JSON.stringify(json)).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it('answers 400 for a non-finite number and malformed JSON, 415 for a wrong content type, 413 for an oversize body', async () => {
    const infinite = await postJson(`${server.url}/predict`, `{"data": {"ts": ["2018-02-06 00:00:00"], "down": [1e999]}}`);
    expect(infinite.status).toBe(400);
    const malformed = await postJson(`${server.url}/predict`, '{"data": {');
    expect(malformed.status).toBe(400);
    expect(malformed.json.message).toMatch(/Malformed JSON body/);
    const text = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    // A body of another media type is 415, coded as such: a 400 read as a mistake in the body, which may be fine.
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ code: 'FLTS_REQUEST_UNSUPPORTED_MEDIA_TYPE', message: expect.stringMatching(/application\/json/) });
    for (const type of ['application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8']) {
      const json = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify({ data: requestData(6) }) });
      expect({ type, status: json.status }).toEqual({ type, status: 200 });
    }
    // A +json type is JSON (RFC 6839), read as application/json is, with or without a charset.
    for (const type of ['application/vnd.api+json', 'application/merge-patch+json; charset=utf-8', 'Application/Problem+JSON', 'application/vnd.flts.v1+json;charset=UTF-8']) {
      const json = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify({ data: requestData(6) }) });
      expect({ type, status: json.status }).toEqual({ type, status: 200 });
    }
    // Malformed under a +json type is a malformed body, as under application/json.
    const plusMalformed = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/vnd.api+json' }, body: '{"data": {' });
    expect({ status: plusMalformed.status, code: ((await plusMalformed.json()) as any).code }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID' });
    // Types that only look like it are not JSON: a suffix of nothing, +json outside application/, a json-seq.
    for (const type of ['application/+json', 'text/plain+json', 'application/json-seq', 'application/jsonx', 'application/vnd.api+json+xml', 'application/x-www-form-urlencoded']) {
      const refused = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify({ data: requestData(6) }) });
      expect({ type, status: refused.status, code: ((await refused.json()) as any).code }).toEqual({ type, status: 415, code: 'FLTS_REQUEST_UNSUPPORTED_MEDIA_TYPE' });
    }
    const big = await postJson(`${server.url}/predict`, { data: { ...requestData(6), padding: Array(40_000).fill(1) } });
    expect(big.status).toBe(413);
    expect(big.json.code).toBe('FLTS_REQUEST_TOO_LARGE');
  });

  it('answers 404 on unknown routes and 405 with Allow on wrong methods', async () => {
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).code).toBe('FLTS_REQUEST_ROUTE_NOT_FOUND');
    const wrong = await fetch(`${server.url}/predict`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(((await wrong.json()) as any).code).toBe('FLTS_REQUEST_METHOD_NOT_ALLOWED');
    expect((await fetch(`${server.url}/healthz`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${server.url}/v2/models/flts/infer`, { method: 'GET' })).status).toBe(405);
  });

  it('serves the Open Inference Protocol for the same model', async () => {
    expect(await (await fetch(`${server.url}/v2/health/live`)).json()).toEqual({ live: true });
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/v2/models/flts/ready`)).json()).toEqual({ name: 'flts', ready: true });
    const metadata: any = await (await fetch(`${server.url}/v2/models/flts`)).json();
    expect(metadata.versions).toEqual(['run-a']);
    expect(metadata.inputs.map((i: { name: string }) => i.name)).toEqual(['timestamp', 'down', 'up']);
    expect(metadata.outputs.map((o: { name: string }) => o.name)).toEqual(['timestamp', 'down']);
    expect((await fetch(`${server.url}/v2/models/other`)).status).toBe(404);

    const data = requestData(7);
    const inputs = [
      { name: 'timestamp', shape: [7], datatype: 'BYTES', data: data.ts },
      { name: 'down', shape: [7, 1], datatype: 'FP64', data: data.down },
      { name: 'up', shape: [7], datatype: 'FP64', data: data.up },
    ];
    const { status, json } = await postJson(`${server.url}/v2/models/flts/infer`, { id: 'r1', inputs });
    expect(status).toBe(200);
    const direct = await reference.predict({ windows: expectedWindow({ ts: data.ts, down: data.down, up: data.up }), forecastTimes: new Float64Array(2), size: 1 });
    expect(json).toMatchObject({ model_name: 'flts', model_version: 'run-a', id: 'r1' });
    const down = json.outputs.find((o: { name: string }) => o.name === 'down');
    expect(down.shape).toEqual([2]);
    expect(down.data[0]).toBeCloseTo(unscaleDown(direct[0]), 4);
    // The infer route reads its body whatever the content type (the binary extension), so no 415 there: the same answer.
    const asText = await fetch(`${server.url}/v2/models/flts/infer`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ id: 'r1', inputs }) });
    expect({ status: asText.status, body: await asText.json() }).toEqual({ status: 200, body: json });
    const badShape = await postJson(`${server.url}/v2/models/flts/infer`, { inputs: [{ ...inputs[0] }, { ...inputs[1], shape: [3] }, inputs[2]] });
    expect(badShape.status).toBe(400);
    expect(badShape.json.message).toMatch(/Input 'down' has shape \[3\] but 7 values/);
  });

  it('exposes Prometheus metrics with the documented names, the JSON stats and the OpenAPI document', async () => {
    await postJson(`${server.url}/predict`, { data: requestData(6) });
    for (const path of ['/metrics', '/prometheus']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.headers.get('content-type')).toMatch(/text\/plain/);
      const text = await response.text();
      expect(text).toMatch(/flts_http_requests_total\{route="\/predict",method="POST",status="200"\} \d+/);
      expect(text).toMatch(/flts_http_requests_total\{route="\/predict",method="POST",status="400"\} \d+/);
      expect(text).toMatch(/flts_http_request_duration_seconds_bucket\{le="0.005",route="\/predict"\}/);
      expect(text).toMatch(/flts_predictions_total \d+/);
      expect(text).toMatch(/flts_prediction_batch_size_count [1-9]\d*/);
      expect(text).toMatch(/flts_model_reloads_total\{result="success"\} 1/);
      expect(text).toMatch(/flts_model_info\{run_id="run-a",model_type="LSTM",config_hash="hash-run-a"\} 1/);
      expect(text).toMatch(/process_cpu_user_seconds_total/);
      // The bus's series, for the promotion subscription and claim follower of a replica on a bus.
      for (const [name, type] of [['flts_bus_messages_total', 'counter'], ['flts_bus_message_retries_total', 'counter'], ['flts_bus_consumer_crashes_total', 'counter'], ['flts_bus_consumer_restarts_total', 'counter'], ['flts_bus_consumer_crashing', 'gauge'], ['flts_bus_connection_failures_total', 'counter']]) {
        expect(text).toContain(`# TYPE ${name} ${type}`);
      }
    }
    const stats: any = await (await fetch(`${server.url}/stats`)).json();
    expect(stats).toMatchObject({ status: 'ok', model_loaded: true, current_run_id: 'run-a', current_model_hash: 'hash-run-a' });
    expect(stats.completed).toBeGreaterThan(0);
    const openapi: any = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/predict', '/healthz', '/readyz', '/v2/models/{name}/infer']));
    expect(openapi.paths['/predict'].post.requestBody).toBeDefined();
  });

  it('keeps the tensor count flat across many requests', async () => {
    await postJson(`${server.url}/predict`, { data: requestData(6) });
    const before = tf.memory().numTensors;
    await Promise.all(Array.from({ length: 40 }, (_, i) => postJson(`${server.url}/predict`, { data: requestData(6 + (i % 4)), inference_length: 1 + (i % 5) })));
    expect(tf.memory().numTensors).toBe(before);
  });
});
