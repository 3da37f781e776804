import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMeteredBodyBudget } from '../../src/core/serve/body-budget.js';
import { createForecastAdmission, type ForecastAdmission } from '../../src/core/serve/forecast-admission.js';
import { createGrpcConnections, type GrpcConnections } from '../../src/core/serve/grpc-connections.js';
import { createInferenceClient, inferenceService } from '../../src/core/serve/oip-grpc-service.js';
import { startGrpcInferenceServer, type GrpcInferenceServer } from '../../src/core/serve/oip-grpc-server.js';
import type { HostLookup } from '../../src/core/serve/listen-addresses.js';
import { createServeMetrics } from '../../src/core/serve/serve-metrics.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { naiveSource, postJson, requestData, serverPerTest, useTestServer, withTestServer, type RunningServer } from './serve-fixtures.js';
import { oipContext, startGrpc } from './serve-grpc.fixture.js';

type Client = ReturnType<typeof createInferenceClient>;

function call(client: Client, method: string, request: object, metadata = new grpc.Metadata()): Promise<any> {
  return new Promise((resolve, reject) => {
    (client[method] as (request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void)(request, metadata, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

async function callError(client: Client, method: string, request: object, metadata?: grpc.Metadata): Promise<grpc.ServiceError> {
  return call(client, method, request, metadata).then(
    () => {
      throw new Error(`${method} succeeded`);
    },
    (error: grpc.ServiceError) => error,
  );
}

function fp64(values: unknown[]): Buffer {
  return Buffer.from(Float64Array.from(values as number[]).buffer);
}

function bytesTensor(values: unknown[]): Buffer {
  return Buffer.concat((values as string[]).flatMap((value) => [Buffer.from(Uint32Array.of(Buffer.byteLength(value)).buffer), Buffer.from(value)]));
}

function readFp64(raw: Buffer): number[] {
  return Array.from({ length: raw.length / 8 }, (_, i) => raw.readDoubleLE(i * 8));
}

/** A ModelInferRequest as tritonclient.grpc builds it: every input in raw_input_contents. */
function rawRequest(data: Record<string, unknown[]>, modelName = 'flts'): { model_name: string; inputs: Array<{ name: string; datatype: string; shape: number[] }>; raw_input_contents: Buffer[] } {
  const rows = data.ts.length;
  return {
    model_name: modelName,
    inputs: [
      { name: 'timestamp', datatype: 'BYTES', shape: [rows] },
      { name: 'down', datatype: 'FP64', shape: [rows] },
      { name: 'up', datatype: 'FP64', shape: [rows] },
    ],
    raw_input_contents: [bytesTensor(data.ts), fp64(data.down), fp64(data.up)],
  };
}

describe('serve > Open Inference Protocol over gRPC', () => {
  const server = useTestServer({ load: false });
  let grpcServer: GrpcInferenceServer;
  let client: Client;

  beforeAll(async () => {
    ({ grpcServer, client } = await startGrpc(server));
  });

  afterAll(async () => {
    client?.close();
    await grpcServer?.close();
  });

  it('is live but not ready, and answers UNAVAILABLE with the flts code, until a model is warm', async () => {
    expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
    expect(await call(client, 'ServerReady', {})).toEqual({ ready: false });
    const early = await callError(client, 'ModelInfer', rawRequest(requestData(6)));
    expect(early.code).toBe(grpc.status.UNAVAILABLE);
    expect(early.details).toMatch(/^FLTS_SERVE_NO_MODEL: /);
    expect(early.metadata.get('flts-code')).toEqual(['FLTS_SERVE_NO_MODEL']);
    await server.holder.start();
    expect(await call(client, 'ServerReady', {})).toEqual({ ready: true });
    expect(await call(client, 'ModelReady', { name: 'flts' })).toEqual({ ready: true });
  });

  it('serves the metadata of the HTTP routes', async () => {
    expect(await call(client, 'ServerMetadata', {})).toEqual(await (await fetch(`${server.url}/v2`)).json());
    const metadata = await call(client, 'ModelMetadata', { name: 'flts' });
    const http: any = await (await fetch(`${server.url}/v2/models/flts`)).json();
    expect(metadata).toEqual({ name: http.name, versions: http.versions, platform: http.platform, inputs: http.inputs, outputs: http.outputs });
  });

  it('forecasts what /predict forecasts, from raw or typed contents', async () => {
    const data = requestData(9);
    const { json } = await postJson(`${server.url}/predict`, { data, inference_length: 5 });
    const expected = { ts: json.predictions.map((row: { ts: string }) => row.ts), down: json.predictions.map((row: { down: number }) => row.down) };

    const raw = await call(client, 'ModelInfer', { ...rawRequest(data), id: 'g1', parameters: { inference_length: { int64_param: 5 } } });
    expect(raw).toMatchObject({ model_name: 'flts', model_version: 'run-a', id: 'g1' });
    expect(raw.outputs).toEqual([
      { name: 'timestamp', datatype: 'BYTES', shape: [5], parameters: {}, contents: null },
      { name: 'down', datatype: 'FP64', shape: [5], parameters: {}, contents: null },
    ]);
    expect(raw.parameters.recursive).toMatchObject({ bool_param: true });
    expect(raw.parameters.run_id).toMatchObject({ string_param: 'run-a' });
    expect(readFp64(raw.raw_output_contents[1])).toEqual(expected.down);
    expect(raw.raw_output_contents[0]).toEqual(bytesTensor(expected.ts));

    const typed = await call(client, 'ModelInfer', {
      model_name: 'flts',
      parameters: { inference_length: { int64_param: 5 } },
      inputs: [
        { name: 'timestamp', datatype: 'BYTES', shape: [9], contents: { bytes_contents: (data.ts as string[]).map((ts) => Buffer.from(ts)) } },
        { name: 'down', datatype: 'FP64', shape: [9, 1], contents: { fp64_contents: data.down } },
        { name: 'up', datatype: 'INT32', shape: [9], contents: { int_contents: data.up } },
      ],
      outputs: [{ name: 'down' }],
    });
    expect(typed.outputs.map((o: { name: string }) => o.name)).toEqual(['down']);
    expect(readFp64(typed.raw_output_contents[0])).toEqual(expected.down);
    // A series named as a deployment may be named (':' past the first letter, spaces, a leading '_') is taken.
    const named = await call(client, 'ModelInfer', { ...rawRequest(data), parameters: { inference_length: { int64_param: 5 }, identifier: { string_param: '_cell:7 Ñ' } } });
    expect(readFp64(named.raw_output_contents[1])).toEqual(expected.down);
  });

  it('reads INT64 epoch seconds as /predict reads ISO text, and carries an uneven window\'s warning as a string parameter', async () => {
    // Before, the seconds were read as milliseconds: forecasts dated 1970-01-18.
    const data = requestData(9);
    const { json } = await postJson(`${server.url}/predict`, { data });
    const seconds = (data.ts as string[]).map((ts) => Date.parse(`${ts.replace(' ', 'T')}Z`) / 1000);
    const typed = await call(client, 'ModelInfer', {
      model_name: 'flts',
      inputs: [
        { name: 'timestamp', datatype: 'INT64', shape: [9], contents: { int64_contents: seconds } },
        { name: 'down', datatype: 'FP64', shape: [9], contents: { fp64_contents: data.down } },
        { name: 'up', datatype: 'FP64', shape: [9], contents: { fp64_contents: data.up } },
      ],
    });
    expect(readFp64(typed.raw_output_contents[1])).toEqual(json.predictions.map((row: { down: number }) => row.down));
    expect(typed.raw_output_contents[0]).toEqual(bytesTensor(json.predictions.map((row: { ts: string }) => row.ts)));
    expect(typed.parameters).not.toHaveProperty('irregular_time_steps');
    const gapped = { ...data, ts: (data.ts as string[]).map((ts, i) => (i === 8 ? '2018-02-06 01:00:00' : ts)) };
    const warned = await call(client, 'ModelInfer', rawRequest(gapped));
    expect(warned.parameters.irregular_time_steps.string_param).toMatch(/not evenly spaced: 1 gap .* the largest 46 min from 2018-02-06T00:14:00 to 2018-02-06T01:00:00/);
  });

  it('answers a ModelInfer with a parameter flts does not read as without it, naming it in an ignored_parameters parameter', async () => {
    const data = requestData(9);
    const plain = await call(client, 'ModelInfer', rawRequest(data));
    expect(plain.parameters).not.toHaveProperty('ignored_parameters');
    const typo = await call(client, 'ModelInfer', { ...rawRequest(data), parameters: { Identifier: { string_param: 'x' } } });
    expect(typo.raw_output_contents).toEqual(plain.raw_output_contents);
    expect(typo.parameters.ignored_parameters.string_param).toMatch(/^A parameter the request gave that flts does not read was ignored: Identifier \(did you mean identifier\?\)\./);
  });

  it('names a requested output\'s parameters flts does not read in ignored_parameters, by their place, as over HTTP', async () => {
    const data = requestData(9);
    const plain = await call(client, 'ModelInfer', { ...rawRequest(data), outputs: [{ name: 'down', parameters: { classification: { int64_param: 0 } } }] });
    expect(plain.parameters).not.toHaveProperty('ignored_parameters');
    // Before, the output's `foo` was dropped without a word.
    const extra = await call(client, 'ModelInfer', { ...rawRequest(data), outputs: [{ name: 'down', parameters: { foo: { string_param: 'x' } } }] });
    expect(extra.raw_output_contents).toEqual(plain.raw_output_contents);
    expect(extra.parameters.ignored_parameters.string_param).toBe(
      'A parameter the request gave that flts does not read was ignored: outputs[0].parameters.foo. It reads inference_length, index_col, binary_data_output, identifier, and binary_data, classification on an output.',
    );
  });

  it('answers bad requests with the HTTP routes\' coded reasons as gRPC status codes', async () => {
    const data = requestData(6);
    const cases: Array<[object, grpc.status, RegExp]> = [
      [rawRequest(data, 'other'), grpc.status.NOT_FOUND, /^FLTS_REQUEST_ROUTE_NOT_FOUND: No model named 'other'/],
      [{ ...rawRequest(data), model_version: 'run-old' }, grpc.status.NOT_FOUND, /^FLTS_REQUEST_ROUTE_NOT_FOUND: Model 'flts' has no version 'run-old' here; it serves version 'run-a'\.$/],
      // The model and version before the message's contents, as over HTTP: an invalid request to a version gone is told it is gone.
      [{ model_name: 'flts', model_version: 'run-old', inputs: [] }, grpc.status.NOT_FOUND, /^FLTS_REQUEST_ROUTE_NOT_FOUND: Model 'flts' has no version 'run-old'/],
      [{ ...rawRequest(data, 'other'), raw_input_contents: [bytesTensor(data.ts)] }, grpc.status.NOT_FOUND, /^FLTS_REQUEST_ROUTE_NOT_FOUND: No model named 'other'/],
      [{ ...rawRequest(data), raw_input_contents: [bytesTensor(data.ts)] }, grpc.status.INVALID_ARGUMENT, /raw_input_contents has 1 entries for 3 inputs/],
      [{ ...rawRequest(data), raw_input_contents: [bytesTensor(data.ts), fp64(data.down).subarray(8), fp64(data.up)] }, grpc.status.INVALID_ARGUMENT, /'down' has shape \[6\] of FP64 \(48 bytes\) but 40 bytes/],
      [{ ...rawRequest(data), parameters: { inference_length: { int64_param: 0 } } }, grpc.status.INVALID_ARGUMENT, /^FLTS_REQUEST_INVALID: Invalid request: parameters\/inference_length must be >= 1\.$/],
      [{ ...rawRequest(data), parameters: { identifier: { string_param: 's'.repeat(129) } } }, grpc.status.INVALID_ARGUMENT, /^FLTS_REQUEST_INVALID: Invalid request: parameters\/identifier must NOT have more than 128 characters\.$/],
      // The deployment identifier's rule, as over HTTP: one folder name, shown escaped.
      [{ ...rawRequest(data), parameters: { identifier: { string_param: '../site' } } }, grpc.status.INVALID_ARGUMENT, /^FLTS_REQUEST_INVALID: Parameter 'identifier' must be a folder name of up to 128 characters: .*; got "\.\.\/site": it holds "\/" at position 3\.$/],
      [{ ...rawRequest(data), parameters: { identifier: { string_param: 'site\u202Eetis' } } }, grpc.status.INVALID_ARGUMENT, /^FLTS_REQUEST_INVALID: Parameter 'identifier' must be .*; got "site\\u202eetis": it holds U\+202E RIGHT-TO-LEFT OVERRIDE at position 5\.$/],
      [{ ...rawRequest(data), parameters: { identifier: { string_param: 'site\u200Bb' } } }, grpc.status.INVALID_ARGUMENT, /^FLTS_REQUEST_INVALID: Parameter 'identifier' must be .*; got "site\\u200bb": it holds U\+200B ZERO WIDTH SPACE at position 5\.$/],
      [{ ...rawRequest(data), parameters: { index_col: { string_param: 'when' } } }, grpc.status.INVALID_ARGUMENT, /index_col 'when' is not a column/],
      [{ model_name: 'flts', inputs: [] }, grpc.status.INVALID_ARGUMENT, /no inputs/],
      [
        { ...rawRequest(data), inputs: rawRequest(data).inputs.map((input) => (input.name === 'down' ? { ...input, contents: { fp64_contents: [1, 2, 3, 4, 5, 6] } } : input)) },
        grpc.status.INVALID_ARGUMENT,
        /^FLTS_REQUEST_INVALID: Input 'down' has both contents and raw_input_contents; give its data in one of them\.$/,
      ],
      [
        {
          model_name: 'flts',
          inputs: [
            { name: 'timestamp', datatype: 'BYTES', shape: [6], contents: { bytes_contents: (data.ts as string[]).map((ts) => Buffer.from(ts)) } },
            { name: 'down', datatype: 'FP64', shape: [6], contents: { fp64_contents: data.down } },
            { name: 'up', datatype: 'INT8', shape: [6], contents: { int_contents: [1, 2, 3, 4, 5, 300] } },
          ],
        },
        grpc.status.INVALID_ARGUMENT,
        /'up' is INT8, but element 5 is 300; INT8 data must be integers from -128 to 127/,
      ],
      [rawRequest(requestData(2)), grpc.status.INVALID_ARGUMENT, /Too few rows: 2 given/],
      [{ ...rawRequest(data), outputs: [{ name: 'nope' }] }, grpc.status.INVALID_ARGUMENT, /Unknown output 'nope'/],
      [{ ...rawRequest(data), outputs: [{ name: 'down' }, { name: 'down' }] }, grpc.status.INVALID_ARGUMENT, /^FLTS_REQUEST_INVALID: Output 'down' is requested twice\.$/],
      // tritonclient's class_count: an int64 parameter on the output.
      [{ ...rawRequest(data), outputs: [{ name: 'down', parameters: { classification: { int64_param: 2 } } }] }, grpc.status.INVALID_ARGUMENT, /^FLTS_REQUEST_INVALID: Output 'down' is requested with the classification parameter/],
      [{ ...rawRequest(data), raw_input_contents: [Buffer.alloc(70 * 1024), fp64(data.down), fp64(data.up)] }, grpc.status.RESOURCE_EXHAUSTED, /larger than max/],
    ];
    for (const [request, code, details] of cases) {
      const error = await callError(client, 'ModelInfer', request);
      expect({ code: error.code, details: error.details }).toMatchObject({ code, details: expect.stringMatching(details) });
    }
    expect((await callError(client, 'ModelReady', { name: 'other' })).code).toBe(grpc.status.NOT_FOUND);
    for (const method of ['ModelReady', 'ModelMetadata']) {
      const error = await callError(client, method, { name: 'flts', version: 'run-old' });
      expect({ code: error.code, details: error.details }).toEqual({ code: grpc.status.NOT_FOUND, details: "FLTS_REQUEST_ROUTE_NOT_FOUND: Model 'flts' has no version 'run-old' here; it serves version 'run-a'." });
    }
    expect(await call(client, 'ModelReady', { name: 'flts', version: 'run-a' })).toEqual({ ready: true });
    expect((await call(client, 'ModelInfer', { ...rawRequest(data), model_version: 'run-a' })).model_version).toBe('run-a');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/flts_http_requests_total\{route="\/inference.GRPCInferenceService\/ModelInfer",method="GRPC",status="200"\} [1-9]/);
    expect(metrics).toMatch(/flts_http_requests_total\{route="\/inference.GRPCInferenceService\/ModelInfer",method="GRPC",status="400"\} [1-9]/);
  });
});

describe('serve > Open Inference Protocol over gRPC > long names', () => {
  const server = useTestServer();

  it('quotes at most a clipped part of a long name or datatype, so the status stays INVALID_ARGUMENT with the flts code', async () => {
    // 200 KB names: a status message travels as a header, and one quoting them whole broke the stream (RST_STREAM, INTERNAL).
    const { grpcServer, client } = await startGrpc(server, undefined, 1024 * 1024);
    try {
      const data = requestData(6);
      const long = 'Z'.repeat(200_000);
      const withUp = (change: object) => rawRequest(data).inputs.map((input) => (input.name === 'up' ? { ...input, ...change } : input));
      const cases: Array<[object, grpc.status, string]> = [
        [{ ...rawRequest(data), outputs: [{ name: long }] }, grpc.status.INVALID_ARGUMENT, 'FLTS_REQUEST_INVALID'],
        [{ ...rawRequest(data), inputs: withUp({ datatype: long }) }, grpc.status.INVALID_ARGUMENT, 'FLTS_REQUEST_INVALID'],
        [{ ...rawRequest(data), inputs: withUp({ name: long }), raw_input_contents: [bytesTensor(data.ts), fp64(data.down), fp64([1])] }, grpc.status.INVALID_ARGUMENT, 'FLTS_REQUEST_INVALID'],
        [rawRequest(data, long), grpc.status.NOT_FOUND, 'FLTS_REQUEST_ROUTE_NOT_FOUND'],
      ];
      for (const [request, code, fltsCode] of cases) {
        const error = await callError(client, 'ModelInfer', request);
        expect({ code: error.code, fltsCode: error.metadata.get('flts-code') }).toEqual({ code, fltsCode: [fltsCode] });
        expect(error.details).toMatch(/'Z{40,100}\.\.\.'/);
        expect(error.details.length).toBeLessThan(2000);
      }
      expect((await callError(client, 'ModelReady', { name: long })).details).toMatch(/^FLTS_REQUEST_ROUTE_NOT_FOUND: No model named 'Z{100}\.\.\.'/);
    } finally {
      client.close();
      await grpcServer.close();
    }
  });
});

describe('serve > Open Inference Protocol over gRPC > API token', () => {
  it('asks ModelInfer for the bearer token of FLTS_SERVE_API_TOKEN in its metadata, and leaves health and metadata open', async () => {
    const source = naiveSource('run-a');
    source.promote('run-a');
    await withTestServer(source, { load: false }, async (server) => {
      const { grpcServer, client } = await startGrpc(server, 's3cret-token');
      try {
        await server.holder.start();
        const bearer = (token: string): grpc.Metadata => {
          const metadata = new grpc.Metadata();
          metadata.set('authorization', `Bearer ${token}`);
          return metadata;
        };
        const missing = await callError(client, 'ModelInfer', rawRequest(requestData(6)));
        expect({ code: missing.code, details: missing.details }).toEqual({ code: grpc.status.UNAUTHENTICATED, details: 'FLTS_AUTH_REQUIRED: gRPC ModelInfer needs an Authorization: Bearer <token> header.' });
        const wrong = await callError(client, 'ModelInfer', rawRequest(requestData(6)), bearer('guess'));
        expect({ code: wrong.code, details: wrong.details }).toEqual({ code: grpc.status.UNAUTHENTICATED, details: 'FLTS_AUTH_REQUIRED: The bearer token is not valid for gRPC ModelInfer.' });
        expect((await call(client, 'ModelInfer', rawRequest(requestData(6)), bearer('s3cret-token'))).model_version).toBe('run-a');
        // Refused on its metadata, as HTTP refuses before the body: the message is neither waited for nor read.
        expect(await rawCall(grpcServer.port, 'ModelInfer', null, false)).toEqual({
          status: String(grpc.status.UNAUTHENTICATED),
          code: 'FLTS_AUTH_REQUIRED',
          message: 'FLTS_AUTH_REQUIRED: gRPC ModelInfer needs an Authorization: Bearer <token> header.',
        });
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        expect(metrics).toMatch(/flts_http_requests_total\{route="\/inference.GRPCInferenceService\/ModelInfer",method="GRPC",status="401"\} 3/);
        expect(await call(client, 'ModelReady', { name: 'flts' })).toEqual({ ready: true });
      } finally {
        client.close();
        await grpcServer.close();
      }
    });
  });

  it('logs refused ModelInfer calls as HTTP logs refused requests: the first at once, the rest counted, never the token', async () => {
    const source = naiveSource('run-a');
    source.promote('run-a');
    await withTestServer(source, {}, async (server) => {
      const warnings: Array<Record<string, unknown>> = [];
      const logger: Logger = { ...silentLogger, warn: (fields, msg) => void warnings.push({ msg, ...fields }), child: () => logger };
      const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, logger, apiToken: 's3cret-token' });
      const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
      try {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', 'Bearer guess-1');
        expect((await callError(client, 'ModelInfer', rawRequest(requestData(6)), metadata)).code).toBe(grpc.status.UNAUTHENTICATED);
        expect((await callError(client, 'ModelInfer', rawRequest(requestData(6)))).code).toBe(grpc.status.UNAUTHENTICATED);
        const refusals = warnings.filter((line) => String(line.msg).startsWith('auth_'));
        expect(refusals).toEqual([{ msg: 'auth_refused', code: 'FLTS_AUTH_REQUIRED', reason: 'token_invalid', route: '/inference.GRPCInferenceService/ModelInfer', method: 'GRPC', remote: expect.stringContaining('127.0.0.1') }]);
      } finally {
        client.close();
        await grpcServer.close();
      }
      const repeated = warnings.filter((line) => line.msg === 'auth_refused_repeated');
      expect(repeated).toEqual([expect.objectContaining({ refused_count: 1, reasons: { token_missing: 1 }, routes: ['GRPC /inference.GRPCInferenceService/ModelInfer'] })]);
      expect(JSON.stringify(warnings)).not.toMatch(/guess|s3cret/);
    });
  });

  it('resets the stream of a ModelInfer refused for its token behind the status, so that its client stops sending the message, with and without the body budget', async () => {
    await withTestServer(naiveSource('run-a'), { load: false }, async (server) => {
      for (const bodyBudget of [undefined, createMeteredBodyBudget(1_000_000, 1_000_000, server.metrics)]) {
        const grpcServer = await startGrpcInferenceServer({ ...oipContext(server), bodyBudget }, { host: '127.0.0.1', port: 0, maxMessageBytes: 1024 * 1024, requestTimeoutMs: 5000, logger: silentLogger, apiToken: 's3cret-token' });
        const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
        session.on('error', () => {});
        try {
          for (const authorization of [undefined, 'Bearer guess']) {
            const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers', ...(authorization ? { authorization } : {}) });
            stream.on('error', () => {});
            stream.resume();
            const status = new Promise<string | undefined>((resolve) => {
              stream.on('response', (headers) => resolve(headers['flts-code'] as string | undefined));
              stream.on('close', () => resolve(undefined));
            });
            // A message announced at 512 KiB, a little of it sent: the refusal comes on the metadata.
            const prefix = Buffer.alloc(5);
            prefix.writeUInt32BE(512 * 1024, 1);
            stream.write(Buffer.concat([prefix, Buffer.alloc(100)]));
            expect(await status).toBe('FLTS_AUTH_REQUIRED');
            // The client has not ended its side: without the reset, the stream stays open for the rest of the message.
            stream.write(Buffer.alloc(16 * 1024));
            await vi.waitFor(() => expect(stream.closed).toBe(true), { timeout: 4000, interval: 10 });
            expect(stream.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
          }
          if (bodyBudget) await vi.waitFor(() => expect(bodyBudget.bytesInFlight).toBe(0), { timeout: 4000, interval: 10 });
        } finally {
          session.destroy();
          await grpcServer.close(0);
        }
      }
    });
  });
});

/**
 * Opens one ModelInfer call whose HEADERS carry `fields` (HPACK literals, as a hand-written client may repeat a field
 * Node's own client refuses to) and an empty message, on a connection of its own; resolves once its answer ends.
 */
function callWithHeaderFields(port: number, fields: Array<[string, string]>): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 9 && received.length >= 9 + received.readUIntBE(0, 3)) {
        const [type, flags, streamId] = [received[3], received[4], received.readUInt32BE(5) & 0x7fffffff];
        received = received.subarray(9 + received.readUIntBE(0, 3));
        if (type === 4 && !(flags & 1)) socket.write(http2Frame(4, 1, 0, Buffer.alloc(0)));
        // The trailers (or a trailers-only answer) end the stream, or a reset does.
        if (streamId === 1 && ((type === 1 && flags & 1) || type === 3)) {
          socket.destroy();
          resolve();
        }
      }
    });
    socket.write(Buffer.concat([CLIENT_PREFACE, callHeaders(1, '/inference.GRPCInferenceService/ModelInfer', fields), http2Frame(0, 0x1, 1, grpcFrame(Buffer.alloc(0)))]));
  });
}

