import { describe, expect, it } from 'vitest';
import { createJsonListCounter } from './json-list-counter.js';
import { parseLenientJson } from '../storage/json-objects.js';
import { parseJsonListInTurns } from './json-list-in-turns.js';

/**
 * What the page of `bytes` parses to entry by entry, received and fed to the counter `chunk` bytes at a time (so
 * entries and characters span chunks); `laidOut` false when the counter found no list to split.
 */
async function inTurns(bytes: Buffer, chunk: number, key = 'runs'): Promise<{ laidOut: boolean; value: unknown }> {
  const counter = createJsonListCounter(key);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) {
    chunks.push(bytes.subarray(i, i + chunk));
    counter.feed(chunks.at(-1) as Buffer);
  }
  const layout = counter.layout();
  if (!layout) return { laidOut: false, value: undefined };
  return { laidOut: true, value: (await parseJsonListInTurns(chunks, key, layout))?.value };
}

/** parseLenientJsonListInTurns of the page fed `chunk` bytes at a time; `laidOut` false when it left the page to a whole parse. */
async function leniently(bytes: Buffer, chunk: number): Promise<{ laidOut: boolean; value: unknown }> {
  const counter = createJsonListCounter('runs', { fromFirstObject: true });
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) {
    chunks.push(bytes.subarray(i, i + chunk));
    counter.feed(chunks.at(-1) as Buffer);
  }
  const layout = counter.layout();
  const read = layout && (await parseJsonListInTurns(chunks, 'runs', layout, { lenient: true }));
  return read ? { laidOut: true, value: read.value } : { laidOut: false, value: undefined };
}

