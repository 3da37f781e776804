import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { adminBodyBoundsProblem, adminBodyOptions } from './admin-json-bounds.js';
import { inferBodyBoundsProblem } from './oip-json-bounds.js';
import { adminBodySchema, MAX_ADMIN_JSON_DEPTH, MAX_ADMIN_JSON_ENTRIES } from './schemas/admin.js';
import { HANDLER_RULES } from './schemas/handler-rules.js';
import { inferSchema } from './schemas/kserve.js';
import { predictSchema } from './schemas/predict.js';
import { seriesBodyBoundsProblem } from './series-json-bounds.js';

// The validator options fastify's body validator has (request-validators.ts).
const compile = (schema: object): ValidateFunction => new Ajv({ useDefaults: true, removeAdditional: true, allErrors: false, coerceTypes: false, keywords: [HANDLER_RULES] }).compile(schema);
const validateAdmin = compile(adminBodySchema);
const many = (count: number): Record<string, number> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

/** A seeded generator (mulberry32): the same bodies on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * JSON text written out, not stringified, so that objects may repeat keys (from a small pool, one of them spelled with
 * an escape) and have around `width` entries, with whitespace and strings that look like structure. `dropped` tells
 * whether an object had more keys written than the bound and no more than it once parsed. A repeated key has scalar
 * values: a container the parse drops is still held to the bounds (the scan cannot know that a key comes again).
 */
function randomText(next: () => number, depth: number, width: number): { text: string; dropped: boolean } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const space = (): string => pick(['', '', ' ', '\n  ']);
  // Wide near the top, narrow below: bodies of thousands of characters, not millions.
  const count = (level: number): number => (level < 2 ? Math.max(0, width - 3 + Math.floor(next() * 7)) : Math.floor(next() * 4));
  let dropped = false;
  const value = (level: number): string => {
    const kind = level >= depth ? 'scalar' : pick(['scalar', 'object', 'object', 'array']);
    if (kind === 'scalar') return pick(['1', '-2.5e3', 'null', 'true', '"x"', '"[{,"', '"\\"}"']);
    if (kind === 'array') return `[${Array.from({ length: count(level) }, () => `${space()}${value(level + 1)}`).join(',')}${space()}]`;
    const keys = Array.from({ length: count(level) }, () => pick(['"a"', '"b"', '"\\u0061"', '"c"', `"k${Math.floor(next() * width)}"`]));
    const names = keys.map((key) => JSON.parse(key) as string);
    if (keys.length > MAX_ADMIN_JSON_ENTRIES && new Set(names).size <= MAX_ADMIN_JSON_ENTRIES) dropped = true;
    const repeated = (i: number): boolean => names.indexOf(names[i]) !== names.lastIndexOf(names[i]);
    return `{${keys.map((key, i) => `${space()}${key}:${space()}${repeated(i) ? value(depth) : value(level + 1)}`).join(',')}${space()}}`;
  };
  return { text: value(0), dropped };
}

