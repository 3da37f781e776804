import { clip, quotedText, shownText } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { JSON_BYTES } from '../json-bytes.js';

/**
 * A bound on a container's entries: a number, or one read from the path's keys, `keyAt(level)` being the key the path
 * takes out of the object at that level (undefined when that container is an array), read only when asked.
 */
export type EntryBound = number | ((keyAt: (level: number) => string | undefined) => number);

/**
 * A route's bounds on its JSON body, checked on the text before JSON.parse by `jsonBoundsProblem`. Containers are
 * numbered by depth (0 = the body's own value); bounds are given per depth, the last for any deeper: a number where
 * it is the same whatever the path, so a body of millions of containers calls nothing per container.
 */
export interface JsonBounds {
  /** Containers open at once, at most: one more is refused with `tooDeep`. */
  maxDepth: number;
  /** Keys an object may have: objects are always counted (their commas say where a key starts). */
  objectKeys: readonly EntryBound[];
  /** Items an array may have, or UNBOUNDED: not counted, its commas jumped over. */
  arrayItems: readonly EntryBound[];
  /** The answer to a body nested deeper than `maxDepth`, `path` naming the first uncounted array on the way, else the whole path. */
  tooDeep(path: string): FltsError;
  /**
   * Characters a string value of a counted container may have (a maxLength of the schema), by the path's keys, or
   * undefined for no bound: read for each such string, so only where a route has one.
   */
  stringChars?: (keyAt: (level: number) => string | undefined, depth: number) => number | undefined;
  /** The answer to a string over its `stringChars`, at `path`. */
  tooLong?(path: string, bound: number): FltsError;
  /**
   * Whether an object opened at `depth` (0 = the body), under the path's keys, must have each key once: JSON.parse keeps
   * the last of a key written twice and drops the other's value without a word, so which one the client meant (a column
   * sent twice) cannot be told. Asked once per object opened; a key written twice there is refused by `keyTwice`.
   */
  uniqueKeys?: (keyAt: (level: number) => string | undefined, depth: number) => boolean;
}

