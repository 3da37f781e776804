import { FltsError } from '../errors.js';
import { jsonBoundsProblem, type JsonBounds } from './json-bounds.js';
import { ADMIN_BODY_LIMIT_BYTES, MAX_ADMIN_JSON_DEPTH, MAX_ADMIN_JSON_ENTRIES } from './schemas/admin.js';

const ADMIN_BOUNDS: JsonBounds = {
  maxDepth: MAX_ADMIN_JSON_DEPTH,
  objectKeys: [MAX_ADMIN_JSON_ENTRIES],
  arrayItems: [MAX_ADMIN_JSON_ENTRIES],
  tooDeep: (path) =>
    new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${path} nests deeper than the ${MAX_ADMIN_JSON_DEPTH} levels an admin route's body may have (the route reads no body: send none or {}).`, {
      details: { field: path, depth: MAX_ADMIN_JSON_DEPTH },
    }),
};

/** An admin route's body text checked against `adminBodySchema`'s bounds before JSON.parse (json-bounds.ts). */
export function adminBodyBoundsProblem(text: string): FltsError | undefined {
  return jsonBoundsProblem(text, ADMIN_BOUNDS);
}

/**
 * The route options that hold an admin route's body to its bounds: at most `serverLimit` bytes, the server's own. The
 * body is optional: the admin routes read no field of it.
 */
export function adminBodyOptions(serverLimit: number): { bodyLimit: number; config: { jsonBounds: typeof adminBodyBoundsProblem; optionalBody: true } } {
  return { bodyLimit: Math.min(ADMIN_BODY_LIMIT_BYTES, serverLimit), config: { jsonBounds: adminBodyBoundsProblem, optionalBody: true } };
}
