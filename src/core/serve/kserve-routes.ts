import type { FastifyRequest } from 'fastify';
import { decodeHttpInferRequest, encodeHttpInferResponse, INFERENCE_HEADER, splitRawBody, type HttpInferBody } from './oip-http-binding.js';
import { inferBodyBoundsProblem } from './oip-json-bounds.js';
import { modelMetadata, OIP_SERVER_METADATA, runOipInference, servedModelNamed } from './oip-inference.js';
import { liveSchema, serverMetadataSchema, serverReadySchema, versionedSchemas } from './schemas/kserve.js';
import { readinessOf } from './readiness.js';
import type { ServeContext } from './serve-context.js';
import { closedBeforeAnswer } from './forecast-admission.js';
import { JSON_MEDIA_TYPE } from './json-media-type.js';

const binaryParts = new WeakMap<FastifyRequest, Buffer>();

/** The content type the JSON parser takes (fastify matches its media type, in any case, with or without parameters). */

/** Open Inference Protocol (KServe v2) health, metadata and inference for the served model. */
export function registerKserveRoutes(context: ServeContext): void {
  const { holder, routes } = context;
  const modelName = (request: FastifyRequest): string => (request.params as { name: string }).name;
  const modelVersion = (request: FastifyRequest): string | undefined => (request.params as { version?: string }).version;

  // The one liveness rule of /livez (liveness.ts): KServe's own probes read this route.
  routes.route({
    method: 'GET',
    url: '/v2/health/live',
    schema: liveSchema,
    handler: async (_request, reply) => {
      const live = context.liveness().live;
      if (!live) void reply.status(503);
      return { live };
    },
  });
  routes.route({
    method: 'GET',
    url: '/v2/health/ready',
    schema: serverReadySchema,
    handler: async (_request, reply) => {
      // Not ready from the moment a stop begins, as /readyz: a load balancer probing this route stops routing here.
      const readiness = readinessOf(holder, context.isStopping());
      if (!readiness.ready) void reply.status(readiness.status);
      return { ready: readiness.ready };
    },
  });
  routes.route({
    method: 'GET',
    url: '/v2',
    schema: serverMetadataSchema,
    handler: async () => OIP_SERVER_METADATA,
  });

  // Each model route also under /versions/<version>, as clients that name a version call it (tritonclient, KServe's):
  // a version is a served run id (the metadata's `versions`), and one not in service is a 404 naming the one that is.
  const modelRoutes = [
    { base: '/v2/models/:name', schemas: versionedSchemas(false) },
    { base: '/v2/models/:name/versions/:version', schemas: versionedSchemas(true) },
  ];
  for (const { base, schemas } of modelRoutes) {
    routes.route({ method: 'GET', url: base, schema: schemas.metadata, handler: async (request) => modelMetadata(context, modelName(request), modelVersion(request)) });

    routes.route({
      method: 'GET',
      url: `${base}/ready`,
      schema: schemas.ready,
      handler: async (request, reply) => {
        const name = modelName(request);
        const ready = servedModelNamed(context, name, modelVersion(request)) !== undefined;
        if (!ready) void reply.status(503);
        return { name, ready };
      },
    });

    const inferRoute = `${base}/infer`;
    routes.route({
      method: 'POST',
      url: inferRoute,
      schema: schemas.infer,
      // The schema's bounds are checked on the text first, whatever the content type: a body of the size limit over them
      // would hold the event loop in JSON.parse and validation before the schema refused it.
      config: { rawBody: true, jsonBounds: inferBodyBoundsProblem },
      // The model and version the path names are looked up before the body is read, as Triton does: a client calling
      // a version no longer served was told what was wrong with its body, and fixed that only to meet the 404.
      onRequest: async (request) => {
        servedModelNamed(context, modelName(request), modelVersion(request));
      },
      // The header says where the JSON ends whatever the content type, as Triton's and KServe's servers read it: a body
      // labelled application/json was parsed whole, the header ignored (its binary data failing the parse, a wrong
      // length passing unseen). Read as bytes, it is split and checked as any other body with the header.
      preParsing: async (request, _reply, payload) => {
        if (request.headers[INFERENCE_HEADER] !== undefined && JSON_MEDIA_TYPE.test(request.headers['content-type'] ?? '')) {
          request.headers['content-type'] = 'application/octet-stream';
        }
        return payload;
      },
      // A body without a JSON content type, or with the header, is the JSON request, or its header and the binary tensor data.
      preValidation: async (request) => {
        if (!Buffer.isBuffer(request.body)) return;
        const { json, binary } = splitRawBody(request.body, request.headers[INFERENCE_HEADER], inferBodyBoundsProblem);
        request.body = json;
        if (binary.length > 0 || request.headers[INFERENCE_HEADER] !== undefined) binaryParts.set(request, binary);
      },
      handler: async (request, reply) => {
        const decoded = await decodeHttpInferRequest(request.body as HttpInferBody, binaryParts.get(request));
        const version = modelVersion(request);
        const oipRequest = version === undefined ? decoded : { ...decoded, modelVersion: version };
        const response = await runOipInference(context, modelName(request), oipRequest, { route: inferRoute, signal: closedBeforeAnswer(reply.raw) });
        const encoded = encodeHttpInferResponse(response, oipRequest);
        if ('json' in encoded) return encoded.json;
        void reply.header(INFERENCE_HEADER, encoded.headerLength).type('application/octet-stream');
        return encoded.body;
      },
    });
  }
}
