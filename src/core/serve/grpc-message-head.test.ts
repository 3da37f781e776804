import { describe, expect, it } from 'vitest';
import { leadingModelName } from './grpc-message-head.js';
import { inferenceService } from './oip-grpc-service.js';

const serialize = (request: object): Buffer => inferenceService().ModelInfer.requestSerialize(request);
const input = { name: 'x', datatype: 'BYTES', shape: [1] };

describe('core > serve > grpc-message-head > leadingModelName', () => {
  it('reads the name and version a message the protocol file encodes leads with, and waits while they are cut off', () => {
    const cases: Array<[object, { name: string; version: string | undefined }]> = [
      [{ model_name: 'flts', model_version: 'run-a', inputs: [input], raw_input_contents: [Buffer.alloc(64)] }, { name: 'flts', version: 'run-a' }],
      // No version: the next field is another, which could still be followed by one (an order no encoder writes).
      [{ model_name: 'other', id: 'r1', inputs: [input] }, { name: 'other', version: undefined }],
      [{ model_name: 'n'.repeat(300), inputs: [input] }, { name: 'n'.repeat(300), version: undefined }],
      // A message that ends with its name: no version at all.
      [{ model_name: 'flts' }, { name: 'flts', version: '' }],
    ];
    for (const [request, head] of cases) {
      const bytes = serialize(request);
      let whole = 0;
      for (let cut = 0; cut <= bytes.length; cut++) {
        const read = leadingModelName(bytes.subarray(0, cut), bytes.length);
        if (read === 'more') continue;
        expect(read).toEqual(head);
        whole = cut;
        break;
      }
      // Told from the first bytes, not the whole message.
      expect(whole).toBeLessThan(bytes.length + (head.version === '' ? 1 : 0));
      expect(leadingModelName(bytes, bytes.length)).toEqual(head);
    }
  });

  it('leaves to the decoder a message that does not lead with its name, or whose name runs past it', () => {
    expect(leadingModelName(serialize({ id: 'r1', inputs: [input] }), 100)).toBeUndefined();
    expect(leadingModelName(Buffer.from([0x0a, 10, 0x66]), 3)).toBeUndefined();
    expect(leadingModelName(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x01]), 100)).toBeUndefined();
    expect(leadingModelName(Buffer.alloc(0), 0)).toBeUndefined();
    expect(leadingModelName(Buffer.from([0x0a]), 100)).toBe('more');
  });
});
