import { Ajv } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';

/** The parts of a published OpenAPI 3.0 document these checks read. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { required?: boolean; content?: Record<string, { schema?: object }> }; responses?: Record<string, { content?: Record<string, { schema?: object }>; headers?: Record<string, { schema?: object }> }>; security?: Array<Record<string, string[]>> }>>;
  components?: { schemas?: Record<string, object>; securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

const ajv = new Ajv({ strict: false, allErrors: true });

/** The schema with every `#/components/schemas/...` reference replaced by what it names. */
function resolveRefs(schema: unknown, document: OpenApiDocument): unknown {
  if (Array.isArray(schema)) return schema.map((item) => resolveRefs(item, document));
  if (typeof schema !== 'object' || schema === null) return schema;
  const ref = (schema as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') return resolveRefs(document.components?.schemas?.[ref.replace('#/components/schemas/', '')], document);
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, resolveRefs(value, document)]));
}

/**
 * What a response breaks of the document, as a client (or a schema-driven fuzzer) reads it: its status is declared for
 * the operation (`path` as the document writes it, e.g. `/v2/models/{name}/ready`), its content type is one declared
 * for that status, and a JSON body matches the declared schema. [] when it conforms.
 */
export function documentProblems(document: OpenApiDocument, method: string, path: string, response: LightMyRequestResponse): string[] {
  const operation = document.paths[path]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${path} is not in the document`];
  const declared = operation.responses?.[String(response.statusCode)] ?? operation.responses?.default;
  if (!declared) return [`status ${response.statusCode} is not declared (declared: ${Object.keys(operation.responses ?? {}).join(', ')})`];
  const missingHeaders = Object.keys(declared.headers ?? {}).filter((name) => response.headers[name.toLowerCase()] === undefined);
  if (missingHeaders.length > 0) return [`declared headers missing from the ${response.statusCode}: ${missingHeaders.join(', ')}`];
  const mediaType = String(response.headers['content-type'] ?? '').split(';')[0].trim();
  const content = declared.content ?? {};
  if (!(mediaType in content)) return [`content type '${mediaType}' is not declared for ${response.statusCode} (declared: ${Object.keys(content).join(', ') || 'none'})`];
  const schema = content[mediaType].schema;
  if (!schema || mediaType !== 'application/json') return [];
  const validate = ajv.compile(resolveRefs(schema, document) as object);
  if (validate(response.json())) return [];
  return (validate.errors ?? []).map((error) => `body${error.instancePath} ${error.message}`);
}

const requestValidators = new WeakMap<OpenApiDocument, Map<string, ReturnType<typeof ajv.compile>>>();

/**
 * What a JSON request body breaks of the document (`path` as the document writes it): [] when a client generated from
 * the document (or a schema-driven fuzzer) could send it.
 */
export function requestProblems(document: OpenApiDocument, method: string, path: string, body: unknown): string[] {
  const operation = document.paths[path]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${path} is not in the document`];
  if (body === undefined) return operation.requestBody?.required ? ['the body is required'] : [];
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  if (!schema) return ['no application/json body is declared'];
  const validators = requestValidators.get(document) ?? new Map<string, ReturnType<typeof ajv.compile>>();
  requestValidators.set(document, validators);
  const key = `${method} ${path}`;
  const validate = validators.get(key) ?? ajv.compile(resolveRefs(schema, document) as object);
  validators.set(key, validate);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((error) => `body${error.instancePath} ${error.message}`);
}
