import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';

/** Carries a route's `config.optionalBody` from its schema to its operation, where `transformObject` reads it. */
const OPTIONAL_BODY_MARK = 'x-flts-optional-body';

type Operation = { requestBody?: { required?: boolean }; [OPTIONAL_BODY_MARK]?: boolean };

/**
 * The swagger options that publish the body of a route with `config.optionalBody` as not required. @fastify/swagger
 * makes every body with a schema required (fastify's own validation refuses a missing one), but flts validates a
 * body-less POST as `{}` (build-server.ts), so a route whose schema and handler take `{}` takes no body at all.
 * Whether a route does is its own to say: POST /actuals' schema takes `{}`, and its handler refuses it.
 */
export function optionalBodyTransforms(): Pick<FastifyDynamicSwaggerOptions, 'transform' | 'transformObject'> {
  return {
    // @fastify/swagger copies a schema's x- keys onto its operation.
    transform: ({ schema, url, route }) => ({ url, schema: route.config?.optionalBody && schema?.body ? { ...schema, [OPTIONAL_BODY_MARK]: true } : schema }),
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      for (const path of Object.values(openapiObject.paths ?? {})) {
        for (const operation of Object.values(path ?? {}) as Operation[]) {
          if (typeof operation !== 'object' || operation === null || !(OPTIONAL_BODY_MARK in operation)) continue;
          delete operation[OPTIONAL_BODY_MARK];
          if (operation.requestBody) operation.requestBody.required = false;
        }
      }
      return openapiObject;
    },
  };
}
