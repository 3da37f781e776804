import { errorResponses } from './common.js';
import { handlerRules } from './handler-rules.js';
import { seriesIdentifier } from './predict.js';

/**
 * Most parameters one request, input or output may carry, and most inputs or outputs one request may name: far above
 * any real client's (flts reads four request parameters, a model has tens of columns), far below what makes a message
 * of the size limit slow to decode (200k parameters held the gRPC server for seconds). gRPC messages are held to the
 * same bounds before they are decoded (oip-grpc-bounds.ts).
 */
export const MAX_PARAMETERS = 64;
export const MAX_TENSORS = 1024;
/** Most dimensions of a tensor's shape; a served input is one-dimensional ([rows], [rows, 1] or [1, rows]). */
export const MAX_SHAPE_DIMENSIONS = 8;

/**
 * Most characters of a request's `id`, which the response echoes: KServe and Triton clients send a UUID (36) or a short
 * name; unbounded, an id of the body limit came back whole, in the answer and beside it in the prediction log.
 */
export const MAX_REQUEST_ID = 256;

const parametersSchema = { type: 'object', maxProperties: MAX_PARAMETERS } as const;

const FP32_MAX = 3.4028234663852886e38;

/**
 * The elements a JSON tensor of each datatype the server decodes may hold (oip-tensors.ts `checkElements`): of the
 * protocol's datatypes, all but FP16 and BF16. An integer type's greatest value is the largest double within its range
 * (2^63 - 1 is no double: it is read as 2^63, past INT64).
 */
export const TENSOR_ELEMENTS: Readonly<Record<string, object>> = {
  BOOL: { type: 'boolean' },
  UINT8: { type: 'integer', minimum: 0, maximum: 2 ** 8 - 1 },
  UINT16: { type: 'integer', minimum: 0, maximum: 2 ** 16 - 1 },
  UINT32: { type: 'integer', minimum: 0, maximum: 2 ** 32 - 1 },
  UINT64: { type: 'integer', minimum: 0, maximum: 2 ** 64 - 2 ** 11 },
  INT8: { type: 'integer', minimum: -(2 ** 7), maximum: 2 ** 7 - 1 },
  INT16: { type: 'integer', minimum: -(2 ** 15), maximum: 2 ** 15 - 1 },
  INT32: { type: 'integer', minimum: -(2 ** 31), maximum: 2 ** 31 - 1 },
  INT64: { type: 'integer', minimum: -(2 ** 63), maximum: 2 ** 63 - 2 ** 10 },
  FP32: { type: ['number', 'null'], minimum: -FP32_MAX, maximum: FP32_MAX },
  FP64: { type: ['number', 'null'] },
  BYTES: { type: 'string' },
};

/** Tensor data of these elements, flat or nested in arrays up to `levels` deep (the protocol allows both). */
function tensorData(element: object, levels: number): object {
  let items = element;
  for (let level = 1; level < levels; level++) items = { anyOf: [element, { type: 'array', items }] };
  return { type: 'array', items };
}

/**
 * What an input of a JSON body requires beyond the protocol's shape: data of its datatype's elements, and no binary data
 * in a JSON body. Data is flat, or nested in rows for a shape of two dimensions or more: the handler takes it nested as
 * deep as its shape has dimensions, but a list of alternatives a datatype and a depth each (96) is past what
 * schema-driven generators (schemathesis) take, and a served input has one dimension besides ones ([rows], [rows, 1]).
 */
const tensorRules = handlerRules({
  required: ['name', 'shape', 'datatype', 'data'],
  anyOf: Object.entries(TENSOR_ELEMENTS).flatMap(([datatype, element]) => [
    { properties: { datatype: { enum: [datatype] }, data: tensorData(element, 1) } },
    { properties: { datatype: { enum: [datatype] }, shape: { minItems: 2 }, data: tensorData(element, 2) } },
  ]),
});

/** Open Inference Protocol (KServe v2) REST shapes; binary tensor data travels after the JSON (see oip/http-binding). */
const tensorSchema = {
  type: 'object',
  required: ['name', 'shape', 'datatype'],
  properties: {
    name: { type: 'string', minLength: 1 },
    shape: { type: 'array', maxItems: MAX_SHAPE_DIMENSIONS, items: { type: 'integer', minimum: 0 } },
    datatype: { type: 'string', ...handlerRules({ enum: Object.keys(TENSOR_ELEMENTS) }) },
    parameters: {
      ...parametersSchema,
      properties: {
        binary_data_size: {
          type: 'integer',
          minimum: 0,
          description: 'The binary tensor data extension: the bytes of this input after the JSON, in a body sent with Inference-Header-Content-Length (the JSON\'s length in bytes, whatever the content type, application/json too), the input then without `data`.',
        },
      },
      ...handlerRules({ not: { required: ['binary_data_size'] } }),
    },
    data: { type: 'array' },
  },
  ...tensorRules,
} as const;

const tensorMetadata = { type: 'object', properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } } } as const;

/** An inference request's parameters; gRPC requests are checked against the same schema. `identifier` as on /predict. */
export const inferParameters = {
  ...parametersSchema,
  properties: {
    inference_length: { type: 'integer', minimum: 1, maximum: 10000 },
    index_col: { type: 'string', minLength: 1 },
    binary_data_output: { type: 'boolean' },
    identifier: seriesIdentifier,
  },
} as const;

/** The request `id`; gRPC requests are checked against the same schema. */
export const requestId = { type: 'string', maxLength: MAX_REQUEST_ID } as const;

export const modelParams = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

const liveness = { type: 'object', properties: { live: { type: 'boolean' } }, required: ['live'] } as const;

