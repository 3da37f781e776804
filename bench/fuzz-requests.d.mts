import type fc from 'fast-check';

export interface HostileRequest {
  method: string;
  path: string;
  contentType: string;
  /** Extra headers (the content type is `contentType`'s). */
  headers?: Record<string, string>;
  body: string | Buffer;
}

export const predictBody: fc.Arbitrary<Record<string, unknown>>;
export const inferBody: fc.Arbitrary<Record<string, unknown>>;
export const hostileRequest: fc.Arbitrary<HostileRequest>;
/** Throws when a 4xx or 5xx answer is not a coded JSON error or shows a stack frame. */
export function sendHostileRequest(request: HostileRequest, baseUrl: string, undiciRequest: typeof import('undici').request): Promise<number>;
