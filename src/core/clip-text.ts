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
 * class, so that a pattern without the `u` flag takes it as well.
 */
export const MISLEADING_CHAR_RANGES = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';

/**
 * Characters that show as nothing, or as a plain space, while being another character: the format characters
 * (\p{Cf}: U+200B ZERO WIDTH SPACE, U+FEFF, U+00AD SOFT HYPHEN, U+2060 WORD JOINER, the joiners), the other
 * characters a renderer shows as nothing where it has no use for them (\p{Default_Ignorable_Code_Point}: the Hangul
 * fillers U+3164, U+115F, U+1160 and U+FFA0, U+034F COMBINING GRAPHEME JOINER, the variation selectors) and the spaces
 * other than U+0020 (\p{Zs}: U+00A0 NO-BREAK SPACE, U+3000...). `a\u200Bb` and `ab` show alike in every listing,
 * label and log line, so a name that must tell one thing from another (an identifier) refuses them with the
 * MISLEADING_CHAR_RANGES, but for the few it needs where a standard gives them a use (unseen-characters.ts), and
 * messages escape them. Text read from files is not held to it: a byte order mark opens many a CSV, and a no-break
 * space groups the thousands of many a number (number-text.ts). The body of a character class for a pattern with the
 * `u` flag (\p{} needs it).
 */
export const INVISIBLE_CHAR_CLASS = '\\p{Cf}\\p{Default_Ignorable_Code_Point}\\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000';

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

const MISLEADING = new RegExp(`[${MISLEADING_CHAR_RANGES}]`, 'u');

/** What messages escape: the misleading characters, and those that show as nothing or as a plain space. */
const NOT_SHOWN = new RegExp(`[${MISLEADING_CHAR_RANGES}${INVISIBLE_CHAR_CLASS}]`, 'gu');

/** The first character of `text` that shows as something other than itself, or undefined. */
export function misleadingCharacter(text: string): string | undefined {
  return text.match(MISLEADING)?.[0];
}

/** U+XXXX, as a character's code point is named in messages. */
export function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The Unicode names of the characters a user is likeliest to have pasted without seeing them: every space but U+0020,
 * the zero-width and joining characters, the soft hyphen, the byte order mark, the bidirectional controls, the Hangul
 * fillers and the Mongolian variation selectors (the others are numbered: characterName).
 */
const CHARACTER_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00a0, 'NO-BREAK SPACE'], [0x00ad, 'SOFT HYPHEN'], [0x034f, 'COMBINING GRAPHEME JOINER'], [0x061c, 'ARABIC LETTER MARK'],
  [0x115f, 'HANGUL CHOSEONG FILLER'], [0x1160, 'HANGUL JUNGSEONG FILLER'], [0x1680, 'OGHAM SPACE MARK'],
  [0x180b, 'MONGOLIAN FREE VARIATION SELECTOR ONE'], [0x180c, 'MONGOLIAN FREE VARIATION SELECTOR TWO'],
  [0x180d, 'MONGOLIAN FREE VARIATION SELECTOR THREE'], [0x180e, 'MONGOLIAN VOWEL SEPARATOR'], [0x180f, 'MONGOLIAN FREE VARIATION SELECTOR FOUR'], [0x2000, 'EN QUAD'], [0x2001, 'EM QUAD'], [0x2002, 'EN SPACE'], [0x2003, 'EM SPACE'],
  [0x2004, 'THREE-PER-EM SPACE'], [0x2005, 'FOUR-PER-EM SPACE'], [0x2006, 'SIX-PER-EM SPACE'], [0x2007, 'FIGURE SPACE'],
  [0x2008, 'PUNCTUATION SPACE'], [0x2009, 'THIN SPACE'], [0x200a, 'HAIR SPACE'], [0x200b, 'ZERO WIDTH SPACE'],
  [0x200c, 'ZERO WIDTH NON-JOINER'], [0x200d, 'ZERO WIDTH JOINER'], [0x200e, 'LEFT-TO-RIGHT MARK'], [0x200f, 'RIGHT-TO-LEFT MARK'],
  [0x2028, 'LINE SEPARATOR'], [0x2029, 'PARAGRAPH SEPARATOR'], [0x202a, 'LEFT-TO-RIGHT EMBEDDING'], [0x202b, 'RIGHT-TO-LEFT EMBEDDING'],
  [0x202c, 'POP DIRECTIONAL FORMATTING'], [0x202d, 'LEFT-TO-RIGHT OVERRIDE'], [0x202e, 'RIGHT-TO-LEFT OVERRIDE'],
  [0x202f, 'NARROW NO-BREAK SPACE'], [0x205f, 'MEDIUM MATHEMATICAL SPACE'], [0x2060, 'WORD JOINER'], [0x2066, 'LEFT-TO-RIGHT ISOLATE'],
  [0x2067, 'RIGHT-TO-LEFT ISOLATE'], [0x2068, 'FIRST STRONG ISOLATE'], [0x2069, 'POP DIRECTIONAL ISOLATE'], [0x3000, 'IDEOGRAPHIC SPACE'],
  [0x3164, 'HANGUL FILLER'], [0xfeff, 'ZERO WIDTH NO-BREAK SPACE'], [0xffa0, 'HALFWIDTH HANGUL FILLER'],
]);

/** VARIATION SELECTOR-1 to -16 (U+FE00-U+FE0F), -17 to -256 (U+E0100-U+E01EF), or undefined. */
function variationSelectorName(point: number): string | undefined {
  if (point >= 0xfe00 && point <= 0xfe0f) return `VARIATION SELECTOR-${point - 0xfe00 + 1}`;
  if (point >= 0xe0100 && point <= 0xe01ef) return `VARIATION SELECTOR-${point - 0xe0100 + 17}`;
  return undefined;
}

/**
 * A character as a message names one it cannot show: its code point and name ("U+200B ZERO WIDTH SPACE"), or, for a
 * character of no listed name, its code point and kind ("U+0007 (a control character)").
 */
export function characterName(char: string): string {
  const point = char.codePointAt(0) ?? 0;
  const name = CHARACTER_NAMES.get(point) ?? variationSelectorName(point);
  if (name !== undefined) return `${codePoint(char)} ${name}`;
  if (/^[\uD800-\uDFFF]$/.test(char)) return `${codePoint(char)} (half a surrogate pair, alone)`;
  if (/^\p{Cc}$/u.test(char)) return `${codePoint(char)} (a control character)`;
  if (/^\p{Cf}$/u.test(char)) return `${codePoint(char)} (an invisible format character)`;
  if (/^\p{Default_Ignorable_Code_Point}$/u.test(char)) return `${codePoint(char)} (a character shown as nothing)`;
  return codePoint(char);
}

/**
 * `text` quoted as JSON, with every character that shows as something other than itself written as its \u
 * escape: JSON.stringify escapes only U+0000-U+001F, and a U+202E quoted as it is turns round the rest of the
 * message on the terminal that shows it.
 */
export function quotedText(text: string): string {
  return shownText(JSON.stringify(text));
}

/**
 * `text` with every character that shows as something other than itself, as nothing or as a plain space while being
 * another written as its \u escape: quoted as it is, `a\u200Bb` reads as "ab".
 */
export function shownText(text: string): string {
  return text.replace(NOT_SHOWN, unicodeEscape);
}

/** `\u001b`: a character as JSON writes it escaped, the one way messages show a character they do not print. */
export function unicodeEscape(char: string): string {
  return `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}
