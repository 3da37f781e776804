import { clip } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import type { OipInferRequest, OipInferResponse } from './oip-inference.js';
import { checkDatatype, checkElements, decodeRawTensor, encodeRawTensor, flattenJsonData, shownName, type OipInput } from './oip-tensors.js';

/** Length of the JSON header that precedes the binary tensor data (the binary tensor data extension). */
export const INFERENCE_HEADER = 'inference-header-content-length';

interface HttpTensor {
  name: string;
  shape: number[];
  datatype: string;
  data?: unknown[];
  parameters?: Record<string, unknown>;
}

/** The JSON (part) of an HTTP inference request, as the route's schema has checked it. */
export interface HttpInferBody {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: HttpTensor[];
  outputs?: Array<{ name: string; parameters?: Record<string, unknown> }>;
}

function invalid(message: string, details: Record<string, unknown> = {}): FltsError {
  return new FltsError('FLTS_REQUEST_INVALID', message, { details });
}

/**
 * A body that arrived as bytes (no JSON content type): all JSON, or, with the header length given, a JSON
 * header followed by the inputs' binary data. `bounds` checks the JSON's text before it is parsed.
 */
export function splitRawBody(raw: Buffer, headerLength: string | string[] | undefined, bounds?: (text: string) => FltsError | undefined): { json: unknown; binary: Buffer } {
  let jsonLength = raw.length;
  if (headerLength !== undefined) {
    const text = Array.isArray(headerLength) ? headerLength[0] : headerLength;
    jsonLength = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!(jsonLength <= raw.length)) {
      throw invalid(`Inference-Header-Content-Length must be a byte count of at most the body's ${raw.length} bytes; got '${shownName(text)}'.`);
    }
  }
  const text = raw.subarray(0, jsonLength).toString('utf8').trim();
  let json: unknown = {};
  if (text !== '') {
    const problem = bounds?.(text);
    if (problem) throw problem;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw invalid(`Malformed JSON body: ${(error as Error).message}.`);
    }
  }
  return { json, binary: raw.subarray(jsonLength) };
}

/**
 * The checked body (and binary data) as a transport-neutral request, an input a piece: the inputs of a body of the size
 * limit (280k rows of three columns) took 60-100 ms to check in one turn, beside the 45 ms of its JSON.parse.
 */
export async function decodeHttpInferRequest(body: HttpInferBody, binary: Buffer | undefined): Promise<OipInferRequest> {
  let offset = 0;
  const inputs: OipInput[] = [];
  const decode = async (tensor: HttpTensor): Promise<OipInput> => {
    checkDatatype(tensor.name, tensor.datatype);
    const size = tensor.parameters?.binary_data_size;
    if (size !== undefined) {
      // Either one would be read and the other dropped unseen: gRPC refuses contents beside raw_input_contents alike.
      if (tensor.data !== undefined) throw invalid(`Input '${shownName(tensor.name)}' has both 'data' and a binary_data_size parameter; give its data in one of them.`, { input: clip(tensor.name) });
      if (!Number.isInteger(size) || (size as number) < 0) throw invalid(`Input '${shownName(tensor.name)}': binary_data_size must be a non-negative integer.`, { input: clip(tensor.name) });
      const end = offset + (size as number);
      if (!binary || end > binary.length) {
        throw invalid(`Input '${shownName(tensor.name)}' claims ${size as number} bytes of binary data, but only ${(binary?.length ?? 0) - offset} remain after the JSON header.`, { input: clip(tensor.name) });
      }
      const values = await decodeRawTensor(tensor.name, tensor.datatype, tensor.shape, binary.subarray(offset, end));
      offset = end;
      return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, values };
    }
    if (!Array.isArray(tensor.data)) throw invalid(`Input '${shownName(tensor.name)}' has neither 'data' nor a binary_data_size parameter.`, { input: clip(tensor.name) });
    return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, values: await checkElements(tensor.name, tensor.datatype, flattenJsonData(tensor.name, tensor.data, tensor.shape)) };
  };
  for (const tensor of body.inputs) {
    if (turnSpent()) await nextTurn();
    inputs.push(await decode(tensor));
  }
  if (binary && offset !== binary.length) throw invalid(`The body has ${binary.length - offset} bytes of binary data that no input claims (binary_data_size).`);
  return {
    ...(body.id !== undefined ? { id: body.id } : {}),
    parameters: body.parameters ?? {},
    inputs,
    ...(body.outputs ? { outputs: body.outputs.map((output) => ({ name: output.name, parameters: output.parameters ?? {} })) } : {}),
  };
}

/**
 * The response as JSON, or, when any output is asked for in binary (per output `binary_data`, else the
 * request's `binary_data_output`), a JSON header plus the binary outputs in order and the header's length.
 */
export function encodeHttpInferResponse(response: OipInferResponse, request: OipInferRequest): { json: object } | { body: Buffer; headerLength: number } {
  const binaryDefault = request.parameters.binary_data_output === true;
  const wanted = new Map(request.outputs?.map((output) => [output.name, output.parameters.binary_data]) ?? []);
  const chunks: Buffer[] = [];
  const outputs = response.outputs.map((output) => {
    const perOutput = wanted.get(output.name);
    if (!(typeof perOutput === 'boolean' ? perOutput : binaryDefault)) return output;
    const raw = encodeRawTensor(output);
    chunks.push(raw);
    return { name: output.name, datatype: output.datatype, shape: output.shape, parameters: { binary_data_size: raw.length } };
  });
  if (chunks.length === 0) return { json: response };
  const header = Buffer.from(JSON.stringify({ ...response, outputs }), 'utf8');
  return { body: Buffer.concat([header, ...chunks]), headerLength: header.length };
}
