import { describe, expect, it } from 'vitest';
import { createJsonListCounter } from './json-list-counter.js';

/** The count after feeding `text` whole, and after feeding it one byte at a time (every chunk boundary). */
function counts(key: string, text: string): [number, number] {
  const bytes = Buffer.from(text, 'utf8');
  const bytewise = createJsonListCounter(key);
  let last = 0;
  for (let i = 0; i < bytes.length; i += 1) last = bytewise.feed(bytes.subarray(i, i + 1));
  return [createJsonListCounter(key).feed(bytes), last];
}

describe('core > tracking > json-list-counter', () => {
  it('counts the entries of the array under the key, whatever the entries are, across chunk boundaries', () => {
    const runs = [{ info: { run_id: 'a' }, data: { params: [{ key: 'runs', value: '[1,2,3]' }] } }, 'x', 3, null, [1, [2]], true, -1.5e3];
    expect(counts('runs', JSON.stringify({ runs }))).toEqual([7, 7]);
    expect(counts('runs', JSON.stringify({ runs }, null, 2))).toEqual([7, 7]);
    expect(counts('runs', '{"runs": [NaN, Infinity, -Infinity]}')).toEqual([3, 3]);
    expect(counts('runs', '{"runs": []}')).toEqual([0, 0]);
  });

  it('counts nothing but the top-level member of that name: not other keys, nested ones or string values', () => {
    const text = JSON.stringify({
      next_page_token: 'runs',
      run: { runs: [1, 2, 3, 4] },
      runsx: [1, 2, 3, 4],
      xruns: [1, 2, 3, 4],
      note: 'a "runs": [1, 2, 3, 4] inside a string, with \\" and ] and }',
      runs: [{ s: '},],{[' }, 'ü€😀 ", ]'],
    });
    expect(counts('runs', text)).toEqual([2, 2]);
    expect(counts('experiments', text)).toEqual([0, 0]);
  });

  it('reports the largest of several arrays under a repeated key', () => {
    expect(counts('runs', '{"runs": [1, 2, 3], "runs": [1]}')).toEqual([3, 3]);
  });

  it('lays out the one list under the key by byte offsets: its [, the commas between its entries, its ], across chunks', () => {
    const text = '{"a": "[,]ü", "runs": [1, "x,]€", [2, 3], {"b": [4, 5]}], "z": [6]}';
    const bytes = Buffer.from(text, 'utf8');
    const open = bytes.indexOf('"runs": [') + 8;
    const separators = [bytes.indexOf(', "x'), bytes.indexOf(', [2'), bytes.indexOf(', {"b')];
    const close = bytes.indexOf('], "z"');
    for (const chunk of [1, 4, bytes.length]) {
      const counter = createJsonListCounter('runs');
      for (let i = 0; i < bytes.length; i += chunk) counter.feed(bytes.subarray(i, i + chunk));
      expect(counter.layout(), `chunk ${chunk}`).toEqual({ open, separators, close });
    }
  });

  it('lays out no list that is open, repeated, named with escapes, or has a comma without an entry before it', () => {
    const layout = (text: string) => {
      const counter = createJsonListCounter('runs');
      counter.feed(Buffer.from(text, 'utf8'));
      return counter.layout();
    };
    expect(layout('{"runs": [1, 2')).toBeUndefined();
    expect(layout('{"runs": [1], "runs": [2]}')).toBeUndefined();
    expect(layout('{"runs": [1], "runs": null}')).toBeUndefined();
    expect(layout('{"r\\u0075ns": 1, "runs": [2]}')).toBeUndefined();
    expect(layout('{"runs": [1,, 2]}')).toBeUndefined();
    expect(layout('{"runs": [, 1]}')).toBeUndefined();
    // A body of commas keeps none of them: what is kept stays as small as the entries, which are counted.
    expect(layout(`{"runs": [${','.repeat(100_000)}]}`)).toBeUndefined();
    expect(layout('{"runs": []}')).toEqual({ open: 9, separators: [], close: 10 });
  });
});
