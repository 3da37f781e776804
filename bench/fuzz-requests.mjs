// Generated hostile requests for the inference API, shared by the bounded fuzz test in `npm test`
// (test/serve/serve-fuzz.test.ts) and the longer run in bench/fuzz.mjs. Each generated case is
// { method, path, headers, body }: JSON bodies of every shape, /predict bodies that are almost right,
// timestamps far outside the calendar, deep nesting, wrong content types, raw bytes and odd paths; Open Inference
// Protocol tensors that are almost right (shapes, datatypes, binary data and its header); numbers JSON.stringify never
// writes (1e309, -0, 400 digits) put into the text; query strings and headers of every kind.
import fc from 'fast-check';

// The Open Inference Protocol paths are generated for the model "flts" (MODEL_PATH); sendHostileRequest puts the
// served model's name in its place.
const MODEL_PATH = '/v2/models/flts';
const ROUTES = ['/predict', '/actuals', `${MODEL_PATH}/infer`, '/reload_latest', '/prune_logs', '/healthz', '/readyz', '/v2', MODEL_PATH, '/metrics', '/stats'];
const TIMESTAMP_COLUMNS = ['ts', 'timestamp', 'time', 'date'];

const anyTimestamp = fc.oneof(
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((date) => date.toISOString()),
  fc.date({ min: new Date('2018-01-01'), max: new Date('2018-12-31'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 19).replace('T', ' ')),
  fc.double(),
  fc.constantFrom(8.64e15, -8.64e15, 8.64e15 + 1, Number.MAX_SAFE_INTEGER, 0),
  fc.stringMatching(/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/),
  fc.string({ maxLength: 30 }),
  fc.constant(null),
);

const anyCell = fc.oneof(fc.double(), fc.integer(), fc.constant(null), fc.string({ maxLength: 8 }), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }));

