import { describe, expect, it } from 'vitest';
import { isFltsError } from '../errors.js';
import { inputsToColumns } from './oip-tensors.js';

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
