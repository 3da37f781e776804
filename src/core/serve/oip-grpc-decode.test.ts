import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { contentsElements, decodeModelInferRequest } from './oip-grpc-contents.js';
import { decodeGrpcInferRequest } from './oip-grpc-server.js';
import { inferenceService, type GrpcModelInferRequest, type InferTensorContents } from './oip-grpc-service.js';
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
    expect(request).toEqual({ id: 'req-1', parameters: {}, inputs: await Promise.all(inputs.map(async (input, i) => ({ ...input, values: await decodeRawTensor(input.name, 'BYTES', [rows], raw[i]) }))) });
    // The first input that does not decode still names the error, as in one pass.
    const broken = raw.map((bytes, i) => (i === 30 ? bytes.subarray(0, 3) : bytes));
    await expect(decodeGrpcInferRequest({ model_name: 'flts', inputs, raw_input_contents: broken })).rejects.toThrow("Input 'c30': binary BYTES data ends inside an element's 4-byte length.");
  });
});

describe('serve > gRPC ModelInfer typed contents', () => {
  const service = inferenceService().ModelInfer;
  /** What the service's own decoder (grpc-js's, before) gives for the first input's `field`, bytes as text. */
  const decodedByService = (bytes: Buffer, field: keyof InferTensorContents): unknown[] => {
    const values = ((service.requestDeserialize(bytes) as GrpcModelInferRequest).inputs[0].contents?.[field] ?? []) as unknown[];
    return field === 'bytes_contents' ? (values as Buffer[]).map((value) => value.toString('utf8')) : values;
  };
  /** Each field's elements, and how a writer that does not pack writes one (its field number and wire type). */
  const FIELDS: Array<[keyof InferTensorContents, unknown[], (writer: protobuf.Writer, value: any) => void]> = [
    ['bool_contents', [true, false, true], (writer, value) => writer.uint32((1 << 3) | 0).bool(value)],
    ['int_contents', [0, -1, 2147483647, -2147483648], (writer, value) => writer.uint32((2 << 3) | 0).int32(value)],
    ['int64_contents', [0, -1, 2 ** 53 + 2, -(2 ** 60), 1700000000], (writer, value) => writer.uint32((3 << 3) | 0).int64(value)],
    ['uint_contents', [0, 4294967295, 7], (writer, value) => writer.uint32((4 << 3) | 0).uint32(value)],
    ['uint64_contents', [0, 2 ** 64 - 2 ** 11, 3], (writer, value) => writer.uint32((5 << 3) | 0).uint64(value)],
    ['fp32_contents', [0.1, -3.4e38, Number.NaN], (writer, value) => writer.uint32((6 << 3) | 5).float(value)],
    ['fp64_contents', [0.1, -1e308, Number.POSITIVE_INFINITY], (writer, value) => writer.uint32((7 << 3) | 1).double(value)],
    ['bytes_contents', [Buffer.from('2018-02-06 00:00:00'), Buffer.alloc(0), Buffer.from('é😀'), Buffer.from([0xff, 0xfe])], (writer, value) => writer.uint32((8 << 3) | 2).bytes(value)],
  ];
  /** A ModelInferRequest of one input whose contents field is given once per entry of `contents` (written by `write`). */
  const unpackedRequest = (contents: Array<(writer: protobuf.Writer) => void>): Buffer => {
    const writer = protobuf.Writer.create().uint32((1 << 3) | 2).string('flts');
    writer.uint32((5 << 3) | 2).fork().uint32((1 << 3) | 2).string('x').uint32((2 << 3) | 2).string('FP64');
    for (const write of contents) {
      writer.uint32((5 << 3) | 2).fork();
      write(writer);
      writer.ldelim();
    }
    writer.ldelim();
    return Buffer.from(writer.finish());
  };

  it('reads each field as the service decodes it, packed or an element a field, and of contents given twice the last', async () => {
    const other = FIELDS[0];
    for (const [field, values, writeOne] of FIELDS) {
      const packed = service.requestSerialize({ model_name: 'flts', inputs: [{ name: 'x', datatype: 'FP64', shape: [1], contents: { [field]: values } }] });
      const unpacked = unpackedRequest([(writer) => values.forEach((value) => writeOne(writer, value))]);
      const twice = unpackedRequest([(writer) => other[1].forEach((value) => other[2](writer, value)), (writer) => values.forEach((value) => writeOne(writer, value))]);
      for (const bytes of [packed, unpacked, twice]) {
        const { contents } = decodeModelInferRequest(bytes).inputs[0];
        expect({ field, ...(await contentsElements(contents ?? new Uint8Array(), field)) }).toEqual({ field, elements: decodedByService(bytes, field), other: undefined });
      }
      expect(decodedByService(unpacked, field)).toEqual(decodedByService(packed, field));
      const { contents } = decodeModelInferRequest(service.requestSerialize({ model_name: 'flts', inputs: [{ name: 'x', datatype: 'FP64', shape: [1], contents: { [field]: values, [other[0] === field ? FIELDS[1][0] : other[0]]: [1] } }] })).inputs[0];
      expect((await contentsElements(contents ?? new Uint8Array(), field)).other).toBe(other[0] === field ? FIELDS[1][0] : other[0]);
    }
  });

  it('decodes one input\'s typed contents over turns, and names contents that do not decode as the message\'s protobuf reason', async () => {
    const rows = 300_000;
    const texts = Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? '' : `t${i}`));
    const bytes = service.requestSerialize({ model_name: 'flts', id: 'req-1', inputs: [{ name: 'timestamp', datatype: 'BYTES', shape: [rows], contents: { bytes_contents: texts.map((text) => Buffer.from(text)) } }] });
    const message = decodeModelInferRequest(bytes);
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    const request = await decodeGrpcInferRequest(message);
    clearInterval(counting);
    expect(turns).toBeGreaterThan(0);
    expect(request.inputs).toEqual([{ name: 'timestamp', datatype: 'BYTES', shape: [rows], values: texts }]);
    // Contents cut inside an element's length.
    const cut = { ...message, inputs: [{ ...message.inputs[0], contents: Buffer.from([(8 << 3) | 2, 5, 0x41]) }] };
    await expect(decodeGrpcInferRequest(cut)).rejects.toMatchObject({ code: 'FLTS_REQUEST_INVALID', message: 'The request is not a valid ModelInferRequest protobuf message (index out of range: 2 + 5 > 3).' });
  });
});
