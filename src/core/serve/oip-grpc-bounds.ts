import protobuf from 'protobufjs';
import { FltsError } from '../errors.js';
import { MAX_PARAMETERS, MAX_REQUEST_ID, MAX_SHAPE_DIMENSIONS, MAX_TENSORS } from './schemas/kserve.js';

const LENGTH_DELIMITED = 2;

/** Field numbers of grpc_predict_v2.proto's ModelInferRequest and its tensors. */
const REQUEST = { id: 3, parameters: 4, inputs: 5, outputs: 6, rawInputContents: 7 } as const;
const INPUT = { shape: 3, parameters: 4 } as const;
const OUTPUT = { parameters: 2 } as const;

/** Each field's entry count in the bytes up to `end`; `nested` fields' messages are handed to it instead of skipped. */
function countFields(reader: protobuf.Reader, end: number, nested?: (field: number, end: number) => void): Map<number, number> {
  const counts = new Map<number, number>();
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    counts.set(field, (counts.get(field) ?? 0) + 1);
    if (wireType !== LENGTH_DELIMITED) {
      reader.skipType(wireType);
      continue;
    }
    const length = reader.uint32();
    const fieldEnd = reader.pos + length;
    if (fieldEnd > end) throw new RangeError('a field runs past its message');
    nested?.(field, fieldEnd);
    reader.pos = fieldEnd;
  }
  return counts;
}

/** Dimensions of a shape given packed (one length-delimited run of varints, each ending in a byte below 0x80). */
function packedVarints(bytes: Uint8Array, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) if (bytes[i] < 0x80) count++;
  return count;
}

/** Bytes of UTF-8 one character (a code point, as the schema counts them) takes at most. */
const MOST_BYTES_PER_CHARACTER = 4;

/** A count over its bound, as the problem to answer: created only for the first one a message has (an error costs its stack). */
type Problem = { path: string; count: number; bound: number; unit: 'properties' | 'items' };

function tooMany({ path, count, bound, unit }: Problem): FltsError {
  // The HTTP route's schema message for the same bound, with the count the message has.
  return new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${path} must NOT have more than ${bound} ${unit} (the message has ${count}).`, {
    details: { field: path, count, bound },
  });
}

/**
 * The HTTP route's bounds on a ModelInferRequest's id, parameters (per request, input and output), inputs, outputs and
 * shape dimensions, read from the message's bytes before protobuf decodes it: a message of the size limit made of
 * hundreds of thousands of map entries held the process for seconds in decoding alone. Only tags and lengths are read
 * (tensor data is skipped); bytes that are no valid message are left to the decoder to name.
 */
export function modelInferBoundsProblem(bytes: Uint8Array): FltsError | undefined {
  // The first tensor over a bound; a count over the request's own bounds comes first.
  let tensorProblem: Problem | undefined;
  const reader = protobuf.Reader.create(bytes);
  let inputs = 0;
  let outputs = 0;
  // The id protobuf keeps (the last one given), in bytes.
  let idBytes = 0;
  let counts: Map<number, number>;
  try {
    counts = countFields(reader, bytes.length, (field, end) => {
      if (field === REQUEST.id) idBytes = end - reader.pos;
      else if (field === REQUEST.inputs) {
        const index = inputs++;
        // A shape comes packed (one run of varints, as protobuf writes it) or as one varint per dimension.
        let packedRuns = 0;
        let packedDimensions = 0;
        const tensor = countFields(reader, end, (inner, innerEnd) => {
          if (inner !== INPUT.shape) return;
          packedRuns++;
          packedDimensions += packedVarints(bytes, reader.pos, innerEnd);
        });
        const dimensions = packedDimensions + (tensor.get(INPUT.shape) ?? 0) - packedRuns;
        const parameters = tensor.get(INPUT.parameters) ?? 0;
        if (parameters > MAX_PARAMETERS) tensorProblem ??= { path: `inputs/${index}/parameters`, count: parameters, bound: MAX_PARAMETERS, unit: 'properties' };
        if (dimensions > MAX_SHAPE_DIMENSIONS) tensorProblem ??= { path: `inputs/${index}/shape`, count: dimensions, bound: MAX_SHAPE_DIMENSIONS, unit: 'items' };
      } else if (field === REQUEST.outputs) {
        const index = outputs++;
        const parameters = countFields(reader, end).get(OUTPUT.parameters) ?? 0;
        if (parameters > MAX_PARAMETERS) tensorProblem ??= { path: `outputs/${index}/parameters`, count: parameters, bound: MAX_PARAMETERS, unit: 'properties' };
      }
    });
  } catch {
    return undefined;
  }
  // An id over its bound whatever its bytes hold is refused undecoded (decoding the text of the message limit takes
  // tens of ms); a shorter one is counted exactly once decoded (decodeGrpcInferRequest), with the same message.
  if (idBytes > MAX_REQUEST_ID * MOST_BYTES_PER_CHARACTER) return new FltsError('FLTS_REQUEST_INVALID', `Invalid request: id must NOT have more than ${MAX_REQUEST_ID} characters.`, { details: { field: 'id', bound: MAX_REQUEST_ID } });
  const parameters = counts.get(REQUEST.parameters) ?? 0;
  const raw = counts.get(REQUEST.rawInputContents) ?? 0;
  const problem =
    parameters > MAX_PARAMETERS ? { path: 'parameters', count: parameters, bound: MAX_PARAMETERS, unit: 'properties' as const }
    : inputs > MAX_TENSORS ? { path: 'inputs', count: inputs, bound: MAX_TENSORS, unit: 'items' as const }
    : outputs > MAX_TENSORS ? { path: 'outputs', count: outputs, bound: MAX_TENSORS, unit: 'items' as const }
    : raw > MAX_TENSORS ? { path: 'raw_input_contents', count: raw, bound: MAX_TENSORS, unit: 'items' as const }
    : tensorProblem;
  return problem && tooMany(problem);
}