describe('serve > Open Inference Protocol over gRPC > several authorization entries', () => {
  const server = useTestServer();

  it('refuses a ModelInfer call with more than one authorization entry (FLTS_REQUEST_INVALID, counted 400), whichever comes first, as HTTP refuses two Authorization headers', async () => {
    const { grpcServer, client } = await startGrpc(server, 's3cret-token');
    try {
      const answered = async (fields: Array<[string, string]>): Promise<Record<string, number>> => {
        const before = await grpcRequestCounts(server);
        await callWithHeaderFields(grpcServer.port, fields);
        return countsAdded(before, await grpcRequestCounts(server));
      };
      const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`];
      // One entry passes the token check (then the empty message names no model served: 404).
      expect(await answered([bearer('s3cret-token')])).toEqual({ 'ModelInfer 404': 1 });
      // Node kept the first entry alone: the right token first let the call in, whatever a proxy read in the second.
      for (const tokens of [['s3cret-token', 'other'], ['other', 's3cret-token'], ['s3cret-token', 's3cret-token']]) {
        expect({ tokens, counted: await answered(tokens.map(bearer)) }).toEqual({ tokens, counted: { 'ModelInfer 400': 1 } });
      }
      const refused = await rawCall(grpcServer.port, 'ModelInfer', null, false, { authorization: 'Bearer s3cret-token, Bearer other' });
      expect(refused).toMatchObject({ status: String(grpc.status.UNAUTHENTICATED), code: 'FLTS_AUTH_REQUIRED' });
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
    } finally {
      client.close();
      await grpcServer.close();
    }
  });
});

describe('serve > Open Inference Protocol over gRPC > hot reload', () => {
  const startServer = serverPerTest();
  let grpcServer: GrpcInferenceServer | undefined;
  let client: Client | undefined;
  afterEach(async () => {
    client?.close();
    await grpcServer?.close();
  });

  it('swaps to a newly promoted run while calls keep flowing, none failing', async () => {
    const source = naiveSource('run-a', 'run-b');
    source.promote('run-a');
    const server = await startServer(source, { holder: { pollIntervalMs: 10 } });
    ({ grpcServer, client } = await startGrpc(server));
    const outcomes: string[] = [];
    const versions = new Set<string>();
    let promoted = false;
    let stop = false;
    const caller = async (): Promise<void> => {
      while (!stop) {
        try {
          const response = await call(client as Client, 'ModelInfer', rawRequest(requestData(6)));
          versions.add(response.model_version);
          outcomes.push('ok');
          if (promoted && response.model_version === 'run-b' && outcomes.length > 50) stop = true;
        } catch (error) {
          outcomes.push((error as grpc.ServiceError).details);
        }
      }
    };
    const callers = Array.from({ length: 4 }, caller);
    await vi.waitFor(() => expect(outcomes.length).toBeGreaterThan(20), { timeout: 10_000, interval: 5 });
    source.promote('run-b');
    promoted = true;
    await Promise.all(callers);
    expect(outcomes.filter((outcome) => outcome !== 'ok')).toEqual([]);
    expect([...versions].sort()).toEqual(['run-a', 'run-b']);
  });
});

/** A gRPC call sent by hand over HTTP/2: `body` as the client writes it, and whether it then ends its side. */
function rawCall(port: number, method: string, body: Buffer | null, end: boolean, headers: http2.OutgoingHttpHeaders = {}): Promise<{ status: string; code: string | undefined; message: string; http?: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': `/inference.GRPCInferenceService/${method}`, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    // The HTTP status, named only when it is not 200.
    let http: string | undefined;
    const answered = (headers: http2.IncomingHttpHeaders): void => {
      if (headers[':status'] !== undefined && String(headers[':status']) !== '200') http = String(headers[':status']);
      if (headers['grpc-status'] === undefined) return;
      resolve({ status: String(headers['grpc-status']), code: headers['flts-code'] as string | undefined, message: decodeURIComponent(String(headers['grpc-message'])), ...(http ? { http } : {}) });
      session.destroy();
    };
    stream.on('response', answered);
    stream.on('trailers', answered);
    stream.on('data', () => {});
    stream.on('error', reject);
    if (body) stream.write(body);
    if (end) stream.end();
  });
}

/** flts_http_requests_total of the gRPC port, by method (its name only) and status: `ModelInfer 499`. */
async function grpcRequestCounts(server: RunningServer): Promise<Record<string, number>> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const lines = [...metrics.matchAll(/^flts_http_requests_total\{route="([^"]+)",method="GRPC",status="(\d+)"\} (\d+)$/gm)];
  return Object.fromEntries(lines.map(([, route, status, count]) => [`${route.replace('/inference.GRPCInferenceService/', '')} ${status}`, Number(count)]));
}

/** The counts that moved from `before` to `after`, by how much. */
function countsAdded(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).filter(([key, count]) => count !== (before[key] ?? 0)).map(([key, count]) => [key, count - (before[key] ?? 0)]));
}

/** Of flts_http_request_duration_seconds for the gRPC port's methods (by name): `ModelInfer count` and `ModelInfer <=0.025`. */
async function grpcDurationCounts(server: RunningServer): Promise<Record<string, number>> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const route = /route="\/inference\.GRPCInferenceService\/([^"]+)"/.source;
  const counts = [...metrics.matchAll(new RegExp(`^flts_http_request_duration_seconds_count\\{${route}\\} (\\d+)$`, 'gm'))].map(([, method, count]) => [`${method} count`, Number(count)]);
  const fast = [...metrics.matchAll(new RegExp(`^flts_http_request_duration_seconds_bucket\\{le="0.025",${route}\\} (\\d+)$`, 'gm'))].map(([, method, count]) => [`${method} <=0.025`, Number(count)]);
  return Object.fromEntries([...counts, ...fast]);
}

/** An HTTP/2 connection to `port` whose `ping()` resolves once the server has read every frame sent before it. */
function rawSession(port: number): { session: http2.ClientHttp2Session; ping: () => Promise<void>; open: (method: string, body?: Buffer) => http2.ClientHttp2Stream } {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  // A ping asked before the session is connected is cancelled.
  const connected = new Promise((resolve) => session.once('connect', resolve));
  return {
    session,
    ping: () => connected.then(() => new Promise((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())))),
    open: (method, body) => {
      const stream = session.request({ ':method': 'POST', ':path': `/inference.GRPCInferenceService/${method}`, 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => {});
      stream.on('data', () => {});
      if (body) stream.write(body);
      return stream;
    },
  };
}

/**
 * A client that writes its HTTP/2 frames by hand on one connection, as Node's own client ends a stream's request before
 * it resets it: a call's HEADERS and DATA, a reset (RST_STREAM CANCEL, as a grpc-js client cancels), and a PING whose
 * ACK says the server has read every frame sent before it.
 */
function handWrittenClient(port: number): { socket: net.Socket; open: (streamId: number, method: string, body?: Buffer, extra?: Array<[string, string]>) => void; cancel: (streamId: number) => void; ping: () => Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let received = Buffer.alloc(0);
  let acked: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    while (received.length >= 9 && received.length >= 9 + received.readUIntBE(0, 3)) {
      const [type, flags] = [received[3], received[4]];
      received = received.subarray(9 + received.readUIntBE(0, 3));
      if (type === 4 && !(flags & 1)) socket.write(http2Frame(4, 1, 0, Buffer.alloc(0)));
      if (type === 6 && flags & 1) acked?.();
    }
  });
  socket.write(CLIENT_PREFACE);
  return {
    socket,
    open: (streamId, method, body, extra = []) => {
      const frames = [callHeaders(streamId, `/inference.GRPCInferenceService/${method}`, extra)];
      if (body) frames.push(http2Frame(0, 0, streamId, body));
      socket.write(Buffer.concat(frames));
    },
    cancel: (streamId) => socket.write(http2Frame(3, 0, streamId, Buffer.from([0, 0, 0, http2.constants.NGHTTP2_CANCEL]))),
    ping: () =>
      new Promise((resolve) => {
        acked = resolve;
        socket.write(http2Frame(6, 0, 0, Buffer.alloc(8)));
      }),
  };
}

/** flts_grpc_http2_refusals_total by what. */
async function http2Refusals(server: RunningServer): Promise<Record<string, number>> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  return Object.fromEntries([...metrics.matchAll(/^flts_grpc_http2_refusals_total\{what="([^"]+)"\} (\d+)$/gm)].map(([, what, count]) => [what, Number(count)]));
}

/** A logger that keeps its warnings. */
function warningsLogger(): { logger: Logger; warnings: Array<{ fields: Record<string, unknown>; msg?: string }> } {
  const warnings: Array<{ fields: Record<string, unknown>; msg?: string }> = [];
  const logger: Logger = { ...silentLogger, warn: (fields, msg) => void warnings.push({ fields: fields as Record<string, unknown>, msg }), child: () => logger };
  return { logger, warnings };
}

/** An admission that holds the next forecast after `hold()` until released, and gives the signal of its call once its handler runs. */
function holdingAdmission(): { admission: ForecastAdmission; hold: () => { running: Promise<AbortSignal | undefined>; release: () => void } } {
  const inner = createForecastAdmission({ maxRows: 0 });
  let held: { entered: (signal: AbortSignal | undefined) => void; gate: Promise<void> } | undefined;
  return {
    admission: {
      ...inner,
      run: async (route, rows, signal, work) => {
        const current = held;
        held = undefined;
        if (current) {
          current.entered(signal);
          await current.gate;
        }
        return inner.run(route, rows, signal, work);
      },
    },
    hold: () => {
      let release = (): void => {};
      const running = new Promise<AbortSignal | undefined>((entered) => {
        held = { entered, gate: new Promise<void>((resolve) => (release = resolve)) };
      });
      return { running, release: () => release() };
    },
  };
}

/** A server as startGrpc starts it, whose next forecast after `hold()` is held (holdingAdmission), with a 5 s request timeout. */
async function startHoldingGrpc(server: RunningServer): Promise<{ grpcServer: GrpcInferenceServer; client: Client; hold: ReturnType<typeof holdingAdmission>['hold'] }> {
  const { admission, hold } = holdingAdmission();
  const grpcServer = await startGrpcInferenceServer(
    { ...oipContext(server), admission },
    { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, requestTimeoutMs: 5000, logger: silentLogger },
  );
  return { grpcServer, client: createInferenceClient(`127.0.0.1:${grpcServer.port}`), hold };
}

/** A gRPC length-prefixed message: an uncompressed flag, the length it declares, then `payload`. */
/** ServerLive on `session`, resolving with the grpc-status of its answer; with `end` false the call stays open (its message never ends). */
function serverLive(session: http2.ClientHttp2Session, end = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
    stream.on('error', reject);
    stream.resume();
    if (end) stream.end(grpcFrame(Buffer.alloc(0)));
    else stream.write(grpcFrame(Buffer.alloc(0)));
  });
}

function grpcFrame(payload: Buffer, declaredLength = payload.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([prefix, payload]);
}

/** An HTTP/2 frame as a client that speaks the protocol by hand writes it. */
function http2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** A client connection's first bytes: the preface and an empty SETTINGS frame. */
const CLIENT_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), http2Frame(4, 0, 0, Buffer.alloc(0))]);

/** An HPACK literal, never indexed nor Huffman-coded. */
function hpackLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

/** The HEADERS frame (END_HEADERS) that opens a gRPC call of `path` on `streamId`, with `extra` fields after the usual ones. */
function callHeaders(streamId: number, path: string, extra: ReadonlyArray<readonly [string, string]> = []): Buffer {
  const fields = [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'flts'], ['content-type', 'application/grpc'], ['te', 'trailers'], ...extra];
  return http2Frame(1, 0x4, streamId, Buffer.concat(fields.map(([name, value]) => hpackLiteral(name, value))));
}

/** A TCP connection to `port` that reads all it is sent; resolves when the server closes it. */
function rawConnection(port: number): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.resume();
  return { socket, closed: new Promise((resolve) => socket.on('close', () => resolve())) };
}

describe('serve > Open Inference Protocol over gRPC > hostile clients', () => {
  const server = useTestServer();

  it('answers a message protobuf cannot decode INVALID_ARGUMENT with the flts code, not INTERNAL', async () => {
    const { grpcServer, client } = await startGrpc(server);
    try {
      for (const [method, bytes] of [
        ['ModelInfer', [0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]],
        ['ServerLive', [0x0a, 0x50, 0x01]],
      ] as const) {
        const answer = await rawCall(grpcServer.port, method, grpcFrame(Buffer.from(bytes)), true);
        expect(answer).toMatchObject({ status: String(grpc.status.INVALID_ARGUMENT), code: 'FLTS_REQUEST_INVALID' });
        expect(answer.message).toMatch(new RegExp(`^FLTS_REQUEST_INVALID: The request is not a valid ${method}Request protobuf message \\(.+\\)\\.$`));
      }
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/flts_http_requests_total\{route="\/inference.GRPCInferenceService\/ServerLive",method="GRPC",status="400"\} 1/);
    } finally {
      client.close();
      await grpcServer.close();
    }
  });

  it('refuses a parameter flts reads sent with a value this protocol file lacks (Triton\'s uint64_param, double_param) or none, rather than forecasting without it', async () => {
    const { grpcServer, client } = await startGrpc(server);
    /** A ModelInferRequest parameters entry (field 4) of `name`, its InferParameter's bytes as given. */
    const entry = (name: string, parameter: Buffer): Buffer => {
      const body = Buffer.concat([Buffer.from([0x0a, name.length]), Buffer.from(name), Buffer.from([0x12, parameter.length]), parameter]);
      return Buffer.concat([Buffer.from([0x22, body.length]), body]);
    };
    const double = Buffer.alloc(9);
    double[0] = 0x21;
    double.writeDoubleLE(3, 1);
    const uint64 = Buffer.from([0x28, 3]);
    const request = inferenceService().ModelInfer.requestSerialize(rawRequest(requestData(12)));
    try {
      for (const parameter of [uint64, double, Buffer.alloc(0)]) {
        const answer = await rawCall(grpcServer.port, 'ModelInfer', grpcFrame(Buffer.concat([request, entry('inference_length', parameter)])), true);
        expect({ parameter: [...parameter], answer }).toEqual({
          parameter: [...parameter],
          answer: {
            status: String(grpc.status.INVALID_ARGUMENT),
            code: 'FLTS_REQUEST_INVALID',
            message: "FLTS_REQUEST_INVALID: Parameter 'inference_length' carries no value this server reads: give it as int64_param, string_param or bool_param (a double_param or uint64_param is not read).",
          },
        });
      }
      // One flts does not read is ignored whatever it carries, as on HTTP: a Triton client sends its priority as uint64_param.
      expect(await rawCall(grpcServer.port, 'ModelInfer', grpcFrame(Buffer.concat([request, entry('priority', uint64)])), true)).toMatchObject({ status: String(grpc.status.OK) });
    } finally {
      client.close();
      await grpcServer.close();
    }
  });

  it('refuses a ModelInfer over the HTTP route\'s bounds (parameters, inputs, shape) from its bytes, before decoding it, as HTTP refuses the body', async () => {
    const { grpcServer, client } = await startGrpc(server);
    const data = requestData(6);
    const many = (count: number): Record<string, { string_param: string }> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}`, { string_param: 'x' }]));
    const withInput = (index: number, change: object): object => ({ ...rawRequest(data), inputs: rawRequest(data).inputs.map((input, i) => (i === index ? { ...input, ...change } : input)) });
    try {
      // The count in the reason is the message's, read before decoding: a decoded map would have been checked by the schema, which names no count.
      const cases: Array<[object, string]> = [
        [{ ...rawRequest(data), parameters: many(65) }, 'parameters must NOT have more than 64 properties (the message has 65)'],
        [withInput(1, { parameters: many(100) }), 'inputs/1/parameters must NOT have more than 64 properties (the message has 100)'],
        [{ ...rawRequest(data), outputs: [{ name: 'down', parameters: many(65) }] }, 'outputs/0/parameters must NOT have more than 64 properties (the message has 65)'],
        [withInput(2, { shape: [6, 1, 1, 1, 1, 1, 1, 1, 1] }), 'inputs/2/shape must NOT have more than 8 items (the message has 9)'],
        [{ ...rawRequest(data), raw_input_contents: [], inputs: Array.from({ length: 1025 }, () => ({ name: 'x', datatype: 'FP64', shape: [1] })) }, 'inputs must NOT have more than 1024 items (the message has 1025)'],
      ];
      for (const [request, reason] of cases) {
        const error = await callError(client, 'ModelInfer', request);
        expect({ code: error.code, details: error.details, flts: error.metadata.get('flts-code') }).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: `FLTS_REQUEST_INVALID: Invalid request: ${reason}.`, flts: ['FLTS_REQUEST_INVALID'] });
      }
      // At the bound a message is served, and HTTP refuses one parameter more with the same reason.
      expect((await call(client, 'ModelInfer', { ...rawRequest(data), parameters: many(64) })).model_version).toBe('run-a');
      const inputs = [
        { name: 'timestamp', datatype: 'BYTES', shape: [6], data: data.ts },
        { name: 'down', datatype: 'FP64', shape: [6], data: data.down },
        { name: 'up', datatype: 'FP64', shape: [6], data: data.up },
      ];
      const http = await postJson(`${server.url}/v2/models/flts/infer`, { inputs, parameters: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, 'x'])) });
      expect({ status: http.status, code: http.json.code, message: http.json.message }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID', message: 'Invalid request: body/parameters must NOT have more than 64 properties.' });
      expect((await postJson(`${server.url}/v2/models/flts/infer`, { inputs, parameters: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`p${i}`, 'x'])) })).status).toBe(200);
    } finally {
      client.close();
      await grpcServer.close();
    }
  });

  it('echoes an id of at most 256 characters, and refuses a longer one INVALID_ARGUMENT with the HTTP route\'s reason, undecoded when far over', async () => {
    const { grpcServer, client } = await startGrpc(server);
    const data = requestData(6);
    try {
      expect((await call(client, 'ModelInfer', { ...rawRequest(data), id: '😀'.repeat(256) })).id).toBe('😀'.repeat(256));
      // proto3's id has no presence: "" and none are the same message, answered "" (HTTP echoes a JSON "" it was given).
      expect((await call(client, 'ModelInfer', { ...rawRequest(data), id: '' })).id).toBe('');
      // 257 characters are counted once decoded; 60,000 are refused from the message's bytes.
      for (const id of ['i'.repeat(257), 'i'.repeat(60_000)]) {
        const error = await callError(client, 'ModelInfer', { ...rawRequest(data), id });
        expect({ code: error.code, details: error.details, flts: error.metadata.get('flts-code') }).toEqual({
          code: grpc.status.INVALID_ARGUMENT,
          details: 'FLTS_REQUEST_INVALID: Invalid request: id must NOT have more than 256 characters.',
          flts: ['FLTS_REQUEST_INVALID'],
        });
      }
    } finally {
      client.close();
      await grpcServer.close();
    }
  });

  it('counts the calls to methods it does not implement, which grpc-js answers UNIMPLEMENTED itself, as 501s of their method', async () => {
    const { grpcServer, client } = await startGrpc(server);
    try {
      for (const method of ['RepositoryModelLoad', 'RepositoryModelUnload', 'RepositoryModelLoad']) {
        expect((await callError(client, method, { model_name: 'flts' })).code).toBe(grpc.status.UNIMPLEMENTED);
      }
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/flts_http_requests_total\{route="\/inference.GRPCInferenceService\/RepositoryModelLoad",method="GRPC",status="501"\} 2\n/);
      expect(metrics).toMatch(/flts_http_requests_total\{route="\/inference.GRPCInferenceService\/RepositoryModelUnload",method="GRPC",status="501"\} 1\n/);
    } finally {
      client.close();
      await grpcServer.close();
    }
  });

  it('answers the calls grpc-js refuses before any handler with the status of a client mistake and an flts code, and counts them', async () => {
    const grpcServer = await startGrpcInferenceServer(
      oipContext(server),
      { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, requestTimeoutMs: 5000, logger: silentLogger },
    );
    const counted = (): Promise<Record<string, number>> => grpcRequestCounts(server);
    const before = await counted();
    const empty = grpcFrame(Buffer.alloc(0));
    try {
      // grpc-js answers these itself, below every interceptor: INTERNAL and uncoded in its own words.
      for (const timeout of ['1x', 'x', '']) {
        expect(await rawCall(grpcServer.port, 'ServerLive', empty, true, { 'grpc-timeout': timeout })).toEqual({
          status: String(grpc.status.INVALID_ARGUMENT),
          code: 'FLTS_REQUEST_INVALID',
          message: `FLTS_REQUEST_INVALID: Invalid grpc-timeout value "${timeout}"; a grpc-timeout is 1 to 8 digits and a unit (H, M, S, m, u or n).`,
        });
      }
      expect(await rawCall(grpcServer.port, 'ServerLive', Buffer.from([1, 0, 0, 0, 2, 1, 2]), true, { 'grpc-encoding': 'gzip' })).toEqual({
        status: String(grpc.status.INVALID_ARGUMENT),
        code: 'FLTS_REQUEST_INVALID',
        message: 'FLTS_REQUEST_INVALID: The request message does not decompress with the grpc-encoding the call names.',
      });
      expect(await rawCall(grpcServer.port, 'ModelInfer', grpcFrame(Buffer.alloc(4096, 0x0a)), true)).toEqual({
        status: String(grpc.status.RESOURCE_EXHAUSTED),
        code: 'FLTS_REQUEST_TOO_LARGE',
        message: 'FLTS_REQUEST_TOO_LARGE: Received message larger than max (4096 vs 1024).',
      });
      expect(await rawCall(grpcServer.port, 'ModelInfer', Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]), false)).toMatchObject({ status: String(grpc.status.RESOURCE_EXHAUSTED), code: 'FLTS_REQUEST_TOO_LARGE' });
      for (const method of ['NoSuchMethod', 'NoSuchMethod2']) {
        expect(await rawCall(grpcServer.port, method, empty, true)).toEqual({
          status: String(grpc.status.UNIMPLEMENTED),
          code: 'FLTS_REQUEST_ROUTE_NOT_FOUND',
          message: `FLTS_REQUEST_ROUTE_NOT_FOUND: The server does not implement the method /inference.GRPCInferenceService/${method}.`,
        });
      }
      // A call that ends inside its message's length prefix, and one with two messages (these methods take one).
      expect(await rawCall(grpcServer.port, 'ServerLive', Buffer.from([0, 0, 0]), true)).toEqual({
        status: String(grpc.status.INVALID_ARGUMENT),
        code: 'FLTS_REQUEST_INVALID',
        message: 'FLTS_REQUEST_INVALID: The call ended without a whole request message.',
      });
      expect(await rawCall(grpcServer.port, 'ServerLive', Buffer.concat([empty, empty]), true)).toMatchObject({ status: String(grpc.status.INVALID_ARGUMENT), code: 'FLTS_REQUEST_INVALID' });
      // Refused so before grpc-js finds the method unimplemented: counted once, as the 400 it is answered.
      expect(await rawCall(grpcServer.port, 'RepositoryModelLoad', Buffer.from([0, 0, 0]), true)).toMatchObject({ status: String(grpc.status.INVALID_ARGUMENT), code: 'FLTS_REQUEST_INVALID' });
      expect(await rawCall(grpcServer.port, 'ServerLive', Buffer.from([1, 0, 0, 0, 0]), true, { 'grpc-encoding': 'zz' })).toEqual({
        status: String(grpc.status.UNIMPLEMENTED),
        code: 'FLTS_REQUEST_INVALID',
        message: 'FLTS_REQUEST_INVALID: Received message compressed with unsupported encoding "zz"; send it uncompressed, or with gzip or deflate.',
      });
      // A call that is not application/grpc: grpc-js answered a bare HTTP 415, which its clients read as UNKNOWN.
      for (const [contentType, named] of [['application/json', "'application/json'"], [undefined, 'missing']]) {
        const headers: http2.OutgoingHttpHeaders = contentType ? { 'content-type': contentType } : { 'content-type': undefined };
        expect(await rawCall(grpcServer.port, 'ModelInfer', empty, true, headers)).toEqual({
          status: String(grpc.status.INVALID_ARGUMENT),
          code: 'FLTS_REQUEST_INVALID',
          message: `FLTS_REQUEST_INVALID: The call's content-type is ${named}; a gRPC call is application/grpc (or application/grpc+proto).`,
          http: '415',
        });
      }
      const added = countsAdded(before, await counted());
      // 400s: three grpc-timeouts, the message that does not decompress, the call without a whole message, the one with two,
      // and the unknown grpc-encoding, a client's mistake though its status is UNIMPLEMENTED (a 5xx, it fed the error ratio alert).
      expect(added).toEqual({ 'ServerLive 400': 7, 'RepositoryModelLoad 400': 1, 'ModelInfer 400': 2, 'ModelInfer 413': 2, 'unmatched 501': 2 });
      const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      client.close();
    } finally {
      await grpcServer.close(0);
    }
  });

  it('holds a call to a grpc-timeout of the protocol\'s form however far off, refuses one of another form, and ends one of 0 at once, coded', async () => {
    const grpcServer = await startGrpcInferenceServer(
      oipContext(server),
      { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, requestTimeoutMs: 1000, logger: silentLogger },
    );
    const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
    const warnings: string[] = [];
    const onWarning = (warning: Error): number => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const empty = grpcFrame(Buffer.alloc(0));
    try {
      // A grpc-js client's deadline 30 days off, sent as 2592000S, and the longest timeouts: grpc-js's 32-bit
      // milliseconds wrapped them round (most often below 0), so such calls ended DEADLINE_EXCEEDED at once.
      const deadline = Date.now() + 30 * 24 * 3600 * 1000;
      const live = await new Promise((resolve, reject) => (client.ServerLive as Function)({}, { deadline }, (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response))));
      expect(live).toEqual({ live: true });
      for (const timeout of ['99999999H', '99999999M', '99999999S', '35792M', '99999999m', '99999999u', '99999999n', '00000005S']) {
        expect({ timeout, ...(await rawCall(grpcServer.port, 'ServerLive', empty, true, { 'grpc-timeout': timeout })) }).toMatchObject({ timeout, status: String(grpc.status.OK) });
      }
      // A call whose message never comes ends at the request timeout, as one without a deadline.
      const stalled = await Promise.all(['2592000S', '99999999M', '35792M', '99999999S'].map((timeout) => rawCall(grpcServer.port, 'ModelInfer', null, false, { 'grpc-timeout': timeout })));
      expect(stalled).toEqual(Array(4).fill({
        status: String(grpc.status.DEADLINE_EXCEEDED),
        code: 'FLTS_REQUEST_INVALID',
        message: 'FLTS_REQUEST_INVALID: The request message did not arrive in time (a call is given 1000 ms to send it).',
      }));
      // Values grpc-js found a timeout in (the last eight of nine digits, digits and a unit among other text).
      for (const timeout of ['123456789S', 'x5S', '5Sx', '1 S', '-1S', '1S, 2S']) {
        expect(await rawCall(grpcServer.port, 'ServerLive', empty, true, { 'grpc-timeout': timeout })).toEqual({
          status: String(grpc.status.INVALID_ARGUMENT),
          code: 'FLTS_REQUEST_INVALID',
          message: `FLTS_REQUEST_INVALID: Invalid grpc-timeout value "${timeout}"; a grpc-timeout is 1 to 8 digits and a unit (H, M, S, m, u or n).`,
        });
      }
      // A deadline of 0 (or below a millisecond) has passed when the call arrives; one that passes while the call waits ends it then.
      for (const timeout of ['0n', '00000000S', '1n', '50m']) {
        expect(await rawCall(grpcServer.port, 'ModelInfer', null, false, { 'grpc-timeout': timeout })).toEqual({
          status: String(grpc.status.DEADLINE_EXCEEDED),
          code: 'FLTS_REQUEST_CANCELLED',
          message: `FLTS_REQUEST_CANCELLED: The call's deadline (its grpc-timeout, ${timeout}) passed before its answer was sent.`,
        });
      }
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      client.close();
      await grpcServer.close(0);
    }
  });

  it('counts a call whose deadline passes before its handler runs once, as a cancel, and one whose handler was running once, by its handler', async () => {
    const { grpcServer, client, hold } = await startHoldingGrpc(server);
    const before = await grpcRequestCounts(server);
    let release = (): void => {};
    try {
      // Passed on arrival (0), or while the message is awaited (50 ms): no handler ever saw these calls.
      for (const [method, timeout] of [['ModelInfer', '0n'], ['ModelInfer', '00000000S'], ['ModelInfer', '50m'], ['ServerLive', '0n']]) {
        expect(await rawCall(grpcServer.port, method, null, false, { 'grpc-timeout': timeout })).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED), code: 'FLTS_REQUEST_CANCELLED' });
      }
      // A whole call whose deadline passes while its handler waits for the forecast: grpc-js answers it, the handler counts it.
      const held = hold();
      release = held.release;
      const message = grpcFrame(inferenceService().ModelInfer.requestSerialize(rawRequest(requestData(6))));
      const answer = rawCall(grpcServer.port, 'ModelInfer', message, true, { 'grpc-timeout': '3S' });
      // On a host too busy to start the handler within the deadline, grpc-js answers first and the call counts as above.
      await Promise.race([held.running, answer]);
      expect(await answer).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED), code: 'FLTS_REQUEST_CANCELLED' });
      release();
      await vi.waitFor(async () => expect((await grpcRequestCounts(server))['ModelInfer 499'] ?? 0).toBe((before['ModelInfer 499'] ?? 0) + 4), { interval: 10 });
      // A call answered by its handler, and one its handler refuses.
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      expect((await callError(client, 'ModelInfer', { model_name: 'flts', inputs: [] })).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(countsAdded(before, await grpcRequestCounts(server))).toEqual({ 'ModelInfer 499': 4, 'ServerLive 499': 1, 'ServerLive 200': 1, 'ModelInfer 400': 1 });
    } finally {
      release();
      client.close();
      await grpcServer.close(0);
    }
  });

  it('counts a call its client resets or leaves before its handler runs once, as a 499 with no latency, and one whose handler ran by its handler only', async () => {
    const { grpcServer, client, hold } = await startHoldingGrpc(server);
    const before = await grpcRequestCounts(server);
    const durationsBefore = await grpcDurationCounts(server);
    const first = handWrittenClient(grpcServer.port);
    const second = handWrittenClient(grpcServer.port);
    let release = (): void => {};
    try {
      const message = grpcFrame(inferenceService().ModelInfer.requestSerialize(rawRequest(requestData(6))));
      // Reset CANCEL as a grpc-js client cancels: before the message, inside it, and after a whole one not yet ended.
      first.open(1, 'ModelInfer');
      first.open(3, 'ModelInfer', message.subarray(0, 10));
      first.open(5, 'ServerLive', grpcFrame(Buffer.alloc(0)));
      await first.ping();
      for (const streamId of [1, 3, 5]) first.cancel(streamId);
      // A call whose client closes its connection under it.
      second.open(1, 'ModelInfer', message.subarray(0, 10));
      await second.ping();
      second.socket.destroy();
      // Answered by grpc-js (its deadline of 0), then closed: counted once, for its answer.
      expect(await rawCall(grpcServer.port, 'ServerLive', null, false, { 'grpc-timeout': '0n' })).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED) });
      // A grpc-js client that cancels while the handler runs: the handler counts the cancel, with its time.
      const held = hold();
      release = held.release;
      let pending!: grpc.ClientUnaryCall;
      const cancelled = new Promise<grpc.ServiceError>((resolve) => {
        pending = (client.ModelInfer as Function)(rawRequest(requestData(6)), (error: grpc.ServiceError) => resolve(error));
      });
      const signal = await held.running;
      pending.cancel();
      expect((await cancelled).code).toBe(grpc.status.CANCELLED);
      // Released once the server has seen the cancel, so the handler answers it (a 200 it would count otherwise).
      if (signal && !signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      release();
      await vi.waitFor(async () => expect(countsAdded(before, await grpcRequestCounts(server))).toEqual({ 'ModelInfer 499': 4, 'ServerLive 499': 2 }), { interval: 10 });
      // A call after them, so a count that came late would be seen.
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      expect(countsAdded(before, await grpcRequestCounts(server))).toEqual({ 'ModelInfer 499': 4, 'ServerLive 499': 2, 'ServerLive 200': 1 });
      // Only the answered calls have a latency: the handler's cancel, grpc-js's deadline and the 200.
      const durations = countsAdded(durationsBefore, await grpcDurationCounts(server));
      expect({ ModelInfer: durations['ModelInfer count'], ServerLive: durations['ServerLive count'] }).toEqual({ ModelInfer: 1, ServerLive: 2 });
    } finally {
      release();
      first.socket.destroy();
      second.socket.destroy();
      client.close();
      await grpcServer.close(0);
    }
  });

  it('observes a call grpc-js answers itself with the time from its arrival to its answer, not 0 s', async () => {
    const grpcServer = await startGrpcInferenceServer(
      oipContext(server),
      { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, requestTimeoutMs: 5000, logger: silentLogger },
    );
    const before = await grpcDurationCounts(server);
    const { session, ping, open } = rawSession(grpcServer.port);
    try {
      const large = open('ModelInfer');
      const refused = new Promise<string>((resolve) => large.on('response', (headers) => resolve(String(headers['grpc-status']))));
      await ping();
      // The large message is sent once a deadline of 50 ms has passed on the server: the call arrived that long before.
      expect(await rawCall(grpcServer.port, 'ServerLive', null, false, { 'grpc-timeout': '50m' })).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED) });
      large.end(grpcFrame(Buffer.alloc(4096, 0x0a)));
      expect(await refused).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
      // Observed once each, both slower than 25 ms (0 s put them in every bucket).
      expect(countsAdded(before, await grpcDurationCounts(server))).toEqual({ 'ModelInfer count': 1, 'ServerLive count': 1 });
    } finally {
      session.destroy();
      await grpcServer.close(0);
    }
  });

  it('resets only the call whose metadata has more entries than it takes, and closes only the connection of a header block past HTTP/2\'s bounds', async () => {
    const { grpcServer, client } = await startGrpc(server);
    const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`, { maxSendHeaderBlockLength: 1 << 30 });
    session.on('error', () => {});
    const goaway = new Promise((resolve) => session.once('goaway', resolve));
    const closed = new Promise((resolve) => session.once('close', resolve));
    const before = await http2Refusals(server);
    try {
      // Node's http2 takes 128 header entries (pseudo-headers and grpc-js's own among them): beyond, the call's stream
      // is reset ENHANCE_YOUR_CALM, which clients read as RESOURCE_EXHAUSTED; the call beside it on the connection is answered.
      const crowded = new grpc.Metadata();
      for (let i = 0; i < 200; i++) crowded.set(`entry-${i}`, 'x');
      const [refused, beside] = await Promise.all([callError(client, 'ServerLive', {}, crowded), call(client, 'ServerLive', {})]);
      expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(beside).toEqual({ live: true });
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      // Counted once a call after it on the connection shows its stream id left out.
      expect(countsAdded(before, await http2Refusals(server))).toEqual({ stream: 1 });
      // One header of 200 kB is past what HPACK decodes (64 kB a field): an error of the whole connection, closed with GOAWAY.
      const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers', huge: 'x'.repeat(200_000) });
      stream.on('error', () => {});
      stream.end(grpcFrame(Buffer.alloc(0)));
      expect(await goaway).toBe(http2.constants.NGHTTP2_COMPRESSION_ERROR);
      await closed;
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      await vi.waitFor(async () => expect(countsAdded(before, await http2Refusals(server))).toEqual({ stream: 1, connection: 1 }), { interval: 10 });
    } finally {
      session.destroy();
      client.close();
      await grpcServer.close(0);
    }
  });

  it('counts the calls Node\'s HTTP/2 layer resets before grpc-js sees them, as the next call arrives or the connection closes, and logs them once', async () => {
    const { logger, warnings } = warningsLogger();
    const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, logger });
    const before = await http2Refusals(server);
    const client = handWrittenClient(grpcServer.port);
    const crowded = Array.from({ length: 200 }, (_, i): [string, string] => [`entry-${i}`, 'x']);
    try {
      client.open(1, 'ServerLive');
      // Reset ENHANCE_YOUR_CALM (more entries than Node takes) and PROTOCOL_ERROR (a header HTTP/2 forbids): no JavaScript hears of either.
      client.open(3, 'ServerLive', undefined, crowded);
      client.open(5, 'ServerLive', undefined, [['connection', 'close']]);
      await client.ping();
      expect(countsAdded(before, await http2Refusals(server))).toEqual({});
      // The next call's id says two were left out.
      client.open(7, 'ServerLive');
      await client.ping();
      expect(countsAdded(before, await http2Refusals(server))).toEqual({ stream: 2 });
      // One after the last call, told by the connection as it closes.
      client.open(9, 'ServerLive', undefined, crowded);
      await client.ping();
      client.socket.end();
      await vi.waitFor(async () => expect(countsAdded(before, await http2Refusals(server))).toEqual({ stream: 3 }), { interval: 10 });
      // One line, coded and without a stack; the refusal after it, within 10 s, is only counted.
      expect(warnings.filter(({ msg }) => msg === 'grpc_http2_refused')).toEqual([
        { msg: 'grpc_http2_refused', fields: expect.objectContaining({ code: 'FLTS_REQUEST_INVALID', what: 'stream', count: 2, since_last_line: 2, remote: '127.0.0.1' }) },
      ]);
      expect(JSON.stringify(warnings)).not.toMatch(/\n\s+at /);
    } finally {
      client.socket.destroy();
      await grpcServer.close(0);
    }
  });

  it('counts the calls Node\'s HTTP/2 layer reset before it ended their connection with GOAWAY apart from the connection', async () => {
    const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, logger: silentLogger });
    const before = await http2Refusals(server);
    const client = handWrittenClient(grpcServer.port);
    const crowded = Array.from({ length: 200 }, (_, i): [string, string] => [`entry-${i}`, 'x']);
    const closed = new Promise((resolve) => client.socket.once('close', resolve));
    try {
      client.open(1, 'ServerLive');
      client.open(3, 'ServerLive', undefined, crowded);
      client.open(5, 'ServerLive', undefined, [['connection', 'close']]);
      // The last call read before the connection's end is counted with it: it may be the one whose frames ended it.
      client.open(7, 'ServerLive', undefined, crowded);
      await client.ping();
      // DATA on stream 0 is a connection error (RFC 9113 section 6.1): GOAWAY PROTOCOL_ERROR, before any call after 1 arrived.
      client.socket.write(http2Frame(0, 0, 0, Buffer.alloc(4)));
      await closed;
      await vi.waitFor(async () => expect(countsAdded(before, await http2Refusals(server))).toEqual({ stream: 2, connection: 1 }), { interval: 10 });
    } finally {
      client.socket.destroy();
      await grpcServer.close(0);
    }
  });

  it('counts the calls Node\'s HTTP/2 layer resets on a connection none of whose calls reached grpc-js, as it closes', async () => {
    const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, logger: silentLogger });
    const before = await http2Refusals(server);
    const client = handWrittenClient(grpcServer.port);
    const crowded = Array.from({ length: 200 }, (_, i): [string, string] => [`entry-${i}`, 'x']);
    try {
      client.open(1, 'ServerLive', undefined, crowded);
      client.open(3, 'ServerLive', undefined, [['connection', 'close']]);
      await client.ping();
      client.socket.end();
      await vi.waitFor(async () => expect(countsAdded(before, await http2Refusals(server))).toEqual({ stream: 2 }), { interval: 10 });
    } finally {
      client.socket.destroy();
      await grpcServer.close(0);
    }
  });

  /**
   * A gRPC server logging its warnings, the HTTP/2 refusals counted before it took a connection, and a raw HTTP/2
   * session to it that may send header blocks of any size, with the GOAWAY it is sent.
   */
  async function refusingServerAndSession() {
    const { logger, warnings } = warningsLogger();
    const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, logger });
    const before = await http2Refusals(server);
    const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`, { maxSendHeaderBlockLength: 1 << 30 });
    session.on('error', () => {});
    const goaway = new Promise((resolve) => session.once('goaway', resolve));
    return { warnings, grpcServer, before, session, goaway };
  }

  it('counts a connection Node\'s HTTP/2 layer ends for what its client sent (a header block past HPACK\'s bounds, bytes that are not HTTP/2) once', async () => {
    const { warnings, grpcServer, before, session, goaway } = await refusingServerAndSession();
    const notHttp2 = rawConnection(grpcServer.port);
    const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers', huge: 'x'.repeat(200_000) });
      stream.on('error', () => {});
      stream.end(grpcFrame(Buffer.alloc(0)));
      expect(await goaway).toBe(http2.constants.NGHTTP2_COMPRESSION_ERROR);
      await vi.waitFor(async () => expect(countsAdded(before, await http2Refusals(server))).toEqual({ connection: 1 }), { interval: 10 });
      // A TLS ClientHello's first bytes: a client configured for TLS. (An HTTP/1.x request is answered by flts, below.)
      notHttp2.socket.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]), Buffer.alloc(32)]));
      await notHttp2.closed;
      await vi.waitFor(async () => expect(countsAdded(before, await http2Refusals(server))).toEqual({ connection: 2 }), { interval: 10 });
      // A client that ends its connection itself, and the server's own calls, are no refusals.
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      client.close();
      expect(warnings.filter(({ msg }) => msg === 'grpc_http2_refused')).toEqual([
        { msg: 'grpc_http2_refused', fields: expect.objectContaining({ code: 'FLTS_REQUEST_INVALID', what: 'connection', count: 1, since_last_line: 1, reason: 'Protocol error' }) },
      ]);
      expect(countsAdded(before, await http2Refusals(server))).toEqual({ connection: 2 });
    } finally {
      session.destroy();
      notHttp2.socket.destroy();
      client.close();
      await grpcServer.close(0);
    }
  });

  it('codes a connection Node\'s HTTP/2 layer ends for a header block past what it takes FLTS_REQUEST_TOO_LARGE in its log line, as HTTP codes headers over its limit, and counts it', async () => {
    const { warnings, grpcServer, before, session, goaway } = await refusingServerAndSession();
    try {
      // 1 MB of metadata in fields HPACK takes (10 kB each): more CONTINUATION frames than nghttp2 reads for one block.
      const metadata = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`entry-${i}`, 'x'.repeat(10_000)]));
      const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers', ...metadata });
      stream.on('error', () => {});
      stream.end(grpcFrame(Buffer.alloc(0)));
      expect(await goaway).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await vi.waitFor(async () => expect(countsAdded(before, await http2Refusals(server))).toEqual({ connection: 1 }), { interval: 10 });
      expect(warnings.filter(({ msg }) => msg === 'grpc_http2_refused')).toEqual([
        { msg: 'grpc_http2_refused', fields: expect.objectContaining({ code: 'FLTS_REQUEST_TOO_LARGE', what: 'connection', count: 1, reason: 'Too many CONTINUATION frames following a HEADER frame' }) },
      ]);
    } finally {
      session.destroy();
      await grpcServer.close(0);
    }
  });

  it('answers an HTTP/1.1 request with a coded 400 naming the HTTP port, as HTTP answers HTTP/2, and closes it; counted as a 400 of no route, not a refusal of Node\'s HTTP/2 layer', async () => {
    const httpPort = Number(new URL(server.url).port);
    const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port: 0, maxMessageBytes: 1024, logger: silentLogger, httpPort });
    const [refusalsBefore, requestsBefore] = [await http2Refusals(server), await grpcRequestCounts(server)];
    const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
    const answered = async (request: string): Promise<{ head: string; body: any }> => {
      const socket = net.connect(grpcServer.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const closed = new Promise((resolve) => socket.on('close', resolve));
      socket.on('error', () => {});
      socket.write(request);
      await closed;
      const [head, body] = Buffer.concat(chunks).toString('latin1').split('\r\n\r\n');
      return { head, body: JSON.parse(body) };
    };
    try {
      const get = await answered('GET /v2/health/ready HTTP/1.1\r\nHost: flts\r\n\r\n');
      expect(get.head.split('\r\n')).toEqual(['HTTP/1.1 400 Bad Request', 'Connection: close', 'Content-Type: application/json; charset=utf-8', expect.stringMatching(/^Content-Length: \d+$/)]);
      expect(get.body).toEqual({
        error: 'Bad Request',
        code: 'FLTS_REQUEST_INVALID',
        statusCode: 400,
        message: `The request is HTTP/1.x; this port speaks gRPC, over HTTP/2 only. The HTTP API, the Open Inference Protocol's REST binding included, is on port ${httpPort} (serve.port).`,
        detail: expect.any(String),
      });
      // One with a body, the way curl posts to the wrong port.
      const post = await answered('POST /v2/models/flts/infer HTTP/1.1\r\nHost: flts\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
      expect(post.body).toMatchObject({ code: 'FLTS_REQUEST_INVALID', statusCode: 400 });
      expect(countsAdded(requestsBefore, await grpcRequestCounts(server))).toEqual({ 'unmatched 400': 2 });
      expect(countsAdded(refusalsBefore, await http2Refusals(server))).toEqual({});
      expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
    } finally {
      client.close();
      await grpcServer.close(0);
    }
  });

  it('closes within the grace period though a client holds a call open, ending that call', async () => {
    const { grpcServer, client } = await startGrpc(server);
    client.close();
    const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
    session.on('error', () => {});
    const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => {});
    const streamClosed = new Promise((resolve) => stream.on('close', resolve));
    try {
      // Frames are read in order: once a ping sent after the call's headers is answered, the server has the call.
      await new Promise((resolve) => session.once('connect', resolve));
      await new Promise((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve(undefined))));
      await grpcServer.close(50);
      await streamClosed;
    } finally {
      session.destroy();
    }
  });

  it('closes a connection that never sends a byte after the keep-alive timeout, and one that leaves pings unanswered', async () => {
    const grpcServer = await startGrpcInferenceServer(
      oipContext(server),
      { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, requestTimeoutMs: 200, keepAliveTimeoutMs: 100, logger: silentLogger },
    );
    const silent = rawConnection(grpcServer.port);
    // A client that opens a call and stalls, and does not answer pings (Node's own client always would): its call
    // ends DEADLINE_EXCEEDED but, never closed by the client, keeps the connection from ever being idle.
    const stalled = rawConnection(grpcServer.port);
    stalled.socket.write(Buffer.concat([CLIENT_PREFACE, callHeaders(1, '/inference.GRPCInferenceService/ModelInfer')]));
    try {
      await Promise.all([silent.closed, stalled.closed]);
      const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
      const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
      session.destroy();
      expect(settings.maxConcurrentStreams).toBe(100);
    } finally {
      silent.socket.destroy();
      stalled.socket.destroy();
      await grpcServer.close(0);
    }
  });

  it('ends a call whose request message stops arriving DEADLINE_EXCEEDED after the request timeout, and keeps answering others', async () => {
    const grpcServer = await startGrpcInferenceServer(
      oipContext(server),
      { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, requestTimeoutMs: 200, logger: silentLogger },
    );
    const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
    const timedOutCalls = async (): Promise<number> => {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/flts_http_requests_total\{route="\/inference.GRPCInferenceService\/ModelInfer",method="GRPC",status="408"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    const timedOutBefore = await timedOutCalls();
    try {
      const message = grpcFrame(Buffer.from('0a04666c7473', 'hex'));
      const stalls = [
        rawCall(grpcServer.port, 'ModelInfer', null, false),
        rawCall(grpcServer.port, 'ModelInfer', message.subarray(0, 7), false),
        rawCall(grpcServer.port, 'ModelReady', message, false),
      ];
      expect(await call(client, 'ModelReady', { name: 'flts' })).toEqual({ ready: true });
      for (const answer of await Promise.all(stalls)) {
        expect(answer).toEqual({
          status: String(grpc.status.DEADLINE_EXCEEDED),
          code: 'FLTS_REQUEST_INVALID',
          message: 'FLTS_REQUEST_INVALID: The request message did not arrive in time (a call is given 200 ms to send it).',
        });
      }
      expect(await rawCall(grpcServer.port, 'ModelReady', message, true)).toMatchObject({ status: String(grpc.status.OK) });
      expect((await timedOutCalls()) - timedOutBefore).toBe(2);
    } finally {
      client.close();
      await grpcServer.close(0);
    }
  });

  it('resets a connection whose client takes none of its answers for the request timeout, though it answers pings, and keeps the others', async () => {
    const grpcServer = await startGrpcInferenceServer(
      oipContext(server),
      { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, requestTimeoutMs: 200, keepAliveTimeoutMs: 60_000, logger: silentLogger },
    );
    // A window of 0 lets no answer byte through; Node's client still answers every ping, so grpc-js alone kept it.
    const paused = http2.connect(`http://127.0.0.1:${grpcServer.port}`, { settings: { initialWindowSize: 0 } });
    paused.on('error', () => {});
    const reading = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
    let readingClosed = false;
    reading.on('close', () => (readingClosed = true));
    const pausedClosed = new Promise((resolve) => paused.on('close', resolve));
    try {
      const stream = paused.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => {});
      stream.end(grpcFrame(Buffer.alloc(0)));
      const answer = (): Promise<string> =>
        new Promise((resolve, reject) => {
          const call = reading.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers' });
          call.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
          call.on('error', reject);
          call.resume();
          call.end(grpcFrame(Buffer.alloc(0)));
        });
      expect(await answer()).toBe(String(grpc.status.OK));
      await pausedClosed;
      expect(readingClosed).toBe(false);
      expect(await answer()).toBe(String(grpc.status.OK));
    } finally {
      paused.destroy();
      reading.destroy();
      await grpcServer.close(0);
    }
  });

  describe('the connection cap', () => {
    /** An HTTP/2 connection of its own to the gRPC port, with what the server says of it. */
    function h2Connection(port: number): { session: http2.ClientHttp2Session; goaway: Promise<number>; closed: Promise<void> } {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => {});
      return {
        session,
        goaway: new Promise((resolve) => session.once('goaway', (code) => resolve(code))),
        closed: new Promise((resolve) => session.once('close', () => resolve())),
      };
    }

    async function capped(maxConnections: number): Promise<GrpcInferenceServer> {
      return startGrpcInferenceServer(
        oipContext(server),
        { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, maxConnections, keepAliveTimeoutMs: 60_000, logger: silentLogger },
      );
    }

    /** Connections closed for the cap so far, by what (flts_grpc_connections_closed_at_cap_total). */
    async function capCloses(): Promise<Record<string, number>> {
      const metric = await server.metrics.registry.getSingleMetric('flts_grpc_connections_closed_at_cap_total')?.get();
      return Object.fromEntries((metric?.values ?? []).map(({ labels, value }) => [String(labels.what), value]));
    }

    it('admits a client at the cap in place of the connection idle the longest, sent GOAWAY, and keeps the others', async () => {
      const grpcServer = await capped(2);
      const before = await capCloses();
      const oldest = h2Connection(grpcServer.port);
      const newer = h2Connection(grpcServer.port);
      // A grpc-js client on a subchannel of its own: the newcomer is a real client's connection.
      const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`, { 'grpc.use_local_subchannel_pool': 1 });
      try {
        // Answered in this order, so `oldest` has been idle the longest.
        expect(await serverLive(oldest.session)).toBe(String(grpc.status.OK));
        expect(await serverLive(newer.session)).toBe(String(grpc.status.OK));
        expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
        expect(await oldest.goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
        await oldest.closed;
        expect(newer.session.closed || newer.session.destroyed).toBe(false);
        expect(await serverLive(newer.session)).toBe(String(grpc.status.OK));
        expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
        const after = await capCloses();
        expect({ idle: after.idle - before.idle, refused: after.refused - before.refused }).toEqual({ idle: 1, refused: 0 });
      } finally {
        client.close();
        oldest.session.destroy();
        newer.session.destroy();
        await grpcServer.close(0);
      }
    });

    /**
     * A TCP relay to `port` whose answers to the first connection can be held back: what the server sends it meanwhile
     * (the GOAWAY of its eviction) reaches the client only once released, after the client's next call has left.
     */
    async function holdingRelay(port: number): Promise<{ port: number; connections(): number; hold(): { serverSpoke: Promise<void>; clientSpeaks(): Promise<void>; release(): void }; close(): void }> {
      const relayed: Array<{ client: net.Socket; server: net.Socket; held?: Buffer[]; serverEnded: boolean; onServer?: () => void; onClient?: () => void }> = [];
      const relay = net.createServer((client) => {
        // Half-open, so the client's bytes still reach a server that has ended its side, as they would without the relay.
        const link = { client, server: net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }), serverEnded: false } as (typeof relayed)[number];
        relayed.push(link);
        for (const socket of [link.client, link.server]) socket.on('error', () => {});
        link.client.on('data', (bytes) => {
          link.server.write(bytes);
          link.onClient?.();
        });
        link.server.on('data', (bytes) => {
          if (link.held) link.held.push(bytes);
          else link.client.write(bytes);
          link.onServer?.();
        });
        link.server.on('end', () => {
          link.serverEnded = true;
          if (!link.held) link.client.end();
        });
        link.client.on('end', () => link.server.end());
        link.client.on('close', () => link.server.destroy());
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
      return {
        port: (relay.address() as net.AddressInfo).port,
        connections: () => relayed.length,
        hold() {
          const link = relayed[0];
          link.held = [];
          return {
            serverSpoke: new Promise((resolve) => (link.onServer = resolve)),
            clientSpeaks: () => new Promise((resolve) => (link.onClient = resolve)),
            release() {
              for (const bytes of link.held ?? []) link.client.write(bytes);
              link.held = undefined;
              if (link.serverEnded) link.client.end();
            },
          };
        },
        close() {
          relay.close();
          for (const link of relayed) link.client.destroy();
        },
      };
    }

    it('answers a call a client sends as its idle connection is sent GOAWAY for a newcomer, on a connection of its own (grpc-js sends it again)', async () => {
      const grpcServer = await capped(1);
      const relay = await holdingRelay(grpcServer.port);
      const client = createInferenceClient(`127.0.0.1:${relay.port}`, { 'grpc.use_local_subchannel_pool': 1 });
      let newcomer: ReturnType<typeof h2Connection> | undefined;
      try {
        expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
        const held = relay.hold();
        // The newcomer takes the idle connection's place: that connection is sent GOAWAY, held back on its way.
        newcomer = h2Connection(grpcServer.port);
        await held.serverSpoke;
        // Answered, the newcomer's connection is idle in turn, and the call sent again takes its place.
        expect(await serverLive(newcomer.session)).toBe(String(grpc.status.OK));
        const deadline = Date.now() + 10_000;
        const racingSent = held.clientSpeaks();
        const racing = new Promise((resolve, reject) => (client.ServerLive as Function)({}, { deadline }, (error: grpc.ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response))));
        await racingSent;
        held.release();
        expect(await racing).toEqual({ live: true });
        expect(relay.connections()).toBe(2);
      } finally {
        client.close();
        newcomer?.session.destroy();
        relay.close();
        await grpcServer.close(0);
      }
    });

    it('closes a connection that has not sent HTTP/2\'s preface within the headers timeout, as HTTP answers silent headers 408, so that silent ones cannot hold the cap', async () => {
      const grpcServer = await startGrpcInferenceServer(
        oipContext(server),
        { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, maxConnections: 3, headersTimeoutMs: 200, keepAliveTimeoutMs: 60_000, logger: silentLogger },
      );
      const refused = async (): Promise<number> => (await server.metrics.registry.getSingleMetric('flts_http_requests_total')?.get())?.values.find(({ labels }) => labels.route === 'unmatched' && labels.method === 'GRPC' && labels.status === '408')?.value ?? 0;
      const before = await refused();
      // A client that made a call first, then connections that send nothing or part of it: the cap is full.
      const spoke = h2Connection(grpcServer.port);
      expect(await serverLive(spoke.session)).toBe(String(grpc.status.OK));
      const silent = rawConnection(grpcServer.port);
      const partial = rawConnection(grpcServer.port);
      partial.socket.write('PRI * HTTP/2.0\r\n');
      const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
      try {
        const gone = (closed: Promise<void>): Promise<string> => Promise.race([closed.then(() => 'closed'), new Promise<string>((resolve) => setTimeout(() => resolve('still open after 10 s'), 10_000).unref())]);
        expect(await Promise.all([gone(silent.closed), gone(partial.closed)])).toEqual(['closed', 'closed']);
        expect((await refused()) - before).toBe(2);
        // Its timer ran before theirs: the connection that made a call is kept, and the port takes a client again.
        expect(await serverLive(spoke.session)).toBe(String(grpc.status.OK));
        expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      } finally {
        client.close();
        spoke.session.destroy();
        silent.socket.destroy();
        partial.socket.destroy();
        await grpcServer.close(0);
      }
    });

    it('closes a connection that sent HTTP/2\'s preface and settings but no call within the headers timeout, counted 408, and keeps one that made a call and idles', async () => {
      const grpcServer = await startGrpcInferenceServer(
        oipContext(server),
        { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, maxConnections: 3, headersTimeoutMs: 200, requestTimeoutMs: 200, keepAliveTimeoutMs: 60_000, logger: silentLogger },
      );
      const refused = async (): Promise<number> => (await server.metrics.registry.getSingleMetric('flts_http_requests_total')?.get())?.values.find(({ labels }) => labels.route === 'unmatched' && labels.method === 'GRPC' && labels.status === '408')?.value ?? 0;
      const before = await refused();
      // Accepted before the silent one, so its timer runs first: answered, then idle.
      const called = h2Connection(grpcServer.port);
      let calledClosed = false;
      void called.closed.then(() => (calledClosed = true));
      const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
      const silent = rawConnection(grpcServer.port);
      try {
        expect(await serverLive(called.session)).toBe(String(grpc.status.OK));
        // What a client sends before its first call: the preface and its SETTINGS (empty), then nothing.
        silent.socket.write(CLIENT_PREFACE);
        await silent.closed;
        expect((await refused()) - before).toBe(1);
        expect(calledClosed).toBe(false);
        expect(await serverLive(called.session)).toBe(String(grpc.status.OK));
        expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      } finally {
        client.close();
        called.session.destroy();
        silent.socket.destroy();
        await grpcServer.close(0);
      }
    });

    it('keeps past the first call\'s timeout a connection all of whose calls Node\'s HTTP/2 layer refused (it asked, and was answered), not counted 408, and takes it as idle at the cap', async () => {
      const grpcServer = await startGrpcInferenceServer(
        oipContext(server),
        { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, maxConnections: 2, headersTimeoutMs: 200, keepAliveTimeoutMs: 60_000, logger: silentLogger },
      );
      const timedOut = async (): Promise<number> => (await server.metrics.registry.getSingleMetric('flts_http_requests_total')?.get())?.values.find(({ labels }) => labels.route === 'unmatched' && labels.method === 'GRPC' && labels.status === '408')?.value ?? 0;
      const [timedOutBefore, refusalsBefore, capClosesBefore] = [await timedOut(), await http2Refusals(server), await capCloses()];
      // Accepted before the silent one, so its timer runs first: one call, reset for more header entries than Node takes.
      const refusedOnly = handWrittenClient(grpcServer.port);
      let refusedOnlyClosed = false;
      const closed = new Promise<void>((resolve) => refusedOnly.socket.once('close', () => resolve()));
      void closed.then(() => (refusedOnlyClosed = true));
      const silent = rawConnection(grpcServer.port);
      let calling: ReturnType<typeof h2Connection> | undefined;
      const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`, { 'grpc.use_local_subchannel_pool': 1 });
      try {
        refusedOnly.open(1, 'ServerLive', undefined, Array.from({ length: 200 }, (_, i): [string, string] => [`entry-${i}`, 'x']));
        await refusedOnly.ping();
        silent.socket.write(CLIENT_PREFACE);
        await silent.closed;
        expect((await timedOut()) - timedOutBefore).toBe(1);
        expect(refusedOnlyClosed).toBe(false);
        // At the cap (a call open on the other connection), a newcomer takes the place of the one whose calls were refused.
        calling = h2Connection(grpcServer.port);
        const open = serverLive(calling.session, false);
        void open.catch(() => {});
        expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
        await closed;
        expect(calling.session.closed || calling.session.destroyed).toBe(false);
        const capClosesAfter = await capCloses();
        expect({ idle: capClosesAfter.idle - (capClosesBefore.idle ?? 0), refused: (capClosesAfter.refused ?? 0) - (capClosesBefore.refused ?? 0) }).toEqual({ idle: 1, refused: 0 });
        await vi.waitFor(async () => expect(countsAdded(refusalsBefore, await http2Refusals(server))).toEqual({ stream: 1 }), { interval: 10 });
      } finally {
        client.close();
        refusedOnly.socket.destroy();
        silent.socket.destroy();
        calling?.session.destroy();
        await grpcServer.close(0);
      }
    });

    it('refuses a client at the cap when every connection held has a call open or none yet, and keeps serving them', async () => {
      const grpcServer = await capped(2);
      const before = await capCloses();
      const calling = h2Connection(grpcServer.port);
      const fresh = rawConnection(grpcServer.port);
      const freshConnected = new Promise((resolve) => fresh.socket.once('connect', resolve));
      try {
        // Answered once, then a call whose message is still arriving: busy, though it was idle in between.
        expect(await serverLive(calling.session)).toBe(String(grpc.status.OK));
        const open = serverLive(calling.session, false);
        await freshConnected;
        // The second call's stream is open on the server once a third, complete one on the same connection is answered.
        expect(await serverLive(calling.session)).toBe(String(grpc.status.OK));
        const extra = rawConnection(grpcServer.port);
        await extra.closed;
        expect(fresh.socket.destroyed).toBe(false);
        expect(calling.session.closed || calling.session.destroyed).toBe(false);
        const after = await capCloses();
        expect({ idle: after.idle - before.idle, refused: after.refused - before.refused }).toEqual({ idle: 0, refused: 1 });
        void open.catch(() => {});
      } finally {
        calling.session.destroy();
        fresh.socket.destroy();
        await grpcServer.close(0);
      }
    });
  });
});

