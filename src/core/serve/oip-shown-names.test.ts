import { describe, expect, it } from 'vitest';
import { codedRefusal as refusal, SHOWN_AS_ITSELF_NEVER as MISLEADING } from './coded-refusal.fixture.js';
import { decodeHttpInferRequest, splitRawBody } from './oip-http-binding.js';
import { runOipInference, servedModelNamed, type OipContext } from './oip-inference.js';
import { checkDatatype, checkElements, decodeRawTensor, inputsToColumns } from './oip-tensors.js';


const name = 'do\u202ewn\u001b[31m\u2028x';
const shown = 'do\\u202ewn\\u001b[31m\\u2028x';

/** A context with no model loaded: enough for the checks made before a forecast. */
const context = { modelName: 'flts', holder: { current: () => undefined } } as unknown as OipContext;

describe('serve > Open Inference Protocol > names and values a client sent, quoted in refusals', () => {
  it('writes their control, line-separator and bidirectional characters as \\u escapes, as the /predict refusals do', async () => {
    const tensor = { name, datatype: 'FP64', shape: [1], values: [1] };
    const refusals = [
      await refusal(() => inputsToColumns([tensor, tensor])),
      await refusal(() => inputsToColumns([{ ...tensor, shape: [2] }])),
      await refusal(() => checkDatatype('down', name)),
      await refusal(() => checkElements(name, 'INT8', [name])),
      await refusal(() => decodeRawTensor(name, 'FP64', [2], new Uint8Array(8))),
      await refusal(() => decodeHttpInferRequest({ inputs: [{ name, datatype: 'FP64', shape: [1] }] }, undefined)),
      await refusal(() => decodeHttpInferRequest({ inputs: [{ name, datatype: 'FP64', shape: [1], parameters: { binary_data_size: 8 } }] }, Buffer.alloc(0))),
      await refusal(() => splitRawBody(Buffer.from('{}'), name)),
      await refusal(() => servedModelNamed(context, name)),
      await refusal(() => runOipInference(context, 'flts', { parameters: {}, inputs: [], outputs: [{ name, parameters: {} }, { name, parameters: {} }] }, { route: '/v2/models/:name/infer' })),
    ];
    for (const { code, message } of refusals) {
      expect(code).toMatch(/^FLTS_REQUEST_/);
      expect(message).not.toMatch(MISLEADING);
      expect(message).toContain(shown);
    }
  });

  it('leaves a plain name as it was sent', async () => {
    const tensor = { name: 'down', datatype: 'FP64', shape: [1], values: [1] };
    expect(await refusal(() => inputsToColumns([tensor, tensor]))).toMatchObject({ code: 'FLTS_REQUEST_INVALID', message: "Input 'down' is given twice." });
  });
});
