/** How much of a client-supplied value an error message quotes: enough to recognise it, never the whole of it. */
export const QUOTED_CHARS = 100;

/**
 * `text` cut to at most `max` characters, with "..." when something was cut. Error messages quote names and
 * values a client chose; an unbounded one would make the answer as large as the request (and over gRPC larger
 * than a status message may be). Never splits a surrogate pair, so the result is still well-formed text.
 */
export function clip(text: string, max = QUOTED_CHARS): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max;
  return `${text.slice(0, end)}...`;
}

/**
 * The first `max` code points of `text`, whole when it has no more: the unit a JSON schema's maxLength counts, so a
 * value a schema bounded at `max` comes through as it was sent (an emoji is two UTF-16 units, one character).
 */
export function firstCodePoints(text: string, max: number): string {
  let end = 0;
  let points = 0;
  for (const char of text) {
    if (points++ === max) return text.slice(0, end);
    end += char.length;
  }
  return text;
}

export const LISTED_NAMES = 10;

/**
 * The first few names of a list, each clipped, so an error about a file of 10,000 columns stays a short message, and
 * each shown as itself (shownText): a request's column names are the client's to choose.
 */
export function listNames(names: readonly string[], max = LISTED_NAMES): string {
  return firstFew(names.slice(0, max).map((name) => shownText(clip(name, 60))), max, names.length);
}

/**
 * The first `max` of `items` (already shown as they should be), then how many more of `total` there are: a list as
 * long as its input would make a message a page.
 */
export function firstFew(items: readonly string[], max: number, total = items.length): string {
  const shown = items.slice(0, max).join(', ');
  return total > max ? `${shown} and ${total - max} more` : shown;
}

/**
 * Characters that show as something other than themselves, or that a terminal acts on rather than shows: the control
 * characters (\p{Cc}: a line break, a tab, the escape that starts a terminal sequence, DEL and the C1 range, whose
 * U+009B starts one alone), the line and paragraph separators, and the bidirectional controls (\p{Bidi_Control}:
 * U+202E turns the text after it around, `down\u202Eanwod` shows as "downdowna"). The one class that messages
 * escape, one-line listings space out, column names and the deployment identifier refuse, and error reports on a
 * terminal escape (less the line breaks and tabs they lay out with). Written out as ranges, the body of a character
 * class, so that a pattern without the `u` flag takes it as well: the identifier's, whose length counts UTF-16 units.
 */
export const MISLEADING_CHAR_RANGES = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';

/** A run of them, spaced out as one. */
const MISLEADING_RUN = new RegExp(`[${MISLEADING_CHAR_RANGES}]+`, 'gu');

/**
 * `text` on one line of plain text: each run of control characters (line breaks, tabs, the escape that starts a
 * terminal sequence), line and paragraph separators and bidirectional controls becomes one space. A free-text field
 * stored for later listing (a promotion's reason) then prints as itself, one record a line, instead of moving the
 * cursor, restyling the terminal it is shown on, or turning round the rest of its line (U+202E).
 */
export function singleLine(text: string): string {
  return text.replace(MISLEADING_RUN, ' ');
}

const MISLEADING = new RegExp(`[${MISLEADING_CHAR_RANGES}]`, 'gu');

/** The first character of `text` that shows as something other than itself, or undefined. */
export function misleadingCharacter(text: string): string | undefined {
  return text.match(new RegExp(MISLEADING.source, 'u'))?.[0];
}

/** U+XXXX, as a character's code point is named in messages. */
export function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * `text` quoted as JSON, with every character that shows as something other than itself written as its \u
 * escape: JSON.stringify escapes only U+0000-U+001F, and a U+202E quoted as it is turns round the rest of the
 * message on the terminal that shows it.
 */
export function quotedText(text: string): string {
  return shownText(JSON.stringify(text));
}

/** `text` with every character that shows as something other than itself written as its \u escape. */
export function shownText(text: string): string {
  return text.replace(MISLEADING, unicodeEscape);
}

/** `\u001b`: a character as JSON writes it escaped, the one way messages show a character they do not print. */
export function unicodeEscape(char: string): string {
  return `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}
