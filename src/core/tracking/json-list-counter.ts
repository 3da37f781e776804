import { isJsonWhitespace as isWhitespace, JSON_BYTES } from '../json-bytes.js';

const { QUOTE, BACKSLASH, COLON, COMMA, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY } = JSON_BYTES;

export interface JsonListCounter {
  /** Reads the next bytes of the answer; returns the most entries one array under the key has held so far. */
  feed(chunk: Uint8Array): number;
  /**
   * Where the array under the key lies in the bytes fed so far, when it is the value of the one top-level member of
   * that name, no top-level member name is written with escapes (which could spell the key again), no comma in it
   * follows another or its `[`, and it was closed; otherwise undefined. Only a text that is not JSON can be laid
   * out wrongly, and then one of the pieces it is cut into is not JSON either.
   */
  layout(): JsonListLayout | undefined;
}

/** Byte offsets of an array's delimiters: its `[`, the comma after each entry but the last, and the byte closing it. */
export interface JsonListLayout {
  readonly open: number;
  readonly separators: readonly number[];
  readonly close: number;
}

/**
 * Counts the entries of the array under `key` of a JSON object as its bytes arrive, without parsing them: what
 * lets an answer holding more entries than were asked for be refused just past the limit, rather than once all of
 * it is read and parsed; and where the array lies, for a page within the limit to be parsed entry by entry. It
 * reads bytes, not text, since every character that shapes JSON is ASCII and no byte of a multi-byte UTF-8
 * character is. A key written with escapes (`"\u0072uns"`) is not recognised: such an answer is read whole,
 * within the body size limit, parsed whole and its list counted then.
 */
export function createJsonListCounter(key: string, options: { fromFirstObject?: boolean } = {}): JsonListCounter {
  const wanted = Buffer.from(key, 'utf8');
  /**
   * With `fromFirstObject`, bytes before the first `{` are passed over, as parseLenientJson cuts them off (a proxy's
   * `)]}'` before the answer), unless the text opens as an array or a string, which the `{` may be within.
   */
  let skipping = options.fromFirstObject === true;
  // The state between chunks; `feed` works on local copies, which the JIT keeps in registers.
  const state = {
    depth: 0,
    inString: false,
    escaped: false,
    /** Of the string being read at the top level: how many of its bytes match `key`, and whether one did not. */
    matched: 0,
    mismatch: false,
    /** The last top-level string was `key`; then, the name of the last top-level member was. */
    stringIsKey: false,
    memberIsKey: false,
    /** The depth of the entries of the array being counted; 0 while none is. */
    listDepth: 0,
    expectEntry: false,
    entries: 0,
    most: 0,
    /** Bytes fed before the chunk being read. */
    offset: 0,
    /** The top-level string being read holds an escape; then, a top-level member's name did. */
    escapedString: false,
    escapedName: false,
    /** Top-level members named `key`, and arrays counted under them. */
    keyMembers: 0,
    lists: 0,
    listOpen: -1,
    listClose: -1,
    /** A comma in the list with no entry before it: its commas are no longer kept, so they stay as few as its entries. */
    emptyEntry: false,
    /** Where the text's first byte that is not whitespace is, while bytes before the first `{` are passed over; -1 before it. */
    textStart: -1,
  };
  let separators: number[] = [];

  return {
    feed(chunk) {
      let { depth, inString, escaped, matched, mismatch, stringIsKey, memberIsKey, listDepth, expectEntry, entries, most, escapedString } = state;
      const { offset } = state;
      const length = chunk.length;
      let from = 0;
      while (skipping && from < length) {
        const byte = chunk[from];
        if (state.textStart === -1 && !isWhitespace(byte)) state.textStart = offset + from;
        const opensText = offset + from === state.textStart;
        if (byte === OPEN_OBJECT || (opensText && (byte === OPEN_ARRAY || byte === QUOTE))) skipping = false;
        else from += 1;
      }
      for (let i = from; i < length; i += 1) {
        if (inString) {
          if (escaped) {
            escaped = false;
            continue;
          }
          if (depth !== 1) {
            // Most of a page is the text of its strings, passed over by this tight loop alone.
            let byte = chunk[i];
            while (byte !== QUOTE && byte !== BACKSLASH) {
              i += 1;
              if (i === length) break;
              byte = chunk[i];
            }
            if (byte === QUOTE) inString = false;
            else if (byte === BACKSLASH) escaped = true;
            continue;
          }
          const byte = chunk[i];
          if (byte === BACKSLASH) {
            escaped = true;
            mismatch = true;
            escapedString = true;
          } else if (byte === QUOTE) {
            inString = false;
            stringIsKey = !mismatch && matched === wanted.length;
          } else if (!mismatch) {
            if (matched < wanted.length && wanted[matched] === byte) matched += 1;
            else mismatch = true;
          }
          continue;
        }
        const byte = chunk[i];
        if (isWhitespace(byte)) continue;
        // A value starting where an entry of the counted array is expected is one more entry.
        const startsValue = byte !== COLON && byte !== COMMA && byte !== CLOSE_OBJECT && byte !== CLOSE_ARRAY;
        if (startsValue && expectEntry && depth === listDepth) {
          expectEntry = false;
          entries += 1;
          if (entries > most) most = entries;
        }
        switch (byte) {
          case QUOTE:
            inString = true;
            matched = 0;
            mismatch = false;
            escapedString = false;
            break;
          case COLON:
            if (depth === 1) {
              memberIsKey = stringIsKey;
              if (stringIsKey) state.keyMembers += 1;
              if (escapedString) state.escapedName = true;
            }
            break;
          case COMMA:
            // Once the list closed (listDepth 0), a comma after the object (text around it) is none of its separators.
            if (listDepth !== 0 && depth === listDepth) {
              if (expectEntry) state.emptyEntry = true;
              else separators.push(offset + i);
              expectEntry = true;
            } else if (depth === 1) memberIsKey = false;
            break;
          case OPEN_OBJECT:
          case OPEN_ARRAY:
            depth += 1;
            if (byte === OPEN_ARRAY && depth === 2 && memberIsKey) {
              listDepth = 2;
              expectEntry = true;
              entries = 0;
              state.lists += 1;
              state.listOpen = offset + i;
              state.listClose = -1;
              state.emptyEntry = false;
              separators = [];
            }
            break;
          case CLOSE_OBJECT:
          case CLOSE_ARRAY:
            if (depth === listDepth) {
              listDepth = 0;
              state.listClose = offset + i;
            }
            depth -= 1;
            break;
          default:
          // A number, true, false, null, or a NaN/Infinity word: counted above, nothing to follow.
        }
      }
      Object.assign(state, { depth, inString, escaped, matched, mismatch, stringIsKey, memberIsKey, listDepth, expectEntry, entries, most, escapedString, offset: offset + length });
      return most;
    },
    layout() {
      const { keyMembers, lists, escapedName, emptyEntry, listOpen: open, listClose: close } = state;
      return keyMembers === 1 && lists === 1 && !escapedName && !emptyEntry && close > open ? { open, separators, close } : undefined;
    },
  };
}
