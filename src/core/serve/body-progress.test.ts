import { describe, expect, it } from 'vitest';
import { chunkSizeReader } from './body-progress.js';

/** Feeds `reads` one after the other; whether any took the body past `limit`, and whether the reader stopped. */
function readAll(limit: number, reads: string[]): { over: boolean; done: boolean } {
  const reader = chunkSizeReader(limit);
  let over = false;
  for (const read of reads) over ||= reader.read(Buffer.from(read, 'latin1'), 0);
  return { over, done: reader.done };
}

describe('chunkSizeReader', () => {
  it('adds up the chunks announced, however the reads split the framing, and refuses one byte past the limit', () => {
    const framing = '3\r\nabc\r\n5;ext="v"\r\nhello\r\n2\r\nxy\r\n';
    expect(readAll(10, [framing])).toEqual({ over: false, done: false });
    for (let cut = 1; cut < framing.length; cut++) expect(readAll(10, [framing.slice(0, cut), framing.slice(cut)])).toEqual({ over: false, done: false });
    expect(readAll(10, [...framing])).toEqual({ over: false, done: false });
    expect(readAll(9, [framing])).toEqual({ over: true, done: false });
    // A chunk's data that holds framing-like bytes is skipped as data.
    expect(readAll(10, ['4\r\n\r\nff\r\n'])).toEqual({ over: false, done: false });
  });

  it('refuses a size line as soon as its digits so far pass the limit, before its end arrives', () => {
    expect(readAll(4096, ['ffff'])).toEqual({ over: true, done: false });
    expect(readAll(4096, ['100'])).toEqual({ over: false, done: false });
    expect(readAll(4096, ['100', '1'])).toEqual({ over: true, done: false });
    expect(readAll(4096, ['0000000000001000\r\n'])).toEqual({ over: false, done: false });
  });

  it('stops at the last chunk and at anything llhttp refuses itself, without refusing', () => {
    expect(readAll(10, ['0\r\n\r\n'])).toEqual({ over: false, done: true });
    expect(readAll(10, ['3\r\nabc\r\n0\r\nffffffff: trailer\r\n\r\n'])).toEqual({ over: false, done: true });
    for (const bad of ['x\r\n', ' 3\r\n', '3 \r\n', '3\n', ';x\r\n', '3\r\nabcd']) expect(readAll(10, [bad])).toEqual({ over: false, done: true });
  });
});
