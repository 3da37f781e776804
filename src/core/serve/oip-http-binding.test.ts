import { afterEach, describe, expect, it, vi } from 'vitest';
import { countTurns } from '../loop-turns.fixture.js';
import { decodeHttpInferRequest } from './oip-http-binding.js';

describe('core > serve > oip-http-binding', () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    // The slice a mocked clock opened closes at the next turn's check phase, before the next test reads the clock.
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('checks the inputs of a request an input a turn, to the request of one pass and its first problem', async () => {
    const rows = 1000;
    const body = {
      inputs: [
        { name: 'ts', datatype: 'BYTES', shape: [rows], data: Array.from({ length: rows }, (_, i) => new Date(Date.UTC(2024, 0, 10) + i * 60_000).toISOString()) },
        { name: 'down', datatype: 'FP64', shape: [rows, 1], data: Array.from({ length: rows }, (_, i) => [i / 3]) },
        { name: 'up', datatype: 'INT32', shape: [rows], data: Array.from({ length: rows }, (_, i) => i % 7) },
      ],
    };
    const once = await decodeHttpInferRequest(body, undefined);
    // Its slice, opened on the real clock, closes first.
    await new Promise((resolve) => setImmediate(resolve));
    // Each reading of the clock 20 ms on: every look at the turn (10 ms) finds it spent, whatever the machine's speed.
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (clock += 20));
    const loop = countTurns();
    const decoded = await decodeHttpInferRequest(body, undefined);
    loop.stop();
    expect(loop.turns()).toBeGreaterThanOrEqual(2);
    expect(decoded).toEqual(once);
    expect(decoded.inputs.map((input) => input.values.length)).toEqual([rows, rows, rows]);
    const bad = { inputs: [body.inputs[0], { ...body.inputs[2], data: [...body.inputs[2].data.slice(0, rows - 1), 2 ** 31] }] };
    await expect(decodeHttpInferRequest(bad, undefined)).rejects.toThrow(`Input 'up' is INT32, but element ${rows - 1} is 2147483648`);
  });

  it('refuses an input that gives both JSON data and binary data, as gRPC refuses contents beside raw_input_contents', async () => {
    const body = { inputs: [{ name: 'down', datatype: 'FP64', shape: [1], data: [7], parameters: { binary_data_size: 8 } }] };
    const binary = Buffer.alloc(8);
    binary.writeDoubleLE(1.5);
    await expect(decodeHttpInferRequest(body, binary)).rejects.toMatchObject({
      code: 'FLTS_REQUEST_INVALID',
      message: "Input 'down' has both 'data' and a binary_data_size parameter; give its data in one of them.",
    });
    const { data: _data, ...binaryOnly } = body.inputs[0];
    expect((await decodeHttpInferRequest({ inputs: [binaryOnly] }, binary)).inputs[0].values).toEqual([1.5]);
  });
});
