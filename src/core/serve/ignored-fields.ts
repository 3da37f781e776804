import { clip, firstFew, LISTED_NAMES, listNames, shownText } from '../clip-text.js';
import { closestName } from '../closest-name.js';

/** A body's fields the route does not read, answered beside the result: the request was served as if they were absent. */
export interface IgnoredFieldsWarning {
  code: 'ignored_fields';
  message: string;
  details: { fields: string[]; count: number };
}

/** Columns of a request's rows the served model does not read, answered beside the forecast or the scores: they were ignored. */
export interface IgnoredColumnsWarning {
  code: 'ignored_columns';
  message: string;
  details: { columns: string[]; count: number };
}

/** How much of a name a warning quotes: a request's names are the client's, of any length. */
const NAME_CHARS = 80;

/** The names of `given` not among `read`: the first few cut (`fields`), listed each with the name it most likely meant (`list`). */
export function unreadNames(given: readonly string[], read: readonly string[]): { list: string; fields: string[]; count: number } | undefined {
  const known = new Set(read);
  const unread = given.filter((name) => !known.has(name));
  if (unread.length === 0) return undefined;
  const fields = unread.slice(0, LISTED_NAMES).map((name) => clip(name, NAME_CHARS));
  // The names are the client's: the message shows them (shownText) so a U+202E cannot turn it round; details keep them as sent.
  const shown = unread.slice(0, LISTED_NAMES).map((name, i) => {
    const meant = closestName(name, read);
    return meant === undefined ? shownText(fields[i]) : `${shownText(fields[i])} (did you mean ${shownText(meant)}?)`;
  });
  return { list: firstFew(shown, LISTED_NAMES, unread.length), fields, count: unread.length };
}

/**
 * A warning naming the fields of `body` that `route` does not read, each with the field it most likely meant, or
 * undefined when there are none. Warned, not refused: the reference's clients and gateways add fields of their own,
 * while a typo (`Identifier`, `inferenceLength`) was answered as if the field had not been sent, and nothing said so.
 * `read` is the route schema's own list of body fields, so it is never written twice.
 */
export function ignoredFieldsWarning(route: string, body: unknown, read: readonly string[]): IgnoredFieldsWarning | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const unread = unreadNames(Object.keys(body), read);
  if (!unread) return undefined;
  return {
    code: 'ignored_fields',
    message: ignoredMessage(['A field', 'Fields'], `${route} does not read`, unread, `reads ${read.join(', ')}`),
    details: { fields: unread.fields, count: unread.count },
  };
}

/** How a served model answers the columns of a request's rows: the warning, or undefined when it reads them all. */
export type ColumnsWarning = (data: unknown, timestampColumn: string) => IgnoredColumnsWarning | undefined;

/** Column sets a served model remembers the warning of, and the longest (names and timestamp column, as JSON) it keeps. */
const REMEMBERED_COLUMN_SETS = 32;
const REMEMBERED_KEY_CHARS = 4096;

/**
 * The warning naming the columns of a request's rows (`data`) a served model does not read, each with the column it
 * most likely meant. The model reads the timestamp column and `readNames`, its run's raw feature columns: a column
 * `upp` beside `up`, a time feature the server computes itself, a client's own column were dropped without a word,
 * while a misspelt body field was warned of. Warned, not refused, as a body's fields are. Made once per loaded model:
 * a request whose columns are all read costs a look-up a column; the warning of a column set is remembered, as a
 * client sends the same columns request after request, and finding each name's closest one again cost ~60 us a
 * request of four such columns (bench/serve-intake.mjs --rows --extra 4).
 */
export function columnsWarning(readNames: readonly string[]): ColumnsWarning {
  const read = new Set(readNames);
  const remembered = new Map<string, IgnoredColumnsWarning>();
  return (data, timestampColumn) => {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
    const given = Object.keys(data);
    if (given.every((name) => name === timestampColumn || read.has(name))) return undefined;
    const key = JSON.stringify([timestampColumn, ...given]);
    const known = remembered.get(key);
    // A copy: an answer is the caller's (a library forecast's is given to its user), and the next request's is the same.
    if (known) return { ...known, details: { columns: [...known.details.columns], count: known.details.count } };
    const names = [timestampColumn, ...readNames];
    const unread = unreadNames(given, names);
    if (!unread) return undefined;
    const warning: IgnoredColumnsWarning = {
      code: 'ignored_columns',
      // The timestamp column's name is the client's (index_col): listNames shows it escaped and cut, as the columns are.
      message: ignoredMessage(['A column', 'Columns'], 'the model does not read', unread, `reads ${listNames(names)}`),
      details: { columns: unread.fields, count: unread.count },
    };
    if (key.length <= REMEMBERED_KEY_CHARS) {
      if (remembered.size >= REMEMBERED_COLUMN_SETS) remembered.delete(remembered.keys().next().value as string);
      remembered.set(key, { ...warning, details: { columns: [...warning.details.columns], count: warning.details.count } });
    }
    return warning;
  };
}

/**
 * The sentence every ignored-names warning says: `<A field|Fields> the request gave that <notRead> <was|were> ignored:
 * <names>. It <reads>.` (the body fields of /predict and /actuals and the columns of their rows, the parameters and
 * inputs of an inference request).
 */
export function ignoredMessage(noun: readonly [one: string, many: string], notRead: string, unread: { list: string; count: number }, reads: string): string {
  const one = unread.count === 1;
  return `${one ? noun[0] : noun[1]} the request gave that ${notRead} ${one ? 'was' : 'were'} ignored: ${unread.list}. It ${reads}.`;
}

/** The body fields a route's schema names. */
export function bodyFields(schema: { body?: object }): string[] {
  return Object.keys((schema.body as { properties?: object } | undefined)?.properties ?? {});
}