describe('serve > Open Inference Protocol over gRPC > the calls that reached their handler', () => {
  const SERVER_LIVE = '/inference.GRPCInferenceService/ServerLive';
  /** A server on `connections` whose ServerLive is held until released, after `interceptors` (before the connections' own). */
  async function startHeld(connections: GrpcConnections, interceptors: grpc.ServerInterceptor[]): Promise<{ port: number; server: grpc.Server; running: Promise<void>; release: () => void }> {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = (): void => {};
    const running = new Promise<void>((resolve) => (entered = resolve));
    const server = new grpc.Server({ interceptors: [...interceptors, connections.interceptor] });
    server.addService(inferenceService(), {
      ServerLive: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        entered();
        void gate.then(() => callback(null, { live: true }));
      },
    });
    const port = await connections.listen(server, '127.0.0.1', 0);
    return { port, server, running, release };
  }

  it('knows the call whose deadline passes while its handler runs from its stream as grpc-js is handed it, though an interceptor runs before the connections\' one', async () => {
    const answered: Array<[string, number]> = [];
    const connections = createGrpcConnections({ maxConnections: 16, stallMs: 5000, logger: silentLogger, onAnsweredByGrpcJs: (path, status) => answered.push([path, status]) });
    // What the connections' interceptor is handed is then this call, not grpc-js's own (which held the stream in 1.14).
    const before: grpc.ServerInterceptor = (_method, call) => new grpc.ServerInterceptingCall(call);
    const { port, server, running, release } = await startHeld(connections, [before]);
    try {
      const empty = grpcFrame(Buffer.alloc(0));
      const answer = rawCall(port, 'ServerLive', empty, true, { 'grpc-timeout': '1S' });
      // On a host too busy to start the handler within the deadline, grpc-js answers first and the call is grpc-js's to count.
      const handlerRan = await Promise.race([running.then(() => true), answer.then(() => false)]);
      expect(await answer).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED), code: 'FLTS_REQUEST_CANCELLED' });
      expect(answered).toEqual(handlerRan ? [] : [[SERVER_LIVE, grpc.status.DEADLINE_EXCEEDED]]);
      // A deadline that passed on arrival, before the message: the call never reaches the handler, grpc-js's answer is counted.
      expect(await rawCall(port, 'ServerLive', null, false, { 'grpc-timeout': '0n' })).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED) });
      expect(answered).toEqual([...(handlerRan ? [] : [[SERVER_LIVE, grpc.status.DEADLINE_EXCEEDED]]), [SERVER_LIVE, grpc.status.DEADLINE_EXCEEDED]]);
    } finally {
      release();
      connections.close(0);
      server.forceShutdown();
    }
  });

  it('knows a call its client reset in the bytes that opened its connection (a call cancelled at once), and goes on counting the answers that depend on knowing calls', async () => {
    const answered: Array<[string, number]> = [];
    const abandoned: string[] = [];
    const { logger, warnings } = warningsLogger();
    const connections = createGrpcConnections({ maxConnections: 16, stallMs: 5000, logger, onAnsweredByGrpcJs: (path, status) => answered.push([path, status]), onAbandoned: (path) => abandoned.push(path) });
    const { port, server, release } = await startHeld(connections, []);
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume();
    try {
      // One write, read by the server at once: the stream is destroyed before grpc-js is handed it, its session gone.
      socket.write(
        Buffer.concat([
          CLIENT_PREFACE,
          callHeaders(1, SERVER_LIVE),
          http2Frame(0, 0x1, 1, grpcFrame(Buffer.alloc(0))),
          http2Frame(3, 0, 1, Buffer.from([0, 0, 0, http2.constants.NGHTTP2_CANCEL])),
        ]),
      );
      await vi.waitFor(() => expect(abandoned).toEqual([SERVER_LIVE]));
      // A later call grpc-js answers itself (a deadline that passed on arrival) is still counted: calls are still known.
      expect(await rawCall(port, 'ServerLive', null, false, { 'grpc-timeout': '0n' })).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED), code: 'FLTS_REQUEST_CANCELLED' });
      expect(answered).toEqual([[SERVER_LIVE, grpc.status.DEADLINE_EXCEEDED]]);
      expect(warnings).toEqual([]);
    } finally {
      socket.destroy();
      release();
      connections.close(0);
      server.forceShutdown();
    }
  });

  it('stops counting the answers that depend on it, once, when a call\'s stream cannot be told, rather than counting a call twice', async () => {
    const answered: Array<[string, number]> = [];
    const { logger, warnings } = warningsLogger();
    const connections = createGrpcConnections({ maxConnections: 16, stallMs: 5000, logger, onAnsweredByGrpcJs: (path, status) => answered.push([path, status]) });
    const { port, server, release } = await startHeld(connections, []);
    try {
      // An interceptor built out of the turn grpc-js is handed a stream in, as a grpc-js that built them later would.
      const outOfTurn = { getConnectionInfo: () => ({ remoteAddress: '127.0.0.1', remotePort: 1 }) } as unknown as grpc.ServerInterceptingCallInterface;
      for (let i = 0; i < 2; i++) connections.interceptor({ path: SERVER_LIVE } as grpc.ServerMethodDefinition<unknown, unknown>, outOfTurn);
      expect(warnings).toEqual([{ msg: 'grpc_call_stream_unknown', fields: { path: SERVER_LIVE } }]);
      expect(await rawCall(port, 'ServerLive', null, false, { 'grpc-timeout': '0n' })).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED), code: 'FLTS_REQUEST_CANCELLED' });
      expect(answered).toEqual([]);
    } finally {
      release();
      connections.close(0);
      server.forceShutdown();
    }
  });
});

