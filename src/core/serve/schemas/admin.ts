/**
 * The largest body an admin route (POST /reload_latest, POST /prune_logs) reads: they take no body fields (clients send
 * none or `{}`), yet read any JSON up to the server's limit (8 MB) and parsed it whole, so a larger one is refused
 * with 413 from its Content-Length, before it is read.
 */
export const ADMIN_BODY_LIMIT_BYTES = 16 * 1024;

/** Containers an admin body may nest (the body's own value counts as one). */
export const MAX_ADMIN_JSON_DEPTH = 4;

/** Keys per object and items per array of an admin body, at any depth. */
export const MAX_ADMIN_JSON_ENTRIES = 16;

/**
 * Any JSON value within the bounds (the body is read by nothing, and every small body was accepted before), as a
 * schema Ajv checks without strict-mode warnings: each keyword under the type it applies to.
 */
function boundedValue(depth: number): object {
  if (depth === 0) return { not: { anyOf: [{ type: 'object' }, { type: 'array' }] } };
  const inner = boundedValue(depth - 1);
  return {
    if: { type: 'object' },
    then: { type: 'object', maxProperties: MAX_ADMIN_JSON_ENTRIES, additionalProperties: inner },
    else: { if: { type: 'array' }, then: { type: 'array', maxItems: MAX_ADMIN_JSON_ENTRIES, items: inner } },
  };
}

/** An admin route's body: ignored; none, `{}` or any small JSON value. */
export const adminBodySchema = {
  ...boundedValue(MAX_ADMIN_JSON_DEPTH),
  description: `Not read: send none or {}. Any JSON value of at most ${MAX_ADMIN_JSON_DEPTH} levels, ${MAX_ADMIN_JSON_ENTRIES} keys or items per level and ${ADMIN_BODY_LIMIT_BYTES} bytes is accepted.`,
};
