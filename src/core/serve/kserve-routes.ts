import type { FastifyRequest } from 'fastify';
import { decodeHttpInferRequest, encodeHttpInferResponse, INFERENCE_HEADER, splitRawBody, type HttpInferBody } from './oip-http-binding.js';
import { inferBodyBoundsProblem } from './oip-json-bounds.js';
import { modelMetadata, OIP_SERVER_METADATA, runOipInference, servedModelNamed } from './oip-inference.js';
import { inferSchema, liveSchema, modelMetadataSchema, modelReadySchema, serverMetadataSchema, serverReadySchema } from './schemas/kserve.js';
import type { ServeContext } from './serve-context.js';
import { closedBeforeAnswer } from './forecast-admission.js';

const binaryParts = new WeakMap<FastifyRequest, Buffer>();

/** Open Inference Protocol (KServe v2) health, metadata and inference for the served model. */
export function registerKserveRoutes(context: ServeContext): void {
  const { holder, routes } = context;
  const modelName = (request: FastifyRequest): string => (request.params as { name: string }).name;

  routes.route({ method: 'GET', url: '/v2/health/live', schema: liveSchema, handler: async () => ({ live: true }) });
  routes.route({
    method: 'GET',
    url: '/v2/health/ready',
    schema: serverReadySchema,
    handler: async (_request, reply) => {
      const ready = holder.status().ready;
      if (!ready) void reply.status(503);
      return { ready };
    },
  });
  routes.route({
    method: 'GET',
    url: '/v2',
    schema: serverMetadataSchema,
    handler: async () => OIP_SERVER_METADATA,
  });

  routes.route({ method: 'GET', url: '/v2/models/:name', schema: modelMetadataSchema, handler: async (request) => modelMetadata(context, modelName(request)) });

  routes.route({
    method: 'GET',
    url: '/v2/models/:name/ready',
    schema: modelReadySchema,
    handler: async (request, reply) => {
      const name = modelName(request);
      const ready = servedModelNamed(context, name) !== undefined;
      if (!ready) void reply.status(503);
      return { name, ready };
    },
  });

  routes.route({
    method: 'POST',
    url: '/v2/models/:name/infer',
    schema: inferSchema,
    // The schema's bounds are checked on the text first, whatever the content type: a body of the size limit over them
    // would hold the event loop in JSON.parse and validation before the schema refused it.
    config: { rawBody: true, jsonBounds: inferBodyBoundsProblem },
    // A body without a JSON content type is the JSON request, or its header and the binary tensor data.
    preValidation: async (request) => {
      if (!Buffer.isBuffer(request.body)) return;
      const { json, binary } = splitRawBody(request.body, request.headers[INFERENCE_HEADER], inferBodyBoundsProblem);
      request.body = json;
      if (binary.length > 0 || request.headers[INFERENCE_HEADER] !== undefined) binaryParts.set(request, binary);
    },
    handler: async (request, reply) => {
      const oipRequest = await decodeHttpInferRequest(request.body as HttpInferBody, binaryParts.get(request));
      const response = await runOipInference(context, modelName(request), oipRequest, { route: '/v2/models/:name/infer', signal: closedBeforeAnswer(reply.raw) });
      const encoded = encodeHttpInferResponse(response, oipRequest);
      if ('json' in encoded) return encoded.json;
      void reply.header(INFERENCE_HEADER, encoded.headerLength).type('application/octet-stream');
      return encoded.body;
    },
  });
}
