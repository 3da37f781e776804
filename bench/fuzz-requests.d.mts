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
/** A generated path with the model of the Open Inference Protocol routes ("flts" when generated) renamed to `modelName`. */
export function forModel(requestPath: string, modelName: string): string;
/** Sends to a server whose model is `modelName` ("flts" unless given); throws when a 4xx or 5xx answer is not a coded JSON error or shows a stack frame. */
export function sendHostileRequest(request: HostileRequest, baseUrl: string, undiciRequest: typeof import('undici').request, modelName?: string): Promise<number>;
