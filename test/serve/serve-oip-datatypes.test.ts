/**
 * One tensor, four encodings: an input's values are those of its declared datatype whether it travels as HTTP JSON
 * `data`, HTTP binary tensor data, gRPC typed contents or gRPC raw_input_contents, so the forecast does not depend on
 * how the client chose to encode it.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient } from '../../src/core/serve/oip-grpc-service.js';
import type { GrpcInferenceServer } from '../../src/core/serve/oip-grpc-server.js';
import { naiveSource, postJson, requestData, startTestServer, type RunningServer } from './serve-fixtures.js';
import { startGrpc } from './serve-grpc.fixture.js';

type Client = ReturnType<typeof createInferenceClient>;

function call(client: Client, request: object): Promise<any> {
  return new Promise((resolve, reject) => {
    (client.ModelInfer as (request: object, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void)(request, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

const ROWS = 9;
const LENGTH = 4;

/** Little-endian bytes of `values` as `datatype` (the numeric ones this test sends). */
function rawTensor(datatype: string, values: number[]): Buffer {
  const arrays: Record<string, (values: number[]) => ArrayBufferView> = {
    FP64: (v) => Float64Array.from(v),
    FP32: (v) => Float32Array.from(v),
    INT8: (v) => Int8Array.from(v),
    INT64: (v) => BigInt64Array.from(v, BigInt),
    UINT16: (v) => Uint16Array.from(v),
    BOOL: (v) => Uint8Array.from(v),
  };
  const view = arrays[datatype](values);
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

function bytesTensor(values: string[]): Buffer {
  return Buffer.concat(values.flatMap((value) => [Buffer.from(Uint32Array.of(Buffer.byteLength(value)).buffer), Buffer.from(value)]));
}

/** The gRPC typed contents field of each datatype sent here, and its elements as the JSON data gives them. */
const CONTENTS: Record<string, string> = { FP64: 'fp64_contents', FP32: 'fp32_contents', INT8: 'int_contents', INT64: 'int64_contents', UINT16: 'uint_contents', BOOL: 'bool_contents' };
const jsonElements = (datatype: string, values: number[]): unknown[] => (datatype === 'BOOL' ? values.map((value) => value !== 0) : values);

describe('serve > Open Inference Protocol datatypes, alike over every encoding', () => {
  let server: RunningServer;
  let grpcServer: GrpcInferenceServer;
  let client: Client;
  const data = requestData(ROWS);
  const ts = data.ts as string[];
  /** Near the scaler's offset (10), where float32 rounding moves the scaled value by many of its own float32 steps. */
  const down = Array.from({ length: ROWS }, (_, i) => 10.3 + 0.0123 * i);

  beforeAll(async () => {
    // Persistence forecasts the last `down` value as the model reads it (scaled to float32): a value's last bits show.
    const source = naiveSource('run-n');
    source.promote('run-n');
    server = await startTestServer(source);
    await server.holder.start();
    ({ grpcServer, client } = await startGrpc(server));
  });

  afterAll(async () => {
    client?.close();
    await grpcServer?.close();
    await server?.close();
  });

  async function predict(columns: Record<string, number[]>): Promise<number[]> {
    const { status, json } = await postJson(`${server.url}/predict`, { data: { ts, ...columns }, inference_length: LENGTH });
    expect(status).toBe(200);
    return json.predictions.map((row: { down: number }) => row.down);
  }

  /** The `down` forecast for the inputs `down` and `up` of the datatypes given, sent each of the four ways. */
  async function forecasts(inputs: Record<'down' | 'up', { datatype: string; values: number[] }>): Promise<Record<string, number[]>> {
    const names = ['down', 'up'] as const;
    const parameters = { inference_length: LENGTH };
    const infer = `${server.url}/v2/models/flts/infer`;

    const json = await postJson(infer, {
      parameters,
      inputs: [{ name: 'timestamp', shape: [ROWS], datatype: 'BYTES', data: ts }, ...names.map((name) => ({ name, shape: [ROWS], datatype: inputs[name].datatype, data: jsonElements(inputs[name].datatype, inputs[name].values) }))],
    });
    expect(json.status, JSON.stringify(json.json)).toBe(200);

    const parts = names.map((name) => rawTensor(inputs[name].datatype, inputs[name].values));
    const header = Buffer.from(
      JSON.stringify({
        parameters,
        inputs: [{ name: 'timestamp', shape: [ROWS], datatype: 'BYTES', data: ts }, ...names.map((name, i) => ({ name, shape: [ROWS], datatype: inputs[name].datatype, parameters: { binary_data_size: parts[i].length } }))],
      }),
    );
    const binaryResponse = await fetch(infer, { method: 'POST', headers: { 'inference-header-content-length': String(header.length) }, body: Buffer.concat([header, ...parts]) });
    const binary = (await binaryResponse.json()) as { outputs: Array<{ data: number[] }> };
    expect(binaryResponse.status, JSON.stringify(binary)).toBe(200);

    const grpcParameters = { inference_length: { int64_param: LENGTH } };
    const typed = await call(client, {
      model_name: 'flts',
      parameters: grpcParameters,
      inputs: [
        { name: 'timestamp', datatype: 'BYTES', shape: [ROWS], contents: { bytes_contents: ts.map((text) => Buffer.from(text)) } },
        ...names.map((name) => ({ name, datatype: inputs[name].datatype, shape: [ROWS], contents: { [CONTENTS[inputs[name].datatype]]: jsonElements(inputs[name].datatype, inputs[name].values) } })),
      ],
      outputs: [{ name: 'down' }],
    });
    const raw = await call(client, {
      model_name: 'flts',
      parameters: grpcParameters,
      inputs: [{ name: 'timestamp', datatype: 'BYTES', shape: [ROWS] }, ...names.map((name) => ({ name, datatype: inputs[name].datatype, shape: [ROWS] }))],
      raw_input_contents: [bytesTensor(ts), ...parts],
      outputs: [{ name: 'down' }],
    });
    const readFp64 = (bytes: Buffer): number[] => Array.from({ length: bytes.length / 8 }, (_, i) => bytes.readDoubleLE(i * 8));
    return {
      http_json: json.json.outputs[1].data,
      http_binary: binary.outputs[1].data,
      grpc_contents: readFp64(typed.raw_output_contents[0]),
      grpc_raw: readFp64(raw.raw_output_contents[0]),
    };
  }

  it('reads an FP32 input as its float32 values however it is sent: JSON data forecasts as binary and gRPC do', async () => {
    const up = (data.up as number[]).map((value) => value + 0.1);
    const asFloat32 = await predict({ down: down.map(Math.fround), up: up.map(Math.fround) });
    // The rows differ from their float32 values enough to move the forecast: otherwise this test would prove nothing.
    expect(await predict({ down, up })).not.toEqual(asFloat32);
    const sent = await forecasts({ down: { datatype: 'FP32', values: down }, up: { datatype: 'FP32', values: up } });
    // Before, JSON data was read as the doubles written, binary and gRPC as float32: the same tensor forecast two ways.
    expect(sent).toEqual({ http_json: asFloat32, http_binary: asFloat32, grpc_contents: asFloat32, grpc_raw: asFloat32 });
    // FP64 keeps every double, on every path.
    const asDouble = await predict({ down, up });
    expect(await forecasts({ down: { datatype: 'FP64', values: down }, up: { datatype: 'FP64', values: up } })).toEqual({ http_json: asDouble, http_binary: asDouble, grpc_contents: asDouble, grpc_raw: asDouble });
  });

  it('reads integer and BOOL inputs as the same values however they are sent', async () => {
    const up = data.up as number[];
    for (const [datatype, values] of [['INT8', [12, 15, -3, 40, 127, -128, 0, 9, 21]], ['INT64', [12, 15, -3, 40, 2 ** 40, -(2 ** 40), 0, 9, 21]], ['UINT16', [12, 15, 3, 40, 65535, 0, 7, 9, 21]], ['BOOL', [1, 0, 1, 1, 0, 1, 0, 0, 1]]] as const) {
      const expected = await predict({ down: [...values], up });
      const sent = await forecasts({ down: { datatype, values: [...values] }, up: { datatype: 'FP64', values: up } });
      expect({ datatype, sent }).toEqual({ datatype, sent: { http_json: expected, http_binary: expected, grpc_contents: expected, grpc_raw: expected } });
    }
  });

  it('refuses times sent as FP32, which float32 would move by up to a minute, on HTTP and gRPC alike, naming the types to send', async () => {
    const seconds = ts.map((text) => Date.parse(`${text.replace(' ', 'T')}Z`) / 1000);
    // 2-minute steps from a whole hour: float32 holds 1517875200 but not 1517875320 (a multiple of 128 s apart).
    expect(seconds.map(Math.fround)).not.toEqual(seconds);
    const message = "FLTS_REQUEST_INVALID: Input 'timestamp' holds the times, but is FP32, read as float32, which holds today's epoch seconds and milliseconds only to about 2 minutes: send the times as BYTES text, or as INT64 or FP64 epoch numbers.";
    const inputs = [
      { name: 'timestamp', shape: [ROWS], datatype: 'FP32', data: seconds },
      { name: 'down', shape: [ROWS], datatype: 'FP64', data: down },
      { name: 'up', shape: [ROWS], datatype: 'FP64', data: data.up },
    ];
    // Before, JSON times were read as the doubles written and binary ones as float32: two datings of one tensor.
    const http = await postJson(`${server.url}/v2/models/flts/infer`, { inputs });
    expect({ status: http.status, code: http.json.code, error: http.json.error }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID', error: message });
    const refused = await call(client, {
      model_name: 'flts',
      inputs: inputs.map(({ name, shape, datatype }) => ({ name, shape, datatype })),
      raw_input_contents: [rawTensor('FP32', seconds), rawTensor('FP64', down), rawTensor('FP64', data.up as number[])],
    }).then(
      () => undefined,
      (error: grpc.ServiceError) => error,
    );
    expect({ code: refused?.code, details: refused?.details }).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: message });
    // The same times as FP64 forecast as their text does.
    const asText = await postJson(`${server.url}/v2/models/flts/infer`, { inputs: inputs.map((input) => (input.name === 'timestamp' ? { ...input, datatype: 'BYTES', data: ts } : input)) });
    const asFp64 = await postJson(`${server.url}/v2/models/flts/infer`, { inputs: inputs.map((input) => (input.name === 'timestamp' ? { ...input, datatype: 'FP64' } : input)) });
    expect({ status: asFp64.status, outputs: asFp64.json.outputs }).toEqual({ status: 200, outputs: asText.json.outputs });
  });
});
