import { nextTurn, turnSpent } from '../loop-turns.js';
import type { JsonListLayout } from './json-list-counter.js';

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
 */
export async function parseJsonListInTurns(chunks: readonly Buffer[], key: string, layout: JsonListLayout, signal?: AbortSignal): Promise<{ value: Record<string, unknown> } | undefined> {
  const { open, separators, close } = layout;
  const bytes = byteRanges(chunks);
  const value = parsedOrUndefined(bytes.text(0, open + 1) + bytes.text(close, bytes.size));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const list = (value as Record<string, unknown>)[key];
  if (!Array.isArray(list) || list.length !== 0) return undefined;
  if (separators.length === 0 && BLANK.test(bytes.text(open + 1, close))) return { value: value as Record<string, unknown> };
  const bounds = [open, ...separators, close];
  for (let n = 1; n < bounds.length; n += 1) {
    if (turnSpent()) await nextTurn();
    signal?.throwIfAborted();
    const entry = parsedOrUndefined(bytes.text(bounds[n - 1] + 1, bounds[n]));
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
