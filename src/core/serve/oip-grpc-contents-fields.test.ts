import { describe, expect, it } from 'vitest';
import { codedRefusal as refusal } from './coded-refusal.fixture.js';
import { decodeModelInferRequest } from './oip-grpc-contents.js';
import { decodeGrpcInferRequest } from './oip-grpc-server.js';
import { inferenceService, type GrpcInferInputTensor } from './oip-grpc-service.js';

/** The request as the server receives it: `inputs` serialized by the service's own encoder, then decoded as the server does. */
function received(inputs: GrpcInferInputTensor[]) {
  return decodeModelInferRequest(inferenceService().ModelInfer.requestSerialize({ model_name: 'flts', inputs }));
}


describe('serve > gRPC ModelInfer: contents in a field other than the datatype\'s, and an input of no name', () => {
  it('refuses an FP64 input that has int64_contents beside its fp64_contents, which were dropped unseen', async () => {
    const request = received([{ name: 'down', datatype: 'FP64', shape: [2], contents: { fp64_contents: [1, 2], int64_contents: [3, 4] } }]);
    expect(await refusal(() => decodeGrpcInferRequest(request))).toEqual({
      code: 'FLTS_REQUEST_INVALID',
      message: "Input 'down' is FP64, whose elements go in contents.fp64_contents, but it has elements in int64_contents as well as in fp64_contents; give them all in fp64_contents.",
      details: { input: 'down', expected: 'fp64_contents', got: 'int64_contents' },
    });
  });

  it('names the field an FP32 input\'s values were expected in when they came in fp64_contents alone', async () => {
    const request = received([{ name: 'down', datatype: 'FP32', shape: [20], contents: { fp64_contents: Array.from({ length: 20 }, (_, i) => i) } }]);
    const { code, message } = await refusal(() => decodeGrpcInferRequest(request));
    expect(code).toBe('FLTS_REQUEST_INVALID');
    expect(message).toBe("Input 'down' is FP32, whose elements go in contents.fp32_contents, but it has elements in fp64_contents; give them all in fp32_contents.");
  });

  it('refuses an input named "" as the HTTP schema does, with the same code', async () => {
    const request = received([{ name: '', datatype: 'FP64', shape: [1], contents: { fp64_contents: [1] } }]);
    expect(await refusal(() => decodeGrpcInferRequest(request))).toMatchObject({ code: 'FLTS_REQUEST_INVALID', message: expect.stringMatching(/^Input 0 has an empty name;/) });
  });

  it('still takes an input whose contents are its datatype\'s field alone', async () => {
    const request = received([{ name: 'down', datatype: 'FP32', shape: [2], contents: { fp32_contents: [1, 2] } }]);
    expect((await decodeGrpcInferRequest(request)).inputs).toEqual([{ name: 'down', datatype: 'FP32', shape: [2], values: [1, 2] }]);
  });
});
