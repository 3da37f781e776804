import type fc from 'fast-check';

export interface HostileRequest {
  method: string;
  path: string;
  contentType: string;
  body: string | Buffer;
}

export const predictBody: fc.Arbitrary<Record<string, unknown>>;
export const hostileRequest: fc.Arbitrary<HostileRequest>;
export function sendHostileRequest(request: HostileRequest, baseUrl: string, undiciRequest: typeof import('undici').request): Promise<number>;
