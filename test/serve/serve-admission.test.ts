import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createMeteredAdmission, type ForecastAdmission } from '../../src/core/serve/forecast-admission.js';
import { startGrpcInferenceServer } from '../../src/core/serve/oip-grpc-server.js';
import { createInferenceClient } from '../../src/core/serve/oip-grpc-service.js';
import { createPredictionRecorder } from '../../src/core/serve/prediction-recorder.js';
import { createServeMetrics, type ServeMetrics } from '../../src/core/serve/serve-metrics.js';
import { heldSource, postJson, requestData, serverPerTest, type RunningServer } from './serve-fixtures.js';

/** The server's admission, telling the test when a request's client is seen gone (its signal aborted). */
function watchedAdmission(metrics: ServeMetrics, maxRows: number): { admission: ForecastAdmission; clientGone: () => Promise<void> } {
  // No jitter, so that Retry-After is the estimate itself.
  const inner = createMeteredAdmission(maxRows, metrics, { random: () => 0 });
  let gone: Promise<void> = new Promise(() => {});
  return {
    admission: {
      run: (route, rows, signal, work) => {
        if (signal) gone = new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        return inner.run(route, rows, signal, work);
      },
      tryAdmit: (rows) => inner.tryAdmit(rows),
      get queuedRows() {
        return inner.queuedRows;
      },
    },
    clientGone: () => gone,
  };
}

async function metricLines(server: RunningServer, prefix: string): Promise<string[]> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

function oipBody(rows: number, length: number): object {
  const data = requestData(rows);
  return {
    inputs: [
      { name: 'timestamp', shape: [rows], datatype: 'BYTES', data: data.ts },
      { name: 'down', shape: [rows], datatype: 'FP64', data: data.down },
      { name: 'up', shape: [rows], datatype: 'FP64', data: data.up },
    ],
    parameters: { inference_length: length },
  };
}

/** A ModelInferRequest with every input in raw_input_contents. */
function grpcRequest(rows: number, length: number): object {
  const data = requestData(rows);
  const fp64 = (values: unknown[]): Buffer => Buffer.from(Float64Array.from(values as number[]).buffer);
  const bytes = (values: unknown[]): Buffer => Buffer.concat((values as string[]).flatMap((value) => [Buffer.from(Uint32Array.of(Buffer.byteLength(value)).buffer), Buffer.from(value)]));
  return {
    model_name: 'flts',
    parameters: { inference_length: { int64_param: length } },
    inputs: [
      { name: 'timestamp', datatype: 'BYTES', shape: [rows] },
      { name: 'down', datatype: 'FP64', shape: [rows] },
      { name: 'up', datatype: 'FP64', shape: [rows] },
    ],
    raw_input_contents: [bytes(data.ts), fp64(data.down), fp64(data.up)],
  };
}

