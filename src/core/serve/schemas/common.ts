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

/** Standard error responses for a route, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorRef> {
  return Object.fromEntries(statuses.map((status) => [status, errorRef]));
}
