import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { HANDLER_RULES } from './schemas/handler-rules.js';
import { actualsSchema } from './schemas/actuals.js';
import { predictSchema } from './schemas/predict.js';
import { seriesBodyBoundsProblem } from './series-json-bounds.js';

const rows = { ts: ['2018-02-06T00:00:00Z', '2018-02-06T00:02:00Z'], down: [1.5, null] };
const many = (count: number, value: unknown = 'x'): Record<string, unknown> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`c${i}`, value]));

/** The answer each route's schema gives the parsed body, as fastify words it. */
const validators = [predictSchema, actualsSchema].map((schema) => new Ajv({ allErrors: false, keywords: [HANDLER_RULES] }).compile(schema.body));
function schemaMessages(body: unknown): Array<string | undefined> {
  return validators.map((validate) => (validate(body) ? undefined : `Invalid request: body${validate.errors?.[0].instancePath} ${validate.errors?.[0].message}.`));
}

describe('serve > /predict and /actuals JSON bounds, read from the body text before it is parsed', () => {
  it('refuses each of the schemas\' bounds with the message the schemas give the parsed body', () => {
    const bodies = [{ data: rows, ...many(64) }, { data: { ...rows, ...many(1023, [1, 2]) } }];
    for (const body of bodies) {
      for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2)]) {
        const problem = seriesBodyBoundsProblem(text);
        expect(problem?.code).toBe('FLTS_REQUEST_INVALID');
        expect([problem?.message, problem?.message]).toEqual(schemaMessages(body));
      }
    }
    // An object of a client's own field is held to the body's bound, which the schema leaves to the parse.
    expect(seriesBodyBoundsProblem(JSON.stringify({ data: rows, meta: many(65) }))?.message).toBe('Invalid request: body/meta must NOT have more than 64 properties.');
    // A key is read as JSON reads it: `dat\u0061` is `data`.
    expect(seriesBodyBoundsProblem(JSON.stringify({ data: { ...rows, ...many(1023) } }).replace('"data"', '"dat\\u0061"'))?.message).toBe('Invalid request: body/data must NOT have more than 1024 properties.');
  });

  it('passes bodies at the bounds, thousands of rows, and brackets inside strings', () => {
    const bodies = [
      { data: { ...rows, ...many(1022, [1, 2]) }, index_col: 'ts', identifier: 'site', inference_length: 3, ...many(60) },
      { data: { ts: Array.from({ length: 5000 }, (_, i) => new Date(i * 60_000).toISOString()), down: Array.from({ length: 5000 }, (_, i) => i / 7) } },
      { data: { ...rows, '{[': ['[[[', '{{{'] }, meta: { a: [1, '],,}'] }, 'a,b': null },
    ];
    for (const body of bodies) {
      for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2)]) expect(seriesBodyBoundsProblem(text)).toBeUndefined();
      expect(schemaMessages(body)).toEqual([undefined, undefined]);
    }
  });

  it('refuses nesting deeper than the body, its data and a column, naming the path', () => {
    expect(seriesBodyBoundsProblem(JSON.stringify({ data: { ...rows, down: [[1], [2]] } }))?.message).toMatch(/^Invalid request: body\/data\/down nests deeper than the 3 levels/);
    expect(seriesBodyBoundsProblem(`{"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)?.message).toMatch(/^Invalid request: body\/data nests deeper/);
    expect(seriesBodyBoundsProblem(JSON.stringify({ meta: { a: { b: 1 } } }))).toBeUndefined();
    expect(seriesBodyBoundsProblem(JSON.stringify({ meta: { a: { b: [] } } }))?.message).toMatch(/^Invalid request: body\/meta\/a\/b nests deeper/);
  });

  it('refuses a column or a field written twice, which JSON.parse would read as its last copy alone, naming it', () => {
    // Before, each of these passed: `down` was read as [3, 4] and the client's [1, 2] dropped without a word.
    const twice = '{"data":{"ts":["2018-02-06T00:00:00Z","2018-02-06T00:02:00Z"],"down":[1,2],"down":[3,4]}}';
    const problem = seriesBodyBoundsProblem(twice);
    expect(problem?.code).toBe('FLTS_REQUEST_INVALID');
    expect(problem?.message).toBe('Invalid request: body/data has the key "down" twice; JSON would keep only the last of them: write each key once.');
    expect(seriesBodyBoundsProblem(twice.replace('"down":[3', '"d\\u006fwn":[3'))?.message).toMatch(/^Invalid request: body\/data has the key "down" twice/);
    expect(seriesBodyBoundsProblem(`{"data":${JSON.stringify(rows)},"inference_length":2,"inference_length":3}`)?.message).toMatch(/^Invalid request: body has the key "inference_length" twice/);
    expect(seriesBodyBoundsProblem(`{"data":${JSON.stringify(rows)},"data":${JSON.stringify(rows)}}`)?.message).toMatch(/^Invalid request: body has the key "data" twice/);
    // Keys written once each pass, names that differ in case among them (the handler refuses those, naming the columns),
    // and so does an object of the client's own with a key written twice: no route reads it.
    expect(seriesBodyBoundsProblem(JSON.stringify({ data: { ...rows, Down: [1, 2] }, inference_length: 2 }))).toBeUndefined();
    expect(seriesBodyBoundsProblem(`{"data":${JSON.stringify(rows)},"meta":{"a":1,"a":2}}`)).toBeUndefined();
  });
});