describe('serve > admission of forecast work', () => {
  const startServer = serverPerTest();

  async function start(maxRows: number) {
    const held = heldSource();
    const metrics = createServeMetrics({ processMetrics: false });
    const watched = watchedAdmission(metrics, maxRows);
    const server = await startServer(held.source, { server: { metrics, admission: watched.admission } });
    held.state.warm = true;
    return { server, held, metrics, ...watched };
  }

  it('refuses a request past the bound at once, 503 with Retry-After on /predict and in the OIP error shape under /v2, while readiness stays 200', async () => {
    const { server, held } = await start(3);
    const hold = held.hold();
    // 2 rows of the 3 in flight, held in their forward pass.
    const first = postJson(`${server.url}/predict`, { data: requestData(6), inference_length: 2 });
    await hold.entered;
    // 1 more row still fits; it waits behind the held pass.
    const fits = postJson(`${server.url}/predict`, { data: requestData(6), inference_length: 1 });
    await vi.waitFor(async () => expect(await metricLines(server, 'flts_forecast_queued_rows ')).toEqual(['flts_forecast_queued_rows 3']), { interval: 10 });

    const refused = await postJson(`${server.url}/predict`, { data: requestData(6), inference_length: 2 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.json).toMatchObject({ code: 'FLTS_SERVE_OVERLOADED', statusCode: 503 });
    expect(refused.json.message).toMatch(/^The server is busy: 3 forecast rows are in flight and this request asks for 2, past the bound of 3/);

    const oip = await postJson(`${server.url}/v2/models/flts/infer`, oipBody(6, 1));
    expect(oip.status).toBe(503);
    expect(oip.headers.get('retry-after')).toBe('1');
    expect(oip.json.error).toMatch(/^FLTS_SERVE_OVERLOADED: The server is busy: 3 forecast rows are in flight and this request asks for 1/);

    // Busy is not unready: a load balancer taking the replica out would only move the load onto the others.
    for (const route of ['/ready', '/readyz', '/v2/health/ready']) expect((await fetch(`${server.url}${route}`)).status, route).toBe(200);
    expect(await metricLines(server, 'flts_forecast_')).toEqual(
      expect.arrayContaining([
        'flts_forecast_refused_total{route="/predict",reason="overloaded"} 1',
        'flts_forecast_refused_total{route="/v2/models/:name/infer",reason="overloaded"} 1',
        'flts_forecast_refused_total{route="/predict",reason="cancelled"} 0',
        'flts_forecast_queued_rows 3',
        'flts_forecast_queued_rows_limit 3',
      ]),
    );

    hold.release();
    expect((await first).status).toBe(200);
    expect((await fits).status).toBe(200);
    expect(await metricLines(server, 'flts_forecast_queued_rows ')).toEqual(['flts_forecast_queued_rows 0']);
    // Released, the rows are admitted again; and a request larger than the whole bound is served alone.
    expect((await postJson(`${server.url}/predict`, { data: requestData(6), inference_length: 2 })).status).toBe(200);
    const alone = await postJson(`${server.url}/predict`, { data: requestData(6), inference_length: 7 });
    expect(alone.status).toBe(200);
    expect(alone.json.predictions).toHaveLength(7);
  });

  it('drops the forecast of a client that closed its connection at its next forward pass, and releases its rows', async () => {
    const { server, held, clientGone } = await start(20);
    const hold = held.hold();
    const body = JSON.stringify({ data: requestData(6), inference_length: 10 });
    const request = http.request(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    const ended = new Promise<string>((resolve) => request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message)));
    request.end(body);
    await hold.entered;
    expect(await metricLines(server, 'flts_forecast_queued_rows ')).toEqual(['flts_forecast_queued_rows 10']);
    request.destroy();
    expect(await ended).toBe('ECONNRESET');
    await clientGone();
    hold.release();

    await vi.waitFor(async () => expect(await metricLines(server, 'flts_forecast_queued_rows ')).toEqual(['flts_forecast_queued_rows 0']), { interval: 10 });
    // 10 rows at a horizon of 2 are 5 passes; the one under way when the client left was the last.
    expect(held.state.passes).toBe(1);
    expect(await metricLines(server, 'flts_forecast_refused_total{route="/predict"')).toEqual([
      'flts_forecast_refused_total{route="/predict",reason="overloaded"} 0',
      'flts_forecast_refused_total{route="/predict",reason="cancelled"} 1',
      'flts_forecast_refused_total{route="/predict",reason="pipelining"} 0',
    ]);
    expect(await metricLines(server, 'flts_predictions_total')).toEqual(['flts_predictions_total 0']);
    // Never answered, the request is still counted, with the status of a client that left.
    expect(await metricLines(server, 'flts_http_requests_total{route="/predict"')).toEqual(['flts_http_requests_total{route="/predict",method="POST",status="499"} 1']);
    // The rows are free for the next client.
    expect((await postJson(`${server.url}/predict`, { data: requestData(6), inference_length: 20 })).status).toBe(200);
  });

  it('answers gRPC RESOURCE_EXHAUSTED with the flts code and a retry pushback, and drops a cancelled call', async () => {
    const { server, held, metrics, admission, clientGone } = await start(3);
    const grpcServer = await startGrpcInferenceServer(
      { holder: server.holder, metrics, admission, modelName: 'flts', inferenceLength: 0, recorder: createPredictionRecorder({ metrics, logger: silentLogger, identifier: '' }) },
      { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, logger: silentLogger },
    );
    const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
    const modelInfer = client.ModelInfer as (request: object, callback: (error: grpc.ServiceError | null, response: unknown) => void) => grpc.ClientUnaryCall;
    const infer = (request: object): { call: grpc.ClientUnaryCall; answer: Promise<grpc.ServiceError | null> } => {
      let call!: grpc.ClientUnaryCall;
      const answer = new Promise<grpc.ServiceError | null>((resolve) => (call = modelInfer.call(client, request, (error) => resolve(error))));
      return { call, answer };
    };
    try {
      let hold = held.hold();
      const first = postJson(`${server.url}/predict`, { data: requestData(6), inference_length: 2 });
      await hold.entered;
      const refused = await infer(grpcRequest(6, 2)).answer;
      expect(refused?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refused?.details).toMatch(/^FLTS_SERVE_OVERLOADED: The server is busy: 2 forecast rows are in flight/);
      expect(refused?.metadata.get('flts-code')).toEqual(['FLTS_SERVE_OVERLOADED']);
      // 1 row in the way, a bound's worth (3 rows) a second before any request was done: 334 ms, where HTTP's
      // Retry-After says 1 s.
      expect(refused?.metadata.get('grpc-retry-pushback-ms')).toEqual(['334']);
      hold.release();
      expect((await first).status).toBe(200);

      hold = held.hold();
      const passesBefore = held.state.passes;
      const cancelled = infer(grpcRequest(6, 3));
      await hold.entered;
      cancelled.call.cancel();
      expect((await cancelled.answer)?.code).toBe(grpc.status.CANCELLED);
      await clientGone();
      hold.release();
      await vi.waitFor(async () => expect(await metricLines(server, 'flts_forecast_queued_rows ')).toEqual(['flts_forecast_queued_rows 0']), { interval: 10 });
      // 3 rows at a horizon of 2 are 2 passes: the second never ran.
      expect(held.state.passes - passesBefore).toBe(1);
      expect(await metricLines(server, 'flts_forecast_refused_total{route="/inference.GRPCInferenceService/ModelInfer"')).toEqual([
        'flts_forecast_refused_total{route="/inference.GRPCInferenceService/ModelInfer",reason="overloaded"} 1',
        'flts_forecast_refused_total{route="/inference.GRPCInferenceService/ModelInfer",reason="cancelled"} 1',
      ]);
      expect(await infer(grpcRequest(6, 3)).answer).toBeNull();
    } finally {
      client.close();
      await grpcServer.close(0);
    }
  });
});
