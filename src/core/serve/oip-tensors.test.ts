import { describe, expect, it } from 'vitest';
import { isFltsError } from '../errors.js';
import { checkElements, decodeRawTensor, inputsToColumns } from './oip-tensors.js';

describe('serve > Open Inference Protocol tensors > inputs as columns', () => {
  it('takes rows along any one dimension, the others of 1, and names every shape it takes when it refuses one', () => {
    for (const shape of [[3], [3, 1], [1, 3], [1, 3, 1]]) {
      expect(inputsToColumns([{ name: 'down', datatype: 'FP64', shape, values: [1, 2, 3] }])).toEqual({ down: [1, 2, 3] });
    }
    let refusal: unknown;
    try {
      inputsToColumns([{ name: 'down', datatype: 'FP64', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }]);
    } catch (error) {
      refusal = error;
    }
    expect(isFltsError(refusal) && { code: refusal.code, message: refusal.message }).toEqual({
      code: 'FLTS_REQUEST_INVALID',
      message: "Input 'down' must be one-dimensional ([rows], or [rows] with dimensions of 1 beside it such as [rows, 1] or [1, rows]), got [2, 3].",
    });
  });
});

describe('serve > Open Inference Protocol tensors > FP32 elements', () => {
  it('reads FP32 values as the float32 the same numbers have in binary data, nulls kept as missing values', () => {
    const written = [0.1, -0.1, 16_777_217, 3.4028234663852886e38, -0, 1e-46, 1.5e-45, 10.3, 1 / 3];
    const binary = decodeRawTensor('up', 'FP32', [written.length], new Uint8Array(Float32Array.from(written).buffer));
    // Before, JSON data kept the doubles written (0.1, 16777217) where binary data held 0.10000000149011612, 16777216.
    expect(checkElements('up', 'FP32', written)).toEqual(binary);
    expect(checkElements('up', 'FP32', [0.1, null])).toEqual([Math.fround(0.1), null]);
    // FP64 keeps every double.
    expect(checkElements('up', 'FP64', written)).toEqual(written);
  });
});
