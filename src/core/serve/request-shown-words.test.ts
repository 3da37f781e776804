import type { FastifyReply, FastifyRequest } from 'fastify';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { isFltsError } from '../errors.js';
import { codedRefusal as refusal, SHOWN_AS_ITSELF_NEVER as MISLEADING } from './coded-refusal.fixture.js';
import { decodeGrpcInferRequest } from './oip-grpc-server.js';
import { refuseUnknownQuery } from './query-parameters.js';
import { seriesBodyBoundsProblem } from './series-json-bounds.js';

describe('serve > names a client sent, quoted in the refusals of its body, query and gRPC contents', () => {
  it('a /predict column written twice: the key and its path show U+202E and ESC as \\u escapes; details keep the key as sent', () => {
    const problem = seriesBodyBoundsProblem('{"data":{"time":["2018-01-01"],"d\\u202ex\\u001b[31m":[1],"d\\u202ex\\u001b[31m":[2]}}');
    expect(problem?.code).toBe('FLTS_REQUEST_INVALID');
    expect(problem?.message).not.toMatch(MISLEADING);
    expect(problem?.message).toContain('has the key "d\\u202ex\\u001b[31m" twice');
    expect(problem?.details).toMatchObject({ field: 'body/data', key: 'd\u202ex\u001b[31m' });
  });

  it('a body nested too deep under a key of the client: the path shows the key escaped', () => {
    const problem = seriesBodyBoundsProblem('{"\\u202ex\\u009b":{"a":{"b":{"c":1}}}}');
    expect(problem?.code).toBe('FLTS_REQUEST_INVALID');
    expect(problem?.message).toMatch(/^Invalid request: body\/\\u202ex\\u009b\/a\/b nests deeper/);
    expect(problem?.message).not.toMatch(MISLEADING);
  });

  it('an unknown query parameter: its name shown escaped; details list it as sent', async () => {
    const check = refuseUnknownQuery('POST /predict', { querystring: { properties: { explain: {} } }, body: { properties: { data: {} } } });
    const error = await new Promise<unknown>((resolve) =>
      check({ query: { '\u202ex': '1', 'data\u009b': '2' } } as unknown as FastifyRequest, {} as FastifyReply, (error?: unknown) => resolve(error)),
    );
    if (!isFltsError(error)) throw new Error('no refusal');
    expect(error.code).toBe('FLTS_REQUEST_UNKNOWN_PARAMETER');
    expect(error.message).not.toMatch(MISLEADING);
    expect(error.message).toContain('query parameters \\u202ex, data\\u009b:');
    expect(error.details).toMatchObject({ unknown: ['\u202ex', 'data\u009b'] });
  });

  it('a gRPC input with both contents and raw_input_contents: its name shown escaped', async () => {
    const contents = Buffer.from(protobuf.Writer.create().uint32((7 << 3) | 1).double(1).finish());
    const name = 'd\u202ex\u009b';
    const { code, message, details } = await refusal(() =>
      decodeGrpcInferRequest({ model_name: 'flts', inputs: [{ name, datatype: 'FP64', shape: [1], contents }], raw_input_contents: [Buffer.alloc(8)] }),
    );
    expect(code).toBe('FLTS_REQUEST_INVALID');
    expect(message).toBe("Input 'd\\u202ex\\u009b' has both contents and raw_input_contents; give its data in one of them.");
    expect(details).toEqual({ input: name });
  });
});
