import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { adminBodyBoundsProblem } from './admin-json-bounds.js';
import { adminBodySchema, MAX_ADMIN_JSON_DEPTH, MAX_ADMIN_JSON_ENTRIES } from './schemas/admin.js';

// The validator options fastify's body validator has (request-validators.ts).
const compile = (schema: object): ValidateFunction => new Ajv({ useDefaults: true, removeAdditional: true, allErrors: false, coerceTypes: false }).compile(schema);
const validateAdmin = compile(adminBodySchema);
const many = (count: number): Record<string, number> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

describe('serve > admin route bodies, bounded on their text before JSON.parse', () => {
  it('passes none-like bodies and small JSON of any kind, as the routes did before', () => {
    for (const body of [{}, null, [], 'x', 1, true, { force: true }, { a: { b: [1, { c: 2 }] } }, many(MAX_ADMIN_JSON_ENTRIES), nested(MAX_ADMIN_JSON_DEPTH)]) {
      expect(validateAdmin(body)).toBe(true);
      expect(adminBodyBoundsProblem(JSON.stringify(body))).toBeUndefined();
      expect(adminBodyBoundsProblem(JSON.stringify(body, null, 2))).toBeUndefined();
    }
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
});