function keyTwice(path: string, key: string): FltsError {
  return new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${path} has the key ${quotedText(clip(key, 60))} twice; JSON would keep only the last of them: write each key once.`, {
    details: { field: path, key: clip(key, 60) },
  });
}

/**
 * Characters of JSON text one character (as the schema counts them: code points) takes at most: a surrogate pair written
 * as two \u escapes. A string whose text is longer than its bound times this is over its bound whatever it holds, so it
 * is refused on its length alone; a shorter one is left to the schema, which counts it exactly.
 */
const MOST_TEXT_PER_CHARACTER = 12;

const { QUOTE, BACKSLASH, COMMA, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY } = JSON_BYTES;

/** The text of a key (JSON-unescaped when it has escapes), quotes excluded. */
function keyText(text: string, start: number, end: number): string {
  const raw = text.slice(start, end);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

function growTo(log: Int32Array, length: number): Int32Array {
  const grown = new Int32Array(length);
  grown.set(log);
  return grown;
}

/** Index of the quote that closes the string opened at `open`, or -1 when the text ends inside it. */
function stringEnd(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

/**
 * Plain strings (no escapes), each followed by a comma (and JSON whitespace, as indented data has): bounded, so
 * matching never holds a long backtracking stack.
 */
const STRING_RUN = /(?:"[^"\\]*"[ \t\r\n]*,[ \t\r\n]*){1,4096}/y;

/** An array whose items are not counted (a tensor's data, a column's rows): bounded by the body limit alone. */
export const UNBOUNDED = 0x7fffffff;

/** The characters the scan stops at: quotes, brackets and (in containers whose entries are counted) commas. */
const STOPS = ['"', '[', ']', '{', '}', ','];
const COUNTED_STOPS = STOPS.length;
const UNCOUNTED_STOPS = STOPS.length - 1;

/**
 * A body held to a route's bounds (keys per object, items per array, nesting), checked on its text in one pass before
 * JSON.parse: a body of the size limit made of 200k keys held the event loop for a quarter of a second in parsing and
 * validation before the schema refused it, and one of millions of nested brackets for seconds. The answer is the
 * schema's ("Invalid request: body/parameters must NOT have more than 64 properties."). The scan stops only at quotes,
 * brackets and commas, found by indexOf, and inside arrays whose items are not counted (tensor data, a column's rows)
 * not at commas: numbers, literals and whitespace are jumped over and runs of plain strings matched in blocks: 1 MB of
 * tensor data (timestamps and numbers) scans in a tenth to a fifth of its JSON.parse, text packed with brackets in
 * under half of it (bench/oip-json-bounds.bench.mjs). Text that is no valid JSON is left to JSON.parse to name, as is
 * anything within the bounds; text over a bound is refused for it even when it is no valid JSON past that point (a
 * coded 400 either way: naming the syntax error would take the parse the scan spares). Keys written twice are refused in
 * the objects `bounds.uniqueKeys` names; elsewhere they count once, as the parsed object has them: an object is counted
 * by its commas until it reaches its bound, then by its distinct keys.
 * (A value the parse drops, written under a key that comes again, is held to the bounds all the same: the scan cannot
 * know that the key will.)
 */
export function jsonBoundsProblem(text: string, bounds: JsonBounds): FltsError | undefined {
  // Per open container, by depth (0 = the body's own value): object or array, separators seen, bound on entries,
  // and for objects where the current key's text lies. Typed arrays: a body can open millions of containers.
  const limit = bounds.maxDepth;
  const isObject = new Uint8Array(limit);
  const separators = new Int32Array(limit);
  const entries = new Int32Array(limit);
  const keyStart = new Int32Array(limit);
  const keyEnd = new Int32Array(limit);
  const awaitingKey = new Uint8Array(limit);
  // The keys of the open objects, as (start, end) pairs, each object's above those of the objects around it (from
  // `keysFrom[level]`): an object that reaches its bound is held to its distinct keys from then on (`distinct`), as
  // JSON.parse keeps one of keys written twice and the schema counts what it keeps.
  const keysFrom = new Int32Array(limit);
  let keyLog: Int32Array = new Int32Array(64);
  let logged = 0;
  const byDistinctKeys = new Uint8Array(limit);
  const distinct: Array<Set<string>> = [];
  // The keys seen so far of each open object whose keys must be unique (`bounds.uniqueKeys`), else undefined.
  const uniqueKeys: Array<Set<string> | undefined> = [];
  let depth = 0;
  const key = (level: number): string => keyText(text, keyStart[level], keyEnd[level]);
  const keyAt = (level: number): string | undefined => (isObject[level] ? key(level) : undefined);
  const byDepth = (rules: readonly EntryBound[]): EntryBound[] => Array.from({ length: limit }, (_, depth) => rules[Math.min(depth, rules.length - 1)]);
  const objectRules = byDepth(bounds.objectKeys);
  const arrayRules = byDepth(bounds.arrayItems);
  // An uncounted array's items have no index: `*` stands for the one the path goes through. Its keys are the client's,
  // shown (shownText) as the messages that quote the path need them: a U+202E in one would turn the message round.
  const path = (through: number): string => {
    let out = 'body';
    for (let level = 1; level <= through; level++) out += `/${isObject[level - 1] ? shownText(key(level - 1)) : entries[level - 1] === UNBOUNDED ? '*' : separators[level - 1]}`;
    return out;
  };
  const tooManyEntries = (level: number): FltsError => {
    const unit = isObject[level] ? 'properties' : 'items';
    return new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${path(level)} must NOT have more than ${entries[level]} ${unit}.`, { details: { field: path(level), bound: entries[level] } });
  };
  // Where each stop next occurs: searched again only once passed, so each search covers new text and the body is
  // searched through once per kind of stop, however many times the scan jumps.
  const length = text.length;
  const next = new Int32Array(STOPS.length).fill(-1);
  const nextStop = (from: number, kinds: number): number => {
    let nearest = length;
    for (let k = 0; k < kinds; k++) {
      if (next[k] < from) {
        const found = text.indexOf(STOPS[k], from);
        next[k] = found < 0 ? length : found;
      }
      if (next[k] < nearest) nearest = next[k];
    }
    return nearest;
  };
  let i = 0;
  while (i < length) {
    let c = text.charCodeAt(i);
    const counted = depth === 0 || entries[depth - 1] !== UNBOUNDED;
    if (c !== QUOTE && c !== OPEN_ARRAY && c !== CLOSE_ARRAY && c !== OPEN_OBJECT && c !== CLOSE_OBJECT && (c !== COMMA || !counted)) {
      // Items packed without spaces (strings, arrays) are stepped to, which costs less than searching for each.
      const after = text.charCodeAt(i + 1);
      i = c === COMMA && (after === QUOTE || after === OPEN_ARRAY || after === OPEN_OBJECT) ? i + 1 : nextStop(i, counted ? COUNTED_STOPS : UNCOUNTED_STOPS);
      if (i >= length) break;
      c = text.charCodeAt(i);
    }
    if (c === QUOTE && !counted) {
      // A run of plain strings (a BYTES tensor's data), in blocks: one regular expression call each, not one per string.
      STRING_RUN.lastIndex = i;
      if (STRING_RUN.test(text) && STRING_RUN.lastIndex > i) {
        i = STRING_RUN.lastIndex;
        continue;
      }
    }
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      if (depth > 0 && awaitingKey[depth - 1]) {
        const level = depth - 1;
        keyStart[level] = i + 1;
        keyEnd[level] = end;
        awaitingKey[level] = 0;
        const once = uniqueKeys[level];
        if (once !== undefined) {
          const name = keyText(text, i + 1, end);
          if (once.has(name)) return keyTwice(path(level), name);
          once.add(name);
        }
        if (byDistinctKeys[level] === 0) {
          if (logged === keyLog.length) keyLog = growTo(keyLog, logged * 2);
          keyLog[logged++] = i + 1;
          keyLog[logged++] = end;
        } else if (distinct[level].add(keyText(text, i + 1, end)).size > entries[level]) {
          return tooManyEntries(level);
        }
      } else if (bounds.stringChars && depth > 0) {
        const bound = bounds.stringChars(keyAt, depth);
        if (bound !== undefined && end - i - 1 > bound * MOST_TEXT_PER_CHARACTER) return bounds.tooLong?.(path(depth), bound);
      }
      i = end + 1;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === limit) return bounds.tooDeep(path(entries.indexOf(UNBOUNDED) >= 0 ? entries.indexOf(UNBOUNDED) : depth));
      const object = c === OPEN_OBJECT;
      isObject[depth] = object ? 1 : 0;
      keysFrom[depth] = logged;
      byDistinctKeys[depth] = 0;
      separators[depth] = 0;
      awaitingKey[depth] = object ? 1 : 0;
      const rule = object ? objectRules[depth] : arrayRules[depth];
      entries[depth] = typeof rule === 'number' ? rule : rule(keyAt);
      uniqueKeys[depth] = object && bounds.uniqueKeys?.(keyAt, depth) ? new Set() : undefined;
      depth++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      // The body's value ends here: what follows (binary tensor data sent as JSON, say) is JSON.parse's to refuse,
      // which it does at its first character, having parsed no more than this bounded value.
      if (depth <= 1) return undefined;
      depth--;
      logged = keysFrom[depth];
    } else {
      // A comma of a counted container (or of none: not JSON).
      if (depth === 0) return undefined;
      const level = depth - 1;
      // A separator more than the bound allows: the entry after it is one too many, unless it is an object's key
      // written before (then its keys are counted as distinct from here on).
      if (++separators[level] >= entries[level] && byDistinctKeys[level] === 0) {
        if (!isObject[level]) return tooManyEntries(level);
        const seen = new Set<string>();
        for (let at = keysFrom[level]; at < logged; at += 2) seen.add(keyText(text, keyLog[at], keyLog[at + 1]));
        distinct[level] = seen;
        byDistinctKeys[level] = 1;
      }
      if (isObject[level]) awaitingKey[level] = 1;
    }
    i++;
  }
  return undefined;
}
