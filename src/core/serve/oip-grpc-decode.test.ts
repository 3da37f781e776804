import { describe, expect, it } from 'vitest';
import { decodeGrpcInferRequest } from './oip-grpc-server.js';
import { decodeRawTensor } from './oip-tensors.js';

function bytesTensor(values: readonly string[]): Buffer {
  return Buffer.concat(values.flatMap((value) => [Buffer.from(Uint32Array.of(Buffer.byteLength(value)).buffer), Buffer.from(value)]));
}

describe('serve > gRPC ModelInfer decoding', () => {
  it('decodes a large message an input a turn, to what decoding each input in one pass gives', async () => {
    const rows = 5000;
    const texts = Array.from({ length: rows }, (_, i) => `2018-02-06 00:${String(i % 60).padStart(2, '0')}:00.${i}`);
    const inputs = Array.from({ length: 40 }, (_, i) => ({ name: `c${i}`, datatype: 'BYTES', shape: [rows] }));
    const raw = inputs.map(() => bytesTensor(texts));
    // Decoded in one turn, as before, no timer could fire until it returned.
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    const request = await decodeGrpcInferRequest({ model_name: 'flts', id: 'req-1', inputs, raw_input_contents: raw });
    clearInterval(counting);
    expect(turns).toBeGreaterThan(0);
    expect(request).toEqual({ id: 'req-1', parameters: {}, inputs: inputs.map((input, i) => ({ ...input, values: decodeRawTensor(input.name, 'BYTES', [rows], raw[i]) })) });
    // The first input that does not decode still names the error, as in one pass.
    const broken = raw.map((bytes, i) => (i === 30 ? bytes.subarray(0, 3) : bytes));
    await expect(decodeGrpcInferRequest({ model_name: 'flts', inputs, raw_input_contents: broken })).rejects.toThrow("Input 'c30': binary BYTES data ends inside an element's 4-byte length.");
  });
});
