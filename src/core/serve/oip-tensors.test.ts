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
  it('reads FP32 values as the float32 the same numbers have in binary data, nulls kept as missing values', async () => {
    const written = [0.1, -0.1, 16_777_217, 3.4028234663852886e38, -0, 1e-46, 1.5e-45, 10.3, 1 / 3];
    const binary = await decodeRawTensor('up', 'FP32', [written.length], new Uint8Array(Float32Array.from(written).buffer));
    // Before, JSON data kept the doubles written (0.1, 16777217) where binary data held 0.10000000149011612, 16777216.
    expect(await checkElements('up', 'FP32', written)).toEqual(binary);
    expect(await checkElements('up', 'FP32', [0.1, null])).toEqual([Math.fround(0.1), null]);
    // FP64 keeps every double.
    expect(await checkElements('up', 'FP64', written)).toEqual(written);
  });
});

describe('serve > Open Inference Protocol tensors > large tensors', () => {
  it('reads and checks tensors of as many elements as a message of the size limit holds over turns, to the values read in one pass', async () => {
    // 1.5M BYTES elements of one character (7.5 MB of binary data), and 8M BOOL elements (one byte each in gRPC contents).
    const texts = 1_500_000;
    const raw = Buffer.alloc(texts * 5);
    for (let i = 0; i < texts; i++) {
      raw.writeUInt32LE(1, i * 5);
      raw[i * 5 + 4] = 0x30 + (i % 10);
    }
    const count = 8_000_000;
    // Read or checked in one turn, as before, no timer could fire until each returned (0.1-0.9 s for each).
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    const read = await decodeRawTensor('ts', 'BYTES', [texts], raw);
    const readTurns = turns;
    const bools = await checkElements('up', 'BOOL', Array.from({ length: count }, (_, i) => i % 3 > 0));
    const checkTurns = turns - readTurns;
    clearInterval(counting);
    expect({ readTurns: readTurns > 0, checkTurns: checkTurns > 0 }).toEqual({ readTurns: true, checkTurns: true });
    expect([read.length, read[0], read[1], read[texts - 1]]).toEqual([texts, '0', '1', String((texts - 1) % 10)]);
    expect([bools.length, bools[0], bools[1], bools[count - 1]]).toEqual([count, 0, 1, (count - 1) % 3 > 0 ? 1 : 0]);
    // The first element that does not fit is still the one named, wherever it is.
    const ints = Array.from({ length: count }, () => 1);
    ints[count - 2] = 300;
    await expect(checkElements('up', 'INT8', ints)).rejects.toThrow(`Input 'up' is INT8, but element ${count - 2} is 300; INT8 data must be integers from -128 to 127.`);
  });
});
