/**
 * The key under which a request schema keeps what its route's handler requires beyond what fastify validates: the
 * published document (/openapi.json) states it, so a client generated from the document (or a schema-driven fuzzer)
 * builds requests the server takes, while validation leaves it to the handler, whose coded 400 names the column or
 * input at fault in clearer words than the schema's would (`data: {}` is "Request payload must include a non-empty
 * 'data' object ...", not "body/data must NOT have fewer than 1 properties"). Ajv knows the key as an annotation
 * (request-validators.ts) and never reads what it holds.
 */
export const HANDLER_RULES = 'x-flts-handler-rules';

/** Keywords the handler enforces, published in the document in place of the node's own ones of the same name. */
export function handlerRules(rules: Record<string, unknown>): { [HANDLER_RULES]: Record<string, unknown> } {
  return { [HANDLER_RULES]: rules };
}

/** A request schema as the document publishes it: each node with its handler rules laid over it, at any depth. */
export function publishedSchema<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((item) => publishedSchema(item)) as T;
  if (typeof schema !== 'object' || schema === null) return schema;
  const { [HANDLER_RULES]: rules, ...own } = schema as Record<string, unknown>;
  const merged = { ...own, ...(rules as Record<string, unknown> | undefined) };
  return Object.fromEntries(Object.entries(merged).map(([key, value]) => [key, publishedSchema(value)])) as T;
}
