import http from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { createMeteredBodyBudget } from '../../src/core/serve/body-budget.js';
import { createServeMetrics } from '../../src/core/serve/serve-metrics.js';
import { naiveSource, requestData, serverPerTest, type RunningServer } from './serve-fixtures.js';

/** The bound of these tests: one body of BODY_BYTES fits, two do not. */
const BUDGET = 100_000;
const BODY_BYTES = 80_000;

/** A valid /predict body padded with whitespace (which the parser trims) to `bytes`. */
function predictBody(bytes: number): Buffer {
  const text = JSON.stringify({ data: requestData(6), inference_length: 2 });
  return Buffer.from(text + ' '.repeat(bytes - Buffer.byteLength(text)));
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: any;
}

/**
 * A POST whose body is sent when the test says: `continued` resolves once the server asked for it (100 Continue, sent
 * once the body has its room), `finish` sends it, `abort` drops the connection half-way.
 */
function heldUpload(server: RunningServer, path: string, body: Buffer, options: { chunked?: boolean } = {}) {
  const url = new URL(path, server.url);
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', expect: '100-continue' };
  if (!options.chunked) headers['content-length'] = body.length;
  const request = http.request(url, { method: 'POST', headers, agent: false });
  const continued = new Promise<void>((resolve) => request.once('continue', resolve));
  const answer = new Promise<Answer>((resolve, reject) => {
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, json: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    request.once('error', reject);
  });
  return {
    continued,
    answer,
    finish(): Promise<Answer> {
      request.end(body);
      return answer;
    },
    /** Sends part of the body, then closes the connection. */
    async abort(): Promise<void> {
      answer.catch(() => {});
      await new Promise<void>((resolve) => request.write(body.subarray(0, 1000), () => resolve()));
      request.destroy();
    },
  };
}

/** A POST sent whole at once, chunked when asked (no Content-Length: its size is known only as it arrives). */
function upload(server: RunningServer, path: string, body: Buffer, options: { chunked?: boolean } = {}): Promise<Answer> {
  const request = heldUpload(server, path, body, options);
  // Without waiting for 100 Continue: a refusal by the declared length comes before it, and a chunked body is cut off as it arrives.
  return request.finish();
}

async function metricLines(server: RunningServer, prefix: string): Promise<string[]> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

const bytesInFlight = async (server: RunningServer): Promise<string[]> => metricLines(server, 'flts_request_body_bytes_in_flight ');

describe('serve > request body bytes in flight (serve.maxBodyBytesInFlight)', () => {
  const startServer = serverPerTest();

  function promotedNaive() {
    const source = naiveSource('run-a');
    source.promote('run-a');
    return source;
  }

  const start = (maxBodyBytesInFlight = BUDGET, random?: () => number): Promise<RunningServer> => {
    const metrics = createServeMetrics({ processMetrics: false });
    const bodyBudget = random ? createMeteredBodyBudget(maxBodyBytesInFlight, 1_000_000, metrics, random) : undefined;
    return startServer(promotedNaive(), { server: { metrics, bodyLimitBytes: 1_000_000, maxBodyBytesInFlight, bodyBudget } });
  };

  it('refuses a body whose Content-Length passes the room left, 503 coded with a Retry-After of 1-3 s drawn for each, and admits it once the body before is answered', async () => {
    // The jitter's draws, one per refusal: 2.6 s, then 1.2 s, told in whole seconds.
    const draws = [0.8, 0.1];
    const server = await start(BUDGET, () => draws.shift() ?? 0.5);
    const first = heldUpload(server, '/predict', predictBody(BODY_BYTES));
    await first.continued;
    expect(await bytesInFlight(server)).toEqual([`flts_request_body_bytes_in_flight ${BODY_BYTES}`]);

    const refused = await upload(server, '/predict', predictBody(BODY_BYTES));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('3');
    expect(refused.json).toMatchObject({ code: 'FLTS_SERVE_BODIES_IN_FLIGHT', statusCode: 503 });
    expect(refused.json.message).toMatch(`${BODY_BYTES} bytes of them are in flight and this body asks for ${BODY_BYTES}, past the bound of ${BUDGET}; retry in 3 s.`);
    // Under /v2 in the Open Inference Protocol's error form, like any other refusal there.
    const oip = await upload(server, '/v2/models/flts/infer', predictBody(BODY_BYTES));
    expect(oip.status).toBe(503);
    expect(oip.headers['retry-after']).toBe('1');
    expect(oip.json.error).toMatch(/^FLTS_SERVE_BODIES_IN_FLIGHT: /);

    expect((await first.finish()).status).toBe(200);
    await vi.waitFor(async () => expect(await bytesInFlight(server)).toEqual(['flts_request_body_bytes_in_flight 0']), { interval: 10 });
    expect((await upload(server, '/predict', predictBody(BODY_BYTES))).status).toBe(200);
    expect(await metricLines(server, 'flts_request_body_refused_total')).toEqual(
      expect.arrayContaining(['flts_request_body_refused_total{route="/predict"} 1', 'flts_request_body_refused_total{route="/v2/models/:name/infer"} 1']),
    );
    expect(await metricLines(server, 'flts_request_body_bytes_in_flight_limit')).toEqual([`flts_request_body_bytes_in_flight_limit ${BUDGET}`]);
  });

  it('cuts off a chunked body once it grows past the room left, with the same code', async () => {
    const server = await start();
    const first = heldUpload(server, '/actuals', predictBody(BODY_BYTES));
    await first.continued;
    const cut = await upload(server, '/actuals', predictBody(BODY_BYTES), { chunked: true });
    expect(cut.status).toBe(503);
    expect(cut.json).toMatchObject({ code: 'FLTS_SERVE_BODIES_IN_FLIGHT' });
    expect(await metricLines(server, 'flts_request_body_refused_total{route="/actuals"}')).toEqual(['flts_request_body_refused_total{route="/actuals"} 1']);
    await first.finish();
    await vi.waitFor(async () => expect(await bytesInFlight(server)).toEqual(['flts_request_body_bytes_in_flight 0']), { interval: 10 });
  });

  it('reads a body larger than the bound when no other is in flight', async () => {
    const server = await start(10_000);
    expect((await upload(server, '/predict', predictBody(BODY_BYTES))).status).toBe(200);
    expect((await upload(server, '/predict', predictBody(BODY_BYTES), { chunked: true })).status).toBe(200);
  });

  it('gives back the room of uploads whose client left half-way, declared or chunked', async () => {
    const server = await start();
    for (const chunked of [false, true]) {
      const left = heldUpload(server, '/predict', predictBody(BODY_BYTES), { chunked });
      await left.continued;
      await left.abort();
    }
    await vi.waitFor(async () => expect(await bytesInFlight(server)).toEqual(['flts_request_body_bytes_in_flight 0']), { interval: 10 });
    // A body that needs all of the room is read: none of it is held by the uploads gone.
    const next = heldUpload(server, '/predict', predictBody(BODY_BYTES));
    await next.continued;
    expect((await next.finish()).status).toBe(200);
  });
});
