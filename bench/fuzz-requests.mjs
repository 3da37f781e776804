// Generated hostile requests for the inference API, shared by the bounded fuzz test in `npm test`
// (test/serve/serve-fuzz.test.ts) and the longer run in bench/fuzz.mjs. Each generated case is
// { method, path, headers, body }: JSON bodies of every shape, /predict bodies that are almost right,
// timestamps far outside the calendar, deep nesting, wrong content types, raw bytes and odd paths.
import fc from 'fast-check';

const ROUTES = ['/predict', '/v2/models/flts/infer', '/reload_latest', '/healthz', '/readyz', '/v2', '/v2/models/flts', '/metrics', '/stats'];
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

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', '') },
);

const jsonText = fc.oneof(
  { weight: 4, arbitrary: predictBody.map((body) => JSON.stringify(body)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
);

const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ROUTES) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/predict', '/v2/models/flts/infer'), fc.webQueryParameters()).map(([route, query]) => `${route}?${query}`) },
  { weight: 1, arbitrary: fc.constantFrom('/predict?inference_length=abc', '/predict?inference_length=99999', '/predict?inference_length=-1', '/predict?inference_length[]=3') },
  { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
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
      body: jsonText,
    }),
  },
  { weight: 1, arbitrary: deeplyNestedPredict },
);

/** Sends one generated case with undici (any method, any body) and returns its status. */
export async function sendHostileRequest(request, baseUrl, undiciRequest) {
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const headers = request.contentType ? { 'content-type': request.contentType } : {};
  const response = await undiciRequest(`${baseUrl}${request.path}`, { method: request.method, headers, body: hasBody ? request.body : undefined, headersTimeout: 30_000, bodyTimeout: 30_000 });
  await response.body.text();
  return response.statusCode;
}
