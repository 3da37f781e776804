import { JSON_BYTES } from '../json-bytes.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import { withNonFiniteAsNull } from '../storage/json-objects.js';
import type { JsonListLayout } from './json-list-counter.js';

/**
 * A JSON object whose member `key` holds the array at `layout` (as createJsonListCounter found it), parsed entry
 * by entry over event-loop turns: the object without the array's entries first, then each entry, looking at the
 * turn between entries. A page near the body limit (1000 runs with very large params or tags) then holds the loop
 * for its largest run, not for the whole page, and a process serving health checks and metrics keeps answering.
 * An aborted `signal` ends the parse between two entries with its reason: a process stopping does not wait for it.
 *
 * The value is JSON.parse of the whole text: an entry parses alone as it does in place, and with each piece valid
 * the text is the object's own with an empty array filled in, so valid. The result is undefined when a piece is
 * not valid JSON, which is exactly when the whole text is not, for the caller to parse it whole.
 *
 * `lenient` reads the text as parseLenientJson does: strictly, else from its first `{` to its last `}` (text a proxy
 * put around the object left out) with bare NaN and Infinity read as null (the rewrite decides each token by the
 * characters up to the nearest one that is not whitespace, so it is applied to each entry with the delimiters around
 * it, as within the whole). Both readings go along in one pass, an entry parsed twice only when it holds such a
 * token. `value` is then undefined when neither reading holds, as parseLenientJson would have thrown; the result is
 * still undefined, for a whole parse, when the list does not lie within those braces.
 */
export async function parseJsonListInTurns(
  chunks: readonly Buffer[],
  key: string,
  layout: JsonListLayout,
  options: { signal?: AbortSignal; lenient?: boolean } = {},
): Promise<{ value: Record<string, unknown> | undefined } | undefined> {
  const { open, separators, close } = layout;
  const bytes = byteRanges(chunks);
  // parseLenientJson's second try reads the text from its first `{` to its last `}`: the list has to lie within.
  const cut = options.lenient === true ? outerBraces(chunks) : undefined;
  const lenient = cut !== undefined && cut.first < open && cut.last >= close;
  const refused = lenient ? { value: undefined } : undefined;
  const outside = bytes.text(0, open + 1) + bytes.text(close, bytes.size);
  const strictObject = objectWithEmptyList(parsedOrUndefined(outside), key);
  const cutOutside = lenient ? bytes.text(cut.first, open + 1) + bytes.text(close, cut.last + 1) : undefined;
  const lenientOutside = cutOutside === undefined ? undefined : rewritten(cutOutside, () => cutOutside);
  const lenientObject = lenientOutside === undefined ? undefined : lenientOutside === outside ? strictObject : objectWithEmptyList(parsedOrUndefined(lenientOutside), key);
  /** The entries of each reading so far; undefined once the reading failed. */
  let strictEntries: unknown[] | undefined = strictObject ? [] : undefined;
  let lenientEntries: unknown[] | undefined = lenientObject ? [] : undefined;
  if (!strictEntries && !lenientEntries) return refused;
  const empty = separators.length === 0 && BLANK.test(bytes.text(open + 1, close));
  const bounds = empty ? [] : [open, ...separators, close];
  for (let n = 1; n < bounds.length; n += 1) {
    if (turnSpent()) await nextTurn();
    options.signal?.throwIfAborted();
    const text = bytes.text(bounds[n - 1] + 1, bounds[n]);
    const strictEntry = strictEntries ? parsedOrUndefined(text) : undefined;
    if (strictEntry === undefined) strictEntries = undefined;
    else strictEntries?.push(strictEntry);
    if (lenientEntries) {
      const lenientText = rewritten(text, () => bytes.text(bounds[n - 1], bounds[n] + 1));
      const lenientEntry = lenientText === text && strictEntries ? strictEntry : parsedOrUndefined(lenientText);
      if (lenientEntry === undefined) lenientEntries = undefined;
      else lenientEntries.push(lenientEntry);
    }
    if (!strictEntries && !lenientEntries) return refused;
  }
  const [object, entries] = strictObject && strictEntries ? [strictObject, strictEntries] : [lenientObject, lenientEntries];
  if (!object || !entries) return refused;
  object[key] = entries;
  return { value: object };
}

/**
 * `text` with bare NaN and Infinity as null, as parseLenientJson rewrites them; `withDelimiters` gives it with the
 * delimiter on either side, which decide the tokens at its edges (and are left out again). The same string when
 * it holds no such token, which most entries do not.
 */
function rewritten(text: string, withDelimiters: () => string): string {
  if (!text.includes('NaN') && !text.includes('Infinity')) return text;
  const around = withDelimiters();
  const changed = withNonFiniteAsNull(around);
  if (changed === around) return text;
  return around === text ? changed : changed.slice(1, -1);
}

/** `value` when it is an object whose member `key` is an empty array; undefined otherwise. */
function objectWithEmptyList(value: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const list = (value as Record<string, unknown>)[key];
  return Array.isArray(list) && list.length === 0 ? (value as Record<string, unknown>) : undefined;
}

const { OPEN_OBJECT, CLOSE_OBJECT } = JSON_BYTES;

/** The offsets of the first `{` and the last `}` of the chunks, as parseLenientJson finds them; undefined without both in that order. */
function outerBraces(chunks: readonly Buffer[]): { first: number; last: number } | undefined {
  let first = -1;
  let last = -1;
  let offset = 0;
  for (const chunk of chunks) {
    if (first === -1) {
      const at = chunk.indexOf(OPEN_OBJECT);
      if (at !== -1) first = offset + at;
    }
    const at = chunk.lastIndexOf(CLOSE_OBJECT);
    if (at !== -1) last = offset + at;
    offset += chunk.length;
  }
  return first !== -1 && last > first ? { first, last } : undefined;
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
