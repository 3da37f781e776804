import { FltsError } from '../errors.js';
import { MAX_PARAMETERS, MAX_SHAPE_DIMENSIONS, MAX_TENSORS } from './schemas/kserve.js';

/**
 * Deepest an inference request nests: the body, its inputs, a tensor, and the tensor's data nested as deep as a
 * shape may have dimensions.
 */
export const MAX_JSON_DEPTH = 3 + MAX_SHAPE_DIMENSIONS;

const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

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

/** An array whose items are not counted (a tensor's data): bounded by the body limit alone. */
const UNBOUNDED = 0x7fffffff;

/**
 * The route schema's bounds on an inference request (64 parameters per request, input and output, 1024 inputs and
 * outputs, 8 shape dimensions), every object's keys held to the parameters' bound and the nesting to
 * MAX_JSON_DEPTH, checked on the body's text in one pass before JSON.parse: a body of the size limit made of 200k
 * parameters held the event loop for a quarter of a second in parsing and validation before the schema refused it,
 * and one of millions of nested brackets for a second. The answer is the schema's ("Invalid request:
 * body/parameters must NOT have more than 64 properties."). Only brackets, commas, colons and string bounds are
 * looked at, and inside arrays whose items are not counted (tensor data) numbers are jumped over to the next
 * bracket or quote, found by indexOf, so tensor data costs well under its JSON.parse. Text that is no valid JSON is left to JSON.parse to
 * name, as is anything within the bounds.
 */
export function inferBodyBoundsProblem(text: string): FltsError | undefined {
  // Per open container, by depth (0 = the body's own value): object or array, separators seen, bound on entries,
  // and for objects where the current key's text lies. Typed arrays: a body can open millions of containers.
  const limit = MAX_JSON_DEPTH;
  const isObject = new Uint8Array(limit);
  const separators = new Int32Array(limit);
  const bounds = new Int32Array(limit);
  const keyStart = new Int32Array(limit);
  const keyEnd = new Int32Array(limit);
  const awaitingKey = new Uint8Array(limit);
  let depth = 0;
  const key = (level: number): string => keyText(text, keyStart[level], keyEnd[level]);
  // An uncounted array's items have no index: `*` stands for the one the path goes through.
  const path = (through: number): string => {
    let out = 'body';
    for (let level = 1; level <= through; level++) out += `/${isObject[level - 1] ? key(level - 1) : bounds[level - 1] === UNBOUNDED ? '*' : separators[level - 1]}`;
    return out;
  };
  // Under `inputs` or `outputs`, each tensor's object is at depth 3 (body, array, tensor).
  const tensorList = (): string | undefined => (depth >= 2 && isObject[0] && !isObject[1] ? key(0) : undefined);
  // Where each character that matters inside an uncounted array next occurs: searched again only once passed, so
  // each search covers new text and the whole body is searched once per character.
  const length = text.length;
  const next = [-1, -1, -1, -1, -1];
  const SKIPPED_TO = ['"', '[', ']', '{', '}'];
  const nextStructural = (from: number): number => {
    let nearest = length;
    for (let k = 0; k < 5; k++) {
      if (next[k] < from) {
        const found = text.indexOf(SKIPPED_TO[k], from);
        next[k] = found < 0 ? length : found;
      }
      if (next[k] < nearest) nearest = next[k];
    }
    return nearest;
  };
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(i);
    // Numbers and literals in tensor data are jumped over to the next bracket or quote; a string array's quotes and
    // commas are stepped over as they come, which costs less than searching for each.
    if (c > SPACE && c !== QUOTE && c !== COMMA && c !== OPEN_ARRAY && c !== CLOSE_ARRAY && c !== OPEN_OBJECT && c !== CLOSE_OBJECT && depth > 0 && bounds[depth - 1] === UNBOUNDED) {
      i = nextStructural(i);
      if (i === length) break;
      c = text.charCodeAt(i);
    }
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      if (depth > 0 && awaitingKey[depth - 1]) {
        keyStart[depth - 1] = i + 1;
        keyEnd[depth - 1] = end;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === limit) return tooDeep(path(bounds.indexOf(UNBOUNDED) >= 0 ? bounds.indexOf(UNBOUNDED) : depth));
      const object = c === OPEN_OBJECT;
      isObject[depth] = object ? 1 : 0;
      separators[depth] = 0;
      awaitingKey[depth] = object ? 1 : 0;
      bounds[depth] = object ? MAX_PARAMETERS : arrayBound(depth, depth > 0 && isObject[depth - 1] ? key(depth - 1) : undefined, tensorList());
      depth++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 0) return undefined;
      depth--;
    } else if (c === COMMA) {
      if (depth === 0) return undefined;
      const level = depth - 1;
      // A separator more than the bound allows: the entry after it is one too many.
      if (++separators[level] >= bounds[level]) {
        const unit = isObject[level] ? 'properties' : 'items';
        return new FltsError('FLTS_REQUEST_INVALID', `Invalid request: ${path(level)} must NOT have more than ${bounds[level]} ${unit}.`, { details: { field: path(level), bound: bounds[level] } });
      }
      if (isObject[level]) awaitingKey[level] = 1;
    } else if (c === COLON) {
      if (depth > 0) awaitingKey[depth - 1] = 0;
    }
  }
  return undefined;
}

/** Too deep, named by the first uncounted array on the way (its items' indexes are not counted) or the full path. */
function tooDeep(path: string): FltsError {
  return new FltsError(
    'FLTS_REQUEST_INVALID',
    `Invalid request: ${path} nests deeper than the ${MAX_JSON_DEPTH} levels an inference request has (a tensor's data at most as deep as its shape of at most ${MAX_SHAPE_DIMENSIONS} dimensions).`,
    { details: { field: path, depth: MAX_JSON_DEPTH } },
  );
}

/** An array's bound on its items, by where it is: `inputs` and `outputs`, and a tensor's `shape`; the rest (data) by the body limit. */
function arrayBound(depth: number, key: string | undefined, tensorList: string | undefined): number {
  if (depth === 1 && (key === 'inputs' || key === 'outputs')) return MAX_TENSORS;
  if (depth === 3 && key === 'shape' && tensorList === 'inputs') return MAX_SHAPE_DIMENSIONS;
  return UNBOUNDED;
}
