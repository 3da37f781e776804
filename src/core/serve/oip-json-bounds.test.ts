import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { HANDLER_RULES } from './schemas/handler-rules.js';
import { inferBodyBoundsProblem, MAX_JSON_DEPTH } from './oip-json-bounds.js';
import { inferSchema } from './schemas/kserve.js';

const tensor = { name: 'down', datatype: 'FP64', shape: [3], data: [1.5, 2, null] };
const many = (count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}`, 'x']));
const nested = (depth: number, leaf: unknown = 1): unknown => (depth === 0 ? leaf : [nested(depth - 1, leaf)]);

/** The answer the route's schema gives the parsed body, as fastify words it. */
const validate = new Ajv({ allErrors: false, keywords: [HANDLER_RULES] }).compile(inferSchema.body);
function schemaMessage(body: unknown): string | undefined {
  if (validate(body)) return undefined;
  const [error] = validate.errors ?? [];
  return `Invalid request: body${error.instancePath} ${error.message}.`;
}

describe('serve > OIP JSON bounds, read from the body text before it is parsed', () => {
  it('refuses each of the schema\'s bounds with the message the schema gives the parsed body', () => {
    const bodies = [
      { inputs: [tensor], parameters: many(65) },
      { inputs: [tensor, { ...tensor, parameters: many(100) }] },
      { inputs: [tensor], outputs: [{ name: 'down' }, { name: 'down', parameters: many(65) }] },
      { inputs: [tensor, { ...tensor, shape: [3, 1, 1, 1, 1, 1, 1, 1, 1] }] },
      { inputs: Array.from({ length: 1025 }, () => tensor) },
      { inputs: [tensor], outputs: Array.from({ length: 1025 }, () => ({ name: 'down' })) },
    ];
    for (const body of bodies) {
      // Compact, and indented: whitespace is jumped over, never counted.
      for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2)]) {
        const problem = inferBodyBoundsProblem(text);
        expect(problem?.code).toBe('FLTS_REQUEST_INVALID');
        expect(problem?.message).toBe(schemaMessage(body));
      }
    }
  });

  it('passes bodies at the bounds, and text that only looks like structure inside strings', () => {
    const bodies = [
      { inputs: [{ ...tensor, shape: [3, 1, 1, 1, 1, 1, 1, 1], parameters: many(64), data: nested(8) }], parameters: many(64), outputs: [{ name: 'down', parameters: many(64) }] },
      { inputs: Array.from({ length: 1024 }, () => tensor), outputs: Array.from({ length: 1024 }, () => ({ name: 'down' })) },
      { inputs: [{ ...tensor, name: '{[,,"\\', datatype: 'BYTES', data: [',,,,[[[[[[[[[[[[[[', '\\"', ']]]]}}}}', '[[[[[[[[[[[[', '\\', '"[[[[[[[[[[[[', '{{{{{{{{{{{{{{{{'] }], parameters: { ',': '{', 'q"': '[', '\\': ']' } },
      { inputs: [{ ...tensor, datatype: 'BYTES', shape: [10_000], data: Array.from({ length: 10_000 }, (_, i) => (i % 997 === 0 ? '[[[[[[[[[[[[\\"' : `[{${i}`)) }] },
      // Tensor data is counted by the body limit, not by the schema.
      { inputs: [{ ...tensor, shape: [200_000], data: Array.from({ length: 200_000 }, (_, i) => (i % 7 === 0 ? null : i / 3)) }] },
      { inputs: [{ ...tensor, shape: [50_000, 1], data: Array.from({ length: 50_000 }, (_, i) => [i]) }] },
    ];
    for (const body of bodies) {
      expect(schemaMessage(body)).toBeUndefined();
      expect(inferBodyBoundsProblem(JSON.stringify(body))).toBeUndefined();
      expect(inferBodyBoundsProblem(JSON.stringify(body, null, 2))).toBeUndefined();
    }
    expect(inferBodyBoundsProblem(`{"inputs":[${' '.repeat(100_000)}${JSON.stringify(tensor)} , \n\t${JSON.stringify(tensor)}]}`)).toBeUndefined();
    // Binary tensor data after the JSON (sent as application/json by mistake) is not read: JSON.parse names it.
    expect(inferBodyBoundsProblem(`${JSON.stringify({ inputs: [tensor] })}${'[{'.repeat(100)}${',,'.repeat(100)}`)).toBeUndefined();
    // Not JSON: left for JSON.parse to name.
    for (const text of ['{"inputs": [', '{"inputs": "', ']]]', '{"a": 1}}, "b"', 'nul']) expect(inferBodyBoundsProblem(text)).toBeUndefined();
  });

  it('refuses an id whose text is longer than 256 characters can be written, with the schema\'s message, and leaves shorter ones to the schema', () => {
    // 256 astral characters written as surrogate-pair escapes: 3072 characters of text, within the schema's maxLength.
    const escaped = `{"id":"${'\\ud83d\\ude00'.repeat(256)}","inputs":[${JSON.stringify(tensor)}]}`;
    expect(schemaMessage(JSON.parse(escaped))).toBeUndefined();
    expect(inferBodyBoundsProblem(escaped)).toBeUndefined();
    const over = JSON.stringify({ inputs: [tensor], id: 'i'.repeat(3073) });
    expect(schemaMessage(JSON.parse(over))).toBe('Invalid request: body/id must NOT have more than 256 characters.');
    expect(inferBodyBoundsProblem(over)?.message).toBe('Invalid request: body/id must NOT have more than 256 characters.');
    expect(inferBodyBoundsProblem(JSON.stringify({ inputs: [tensor], id: 'i'.repeat(8_000_000) }))?.message).toBe('Invalid request: body/id must NOT have more than 256 characters.');
    // Only the body's own id: a parameter or a tensor named id, and ids in tensor data, are not it.
    for (const body of [{ inputs: [{ ...tensor, id: 'i'.repeat(5000) }] }, { inputs: [tensor], parameters: { id: 'i'.repeat(5000) } }, { inputs: [{ ...tensor, datatype: 'BYTES', data: ['i'.repeat(5000)] }] }]) {
      expect(inferBodyBoundsProblem(JSON.stringify(body))).toBeUndefined();
    }
  });

  it('reads a key written with escapes as JSON.parse does', () => {
    const text = JSON.stringify({ inputs: [tensor], parameters: many(65) }).replace('"parameters"', '"param\\u0065ters"');
    expect(inferBodyBoundsProblem(text)?.message).toBe('Invalid request: body/parameters must NOT have more than 64 properties.');
  });

  it('holds every object, wherever it is, to the parameters\' bound, which the schema leaves to the parser', () => {
    const bodies: Array<[unknown, string]> = [
      [{ inputs: [tensor], extension: many(1000) }, 'body/extension'],
      [{ inputs: [tensor], parameters: { identifier: 'a', nested: many(65) } }, 'body/parameters/nested'],
      [{ inputs: [{ ...tensor, data: [1, many(65)] }] }, 'body/inputs/0/data/*'],
    ];
    for (const [body, path] of bodies) {
      expect(schemaMessage(body)).toBeUndefined();
      expect(inferBodyBoundsProblem(JSON.stringify(body))?.message).toBe(`Invalid request: ${path} must NOT have more than 64 properties.`);
    }
  });

  it('refuses nesting deeper than a tensor of the most dimensions has, naming the tensor data it is in', () => {
    expect(MAX_JSON_DEPTH).toBe(11);
    const deep = `{"inputs":[${JSON.stringify(tensor).replace('[1.5,2,null]', `${'['.repeat(1_000_000)}1${']'.repeat(1_000_000)}`)}]}`;
    expect(inferBodyBoundsProblem(deep)?.message).toMatch(/^Invalid request: body\/inputs\/0\/data nests deeper than the 11 levels an inference request has/);
    expect(inferBodyBoundsProblem(JSON.stringify({ inputs: [{ ...tensor, data: nested(9) }] }))?.message).toMatch(/^Invalid request: body\/inputs\/0\/data nests deeper/);
    expect(inferBodyBoundsProblem(JSON.stringify({ inputs: [tensor], parameters: { a: nested(9, {}) } }))?.message).toMatch(/^Invalid request: body\/parameters\/a nests deeper/);
    const objects = JSON.stringify({ inputs: [tensor], parameters: { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { k: 1 } } } } } } } } } } } });
    expect(inferBodyBoundsProblem(objects)?.message).toMatch(/^Invalid request: body\/parameters\/a\/b\/c\/d\/e\/f\/g\/h\/i\/j nests deeper/);
    expect(inferBodyBoundsProblem(objects.replace('{"k":1}', '1'))).toBeUndefined();
  });

  it('refuses a tensor\'s field, a parameter or a body field written twice, naming where, and leaves other objects to the parse', () => {
    // Before, each passed: JSON.parse kept the last `data` (or name, or inference_length) and dropped the other.
    const text = (tensorText: string, rest = ''): string => `{"inputs":[${JSON.stringify(tensor)},${tensorText}]${rest}}`;
    expect(inferBodyBoundsProblem(text('{"name":"up","datatype":"FP64","shape":[3],"data":[1,2,3],"data":[4,5,6]}'))?.message).toBe(
      'Invalid request: body/inputs/1 has the key "data" twice; JSON would keep only the last of them: write each key once.',
    );
    expect(inferBodyBoundsProblem(text('{"name":"up","name":"down","datatype":"FP64","shape":[3],"data":[1,2,3]}'))?.message).toMatch(/^Invalid request: body\/inputs\/1 has the key "name" twice/);
    expect(inferBodyBoundsProblem(`{"inputs":[${JSON.stringify(tensor)}],"parameters":{"inference_length":2,"inference_length":3}}`)?.message).toMatch(/^Invalid request: body\/parameters has the key "inference_length" twice/);
    expect(inferBodyBoundsProblem(`{"inputs":[${JSON.stringify(tensor)}],"outputs":[{"name":"down","parameters":{"binary_data":true,"binary_data":false}}]}`)?.message).toMatch(/^Invalid request: body\/outputs\/0\/parameters has the key "binary_data" twice/);
    expect(inferBodyBoundsProblem(`{"id":"a","inputs":[${JSON.stringify(tensor)}],"id":"b"}`)?.message).toMatch(/^Invalid request: body has the key "id" twice/);
    // A client's own object inside the parameters is not read by the route.
    expect(inferBodyBoundsProblem(`{"inputs":[${JSON.stringify(tensor)}],"parameters":{"client":{"a":1,"a":2}}}`)).toBeUndefined();
    expect(inferBodyBoundsProblem(text(JSON.stringify({ ...tensor, name: 'up' })))).toBeUndefined();
  });
});