/** Whether this machine has an IPv6 loopback to listen on (a container may have IPv6 off). */
async function hasIpv6Loopback(): Promise<boolean> {
  const probe = net.createServer();
  const listening = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => resolve(true));
  });
  if (listening) await new Promise((resolve) => probe.close(resolve));
  return listening;
}

describe('serve > Open Inference Protocol over gRPC > binding', () => {
  const server = useTestServer({ load: false });

  it('listens on every address the HTTP API binds for localhost, 127.0.0.1 and ::1, on one port', async (test) => {
    const ipv6 = await hasIpv6Loopback();
    // As a resolver whose /etc/hosts lists both loopbacks answers (this machine's may list one): fastify binds both then.
    const lookupHost: HostLookup = async () => [{ address: '127.0.0.1', family: 4 }, ...(ipv6 ? [{ address: '::1', family: 6 }] : [])];
    const { logger, warnings } = warningsLogger();
    const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: 'localhost', port: 0, maxMessageBytes: 1024, logger, lookupHost });
    const clients = [`127.0.0.1:${grpcServer.port}`, ...(ipv6 ? [`[::1]:${grpcServer.port}`] : [])].map((target) => createInferenceClient(target));
    try {
      for (const client of clients) expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
      // A call on either address is followed as on one (its connection and stream known), none left out.
      expect(warnings).toEqual([]);
    } finally {
      for (const client of clients) client.close();
      await grpcServer.close(0);
    }
    if (!ipv6) test.skip('no IPv6 loopback on this machine: only 127.0.0.1 was called');
  });

  it('answers on each address fastify binds for localhost on this machine, with the resolver it uses', async () => {
    const http = fastify();
    await http.listen({ host: 'localhost', port: 0 });
    const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: 'localhost', port: 0, maxMessageBytes: 1024, logger: silentLogger });
    const clients = (http.addresses() as net.AddressInfo[]).map(({ address, family }) => createInferenceClient(family === 'IPv6' ? `[${address}]:${grpcServer.port}` : `${address}:${grpcServer.port}`));
    try {
      expect(clients.length).toBeGreaterThan(0);
      for (const client of clients) expect(await call(client, 'ServerLive', {})).toEqual({ live: true });
    } finally {
      for (const client of clients) client.close();
      await Promise.all([grpcServer.close(0), http.close()]);
    }
  });

  it('names a port in use FLTS_SERVE_LISTEN_FAILED, as on the HTTP port, rather than an internal error', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as net.AddressInfo;
    try {
      const starting = startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port, maxMessageBytes: 1024, logger: silentLogger });
      await expect(starting).rejects.toMatchObject({ code: 'FLTS_SERVE_LISTEN_FAILED', message: `Cannot listen for gRPC on 127.0.0.1:${port}: the port is already in use (EADDRINUSE).`, details: { errno: 'EADDRINUSE' } });
      await expect(startGrpcInferenceServer(oipContext(server), { host: 'no-such-host.invalid', port: 0, maxMessageBytes: 1024, logger: silentLogger })).rejects.toMatchObject({
        code: 'FLTS_SERVE_LISTEN_FAILED',
        details: { errno: 'ENOTFOUND' },
      });
    } finally {
      busy.close();
    }
  });
});

