import { isJsonWhitespace, JSON_BYTES } from '../json-bytes.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import { withNonFiniteAsNull } from '../storage/json-objects.js';
import type { JsonListLayout } from './json-list-counter.js';

/**
 * parseLenientJson of the whole body, over turns like parseJsonListInTurns: strictly, else with bare NaN and
 * Infinity read as null. `value` is undefined when neither reads it, as parseLenientJson would have thrown. The
 * whole result is undefined, for the body to be parsed whole, when parseLenientJson would cut more than
 * whitespace off the text (to its outer braces) before its second try.
 */
export async function parseLenientJsonListInTurns(chunks: readonly Buffer[], key: string, layout: JsonListLayout, signal?: AbortSignal): Promise<{ value: Record<string, unknown> | undefined } | undefined> {
  const strict = await parseJsonListInTurns(chunks, key, layout, signal);
  if (strict) return strict;
  if (edgeByte(chunks, 'first') !== OPEN_OBJECT || edgeByte(chunks, 'last') !== CLOSE_OBJECT) return undefined;
  return (await parseJsonListInTurns(chunks, key, layout, signal, withNonFiniteAsNull)) ?? { value: undefined };
}

const { OPEN_OBJECT, CLOSE_OBJECT } = JSON_BYTES;

/** The first (or last) byte of the chunks that is not JSON whitespace; undefined when there is none. */
function edgeByte(chunks: readonly Buffer[], which: 'first' | 'last'): number | undefined {
  const order = which === 'first' ? chunks : [...chunks].reverse();
  for (const chunk of order) {
    for (let n = 0; n < chunk.length; n += 1) {
      const byte = chunk[which === 'first' ? n : chunk.length - 1 - n];
      if (!isJsonWhitespace(byte)) return byte;
    }
  }
  return undefined;
}

/**
 * A JSON object whose member `key` holds the array at `layout` (as createJsonListCounter found it), parsed entry
 * by entry over event-loop turns: the object without the array's entries first, then each entry, looking at the
 * turn between entries. A page near the body limit (1000 runs with very large params or tags) then holds the loop
 * for its largest run, not for the whole page, and a process serving health checks and metrics keeps answering.
 *
 * The result is JSON.parse of the whole text: an entry parses alone as it does in place, and with each piece valid
 * the text is the object's own with an empty array filled in, so valid. Undefined when a piece is not valid JSON,
 * which is exactly when the whole text is not (for the caller to parse it whole, as it would have without this).
 * An aborted `signal` ends the parse between two entries with its reason: a process stopping does not wait for it.
 *
 * With `rewrite`, each piece is parsed rewritten: the text without the entries as it is, each entry with the
 * delimiters around it (then left out), so a rewrite whose every change is decided by the characters around it up
 * to the nearest delimiter acts as on the whole text.
 */
export async function parseJsonListInTurns(
  chunks: readonly Buffer[],
  key: string,
  layout: JsonListLayout,
  signal?: AbortSignal,
  rewrite?: (text: string) => string,
): Promise<{ value: Record<string, unknown> } | undefined> {
  const { open, separators, close } = layout;
  const bytes = byteRanges(chunks);
  const outside = bytes.text(0, open + 1) + bytes.text(close, bytes.size);
  const value = parsedOrUndefined(rewrite ? rewrite(outside) : outside);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const list = (value as Record<string, unknown>)[key];
  if (!Array.isArray(list) || list.length !== 0) return undefined;
  if (separators.length === 0 && BLANK.test(bytes.text(open + 1, close))) return { value: value as Record<string, unknown> };
  const bounds = [open, ...separators, close];
  for (let n = 1; n < bounds.length; n += 1) {
    if (turnSpent()) await nextTurn();
    signal?.throwIfAborted();
    const entry = parsedOrUndefined(rewrite ? rewrite(bytes.text(bounds[n - 1], bounds[n] + 1)).slice(1, -1) : bytes.text(bounds[n - 1] + 1, bounds[n]));
    if (entry === undefined) return undefined;
    list.push(entry);
  }
  return { value: value as Record<string, unknown> };
}

/** JSON.parse of `text`, or undefined when it is not JSON (no JSON text parses to undefined). */
function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** JSON's whitespace alone (String.trim would take other characters for it too). */
const BLANK = /^[ \t\n\r]*$/;

/**
 * The text of byte ranges of a body kept as the chunks it arrived in, which are never copied into one buffer
 * (over ten milliseconds in one turn for a body near the limit). A range decodes as it would within the whole
 * body, since it starts and ends at an ASCII byte and one spanning chunks is joined before it is decoded.
 */
function byteRanges(chunks: readonly Buffer[]): { size: number; text(from: number, to: number): string } {
  const starts: number[] = [];
  let size = 0;
  for (const chunk of chunks) {
    starts.push(size);
    size += chunk.length;
  }
  /** The last chunk starting at or before `offset`. */
  const chunkAt = (offset: number): number => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle] <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  };
  return {
    size,
    text(from, to) {
      if (from >= to) return '';
      const first = chunkAt(from);
      const last = chunkAt(to - 1);
      if (first === last) return chunks[first].toString('utf8', from - starts[first], to - starts[first]);
      const parts = [chunks[first].subarray(from - starts[first]), ...chunks.slice(first + 1, last), chunks[last].subarray(0, to - starts[last])];
      return Buffer.concat(parts).toString('utf8');
    },
  };
}