/** Not live (503 with `{ live: false }`) as /livez: a forward pass under way past serve.requestTimeoutMs. */
export const liveSchema = {
  summary: 'Open Inference Protocol liveness: 503 { live: false } once a forward pass has run past serve.requestTimeoutMs, as /livez',
  response: { 200: liveness, 503: liveness },
} as const;

const readiness = { type: 'object', properties: { ready: { type: 'boolean' } }, required: ['ready'] } as const;

/**
 * Not ready is a 503 with `{ ready: false }`: the protocol's REST specification defines the body alone, a Kubernetes
 * readiness probe needs a status outside 2xx, and tritonclient reads any status but 200 as false. (KServe's REST client
 * raises on a status outside 2xx instead: the clients do not agree, and a 200 would pass the probe of a server not ready.)
 */
export const serverReadySchema = {
  summary: 'Open Inference Protocol readiness (503 until a model is warm)',
  response: { 200: readiness, 503: readiness },
} as const;

export const serverMetadataSchema = {
  summary: 'Open Inference Protocol server metadata',
  response: {
    200: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } }, required: ['name', 'version', 'extensions'] },
  },
} as const;

const modelReadiness = { type: 'object', properties: { name: { type: 'string' }, ready: { type: 'boolean' } }, required: ['name', 'ready'] } as const;

/** A model this server does not serve is a 404, as its metadata and inference routes answer. */
export const modelReadySchema = {
  summary: 'Open Inference Protocol model readiness (503 until the model is warm)',
  params: modelParams,
  response: { 200: modelReadiness, 503: modelReadiness, ...errorResponses(404) },
} as const;

export const inferSchema = {
  summary: 'Open Inference Protocol inference: one input tensor per raw feature plus a timestamp tensor',
  description:
    "Beyond what the schema says, the handler takes an input's data nested as deep as its shape has dimensions (the schema lists flat data, and data in rows for a shape of two dimensions or more), and refuses with a 400 naming the input or output: a field of the body, of its parameters or of a tensor written twice in the JSON, an input whose data does not hold as many elements as its shape says, one of more than one dimension besides ones ([rows], [rows, 1] or [1, rows] are taken), a name given twice or two that differ only in case (`Down` and `down`), no timestamp input (`parameters.index_col`, else one named timestamp, ts, time or date) of ISO 8601 text or epoch numbers, a raw feature of the served run (an input GET /v2/models/{name} lists) missing or not numeric, fewer rows than its input window, and an output asked for twice, not among the model's outputs, or with the classification extension's `classification` parameter (not served: the outputs are forecasts).",
  params: modelParams,
  body: {
    type: 'object',
    required: ['inputs'],
    properties: {
      id: requestId,
      parameters: inferParameters,
      inputs: { type: 'array', minItems: 1, maxItems: MAX_TENSORS, items: tensorSchema },
      outputs: {
        type: 'array',
        maxItems: MAX_TENSORS,
        items: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, parameters: { ...parametersSchema, properties: { binary_data: { type: 'boolean' } } } } },
      },
    },
  },
  response: {
    200: {
      description: 'The JSON response; with binary outputs (`binary_data_output`, an output\'s `binary_data`), its JSON header and then the tensors\' bytes, the header\'s length in Inference-Header-Content-Length.',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              model_name: { type: 'string' },
              model_version: { type: 'string' },
              id: { type: 'string' },
              parameters: {
                type: 'object',
                additionalProperties: true,
                description:
                  "The served run (`run_id`, `model_type`, `config_hash`), `horizon`, `recursive`, its live accuracy once known, and warnings as their message under their code, each only when there is something to say: `ignored_parameters` (request parameters flts does not read, and those of a requested output besides `binary_data` and `classification`, named by their place: `outputs[0].parameters.foo`; answered as if absent, each with the one it most likely meant: `Identifier (did you mean identifier?)`), `ignored_inputs` (inputs the model does not take) and `irregular_time_steps`.",
              },
              outputs: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
        },
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
      },
    },
    ...errorResponses(400, 401, 403, 404, 413, 503),
  },
} as const;

export const modelMetadataSchema = {
  summary: 'Open Inference Protocol model metadata',
  params: modelParams,
  response: {
    200: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        versions: { type: 'array', items: { type: 'string' } },
        platform: { type: 'string' },
        inputs: { type: 'array', items: tensorMetadata },
        outputs: { type: 'array', items: tensorMetadata },
        parameters: { type: 'object', additionalProperties: true },
      },
    },
    ...errorResponses(404, 503),
  },
} as const;

/** A model route's parameters under /versions/<version>: the version is a served run id, as the metadata lists it. */
const versionedModelParams = {
  type: 'object',
  required: ['name', 'version'],
  properties: { name: { type: 'string' }, version: { type: 'string', description: 'A run id of the model metadata\'s `versions`; another is a 404 naming the one served.' } },
} as const;

/**
 * The schemas of the model routes, unversioned or under /versions/<version>: the same answers when the version is the
 * one served, and a 404 otherwise, which every model route declares already.
 */
export function versionedSchemas(versioned: boolean) {
  if (!versioned) return { metadata: modelMetadataSchema, ready: modelReadySchema, infer: inferSchema };
  return {
    metadata: { ...modelMetadataSchema, summary: 'Open Inference Protocol model metadata, if the version named is the one served', params: versionedModelParams },
    ready: { ...modelReadySchema, summary: 'Open Inference Protocol model readiness of the version named (503 until the model is warm)', params: versionedModelParams },
    infer: { ...inferSchema, summary: 'Open Inference Protocol inference on the version named, as on the model\'s own infer route', params: versionedModelParams },
  };
}
