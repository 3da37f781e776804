import { clip, firstFew, LISTED_NAMES, shownText } from '../clip-text.js';
import { closestName } from '../closest-name.js';

/** A body's fields the route does not read, answered beside the result: the request was served as if they were absent. */
export interface IgnoredFieldsWarning {
  code: 'ignored_fields';
  message: string;
  details: { fields: string[]; count: number };
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

/**
 * The sentence every ignored-names warning says: `<A field|Fields> the request gave that <notRead> <was|were> ignored:
 * <names>. It <reads>.` (the body fields of /predict and /actuals, the parameters and inputs of an inference request).
 */
export function ignoredMessage(noun: readonly [one: string, many: string], notRead: string, unread: { list: string; count: number }, reads: string): string {
  const one = unread.count === 1;
  return `${one ? noun[0] : noun[1]} the request gave that ${notRead} ${one ? 'was' : 'were'} ignored: ${unread.list}. It ${reads}.`;
}

/** The body fields a route's schema names. */
export function bodyFields(schema: { body?: object }): string[] {
  return Object.keys((schema.body as { properties?: object } | undefined)?.properties ?? {});
}
