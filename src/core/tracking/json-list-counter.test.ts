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
});