describe('serve > admin route bodies, bounded on their text before JSON.parse', () => {
  it('passes none-like bodies and small JSON of any kind, as the routes did before', () => {
    for (const body of [{}, null, [], 'x', 1, true, { force: true }, { a: { b: [1, { c: 2 }] } }, many(MAX_ADMIN_JSON_ENTRIES), nested(MAX_ADMIN_JSON_DEPTH)]) {
      expect(validateAdmin(body)).toBe(true);
      expect(adminBodyBoundsProblem(JSON.stringify(body))).toBeUndefined();
      expect(adminBodyBoundsProblem(JSON.stringify(body, null, 2))).toBeUndefined();
    }
  });

  it('takes 16 KiB at most, and never more than the server takes', () => {
    expect(adminBodyOptions(8 * 1024 * 1024).bodyLimit).toBe(16 * 1024);
    expect(adminBodyOptions(1024).bodyLimit).toBe(1024);
  });

  it("refuses more keys or items than the schema allows, with the schema's message", () => {
    const bodies: Array<[unknown, string]> = [
      [many(MAX_ADMIN_JSON_ENTRIES + 1), 'body must NOT have more than 16 properties'],
      [Array.from({ length: 10_000 }, () => 0), 'body must NOT have more than 16 items'],
      [{ a: [{ b: many(17) }] }, 'body/a/0/b must NOT have more than 16 properties'],
    ];
    for (const [body, message] of bodies) {
      expect(validateAdmin(body)).toBe(false);
      expect(`body${validateAdmin.errors?.[0].instancePath} ${validateAdmin.errors?.[0].message}`).toBe(message);
      expect(adminBodyBoundsProblem(JSON.stringify(body))?.message).toBe(`Invalid request: ${message}.`);
    }
  });

  it('refuses nesting deeper than the bound, naming where', () => {
    expect(validateAdmin(nested(MAX_ADMIN_JSON_DEPTH + 1))).toBe(false);
    expect(adminBodyBoundsProblem(JSON.stringify({ a: { b: { c: { d: 1 } } } }))).toBeUndefined();
    expect(adminBodyBoundsProblem(JSON.stringify({ a: { b: { c: { d: [] } } } }))?.message).toBe(
      "Invalid request: body/a/b/c/d nests deeper than the 4 levels an admin route's body may have (the route reads no body: send none or {}).",
    );
    expect(adminBodyBoundsProblem('['.repeat(4_000_000))?.message).toMatch(/^Invalid request: body\/0\/0\/0\/0 nests deeper than the 4 levels/);
  });

  it('counts a key written twice once, as the parsed body has it', () => {
    const keys = Object.keys(many(MAX_ADMIN_JSON_ENTRIES));
    const text = (extra: string): string => `{${keys.map((key) => `"${key}":1`).join(',')},${extra}}`;
    // Sixteen distinct keys and any number of repeats: JSON.parse keeps sixteen.
    for (const repeats of ['"k0":2', '"k15":{"x":[1]},"k3":3', '"k\\u0031":1', Array.from({ length: 1000 }, (_, i) => `"k${i % 16}":${i}`).join(',')]) {
      expect(validateAdmin(JSON.parse(text(repeats)))).toBe(true);
      expect(adminBodyBoundsProblem(text(repeats))).toBeUndefined();
    }
    expect(adminBodyBoundsProblem(text('"k0":2,"new":1'))?.message).toBe('Invalid request: body must NOT have more than 16 properties.');
    // The container after such an object, at its depth, is counted afresh.
    expect(adminBodyBoundsProblem(`{"a":${text('"k0":2')},"b":[${Array(17).fill(0).join(',')}]}`)?.message).toBe('Invalid request: body/b must NOT have more than 16 items.');
    // The same in the other routes' bodies, in an object of the client's own: 64 fields, and one written 65 times.
    const predict = `{"data":{"ts":[1]},"meta":{${Object.keys(many(64)).map((key) => `"${key}":1`).join(',')},"k0":2}}`;
    expect(compile(predictSchema.body)(JSON.parse(predict))).toBe(true);
    expect(seriesBodyBoundsProblem(predict)).toBeUndefined();
    const infer = `{"inputs":[{"name":"a","datatype":"FP64","shape":[1],"data":[1]}],"parameters":{"client":{${Array.from({ length: 65 }, () => '"p":1').join(',')}}}}`;
    expect(compile(inferSchema.body)(JSON.parse(infer))).toBe(true);
    expect(inferBodyBoundsProblem(infer)).toBeUndefined();
    // Where the route reads the values (the body's fields, the columns, the parameters), a key written twice is refused.
    expect(seriesBodyBoundsProblem(`{${Object.keys(many(64)).map((key) => `"${key}":1`).join(',')},"k0":2}`)?.message).toMatch(/^Invalid request: body has the key "k0" twice/);
  });

  it('agrees with the schema on random bodies, repeated keys included', () => {
    const next = random(20261206);
    let refused = 0;
    let repeated = 0;
    for (let i = 0; i < 2000; i++) {
      const { text, dropped } = randomText(next, 2 + Math.floor(next() * 4), 1 + Math.floor(next() * 20));
      const valid = validateAdmin(JSON.parse(text));
      const problem = adminBodyBoundsProblem(text);
      expect({ text, refused: problem !== undefined }).toEqual({ text, refused: !valid });
      if (problem) refused++;
      if (valid && dropped) repeated++;
    }
    // Both outcomes, and bodies whose repeated keys the parse dropped, are among the cases.
    expect(refused).toBeGreaterThan(200);
    expect(2000 - refused).toBeGreaterThan(200);
    expect(repeated).toBeGreaterThan(25);
  });
});