/** A column of `rows` values, sometimes the wrong length or not an array at all. */
const column = (rows, cell) => fc.oneof({ weight: 6, arbitrary: fc.array(cell, { minLength: rows, maxLength: rows }) }, { weight: 1, arbitrary: fc.array(cell, { maxLength: rows + 3 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

/** Arrays nested `depth` deep around a value: what a recursive describe or flatten overflows on. */
const nested = (depth, value) => {
  let out = value;
  for (let i = 0; i < depth; i++) out = [out];
  return out;
};

/** /predict bodies close to valid: the right shape with wrong parts, so checks deep inside are reached. */
export const predictBody = fc.integer({ min: 0, max: 12 }).chain((rows) =>
  fc.record(
    {
      data: fc.oneof(
        { weight: 8, arbitrary: fc.record({ [TIMESTAMP_COLUMNS[rows % 4]]: column(rows, anyTimestamp), down: column(rows, anyCell), up: column(rows, anyCell) }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 3_000 }).map((depth) => ({ ts: [nested(depth, '2018-01-01 00:00:00'), '2018-01-01 00:02:00'], down: [1, 2], up: [1, 2] })) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
      ),
      index_col: fc.oneof(fc.constantFrom(...TIMESTAMP_COLUMNS, '__proto__', 'constructor'), fc.string({ maxLength: 12 })),
      inference_length: fc.oneof(fc.integer({ min: -5, max: 40 }), fc.constantFrom(0, 10_001, 1e9, 2.5, '5', true, [4]), fc.jsonValue({ maxDepth: 1 })),
    },
    { requiredKeys: [] },
  ),
);

/** Numbers as text that JSON.stringify never writes: past the doubles, negative zero, denormals, hundreds of digits. */
const EXTREME_NUMBERS = ['1e309', '-1e309', '-0', '5e-324', '-5e-324', '1e-400', '9'.repeat(400), `-${'9'.repeat(400)}`, '9007199254740993', '18446744073709551616', '2.5', '0.0', '1E+2'];
const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** JSON text with some of its number tokens (in strings too: a timestamp's digits) replaced by extreme ones. */
const withExtremeNumbers = (text) =>
  fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EXTREME_NUMBERS)), { minLength: 1, maxLength: 4 }).map((swaps) => {
    const count = (text.match(NUMBER_TOKEN) ?? []).length;
    if (count === 0) return text;
    const chosen = new Map(swaps.map(([at, value]) => [at % count, value]));
    let index = 0;
    return text.replace(NUMBER_TOKEN, (token) => chosen.get(index++) ?? token);
  });

const OIP_DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'BF16', 'FP32', 'FP64', 'BYTES', 'fp64', ''];

/** A shape dimension: mostly the rows, else negative, fractional, past the safe integers or products that overflow. */
const dimension = (rows) => fc.oneof({ weight: 6, arbitrary: fc.constant(rows) }, { weight: 2, arbitrary: fc.constantFrom(0, 1, -1, 2.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 62, 1e300) }, { weight: 1, arbitrary: fc.integer() });

/** One input tensor close to valid: a column's name, rows as its shape, its values as JSON data or binary. */
const tensor = (rows) =>
  fc.record(
    {
      name: fc.oneof(fc.constantFrom(...TIMESTAMP_COLUMNS, 'down', 'up', '__proto__', 'constructor', 'toString'), fc.string({ maxLength: 8 })),
      shape: fc.oneof({ weight: 6, arbitrary: fc.constant([rows]) }, { weight: 3, arbitrary: fc.array(dimension(rows), { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(dimension(rows), { minLength: 9, maxLength: 12 }) }),
      datatype: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('FP64', 'BYTES') }, { weight: 2, arbitrary: fc.constantFrom(...OIP_DATATYPES) }),
      data: fc.oneof(column(rows, fc.oneof(anyCell, anyTimestamp)), fc.integer({ min: 1, max: 200 }).map((depth) => nested(depth, 1))),
      parameters: fc.record({ binary_data_size: fc.oneof(fc.nat(64), fc.constantFrom(-1, 2.5, 2 ** 53, 1e300, '8')) }, { requiredKeys: [] }),
    },
    { requiredKeys: ['name', 'shape', 'datatype'] },
  );

const inferParameters = fc.record(
  {
    inference_length: fc.oneof(fc.integer({ min: -5, max: 40 }), fc.constantFrom(0, 10_001, 2.5, '5', true, null)),
    index_col: fc.oneof(fc.constantFrom(...TIMESTAMP_COLUMNS, '__proto__'), fc.string({ maxLength: 8 })),
    binary_data_output: fc.oneof(fc.boolean(), fc.constant('yes')),
    identifier: fc.string({ maxLength: 12 }),
  },
  { requiredKeys: [] },
);

/** Open Inference Protocol infer bodies close to valid, so the tensor checks deep inside are reached. */
export const inferBody = fc.integer({ min: 0, max: 12 }).chain((rows) =>
  fc.record(
    {
      id: fc.string({ maxLength: 12 }),
      parameters: inferParameters,
      inputs: fc.array(tensor(rows), { maxLength: 5 }),
      outputs: fc.array(fc.record({ name: fc.constantFrom('timestamp', 'down', 'nope', '__proto__'), parameters: fc.record({ binary_data: fc.oneof(fc.boolean(), fc.constant(1)) }, { requiredKeys: [] }) }), { maxLength: 3 }),
    },
    { requiredKeys: ['inputs'] },
  ),
);

/**
 * An infer request with the binary tensor data extension: a JSON header, raw bytes after it, and an
 * Inference-Header-Content-Length that is the header's length or not (too long, negative, hex, many digits, a list).
 */
const binaryInfer = fc
  .tuple(inferBody, fc.uint8Array({ maxLength: 256 }), fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) }, { weight: 2, arbitrary: fc.constantFrom('-1', '0x10', '9'.repeat(400), '1, 2', ' 12 ', '') }))
  .map(([body, bytes, headerLength]) => {
    const header = Buffer.from(JSON.stringify(body));
    const length = headerLength === null ? String(header.length) : typeof headerLength === 'number' ? String(header.length + headerLength) : headerLength;
    return { method: 'POST', path: `${MODEL_PATH}/infer`, contentType: 'application/octet-stream', headers: { 'inference-header-content-length': length }, body: Buffer.concat([header, bytes]) };
  });

/** Query strings a route reads (numbers of every kind, arrays, prototype keys), and junk ones it does not. */
const queryValue = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...EXTREME_NUMBERS) }, { weight: 1, arbitrary: fc.constantFrom('', '0', '1', '16', '-1', '0x10', '%00', '%FF', 'NaN', 'Infinity') }, { weight: 1, arbitrary: fc.nat().map(String) });
const queryString = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom('inference_length', 'retention_days') }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', '__proto__[inference_length]', 'inference_length[]', 'toString') }),
      fc.oneof({ weight: 3, arbitrary: queryValue.map((value) => [value]) }, { weight: 1, arbitrary: fc.array(queryValue, { minLength: 2, maxLength: 3 }) }),
    ).map(([key, values]) => values.map((value) => `${key}=${value}`).join('&')),
  },
  { weight: 1, arbitrary: fc.webQueryParameters() },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3_000 }).map((count) => Array.from({ length: count }, (_, i) => `k${i}=${i}`).join('&')) },
);