describe('serve > gRPC ModelInfer messages in the request body bound (serve.maxBodyBytesInFlight)', () => {
  it('holds a message until its answer in the budget HTTP bodies share, and refuses one past it RESOURCE_EXHAUSTED FLTS_SERVE_BODIES_IN_FLIGHT', async () => {
    const request = rawRequest(requestData(6));
    const messageBytes = inferenceService().ModelInfer.requestSerialize(request).length;
    const metrics = createServeMetrics({ processMetrics: false });
    // One message fits, two do not; each refused is told to come back in 1.6 s (a draw of 0.3 of the jitter).
    const bodyBudget = createMeteredBodyBudget(Math.floor(messageBytes * 1.5), 1_000_000, metrics, () => 0.3);
    const source = naiveSource('run-a');
    source.promote('run-a');
    await withTestServer(source, { server: { metrics, bodyBudget } }, async (server) => {
      const { admission, hold } = holdingAdmission();
      const grpcServer = await startGrpcInferenceServer({ ...oipContext(server), admission, bodyBudget }, { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, logger: silentLogger });
      const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
      const held = hold();
      try {
        const first = call(client, 'ModelInfer', request);
        await held.running;
        expect(bodyBudget.bytesInFlight).toBe(messageBytes);
        const refused = await callError(client, 'ModelInfer', request);
        expect({ code: refused.code, flts: refused.metadata.get('flts-code'), pushback: refused.metadata.get('grpc-retry-pushback-ms') }).toEqual({
          code: grpc.status.RESOURCE_EXHAUSTED,
          flts: ['FLTS_SERVE_BODIES_IN_FLIGHT'],
          pushback: ['1600'],
        });
        expect(refused.details).toMatch(/^FLTS_SERVE_BODIES_IN_FLIGHT: /);
        // The same bound as HTTP's: a body of the message's size is refused while the call holds its room.
        const text = JSON.stringify({ data: requestData(6), inference_length: 2 });
        const body = text + ' '.repeat(Math.max(0, messageBytes - text.length));
        const refusedBody = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        // Told the same, in whole seconds.
        expect({ status: refusedBody.status, code: ((await refusedBody.json()) as { code: string }).code, retryAfter: refusedBody.headers.get('retry-after') }).toEqual({ status: 503, code: 'FLTS_SERVE_BODIES_IN_FLIGHT', retryAfter: '2' });
        held.release();
        expect((await first).outputs.length).toBeGreaterThan(0);
        expect(bodyBudget.bytesInFlight).toBe(0);
        // Its room given back, the next call is served.
        expect((await call(client, 'ModelInfer', request)).outputs.length).toBeGreaterThan(0);
        expect(bodyBudget.bytesInFlight).toBe(0);
        // A cancelled call gives its room back though its forecast still runs.
        const cancelledHold = hold();
        const pending = (client.ModelInfer as (request: object, callback: (error: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall)(request, () => {});
        await cancelledHold.running;
        expect(bodyBudget.bytesInFlight).toBe(messageBytes);
        pending.cancel();
        await vi.waitFor(() => expect(bodyBudget.bytesInFlight).toBe(0), { interval: 10 });
        cancelledHold.release();
        const exposed = (await (await fetch(`${server.url}/metrics`)).text()).split('\n').filter((line) => line.startsWith('flts_request_body_refused_total{') && !line.endsWith(' 0'));
        expect(exposed.sort()).toEqual(['flts_request_body_refused_total{route="/inference.GRPCInferenceService/ModelInfer"} 1', 'flts_request_body_refused_total{route="/predict"} 1']);
      } finally {
        held.release();
        client.close();
        await grpcServer.close(0);
      }
    });
  });

  it('takes a message\'s room as its length prefix arrives, and refuses one past the bound before its bytes come, not once grpc-js has buffered it whole, resetting its stream so that the client stops sending it', async () => {
    const metrics = createServeMetrics({ processMetrics: false });
    const declared = 40_000;
    // One message of the declared size fits, two do not.
    const bodyBudget = createMeteredBodyBudget(Math.floor(declared * 1.5), 1_000_000, metrics, () => 0);
    await withTestServer(naiveSource('run-a'), { server: { metrics, bodyBudget }, load: false }, async (server) => {
      const grpcServer = await startGrpcInferenceServer({ ...oipContext(server), bodyBudget }, { host: '127.0.0.1', port: 0, maxMessageBytes: 1024 * 1024, requestTimeoutMs: 5000, logger: silentLogger });
      const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
      session.on('error', () => {});
      const open = (): http2.ClientHttp2Stream => {
        const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
        stream.on('error', () => {});
        stream.resume();
        return stream;
      };
      /** The status of a call, from a trailers-only answer or trailers, with its flts-code and pushback. */
      const statusOf = (stream: http2.ClientHttp2Stream): Promise<Record<string, string | undefined>> =>
        new Promise((resolve) => {
          const pick = (headers: http2.IncomingHttpHeaders): void => {
            if (headers['grpc-status'] !== undefined) resolve({ status: String(headers['grpc-status']), code: headers['flts-code'] as string | undefined, pushback: headers['grpc-retry-pushback-ms'] as string | undefined });
          };
          stream.on('response', pick);
          stream.on('trailers', pick);
          stream.on('close', () => resolve({ status: 'closed' }));
        });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(declared, 1);
      try {
        // A call that sends its prefix and a little of its message, then nothing: its room is taken all the same.
        const slow = open();
        const slowStatus = statusOf(slow);
        slow.write(Buffer.concat([prefix, Buffer.alloc(100)]));
        await vi.waitFor(() => expect(bodyBudget.bytesInFlight).toBe(declared), { timeout: 4000, interval: 10 });
        // The next one, refused as its prefix arrives: none of its message was sent, and none is waited for.
        const refused = open();
        refused.write(prefix);
        expect(await statusOf(refused)).toEqual({ status: String(grpc.status.RESOURCE_EXHAUSTED), code: 'FLTS_SERVE_BODIES_IN_FLIGHT', pushback: '1000' });
        expect(bodyBudget.bytesInFlight).toBe(declared);
        // Its stream reset behind the answer (RST_STREAM NO_ERROR), though its client has not ended it: the client stops
        // sending the rest of the message, which the server would read and drop.
        refused.write(Buffer.alloc(16 * 1024));
        await vi.waitFor(() => expect(refused.closed).toBe(true), { timeout: 4000, interval: 10 });
        expect(refused.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
        // So is one whose prefix announces more than the message limit, which grpc-js refuses itself.
        const tooLarge = open();
        const overLimit = Buffer.alloc(5);
        overLimit.writeUInt32BE(2 * 1024 * 1024, 1);
        tooLarge.write(overLimit);
        expect(await statusOf(tooLarge)).toMatchObject({ status: String(grpc.status.RESOURCE_EXHAUSTED), code: 'FLTS_REQUEST_TOO_LARGE' });
        tooLarge.write(Buffer.alloc(16 * 1024));
        await vi.waitFor(() => expect(tooLarge.closed).toBe(true), { timeout: 4000, interval: 10 });
        expect(tooLarge.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
        const refusals = (await metrics.registry.getSingleMetric('flts_request_body_refused_total')?.get())?.values.find(({ labels }) => labels.route === '/inference.GRPCInferenceService/ModelInfer')?.value;
        expect(refusals).toBe(1);
        // A grpc-js client still sending a message larger than the stream's window as the reset comes hears the status
        // sent before it, not the reset: RST_STREAM NO_ERROR follows the answer, never takes its place.
        const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
        try {
          const large = { model_name: 'flts', inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], contents: {} }], raw_input_contents: [Buffer.alloc(512 * 1024)] };
          for (let i = 0; i < 5; i++) {
            const error = await callError(client, 'ModelInfer', large);
            expect({ code: error.code, flts: error.metadata.get('flts-code') }).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, flts: ['FLTS_SERVE_BODIES_IN_FLIGHT'] });
          }
        } finally {
          client.close();
        }
        // The slow call cancelled by its client gives its room back.
        slow.close(http2.constants.NGHTTP2_CANCEL);
        await slowStatus;
        await vi.waitFor(() => expect(bodyBudget.bytesInFlight).toBe(0), { timeout: 4000, interval: 10 });
      } finally {
        session.destroy();
        await grpcServer.close(0);
      }
    });
  });
});

