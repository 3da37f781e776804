import { beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { naiveSource, postJson, readJsonResponse, requestData, useTestServer, withTestServer } from './serve-fixtures.js';

/** The binary tensor data extension: a JSON header, then each tensor's little-endian bytes. */
function binaryBody(header: object, parts: Buffer[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...parts]), headerLength: json.length };
}

const fp64 = (values: number[]): Buffer => Buffer.from(Float64Array.from(values).buffer);
const fp32 = (values: number[]): Buffer => Buffer.from(Float32Array.from(values).buffer);
function bytesTensor(values: string[]): Buffer {
  return Buffer.concat(values.flatMap((value) => {
    const text = Buffer.from(value);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(text.length);
    return [length, text];
  }));
}

function readBinaryResponse(body: Buffer, headerLength: number): { header: any; outputs: Record<string, Array<number | string>> } {
  const header = JSON.parse(body.subarray(0, headerLength).toString());
  const outputs: Record<string, Array<number | string>> = {};
  let offset = headerLength;
  for (const output of header.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) {
      outputs[output.name] = output.data;
      continue;
    }
    const raw = body.subarray(offset, offset + size);
    offset += size;
    if (output.datatype === 'FP64') outputs[output.name] = Array.from({ length: size / 8 }, (_, i) => raw.readDoubleLE(i * 8));
    else {
      const texts: string[] = [];
      for (let at = 0; at < raw.length; ) {
        const length = raw.readUInt32LE(at);
        texts.push(raw.subarray(at + 4, at + 4 + length).toString());
        at += 4 + length;
      }
      outputs[output.name] = texts;
    }
  }
  expect(offset).toBe(body.length);
  return { header, outputs };
}