/** Extra headers a client may send: codings, binary-data lengths, junk tokens, odd accepts and charsets. */
const extraHeaders = fc.record(
  {
    'content-encoding': fc.constantFrom('identity', 'gzip', 'deflate', 'br', 'Identity, identity', ''),
    'inference-header-content-length': fc.constantFrom('0', '-1', '12', '9'.repeat(400), '0x10', '1, 2', 'abc'),
    authorization: fc.oneof(fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', `Bearer ${'a'.repeat(8_000)}`), fc.string({ maxLength: 40 }).map((text) => `Bearer ${text.replace(/[^\x21-\x7e]/g, 'x')}`)),
    accept: fc.constantFrom('*/*', 'text/html', 'application/openmetrics-text; version=99', 'application/json; q=0', ''),
    'x-forwarded-for': fc.constantFrom('127.0.0.1', '::1, 10.0.0.1', 'unknown'),
    'x-request-id': fc.constantFrom('a'.repeat(4_000), '__proto__', ''),
  },
  { requiredKeys: [] },
);

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', '') },
);

const jsonText = fc.oneof(
  { weight: 4, arbitrary: predictBody.map((body) => JSON.stringify(body)) },
  { weight: 3, arbitrary: inferBody.map((body) => JSON.stringify(body)) },
  { weight: 2, arbitrary: fc.oneof(predictBody, inferBody).chain((body) => withExtremeNumbers(JSON.stringify(body))) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
);

const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ROUTES) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/predict', `${MODEL_PATH}/infer`), fc.webQueryParameters()).map(([route, query]) => `${route}?${query}`) },
  { weight: 1, arbitrary: fc.constantFrom('/predict?inference_length=abc', '/predict?inference_length=99999', '/predict?inference_length=-1', '/predict?inference_length[]=3') },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('/predict', '/actuals', `${MODEL_PATH}/infer`, '/prune_logs', '/healthz'), queryString).map(([route, query]) => `${route}?${query}`) },
  { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
  // The model routes of a version: the served run's (the test server's), another, none, or any path segment.
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom('run-a', 'run-old', ''), fc.webSegment()), fc.constantFrom('', '/ready', '/infer'))
      .map(([version, rest]) => `${MODEL_PATH}/versions/${version}${rest}`),
  },
);

/**
 * A /predict body whose timestamp column nests arrays up to 12,000 deep, written as text: JSON.stringify
 * itself overflows the stack at that depth, JSON.parse on the server does not.
 */
const deeplyNestedPredict = fc.integer({ min: 1_000, max: 12_000 }).map((depth) => ({
  method: 'POST',
  path: '/predict',
  contentType: 'application/json',
  body: `{"data":{"ts":[${'['.repeat(depth)}"2018-01-01 00:00:00"${']'.repeat(depth)},"2018-01-01 00:02:00"],"down":[1,2],"up":[1,2]}}`,
}));

/** One hostile request. */
export const hostileRequest = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') }),
      path,
      contentType,
      headers: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extraHeaders }),
      body: jsonText,
    }),
  },
  { weight: 1, arbitrary: deeplyNestedPredict },
  { weight: 3, arbitrary: binaryInfer },
  // The query alone, with a body every route takes: a bad query is not hidden behind a refused body.
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constant('POST'),
      path: fc.tuple(fc.constantFrom('/predict', '/actuals', '/prune_logs', '/reload_latest'), queryString).map(([route, query]) => `${route}?${query}`),
      contentType: fc.constant('application/json'),
      body: fc.constantFrom('', '{}'),
    }),
  },
);

/** A generated path with the model of the Open Inference Protocol routes renamed to `modelName` (escaped). */
export function forModel(requestPath, modelName) {
  const rest = requestPath.slice(MODEL_PATH.length);
  if (!requestPath.startsWith(MODEL_PATH) || !(rest === '' || rest.startsWith('/') || rest.startsWith('?'))) return requestPath;
  return `/v2/models/${encodeURIComponent(modelName)}${rest}`;
}

/**
 * Sends one generated case with undici (any method, any body) to a server whose model is `modelName`, and returns
 * its status; throws when a refusal (4xx, 5xx) is not a coded JSON error (FLTS_...) or shows a stack frame.
 */
export async function sendHostileRequest(request, baseUrl, undiciRequest, modelName = 'flts') {
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const headers = { ...request.headers, ...(request.contentType ? { 'content-type': request.contentType } : {}) };
  const response = await undiciRequest(`${baseUrl}${forModel(request.path, modelName)}`, { method: request.method, headers, body: hasBody ? request.body : undefined, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const text = await response.body.text();
  if (response.statusCode >= 400 && request.method !== 'HEAD') {
    let code;
    try {
      code = JSON.parse(text).code;
    } catch {
      code = undefined;
    }
    if (typeof code !== 'string' || !/^FLTS_[A-Z_]+$/.test(code) || /\n\s+at /.test(text)) {
      throw new Error(`uncoded ${response.statusCode} answer for ${request.method} ${request.path.slice(0, 200)}: ${text.slice(0, 300)}`);
    }
  }
  return response.statusCode;
}