describe('serve > gRPC ModelInfer refused as its message begins, and held to the least rate (serve.minBodyBytesPerSec)', () => {
  /** A raw ModelInfer stream on `session`, and its status (from a trailers-only answer or trailers) with its flts-code. */
  function openModelInfer(session: http2.ClientHttp2Session): { stream: http2.ClientHttp2Stream; status: Promise<Record<string, string | undefined>> } {
    const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => {});
    stream.resume();
    const status = new Promise<Record<string, string | undefined>>((resolve) => {
      const pick = (headers: http2.IncomingHttpHeaders): void => {
        if (headers['grpc-status'] !== undefined) resolve({ status: String(headers['grpc-status']), code: headers['flts-code'] as string | undefined, message: decodeURIComponent(String(headers['grpc-message'])) });
      };
      stream.on('response', pick);
      stream.on('trailers', pick);
      stream.on('close', () => resolve({ status: 'closed' }));
    });
    return { stream, status };
  }

  it('refuses a ModelInfer for a model or version not served NOT_FOUND as the bytes of its message that name it arrive, wherever among its fields, and resets its stream so that the client stops sending the rest, with and without the body budget', async () => {
    const source = naiveSource('run-a');
    source.promote('run-a');
    await withTestServer(source, {}, async (server) => {
      for (const bodyBudget of [undefined, createMeteredBodyBudget(1_000_000, 1_000_000, server.metrics)]) {
        // A request timeout that a message never whole would meet within the test: the refusal must come before it.
        const grpcServer = await startGrpcInferenceServer({ ...oipContext(server), bodyBudget }, { host: '127.0.0.1', port: 0, maxMessageBytes: 1024 * 1024, requestTimeoutMs: 3000, logger: silentLogger });
        const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
        session.on('error', () => {});
        const before = await grpcRequestCounts(server);
        try {
          const serialize = (...parts: object[]): Buffer => Buffer.concat(parts.map((part) => inferenceService().ModelInfer.requestSerialize(part)));
          const otherModel = /^FLTS_REQUEST_ROUTE_NOT_FOUND: No model named 'other' is served here/;
          const otherVersion = /^FLTS_REQUEST_ROUTE_NOT_FOUND: Model 'flts' has no version 'run-z' here; it serves version 'run-a'/;
          for (const [head, reason] of [
            [serialize({ model_name: 'other' }), otherModel],
            [serialize({ model_name: 'flts', model_version: 'run-z' }), otherVersion],
            // Fields in another order than their numbers' (protobuf reads any): the id and parameters first, the version
            // before the name.
            [serialize({ id: 'r1' }, { parameters: { a: { string_param: 'x' } } }, { model_name: 'other' }), otherModel],
            [serialize({ model_version: 'run-z' }, { id: 'r1' }, { model_name: 'flts' }), otherVersion],
          ] as const) {
            const { stream, status } = openModelInfer(session);
            // A message announced at 512 KiB, its name and version and a little of the rest sent: the refusal comes on them.
            stream.write(grpcFrame(Buffer.concat([head, Buffer.from([0x3a, 0x80, 0x80, 0x20]), Buffer.alloc(100)]), 512 * 1024));
            expect(await status).toEqual({ status: String(grpc.status.NOT_FOUND), code: 'FLTS_REQUEST_ROUTE_NOT_FOUND', message: expect.stringMatching(reason) });
            // The client has not ended its side: without the reset, the stream stays open for the rest of the message.
            stream.write(Buffer.alloc(16 * 1024));
            await vi.waitFor(() => expect(stream.closed).toBe(true), { timeout: 2000, interval: 10 });
            expect(stream.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
          }
          expect(countsAdded(before, await grpcRequestCounts(server))).toEqual({ 'ModelInfer 404': 4 });
          // The model served, and its version, are still taken from a message's first bytes alike.
          const client = createInferenceClient(`127.0.0.1:${grpcServer.port}`);
          try {
            for (const named of [{}, { model_version: 'run-a' }]) expect((await call(client, 'ModelInfer', { ...rawRequest(requestData(6)), ...named })).model_version).toBe('run-a');
          } finally {
            client.close();
          }
          if (bodyBudget) expect(bodyBudget.bytesInFlight).toBe(0);
          // And a message that names them after its tensors.
          const { model_name, ...tensors } = rawRequest(requestData(6));
          const reordered = grpcFrame(serialize({ id: 'r1' }, tensors, { model_version: 'run-a' }, { model_name }));
          expect(await rawCall(grpcServer.port, 'ModelInfer', reordered, true)).toMatchObject({ status: String(grpc.status.OK) });
        } finally {
          session.destroy();
          await grpcServer.close(0);
        }
      }
    });
  });

  it('takes no room in the body budget for a call refused for its model, nor refuses it a second time for the budget', async () => {
    const metrics = createServeMetrics({ processMetrics: false });
    const declared = 60_000;
    // One message of the declared size fits, two do not.
    const bodyBudget = createMeteredBodyBudget(100_000, 1_000_000, metrics);
    await withTestServer(naiveSource('run-a'), { server: { metrics, bodyBudget }, load: false }, async (server) => {
      // Counted in the metrics the HTTP server exposes.
      const grpcServer = await startGrpcInferenceServer({ ...oipContext(server), metrics, bodyBudget }, { host: '127.0.0.1', port: 0, maxMessageBytes: 1024 * 1024, requestTimeoutMs: 5000, logger: silentLogger });
      const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
      session.on('error', () => {});
      const before = await grpcRequestCounts(server);
      try {
        const slow = openModelInfer(session);
        slow.stream.write(grpcFrame(Buffer.alloc(100), declared));
        await vi.waitFor(() => expect(bodyBudget.bytesInFlight).toBe(declared), { timeout: 4000, interval: 10 });
        const other = openModelInfer(session);
        other.stream.write(grpcFrame(Buffer.concat([inferenceService().ModelInfer.requestSerialize({ model_name: 'other' }), Buffer.alloc(100)]), declared));
        expect(await other.status).toMatchObject({ status: String(grpc.status.NOT_FOUND), code: 'FLTS_REQUEST_ROUTE_NOT_FOUND' });
        expect(bodyBudget.bytesInFlight).toBe(declared);
        slow.stream.close(http2.constants.NGHTTP2_CANCEL);
        await vi.waitFor(() => expect(bodyBudget.bytesInFlight).toBe(0), { timeout: 4000, interval: 10 });
        const refusals = (await metrics.registry.getSingleMetric('flts_request_body_refused_total')?.get())?.values.find(({ labels }) => labels.route === '/inference.GRPCInferenceService/ModelInfer')?.value ?? 0;
        expect(refusals).toBe(0);
        // Counted once, as its 404 (the slow call, ended inside its message, is its own count).
        const added = countsAdded(before, await grpcRequestCounts(server));
        expect({ notFound: added['ModelInfer 404'], unavailable: added['ModelInfer 503'] }).toEqual({ notFound: 1, unavailable: undefined });
      } finally {
        session.destroy();
        await grpcServer.close(0);
      }
    });
  });

  it('ends a call whose message stops arriving for serve.bodyIdleTimeoutMs DEADLINE_EXCEEDED FLTS_REQUEST_BODY_STALLED, counted 408, before the least rate\'s window ends, and keeps the connection\'s other calls', async () => {
    await withTestServer(naiveSource('run-a'), { load: false }, async (server) => {
      // Looked at every 250 ms (a quarter of the headers timeout, which also bounds the wait for a connection's first call:
      // a loaded host's client can take a few hundred ms to send it); the least rate's window (5 s, its default) and the
      // request timeout are far off.
      const grpcServer = await startGrpcInferenceServer(oipContext(server), { host: '127.0.0.1', port: 0, maxMessageBytes: 1024 * 1024, requestTimeoutMs: 20_000, headersTimeoutMs: 1000, bodyIdleTimeoutMs: 300, logger: silentLogger });
      const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
      session.on('error', () => {});
      const before = await grpcRequestCounts(server);
      try {
        const { stream, status } = openModelInfer(session);
        // Half of a 4,000-byte message, then nothing.
        stream.write(grpcFrame(Buffer.concat([Buffer.from('0a04666c7473', 'hex'), Buffer.alloc(2000)]), 4000));
        expect(await status).toEqual({
          status: String(grpc.status.DEADLINE_EXCEEDED),
          code: 'FLTS_REQUEST_BODY_STALLED',
          message: 'FLTS_REQUEST_BODY_STALLED: The request message stopped arriving: no byte of it came for 300 ms (serve.bodyIdleTimeoutMs).',
        });
        // Its stream reset behind the answer, though its client has not ended it.
        stream.write(Buffer.alloc(1000));
        await vi.waitFor(() => expect(stream.closed).toBe(true), { timeout: 2000, interval: 10 });
        expect(stream.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
        expect(countsAdded(before, await grpcRequestCounts(server))).toEqual({ 'ModelInfer 408': 1 });
        // The connection goes on: its next call is answered.
        expect(await serverLive(session)).toBe(String(grpc.status.OK));
      } finally {
        session.destroy();
        await grpcServer.close(0);
      }
    });
  });

  it('ends a call whose message arrives slower than serve.minBodyBytesPerSec over a window, or could not arrive whole before the request timeout at its rate, DEADLINE_EXCEEDED FLTS_REQUEST_BODY_STALLED, counted 408, long before the request timeout, and keeps the connection\'s other calls', async () => {
    await withTestServer(naiveSource('run-a'), { load: false }, async (server) => {
      // Looked at every 250 ms (a quarter of the headers timeout, which also bounds the wait for a connection's first call);
      // the request timeout is far off.
      const options = { host: '127.0.0.1', port: 0, maxMessageBytes: 1024 * 1024, requestTimeoutMs: 3000, headersTimeoutMs: 1000, logger: silentLogger };
      const grpcServer = await startGrpcInferenceServer(oipContext(server), { ...options, minBodyBytesPerSec: 1000, minBodyRateWindowMs: 200 });
      const session = http2.connect(`http://127.0.0.1:${grpcServer.port}`);
      session.on('error', () => {});
      const before = await grpcRequestCounts(server);
      try {
        const { stream, status } = openModelInfer(session);
        // 20 bytes of a 4,000-byte message, then nothing: under 1,000 bytes/s over any window of 200 ms.
        stream.write(grpcFrame(Buffer.from('0a04666c7473', 'hex'), 4000).subarray(0, 20));
        expect(await status).toEqual({
          status: String(grpc.status.DEADLINE_EXCEEDED),
          code: 'FLTS_REQUEST_BODY_STALLED',
          message: expect.stringMatching(/^FLTS_REQUEST_BODY_STALLED: The request message arrived too slowly: \d+ bytes? of it in the last \d+ ms, under the least rate of 1000 bytes\/s \(serve.minBodyBytesPerSec\)\.$/),
        });
        stream.write(Buffer.alloc(1000));
        await vi.waitFor(() => expect(stream.closed).toBe(true), { timeout: 2000, interval: 10 });
        expect(stream.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
        // Any method's: a ModelReady too.
        const ready = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelReady', 'content-type': 'application/grpc', te: 'trailers' });
        ready.on('error', () => {});
        ready.resume();
        const readyStatus = new Promise<unknown>((resolve) => ready.on('response', (headers) => resolve(headers['flts-code'])));
        ready.write(grpcFrame(Buffer.from('0a04666c7473', 'hex')).subarray(0, 3));
        expect(await readyStatus).toBe('FLTS_REQUEST_BODY_STALLED');
        // One that keeps the rate over its first window but, at it, would still be arriving as the request timeout falls.
        // Sent as such a client sends it, 1,000 bytes every 20 ms: far over the least rate in any window, however late a look.
        const long = openModelInfer(session);
        long.stream.write(grpcFrame(Buffer.alloc(1000), 1_000_000));
        const sending = setInterval(() => long.stream.closed || long.stream.write(Buffer.alloc(1000)), 20);
        const longStatus = await long.status.finally(() => clearInterval(sending));
        expect(longStatus).toEqual({
          status: String(grpc.status.DEADLINE_EXCEEDED),
          code: 'FLTS_REQUEST_BODY_STALLED',
          message: expect.stringMatching(/^FLTS_REQUEST_BODY_STALLED: The request message cannot arrive before the request timeout: 9\d{5} of its 1000005 bytes are still to come, at \d+ bytes\/s /),
        });
        expect(countsAdded(before, await grpcRequestCounts(server))).toEqual({ 'ModelInfer 408': 2, 'ModelReady 408': 1 });
        // The connection is not closed as HTTP's is: its next call is answered.
        expect(await serverLive(session)).toBe(String(grpc.status.OK));
      } finally {
        session.destroy();
        await grpcServer.close(0);
      }
      // 0 leaves a slow message to the request timeout, as on HTTP.
      const unbounded = await startGrpcInferenceServer(oipContext(server), { ...options, requestTimeoutMs: 400, minBodyBytesPerSec: 0, minBodyRateWindowMs: 100 });
      try {
        const answer = await rawCall(unbounded.port, 'ModelInfer', grpcFrame(Buffer.from('0a04666c7473', 'hex'), 4000).subarray(0, 20), false);
        expect(answer).toMatchObject({ status: String(grpc.status.DEADLINE_EXCEEDED), code: 'FLTS_REQUEST_INVALID' });
      } finally {
        await unbounded.close(0);
      }
    });
  });
});
