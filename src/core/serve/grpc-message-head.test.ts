import { describe, expect, it } from 'vitest';
import { scanModelName, type MessageHead } from './grpc-message-head.js';
import { decodeModelInferRequest } from './oip-grpc-contents.js';
import { inferenceService } from './oip-grpc-service.js';

const serialize = (request: object): Buffer => inferenceService().ModelInfer.requestSerialize(request);
/** A message whose fields come in the order of `parts`: protobuf reads messages one after the other as one, merged. */
const inOrder = (...parts: object[]): Buffer => Buffer.concat(parts.map(serialize));
const input = { name: 'x', datatype: 'BYTES', shape: [1] };

/** What the scan tells of `bytes` given in chunks of `size`: its first answer that is not 'more', and the bytes read by then. */
function scanned(bytes: Buffer, size: number): { head: MessageHead | 'more' | undefined; read: number } {
  const scan = scanModelName(bytes.length);
  let head: MessageHead | 'more' | undefined = 'more';
  let read = 0;
  while (head === 'more' && read < bytes.length) {
    // Each chunk in a buffer of its own with bytes before it, as a chunk of the stream that held the prefix.
    const chunk = Buffer.concat([Buffer.from([0xff, 0xff]), bytes.subarray(read, read + size)]);
    head = scan.read(chunk, 2);
    read = Math.min(bytes.length, read + size);
  }
  return { head, read };
}

describe('core > serve > grpc-message-head > scanModelName', () => {
  it('finds the name and version wherever the message has them, in whatever chunks it comes, as the decoder reads them', () => {
    // The head the scan tells of the message whole in one chunk, and in small ones where it is not that.
    const cases: Array<[Buffer, MessageHead, MessageHead?]> = [
      [serialize({ model_name: 'flts', model_version: 'run-a', inputs: [input], raw_input_contents: [Buffer.alloc(64)] }), { name: 'flts', version: 'run-a' }],
      [serialize({ model_name: 'other', id: 'r1', inputs: [input] }), { name: 'other', version: undefined }],
      [serialize({ model_name: 'n'.repeat(300), inputs: [input] }), { name: 'n'.repeat(300), version: undefined }],
      [serialize({ model_name: 'flts' }), { name: 'flts', version: undefined }],
      // The id and parameters first, as some clients write them; the version after the inputs.
      [inOrder({ id: 'r1' }, { parameters: { a: { string_param: 'x' }, b: { int64_param: 3 } } }, { model_name: 'other' }), { name: 'other', version: undefined }],
      // Told from the chunk the name is in: the version comes in a later one when chunks are small.
      [inOrder({ id: 'r1' }, { model_name: 'flts' }, { inputs: [input] }, { model_version: 'run-z' }), { name: 'flts', version: 'run-z' }, { name: 'flts', version: undefined }],
      [inOrder({ model_version: 'run-z' }, { id: 'r1' }, { model_name: 'flts' }, { inputs: [input] }), { name: 'flts', version: 'run-z' }],
      // Tensor data first: passed over by its length.
      [inOrder({ raw_input_contents: [Buffer.alloc(100_000)] }, { inputs: [input] }, { model_name: 'other' }), { name: 'other', version: undefined }],
      // A field given twice: the last read, as the decoder keeps the last (one read later is the handler's to check).
      [inOrder({ model_name: 'flts' }, { id: 'r1' }, { model_name: 'other' }), { name: 'other', version: undefined }, { name: 'flts', version: undefined }],
      // Fields of other wire types (unknown to this protocol file) passed over: a varint (field 9) and a fixed64 (field 10).
      [Buffer.concat([Buffer.from([0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8]), serialize({ model_name: 'other' })]), { name: 'other', version: undefined }],
    ];
    for (const [bytes, whole, chunked = whole] of cases) {
      expect(decodeModelInferRequest(bytes)).toMatchObject({ model_name: whole.name, model_version: whole.version ?? '' });
      expect(scanned(bytes, bytes.length).head).toEqual(whole);
      for (const size of [1, 2, 7]) expect(scanned(bytes, size).head, `chunks of ${size}`).toEqual(chunked);
    }
  });

  it('tells the name from the chunk that holds it, not from the whole message, and the version only if that chunk has it', () => {
    const bytes = inOrder({ id: 'r1' }, { model_name: 'other' }, { raw_input_contents: [Buffer.alloc(50_000)] }, { model_version: 'run-z' });
    const { head, read } = scanned(bytes, 16 * 1024);
    expect(head).toEqual({ name: 'other', version: undefined });
    expect(read).toBe(16 * 1024);
  });

  it('leaves to the decoder a message without a name, one with more fields before it than are looked at, a name too long, and bytes that are no message', () => {
    const tooMany = inOrder(...Array.from({ length: 130 }, () => ({ inputs: [input] })), { model_name: 'other' });
    for (const bytes of [
      serialize({ id: 'r1', inputs: [input] }),
      tooMany,
      serialize({ model_name: 'n'.repeat(1025) }),
      // A field whose length runs past the message.
      Buffer.from([0x1a, 10, 0x66, 0x0a, 0x01, 0x61]),
      // The name as a varint, and a group.
      Buffer.from([0x08, 0x01, 0x0a, 0x01, 0x61]),
      Buffer.from([0x1b, 0x0a, 0x01, 0x61]),
      // A tag of more than 5 bytes.
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x0a, 0x01, 0x61]),
    ]) {
      for (const size of [1, bytes.length]) expect(scanned(bytes, size).head).toBeUndefined();
    }
    // 128 fields before the name are looked at; not 130.
    expect(scanned(inOrder(...Array.from({ length: 127 }, () => ({ inputs: [input] })), { model_name: 'other' }), 1000).head).toEqual({ name: 'other', version: undefined });
    expect(scanModelName(0).read(Buffer.alloc(0))).toBeUndefined();
    // Bytes past the name that are no message (a field longer than the message) leave the name as found.
    const nameThenTooLong = Buffer.concat([serialize({ model_name: 'other' }), Buffer.from([0x3a, 0x80, 0x80, 0x20, 0])]);
    expect(scanned(nameThenTooLong, nameThenTooLong.length).head).toEqual({ name: 'other', version: undefined });
    // A message cut off inside its name, or before it: more is awaited.
    expect(scanModelName(100).read(Buffer.from([0x0a]))).toBe('more');
    expect(scanModelName(100).read(serialize({ id: 'r1' }))).toBe('more');
  });
});
