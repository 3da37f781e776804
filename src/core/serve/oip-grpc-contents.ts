import protobuf from 'protobufjs';
import { nextTurn, turnSpent } from '../loop-turns.js';
import { OIP_PROTO_PATH, type GrpcInferInputTensor, type GrpcModelInferRequest, type InferTensorContents } from './oip-grpc-service.js';

/** An input as the server decodes it: its typed contents left as their bytes (null when not given). */
export type ReceivedInputTensor = Omit<GrpcInferInputTensor, 'contents'> & { contents?: Uint8Array | null };

/** A ModelInferRequest as the server decodes it (`decodeModelInferRequest`). */
export type ReceivedModelInferRequest = Omit<GrpcModelInferRequest, 'inputs'> & { inputs: ReceivedInputTensor[] };

/** As the service's loader converts a message (oip-grpc-service.ts): int64 as numbers, bytes as Buffers. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

let receivedType: protobuf.Type | undefined;

/**
 * ModelInferRequest's bytes to the message, but for its inputs' typed contents, which are left as bytes (no copy) for
 * `contentsElements` to decode over turns. Decoded in one piece, the repeated fields of a message of the size limit
 * held the event loop for what JSON.parse of an HTTP body of that size takes many times over: 8 MiB of empty
 * bytes_contents elements (4M Buffers) 3 s, of packed int_contents 0.45 s, against 65 ms for 2.6M empty strings in JSON.
 */
export function decodeModelInferRequest(bytes: Uint8Array): ReceivedModelInferRequest {
  receivedType ??= receivedRequestType();
  return receivedType.toObject(receivedType.decode(bytes), TO_OBJECT) as ReceivedModelInferRequest;
}

/**
 * The service's ModelInferRequest with InferInputTensor's `contents` (field 5) read as bytes: the same wire form. A
 * contents field given twice is read as protobufjs reads a message given twice: the last one.
 */
function receivedRequestType(): protobuf.Type {
  const root = new protobuf.Root().loadSync(OIP_PROTO_PATH, { keepCase: true });
  const tensor = root.lookupType('inference.ModelInferRequest.InferInputTensor');
  tensor.remove(tensor.fields.contents);
  tensor.add(new protobuf.Field('contents', 5, 'bytes'));
  root.resolveAll();
  return root.lookupType('inference.ModelInferRequest');
}

type Element = boolean | number | string;

const FIELD_NUMBER: Record<keyof InferTensorContents, number> = {
  bool_contents: 1,
  int_contents: 2,
  int64_contents: 3,
  uint_contents: 4,
  uint64_contents: 5,
  fp32_contents: 6,
  fp64_contents: 7,
  bytes_contents: 8,
};
const FIELD_NAME = Object.fromEntries(Object.entries(FIELD_NUMBER).map(([name, number]) => [number, name])) as Record<number, keyof InferTensorContents>;
const BYTES_FIELD = FIELD_NUMBER.bytes_contents;
const LENGTH_DELIMITED = 2;

/** An int64 as the loader gives it (`longs: Number`): protobufjs reads a Long where the long package is installed. */
function longNumber(value: protobuf.Long | number, unsigned: boolean): number {
  return typeof value === 'number' ? value : protobuf.util.LongBits.from(value).toNumber(unsigned);
}

/** A bytes element as the text it holds, read in place: one Buffer made per element cost more than its decoding. */
function readText(reader: protobuf.Reader): string {
  const length = reader.uint32();
  const start = reader.pos;
  if (start + length > reader.len) throw new RangeError(`index out of range: ${start} + ${length} > ${reader.len}`);
  reader.pos = start + length;
  return length === 0 ? '' : (reader.buf as Buffer).toString('utf8', start, start + length);
}

/** One element of each InferTensorContents field, read as protobufjs reads it whatever the wire type given. */
const READ_ELEMENT: Record<number, (reader: protobuf.Reader) => Element> = {
  1: (reader) => reader.bool(),
  2: (reader) => reader.int32(),
  3: (reader) => longNumber(reader.int64(), false),
  4: (reader) => reader.uint32(),
  5: (reader) => longNumber(reader.uint64(), true),
  6: (reader) => reader.float(),
  7: (reader) => reader.double(),
  [BYTES_FIELD]: readText,
};

/** Elements read between two looks at the turn. */
const ELEMENTS_A_LOOK = 4096;

/**
 * The elements of `field` in an input's contents (bytes elements as UTF-8 text), as protobufjs decodes them (packed
 * or one by one), over as many turns as they take; `other` names the first other field that holds elements, if any.
 * Bytes that are no valid message throw protobufjs's RangeError (or Error), as decoding the whole message would.
 */
export async function contentsElements(contents: Uint8Array, field: keyof InferTensorContents): Promise<{ elements: Element[]; other: keyof InferTensorContents | undefined }> {
  const wanted = FIELD_NUMBER[field];
  const elements: Element[] = [];
  let other: keyof InferTensorContents | undefined;
  let read = 0;
  // Over a Buffer, so that its elements' text is read in place (readText).
  const reader = protobuf.Reader.create(Buffer.isBuffer(contents) ? contents : Buffer.from(contents.buffer, contents.byteOffset, contents.length));
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const number = tag >>> 3;
    const readElement = READ_ELEMENT[number];
    if (!readElement) {
      reader.skipType(tag & 7);
      continue;
    }
    const keep = number === wanted;
    // A run of packed elements; bytes are never packed, each element its own length-delimited field.
    const end = (tag & 7) === LENGTH_DELIMITED && number !== BYTES_FIELD ? reader.uint32() + reader.pos : undefined;
    do {
      if (end !== undefined && reader.pos >= end) break;
      const element = readElement(reader);
      if (keep) elements.push(element);
      else other ??= FIELD_NAME[number];
      if (++read % ELEMENTS_A_LOOK === 0 && turnSpent()) await nextTurn();
    } while (end !== undefined);
  }
  return { elements, other };
}