/** parseLenientJson of the whole text, what the client does with any other answer; undefined when that throws. */
function wholeLeniently(bytes: Buffer): unknown {
  try {
    return parseLenientJson(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** JSON.parse of the whole text, what the client did for every page; undefined when that throws. */
function whole(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

const run = (i: number, note: string) => ({ info: { run_id: `r${i}`, status: 'FINISHED' }, data: { params: [{ key: 'note', value: note }], tags: [{ key: 'runs', value: '[1,2]' }] } });

const VALID = [
  JSON.stringify({ runs: [run(1, 'a'), run(2, 'b')] }),
  // The list not first, the page token before and after it, nested members and lists named like it.
  JSON.stringify({ next_page_token: 'tok"en]', runs: [{ runs: [1, [2, { runs: [] }]], x: { runs: 3 } }, run(3, 'c')], extra: { runs: [9] } }),
  // Escapes and text that looks like structure, inside strings, within an entry and around the list.
  JSON.stringify({ ab: '"runs": [1,2]', runs: [run(4, 'q"uote \\ back\\"slash ],[}{ \n\t\u0000 \u2028'), '\\', '"', ']', ','], z: '\\"' }),
  // Characters of two, three and four bytes, at chunk boundaries of every kind.
  JSON.stringify({ runs: [run(5, 'ü€😀'.repeat(5)), 'Ω', { 'ключ': '值' }], next_page_token: '😀' }),
  // Whitespace of every kind around every token, and entries that are not objects.
  ' \r\n\t{ \n"runs" \t: \r [ \n 1 , -2.5e3 ,\t"s" , true , false , null , [ ] , { } \n ] \r, "next_page_token"\t:\n"p"\n}\n ',
  '{"runs": []}',
  '{"runs": [ \n ]}',
  '{"runs": [{}]}',
  '{"a": 1, "runs": [[[[]]]], "b": [{"runs": [1, 2, 3]}]}',
  // Members whose names only start or end like the key.
  '{"runsx": [1], "xruns": [2], "run": [3], "runs": [4, 5]}',
  // A member named __proto__ is an own property, in an entry and beside the list alike.
  '{"__proto__": {"x": 1}, "runs": [{"__proto__": {"y": 2}}]}',
];

describe('core > tracking > json-list-in-turns', () => {
  it('parses a page entry by entry into what JSON.parse makes of it whole, member order included, at any chunk size', async () => {
    for (const [index, text] of VALID.entries()) {
      const bytes = Buffer.from(text, 'utf8');
      const expected = JSON.parse(text);
      for (const chunk of [1, 3, 7, bytes.length]) {
        const { laidOut, value } = await inTurns(bytes, chunk);
        expect(laidOut, `case ${index} chunk ${chunk}`).toBe(true);
        expect(value, `case ${index} chunk ${chunk}`).toStrictEqual(expected);
        expect(JSON.stringify(value), `case ${index} chunk ${chunk}`).toBe(JSON.stringify(expected));
      }
    }
  });

  it('splits no list whose name could appear twice (top-level names written with escapes included), so the last member of that name still wins as in JSON.parse', async () => {
    const cases = ['{"a\\"b": 1, "runs": [1]}', '{"runs": [1, 2], "runs": [3]}', '{"runs": [1, 2], "runs": null}', '{"runs": [1, 2], "\\u0072uns": []}', '{"\\u0072uns": [1], "runs": [2]}', '{"runs": null, "runs": [1]}'];
    for (const text of cases) {
      const bytes = Buffer.from(text, 'utf8');
      const { laidOut, value } = await inTurns(bytes, 5);
      expect(laidOut ? value : JSON.parse(text), text).toStrictEqual(JSON.parse(text));
    }
  });

  it('fails wherever JSON.parse of the whole fails, and agrees with it wherever it does not: every truncation and corruption of a page', async () => {
    const base = Buffer.from(JSON.stringify({ next_page_token: 'p', runs: [run(1, 'a"ü\\'), [1, { runs: [2] }], 'x'], after: { runs: [] } }), 'utf8');
    const variants: Buffer[] = [];
    for (let at = 0; at <= base.length; at += 1) {
      const before = base.subarray(0, at);
      const after = base.subarray(at);
      variants.push(before, Buffer.concat([before, after.subarray(1)]));
      for (const inserted of [',', ']', '}', '[', '{', '"', '\\', ':', 'x', '1', ' ', '\u0001', '\xff']) variants.push(Buffer.concat([before, Buffer.from(inserted, inserted === '\xff' ? 'latin1' : 'utf8'), after]));
    }
    let split = 0;
    let refused = 0;
    for (const bytes of variants) {
      const expected = whole(bytes);
      const { laidOut, value } = await inTurns(bytes, 5);
      if (!laidOut) continue;
      split += 1;
      if (expected === undefined) {
        refused += 1;
        expect(value, bytes.toString('utf8')).toBeUndefined();
      } else {
        expect(value, bytes.toString('utf8')).toStrictEqual(expected);
      }
    }
    // Most variants were split, and both branches were taken many times.
    expect(split).toBeGreaterThan(variants.length / 2);
    expect(refused).toBeGreaterThan(500);
    expect(split - refused).toBeGreaterThan(500);
  });

  it('reads a page as parseLenientJson reads it whole: bare NaN and Infinity anywhere as null, in strings too, and every corruption alike', async () => {
    const bases = [
      '{"next_page_token": "p", "runs": [{"v": NaN, "w": [1, -Infinity], "s": "x:NaN, [Infinity]"}, NaN , -Infinity,{"k":Infinity}, "[NaN]"], "m": NaN}',
      ' \n{"m": [NaN], "runs": [\tNaN\n,{"a": "ü:NaN}"}], "t": "€"}\r\n',
      '{"runs": [{"v": 1}, "NaN"]}',
      // Read strictly, the first entry is valid; read leniently (the whole page is, for its bare NaN), its text is not.
      '{"s": "a:NaN,", "runs": [{"s": "b:NaN,"}, NaN]}',
    ];
    let split = 0;
    let refused = 0;
    for (const text of bases) {
      const base = Buffer.from(text, 'utf8');
      expect(await leniently(base, 3), text).toStrictEqual({ laidOut: true, value: wholeLeniently(base) });
      for (let at = 0; at <= base.length; at += 1) {
        const before = base.subarray(0, at);
        const after = base.subarray(at);
        for (const bytes of [before, Buffer.concat([before, after.subarray(1)]), ...[',', ']', '}', '"', 'N', '-', ' '].map((inserted) => Buffer.concat([before, Buffer.from(inserted), after]))]) {
          const { laidOut, value } = await leniently(bytes, 4);
          if (!laidOut) continue;
          split += 1;
          const expected = wholeLeniently(bytes);
          if (expected === undefined) refused += 1;
          expect(value, bytes.toString('utf8')).toStrictEqual(expected);
        }
      }
    }
    expect(refused).toBeGreaterThan(200);
    expect(split - refused).toBeGreaterThan(100);
  });

  it('reads a page with text around its object as parseLenientJson does, from its first { to its last }', async () => {
    for (const text of [')]}\'\n{"runs": [NaN]}', '{"runs": [NaN]}\nx', '\ufeff{"runs": [1]}', 'x{"runs": [1, {"a": 2}]}, ', '[{"runs": [1]}]', '"{\\"runs\\": [1]}"']) {
      const bytes = Buffer.from(text, 'utf8');
      const { laidOut, value } = await leniently(bytes, 4);
      if (laidOut) expect(value, text).toStrictEqual(wholeLeniently(bytes));
      // An array or a string may hold the `{`: such a text is parsed whole.
      else expect(text[0] === '[' || text[0] === '"', text).toBe(true);
    }
  });
});