describe('serve > Open Inference Protocol over HTTP', () => {
  const server = useTestServer({ server: { bodyLimitBytes: 256 * 1024 } });
  let infer: string;
  const data = requestData(7);
  const jsonInputs = [
    { name: 'timestamp', shape: [7], datatype: 'BYTES', data: data.ts },
    { name: 'down', shape: [7], datatype: 'FP64', data: data.down },
    { name: 'up', shape: [7], datatype: 'FP64', data: data.up },
  ];
  let predicted: { ts: string[]; down: number[] };

  beforeAll(async () => {
    infer = `${server.url}/v2/models/flts/infer`;
    const { json } = await postJson(`${server.url}/predict`, { data });
    predicted = { ts: json.predictions.map((row: { ts: string }) => row.ts), down: json.predictions.map((row: { down: number }) => row.down) };
  });

  it('announces the binary tensor data extension and, as the server version the protocol asks for, the version of flts', async () => {
    // Before, the version was '1' whatever flts answered it: not the version `flts --version` prints.
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await (await fetch(`${server.url}/v2`)).json()).toEqual({ name: 'flts', version, extensions: ['binary_tensor_data'] });
  });

  it('serves the model routes under /versions/<run id> as the unversioned ones, the version being the served run', async () => {
    const versioned = `${server.url}/v2/models/flts/versions/run-a`;
    const metadata = await readJsonResponse(await fetch(versioned));
    expect(metadata.status).toBe(200);
    expect(metadata.json).toEqual(await (await fetch(`${server.url}/v2/models/flts`)).json());
    expect(metadata.json.versions).toEqual(['run-a']);
    // The served run id names the model too, as on the unversioned routes.
    expect((await fetch(`${server.url}/v2/models/run-a/versions/run-a`)).status).toBe(200);
    const ready = await readJsonResponse(await fetch(`${versioned}/ready`));
    expect({ status: ready.status, json: ready.json }).toEqual({ status: 200, json: { name: 'flts', ready: true } });
    const { status, json } = await readJsonResponse(await fetch(`${versioned}/infer`, { method: 'POST', body: JSON.stringify({ id: 'v1', inputs: jsonInputs }) }));
    expect(status).toBe(200);
    expect(json).toMatchObject({ model_name: 'flts', model_version: 'run-a', id: 'v1', parameters: { run_id: 'run-a' } });
    expect(json.outputs).toEqual([
      { name: 'timestamp', datatype: 'BYTES', shape: [2], data: predicted.ts },
      { name: 'down', datatype: 'FP64', shape: [2], data: predicted.down },
    ]);
    // Binary tensor data, as tritonclient sends it with a model_version.
    const { body, headerLength } = binaryBody({ inputs: jsonInputs.map((input) => (input.name === 'down' ? { name: 'down', shape: [7], datatype: 'FP64', parameters: { binary_data_size: 56 } } : input)) }, [fp64(data.down as number[])]);
    const binary = await fetch(`${versioned}/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(headerLength) }, body });
    expect(binary.status).toBe(200);
    expect(((await binary.json()) as { outputs: Array<{ data: unknown }> }).outputs[1].data).toEqual(predicted.down);
  });

  it('answers a version not in service with a coded 404 in the protocol error form, naming the version served', async () => {
    const long = 'v'.repeat(99);
    for (const version of ['run-old', encodeURIComponent('run a/../b'), long]) {
      const base = `${server.url}/v2/models/flts/versions/${version}`;
      for (const [method, url] of [['GET', base], ['GET', `${base}/ready`], ['POST', `${base}/infer`]]) {
        const response = await fetch(url, { method, ...(method === 'POST' ? { body: JSON.stringify({ inputs: jsonInputs }) } : {}) });
        const text = await response.text();
        const json = JSON.parse(text);
        expect({ url, status: response.status, code: json.code }).toEqual({ url, status: 404, code: 'FLTS_REQUEST_ROUTE_NOT_FOUND' });
        expect(json.error).toMatch(/^FLTS_REQUEST_ROUTE_NOT_FOUND: Model 'flts' has no version '.+' here; it serves version 'run-a'\.$/);
        expect(text.length).toBeLessThan(1000);
      }
    }
    // Another model is refused for its name first, whatever version it names.
    const other = await readJsonResponse(await fetch(`${server.url}/v2/models/other/versions/run-a`));
    expect({ status: other.status, message: other.json.message }).toEqual({ status: 404, message: "No model named 'other' is served here; this server serves 'flts'." });
    // The model and version are looked up before the body is read (as Triton does): a body that is invalid too, or
    // not JSON at all, still gets the 404 that tells the client what to fix first.
    for (const [url, body] of [
      [`${server.url}/v2/models/flts/versions/run-old/infer`, '{"inputs":"none"}'],
      [`${server.url}/v2/models/flts/versions/run-old/infer`, '{not json'],
      [`${server.url}/v2/models/other/infer`, '{"inputs":[]}'],
    ]) {
      const answer = await readJsonResponse(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
      expect({ url, body, status: answer.status, code: answer.json.code }).toEqual({ url, body, status: 404, code: 'FLTS_REQUEST_ROUTE_NOT_FOUND' });
    }
    // A path naming no version is no version route.
    expect((await fetch(`${server.url}/v2/models/flts/versions/`)).status).toBe(404);
    expect((await fetch(`${server.url}/v2/models/flts/versions//ready`)).status).toBe(404);
  });

  it('labels versioned calls in the metrics by their route pattern, never by the version asked for', async () => {
    await fetch(`${server.url}/v2/models/flts/versions/run-a/infer`, { method: 'POST', body: JSON.stringify({ inputs: jsonInputs }) });
    await fetch(`${server.url}/v2/models/flts/versions/label-probe-version/infer`, { method: 'POST', body: JSON.stringify({ inputs: jsonInputs }) });
    await fetch(`${server.url}/v2/models/flts/versions/label-probe-version/ready`);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/flts_http_requests_total\{route="\/v2\/models\/:name\/versions\/:version\/infer",method="POST",status="200"\} [1-9]/);
    expect(metrics).toMatch(/flts_http_requests_total\{route="\/v2\/models\/:name\/versions\/:version\/infer",method="POST",status="404"\} [1-9]/);
    expect(metrics).toMatch(/flts_http_requests_total\{route="\/v2\/models\/:name\/versions\/:version\/ready",method="GET",status="404"\} [1-9]/);
    expect(metrics).toContain('flts_forecast_refused_total{route="/v2/models/:name/versions/:version/infer",reason="overloaded"} 0');
    expect(metrics).not.toContain('label-probe-version');
  });

  it('accepts a JSON request without a content type, as tritonclient sends it, with the forecast of /predict', async () => {
    const { status, json } = await readJsonResponse(await fetch(infer, { method: 'POST', body: JSON.stringify({ inputs: jsonInputs }) }));
    expect(status).toBe(200);
    expect(json.outputs).toEqual([
      { name: 'timestamp', datatype: 'BYTES', shape: [2], data: predicted.ts },
      { name: 'down', datatype: 'FP64', shape: [2], data: predicted.down },
    ]);
    expect(json.parameters).toMatchObject({ run_id: 'run-a', horizon: 2, recursive: false });
  });

  it('decodes binary FP64, FP32 and BYTES inputs and answers binary outputs when asked', async () => {
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: 'timestamp', shape: [7], datatype: 'BYTES', parameters: { binary_data_size: bytesTensor(data.ts as string[]).length } },
          { name: 'down', shape: [7, 1], datatype: 'FP64', parameters: { binary_data_size: 56 } },
          { name: 'up', shape: [7], datatype: 'FP32', parameters: { binary_data_size: 28 } },
        ],
        outputs: [{ name: 'down', parameters: { binary_data: true } }, { name: 'timestamp', parameters: { binary_data: false } }],
      },
      [bytesTensor(data.ts as string[]), fp64(data.down as number[]), fp32(data.up as number[])],
    );
    const response = await fetch(infer, { method: 'POST', headers: { 'inference-header-content-length': String(headerLength) }, body });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const answer = Buffer.from(await response.arrayBuffer());
    const { header, outputs } = readBinaryResponse(answer, Number(response.headers.get('inference-header-content-length')));
    expect(header.outputs.map((o: { name: string }) => o.name)).toEqual(['down', 'timestamp']);
    expect(header.outputs[0]).toEqual({ name: 'down', datatype: 'FP64', shape: [2], parameters: { binary_data_size: 16 } });
    expect(outputs.timestamp).toEqual(predicted.ts);
    // `up` went over the wire as FP32: small integers survive exactly, so the forecast is the same.
    expect(outputs.down).toEqual(predicted.down);

    const allBinary = await fetch(infer, { method: 'POST', body: JSON.stringify({ inputs: jsonInputs, parameters: { binary_data_output: true } }) });
    const decoded = readBinaryResponse(Buffer.from(await allBinary.arrayBuffer()), Number(allBinary.headers.get('inference-header-content-length')));
    expect(decoded.outputs).toEqual({ timestamp: predicted.ts, down: predicted.down });
  });

  it('answers malformed binary data with a coded 400 in the protocol error form', async () => {
    const post = async (header: object, parts: Buffer[], declared?: string) => {
      const { body, headerLength } = binaryBody(header, parts);
      return readJsonResponse(await fetch(infer, { method: 'POST', headers: { 'inference-header-content-length': declared ?? String(headerLength) }, body }));
    };
    const inputs = (sizes: number[]) => jsonInputs.map((input, i) => ({ name: input.name, shape: input.shape, datatype: input.datatype, parameters: { binary_data_size: sizes[i] } }));
    const ts = bytesTensor(data.ts as string[]);
    const cases = [
      { answer: await post({ inputs: inputs([ts.length, 56, 56]) }, [ts, fp64(data.down as number[])]), message: /claims 56 bytes of binary data, but only 0 remain/ },
      { answer: await post({ inputs: inputs([ts.length, 48, 56]) }, [ts, fp64(data.down as number[]), fp64(data.up as number[])]), message: /'down' has shape \[7\] of FP64 \(56 bytes\) but 48 bytes/ },
      { answer: await post({ inputs: inputs([ts.length, 56, 56]) }, [ts, fp64(data.down as number[]), fp64(data.up as number[]), Buffer.alloc(3)]), message: /3 bytes of binary data that no input claims/ },
      { answer: await post({ inputs: inputs([ts.length - 2, 56, 58]) }, [ts, fp64(data.down as number[]), fp64(data.up as number[])]), message: /'timestamp': a binary BYTES element/ },
      { answer: await post({ inputs: inputs([ts.length, 56, 56]) }, [ts], '99999'), message: /Inference-Header-Content-Length must be a byte count/ },
      { answer: await post({ inputs: jsonInputs.map((input) => ({ ...input, datatype: input.name === 'up' ? 'FP16' : input.datatype })) }, []), message: /datatype 'FP16'/ },
      { answer: await post({ inputs: jsonInputs, outputs: [{ name: 'nope' }] }, []), message: /Unknown output 'nope'/ },
      { answer: await post({ inputs: jsonInputs, outputs: [{ name: 'down' }, { name: 'timestamp' }, { name: 'down' }] }, []), message: /^FLTS_REQUEST_INVALID: Output 'down' is requested twice\.$/ },
    ];
    for (const { answer, message } of cases) {
      expect(answer.status).toBe(400);
      expect(answer.json.code).toBe('FLTS_REQUEST_INVALID');
      expect(answer.json.error).toMatch(message);
    }
  });

  it('reads a body labelled application/json as its Inference-Header-Content-Length says, as Triton does, whatever the label', async () => {
    const { body, headerLength } = binaryBody({ inputs: jsonInputs.map((input) => (input.name === 'down' ? { ...input, data: undefined, parameters: { binary_data_size: 56 } } : input)) }, [fp64(data.down as number[])]);
    const send = async (contentType: string, declared: string, sent: Buffer = body) => readJsonResponse(await fetch(infer, { method: 'POST', headers: { 'content-type': contentType, 'inference-header-content-length': declared }, body: sent }));
    const unlabelled = await send('application/octet-stream', String(headerLength));
    expect(unlabelled.status).toBe(200);
    // Before, refused: the body was parsed as JSON whole and failed past its header.
    for (const contentType of ['application/json', 'Application/JSON; charset=utf-8']) {
      const labelled = await send(contentType, String(headerLength));
      expect(labelled.status).toBe(200);
      expect(labelled.json.outputs).toEqual(unlabelled.json.outputs);
    }
  });

  it('answers a JSON body labelled application/json whose Inference-Header-Content-Length is wrong as it answers it unlabelled: a coded 400', async () => {
    const send = async (contentType: string, declared: string, sent: string) => readJsonResponse(await fetch(infer, { method: 'POST', headers: { 'content-type': contentType, 'inference-header-content-length': declared }, body: sent }));
    const text = JSON.stringify({ inputs: jsonInputs });
    expect((await send('application/json', String(Buffer.byteLength(text)), text)).status).toBe(200);
    // Before, each was read whole as if the header were not there, and answered 200.
    for (const [declared, message] of [
      ['99999', /^FLTS_REQUEST_INVALID: Inference-Header-Content-Length must be a byte count of at most the body's \d+ bytes; got '99999'\.$/],
      ['ten', /^FLTS_REQUEST_INVALID: Inference-Header-Content-Length must be a byte count .+; got 'ten'\.$/],
      ['10', /^FLTS_REQUEST_INVALID: Malformed JSON body: /],
      [String(Buffer.byteLength(text) - 20), /^FLTS_REQUEST_INVALID: Malformed JSON body: /],
    ] as const) {
      const wrong = await send('application/json', declared, text);
      expect(wrong.status).toBe(400);
      expect(wrong.json.code).toBe('FLTS_REQUEST_INVALID');
      expect(wrong.json.error).toMatch(message);
      // As the same body unlabelled is answered.
      expect(wrong.json).toEqual((await send('application/octet-stream', declared, text)).json);
    }
  });

  it('answers a tensor nested 10,000 deep with a coded 400, not a stack overflow', async () => {
    const nested = `${'['.repeat(10_001)}1${']'.repeat(10_001)}`;
    const body = JSON.stringify({ inputs: [jsonInputs[0], { name: 'down', shape: [7], datatype: 'FP64', data: 'NESTED' }, jsonInputs[2]] }).replace('"NESTED"', nested);
    for (const headers of [{ 'content-type': 'application/json' }, {}]) {
      const { status, json } = await readJsonResponse(await fetch(infer, { method: 'POST', headers, body }));
      expect(status).toBe(400);
      expect(json.code).toBe('FLTS_REQUEST_INVALID');
      expect(json.error).toMatch(/^FLTS_REQUEST_INVALID: Invalid request: body\/inputs\/1\/data nests deeper than the 11 levels an inference request has/);
    }
    // Within the nesting any tensor may have, data deeper than its own shape is refused once parsed.
    const deeper = await postJson(infer, { inputs: [jsonInputs[0], { name: 'down', shape: [7], datatype: 'FP64', data: (data.down as number[]).map((v) => [[v]]) }, jsonInputs[2]] });
    expect(deeper.json.error).toMatch(/'down' nests its data deeper than its 1-dimensional shape/);
    const nestedOk = await postJson(infer, { inputs: [jsonInputs[0], { name: 'down', shape: [7, 1], datatype: 'FP64', data: (data.down as number[]).map((v) => [v]) }, jsonInputs[2]] });
    expect(nestedOk.json.outputs[1].data).toEqual(predicted.down);
  });

  it('refuses a body over the schema\'s bounds from its text, before JSON.parse reads it, with the schema\'s answer', async () => {
    const many = (count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}`, 'x']));
    const cases: Array<[object, string]> = [
      [{ inputs: jsonInputs, parameters: many(10_000) }, 'body/parameters must NOT have more than 64 properties'],
      [{ inputs: jsonInputs.map((input, i) => (i === 1 ? { ...input, parameters: many(65) } : input)) }, 'body/inputs/1/parameters must NOT have more than 64 properties'],
      [{ inputs: jsonInputs, outputs: [{ name: 'down', parameters: many(65) }] }, 'body/outputs/0/parameters must NOT have more than 64 properties'],
      [{ inputs: jsonInputs.map((input, i) => (i === 2 ? { ...input, shape: [7, 1, 1, 1, 1, 1, 1, 1, 1] } : input)) }, 'body/inputs/2/shape must NOT have more than 8 items'],
      [{ inputs: Array.from({ length: 1025 }, () => jsonInputs[1]) }, 'body/inputs must NOT have more than 1024 items'],
      [{ inputs: jsonInputs, extension: many(10_000) }, 'body/extension must NOT have more than 64 properties'],
    ];
    const parse = vi.spyOn(JSON, 'parse');
    try {
      for (const [request, reason] of cases) {
        const body = JSON.stringify(request);
        // As JSON, and as tritonclient sends it (no content type: the body reaches the route as bytes).
        for (const headers of [{ 'content-type': 'application/json' }, {}]) {
          const { status, json } = await readJsonResponse(await fetch(infer, { method: 'POST', headers, body }));
          expect({ status, code: json.code, message: json.message }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID', message: `Invalid request: ${reason}.` });
        }
        expect(parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length >= body.length)).toEqual([]);
      }
    } finally {
      parse.mockRestore();
    }
  });

  it('still answers a large legitimate tensor, its data as long as its shape says, and refuses a shorter one', async () => {
    const rows = requestData(5_000);
    const inputs = [
      { name: 'timestamp', shape: [5_000], datatype: 'BYTES', data: rows.ts },
      { name: 'down', shape: [5_000], datatype: 'FP64', data: rows.down },
      { name: 'up', shape: [5_000, 1], datatype: 'FP64', data: (rows.up as number[]).map((value) => [value]) },
    ];
    expect(JSON.stringify({ inputs }).length).toBeGreaterThan(200_000);
    const { status, json } = await postJson(infer, { inputs });
    expect(status).toBe(200);
    expect(json.outputs[1]).toMatchObject({ name: 'down', shape: [2] });
    const short = await postJson(infer, { inputs: inputs.map((input) => (input.name === 'down' ? { ...input, shape: [5_001] } : input)) });
    expect({ status: short.status, code: short.json.code, message: short.json.message }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID', message: "Input 'down' has shape [5001] but 5000 values." });
  });

  it('answers a model name longer than the router allows with a coded 404, on every model route', async () => {
    const name = 'm'.repeat(5000);
    for (const [method, path] of [['GET', `/v2/models/${name}`], ['GET', `/v2/models/${name}/ready`], ['POST', `/v2/models/${name}/infer`]]) {
      const { status, json } = await readJsonResponse(await fetch(`${server.url}${path}`, { method, ...(method === 'POST' ? { body: JSON.stringify({ inputs: jsonInputs }) } : {}) }));
      expect(status).toBe(404);
      expect(json.code).toBe('FLTS_REQUEST_ROUTE_NOT_FOUND');
      expect(json.error).toMatch(/^FLTS_REQUEST_ROUTE_NOT_FOUND: A path segment is longer than the router accepts/);
      expect(JSON.stringify(json)).not.toContain(name);
    }
  });

  it('refuses JSON data of another type than its input declares, and reads BOOL true and false as 1 and 0', async () => {
    const withUp = (datatype: string, values: unknown[]) => ({ inputs: jsonInputs.map((input) => (input.name === 'up' ? { ...input, datatype, data: values } : input)) });
    const up = data.up as number[];
    const halves = up.map((value) => value + 0.5);
    const epochMs = (data.ts as string[]).map((ts) => Date.parse(`${ts.replace(' ', 'T')}Z`));
    const cases: Array<[object, RegExp]> = [
      [withUp('BOOL', halves), /^FLTS_REQUEST_INVALID: Input 'up' is BOOL, but element 0 is 5\.5; BOOL data must be true or false\.$/],
      [withUp('INT8', halves), /^FLTS_REQUEST_INVALID: Input 'up' is INT8, but element 0 is 5\.5; INT8 data must be integers from -128 to 127\.$/],
      [withUp('UINT8', [...up.slice(0, 6), 300]), /'up' is UINT8, but element 6 is 300; UINT8 data must be integers from 0 to 255/],
      [withUp('INT64', halves), /'up' is INT64, but element 0 is 5\.5; INT64 data must be integers from -9223372036854775808 to 9223372036854775807\.$/],
      [withUp('UINT64', halves), /UINT64 data must be integers from 0 to 18446744073709551615\.$/],
      [withUp('BYTES', halves), /'up' is BYTES, but element 0 is 5\.5; BYTES data must be strings/],
      [withUp('FP64', up.map(String)), /'up' is FP64, but element 0 is "5"; FP64 data must be numbers \(or null\)/],
      // Numbers written as text under BYTES, a type the timestamp takes: before, "Columns contain non-numeric values: up",
      // of values that are numbers, without naming the datatype to send.
      [withUp('BYTES', up.map(String)), /^FLTS_REQUEST_INVALID: Input 'up' is BYTES, but the model reads it as numbers: send it as FP64 \(or FP32, an INT type, BOOL\), the datatype the model's metadata lists for it \(GET \/v2\/models\/flts, ModelMetadata\); only the timestamp input takes text\.$/],
      [withUp('FP32', [...up.slice(0, 6), 1e39]), /'up' is FP32, but element 6 is 1e\+39/],
      [{ inputs: jsonInputs.map((input) => (input.name === 'timestamp' ? { ...input, data: epochMs } : input)) }, /'timestamp' is BYTES, but element 0 is \d+; BYTES data must be strings/],
    ];
    for (const [body, message] of cases) {
      const { status, json } = await postJson(infer, body);
      expect({ status, code: json.code }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID' });
      expect(json.error).toMatch(message);
    }
    const forecast = async (body: object): Promise<unknown> => {
      const { status, json } = await postJson(infer, body);
      expect(status).toBe(200);
      return json.outputs[1].data;
    };
    // What the types allow forecasts as before: integers as INT32, epoch milliseconds as INT64, BOOL as 1 and 0.
    expect(await forecast(withUp('INT32', up))).toEqual(predicted.down);
    expect(await forecast({ inputs: jsonInputs.map((input) => (input.name === 'timestamp' ? { ...input, datatype: 'INT64', data: epochMs } : input)) })).toEqual(predicted.down);
    expect(await forecast(withUp('BOOL', up.map((value) => value % 2 === 0)))).toEqual(await forecast(withUp('FP64', up.map((value) => (value % 2 === 0 ? 1 : 0)))));
  });

  it('takes a series identifier of at most 128 characters (the deployment identifier\'s bound), as /predict does', async () => {
    const tooLong = 's'.repeat(129);
    const oip = await postJson(infer, { inputs: jsonInputs, parameters: { identifier: tooLong } });
    const predict = await postJson(`${server.url}/predict`, { data, identifier: tooLong });
    expect([oip.status, oip.json.code, predict.status, predict.json.code]).toEqual([400, 'FLTS_REQUEST_INVALID', 400, 'FLTS_REQUEST_INVALID']);
    expect(predict.json.message).toBe('Invalid request: body/identifier must NOT have more than 128 characters.');
    expect(oip.json.message).toBe('Invalid request: body/parameters/identifier must NOT have more than 128 characters.');
    expect((await postJson(infer, { inputs: jsonInputs, parameters: { identifier: tooLong.slice(1) } })).status).toBe(200);
  });

  it('refuses an output asked for with the classification extension, which it does not serve, rather than answer the forecast as classes', async () => {
    for (const classification of [2, '2', true]) {
      const { status, json } = await postJson(infer, { inputs: jsonInputs, outputs: [{ name: 'down', parameters: { classification } }] });
      expect({ status, code: json.code, error: json.error }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID', error: expect.stringMatching(/^FLTS_REQUEST_INVALID: Output 'down' is requested with the classification parameter, .*does not serve the classification extension/) });
    }
    // 0 asks for no classification (tritonclient's default class_count), so the output comes as without it.
    const plain = await postJson(infer, { inputs: jsonInputs, outputs: [{ name: 'down', parameters: { classification: 0, binary_data: false } }] });
    expect([plain.status, plain.json.outputs]).toEqual([200, [{ name: 'down', datatype: 'FP64', shape: [2], data: predicted.down }]]);
  });

  it('echoes an id of at most 256 characters, and refuses a longer one (of the body limit too) with the schema\'s coded 400', async () => {
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const echoed = await postJson(infer, { id: uuid, inputs: jsonInputs });
    expect([echoed.status, echoed.json.id]).toEqual([200, uuid]);
    expect((await postJson(infer, { id: 'é'.repeat(256), inputs: jsonInputs })).json.id).toBe('é'.repeat(256));
    // The protocol returns the id "if specified", and "" is given: before, it was answered as if none had been.
    const empty = await postJson(infer, { id: '', inputs: jsonInputs });
    expect([empty.status, 'id' in empty.json, empty.json.id]).toEqual([200, true, '']);
    expect((await postJson(infer, { inputs: jsonInputs })).json).not.toHaveProperty('id');
    // Just over (left to the schema), escaped text under the bound's length, and an id of most of the body limit (refused from the text).
    for (const body of [JSON.stringify({ id: 'i'.repeat(257), inputs: jsonInputs }), `{"id":"${'\\u0069'.repeat(257)}","inputs":${JSON.stringify(jsonInputs)}}`, JSON.stringify({ inputs: jsonInputs, id: 'i'.repeat(200_000) })]) {
      for (const headers of [{ 'content-type': 'application/json' }, {}]) {
        const { status, json } = await readJsonResponse(await fetch(infer, { method: 'POST', headers, body }));
        expect({ status, code: json.code, message: json.message }).toEqual({ status: 400, code: 'FLTS_REQUEST_INVALID', message: 'Invalid request: body/id must NOT have more than 256 characters.' });
        expect(JSON.stringify(json).length).toBeLessThan(1000);
      }
    }
  });

  it('quotes at most a clipped part of a long name or datatype the client sent, so the 400 stays small', async () => {
    const long = 'Z'.repeat(200_000);
    const bodies = [
      { inputs: jsonInputs, outputs: [{ name: long }] },
      { inputs: jsonInputs.map((input) => (input.name === 'down' ? { ...input, datatype: long } : input)) },
      { inputs: [...jsonInputs, { name: long, shape: [3], datatype: 'FP64', data: [1, 2] }] },
      { inputs: [...jsonInputs, { name: long, shape: [3], datatype: 'FP64', parameters: { binary_data_size: 24 } }] },
      { inputs: jsonInputs, parameters: { index_col: long } },
    ];
    for (const body of bodies) {
      const response = await fetch(infer, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await response.text();
      expect(response.status).toBe(400);
      expect(JSON.parse(text).code).toBe('FLTS_REQUEST_INVALID');
      expect(text).toMatch(/'Z{40,100}\.\.\.'/);
      expect(text.length).toBeLessThan(2000);
    }
    const unrouted = await fetch(`${server.url}/${'p'.repeat(8000)}`);
    expect((await unrouted.text()).length).toBeLessThan(1000);
    // fastify's own message quotes the content type whole; the answer cuts any message at 2,000 characters.
    const mediaType = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': `text/${'x'.repeat(12_000)}` }, body: '{}' });
    expect(mediaType.status).toBe(415);
    expect(((await mediaType.json()) as { message: string }).message).toHaveLength(2003);
  });

  it('keeps rejecting other content types on /predict', async () => {
    const response = await fetch(`${server.url}/predict`, { method: 'POST', body: JSON.stringify({ data }) });
    expect(response.status).toBe(415);
    expect(((await response.json()) as any)).toMatchObject({ code: 'FLTS_REQUEST_UNSUPPORTED_MEDIA_TYPE', message: expect.stringMatching(/application\/json/) });
  });
});

describe('serve > Open Inference Protocol > the served model name', () => {
  it('is said on /readyz and /healthz, so a client of other settings (flts bench --target) addresses the routes that answer', async () => {
    const source = naiveSource('run-a');
    source.promote('run-a');
    await withTestServer(source, { server: { modelName: 'energy' } }, async (server) => {
      for (const route of ['/readyz', '/healthz']) {
        const { status, json } = await readJsonResponse(await fetch(`${server.url}${route}`));
        expect({ route, status, model_name: json.model_name }).toEqual({ route, status: 200, model_name: 'energy' });
      }
      expect((await fetch(`${server.url}/v2/models/energy/ready`)).status).toBe(200);
    });
  });
});
