import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { AccessTokens, RouteAccess } from './access-control.js';
import { publishedSchema } from './schemas/handler-rules.js';

/** Carries a route's `config.optionalBody` from its schema to its operation, where `transformObject` reads it. */
const OPTIONAL_BODY_MARK = 'x-flts-optional-body';

/** The security schemes of the published document, by the access class whose token each stands for. */
const SECURITY_SCHEMES = {
  predict: { name: 'apiToken', description: 'The API token (FLTS_SERVE_API_TOKEN) as `Authorization: Bearer <token>`.' },
  admin: { name: 'adminToken', description: 'The admin token (FLTS_SERVE_ADMIN_TOKEN) as `Authorization: Bearer <token>`.' },
} as const;

type DocumentInfo = NonNullable<NonNullable<FastifyDynamicSwaggerOptions['openapi']>['info']>;
type Operation = { requestBody?: { required?: boolean; description?: string; content?: Record<string, unknown> }; [OPTIONAL_BODY_MARK]?: boolean };

/**
 * What a JSON request body's description says of its media types (json-media-type.ts). OpenAPI 3.0.3 keys `content` by
 * a media type or an RFC 7231 range (all types, or all of one type: application/*): there is no range of one suffix,
 * and a key `application/*+json` is a media type of that name, which schema-driven clients (schemathesis) send as the
 * Content-Type, one no server takes. The body is declared under application/json, and the other types said in words.
 */
export const JSON_BODY_MEDIA_TYPES = 'Sent as application/json, or as any application type with the +json suffix (RFC 6839: application/vnd.api+json, application/merge-patch+json), with or without parameters (a charset).';

/**
 * The swagger options of /openapi.json (`info` its title, version and description), made to say what the server does:
 * - the body of a route with `config.optionalBody` is not required. @fastify/swagger makes every body with a schema
 *   required (fastify's own validation refuses a missing one), but flts validates a body-less POST as `{}`
 *   (build-server.ts), so a route whose schema and handler take `{}` takes no body at all. Whether a route does is its
 *   own to say: POST /actuals' schema takes `{}`, and its handler refuses it.
 * - a route of `routeAccess` whose token is set needs it (a bearer security scheme): clients and tools see which
 *   token goes where, and which routes a token-less client may call. A route whose token is not set is published
 *   open (a prediction route is, an admin route answers loopback clients only, its 403 declared by its schema).
 * - a request schema says what its handler requires as well as what fastify validates (schemas/handler-rules.ts): a
 *   request valid by the document is one the handler takes, as far as a schema can say.
 * - a JSON body says the media types it is read under besides application/json (JSON_BODY_MEDIA_TYPES).
 */
export function publishedDocumentOptions(info: DocumentInfo, routeAccess: Readonly<Record<string, RouteAccess>>, tokens: AccessTokens = {}): FastifyDynamicSwaggerOptions {
  const schemes = { predict: tokens.apiToken ? SECURITY_SCHEMES.predict : undefined, admin: tokens.adminToken ? SECURITY_SCHEMES.admin : undefined };
  const schemeOf = (url: string): string | undefined => {
    const access = routeAccess[url];
    return access === 'predict' || access === 'admin' ? schemes[access]?.name : undefined;
  };
  const securitySchemes = Object.fromEntries(
    Object.values(schemes).flatMap((scheme) => (scheme ? [[scheme.name, { type: 'http', scheme: 'bearer', description: scheme.description } as const]] : [])),
  );
  return {
    // @fastify/swagger reads an operation's security schemes from the document's components as it publishes it.
    openapi: { info, ...(Object.keys(securitySchemes).length > 0 ? { components: { securitySchemes } } : {}) },
    // @fastify/swagger copies a schema's x- keys and its `security` onto its operation.
    transform: ({ schema, url, route }) => {
      if (!schema) return { url, schema };
      const scheme = schemeOf(route.url);
      return {
        url,
        schema: {
          ...schema,
          ...Object.fromEntries((['body', 'querystring', 'params'] as const).flatMap((part) => (schema[part] ? [[part, publishedSchema(schema[part])]] : []))),
          ...(route.config?.optionalBody && schema.body ? { [OPTIONAL_BODY_MARK]: true } : {}),
          ...(scheme ? { security: [{ [scheme]: [] }] } : {}),
        },
      };
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      for (const path of Object.values(openapiObject.paths ?? {})) {
        for (const operation of Object.values(path ?? {}) as Operation[]) {
          if (typeof operation !== 'object' || operation === null) continue;
          const body = operation.requestBody;
          if (body?.content && 'application/json' in body.content) body.description = body.description ? `${body.description} ${JSON_BODY_MEDIA_TYPES}` : JSON_BODY_MEDIA_TYPES;
          if (!(OPTIONAL_BODY_MARK in operation)) continue;
          delete operation[OPTIONAL_BODY_MARK];
          if (operation.requestBody) operation.requestBody.required = false;
        }
      }
      return openapiObject;
    },
  };
}
