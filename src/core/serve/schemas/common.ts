/** JSON schemas shared by several routes; fastify validates requests and serialises responses with them. */
export const errorResponseSchema = {
  $id: 'ErrorResponse',
  type: 'object',
  description: "fastify's error shape with flts' code, plus the reference API's `detail`.",
  properties: {
    error: { type: 'string' },
    code: { type: 'string', description: 'FLTS_* error code (docs/errors.md).' },
    message: { type: 'string' },
    statusCode: { type: 'integer' },
    detail: { type: 'string' },
  },
  required: ['error', 'code', 'message', 'statusCode', 'detail'],
} as const;

export const errorRef = { $ref: 'ErrorResponse#' } as const;

/** The headers an error answer of a status always carries (error-handler.ts sets them), published beside its body. */
const ERROR_HEADERS: Readonly<Record<number, Record<string, { type: 'string'; description: string }>>> = {
  401: { 'WWW-Authenticate': { type: 'string', description: '`Bearer`: the route takes a bearer token; `Bearer error="invalid_token"` when the one sent is wrong.' } },
  429: { 'Retry-After': { type: 'string', description: 'Seconds to wait before calling again.' } },
};

type ErrorResponse = typeof errorRef & { headers?: (typeof ERROR_HEADERS)[number] };

/** Standard error responses for a route, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, ErrorResponse> {
  return Object.fromEntries(statuses.map((status) => [status, ERROR_HEADERS[status] ? { ...errorRef, headers: ERROR_HEADERS[status] } : errorRef]));
}
