import { INVISIBLE_CHAR_CLASS, MISLEADING_CHAR_RANGES } from './clip-text.js';
import { EMOJI_VARIATION_BASE_CLASS, JOINS_NEXT_CLASS, JOINS_PREVIOUS_CLASS, TRANSPARENT_ADDED_CLASS, TRANSPARENT_REMOVED_CLASS } from './unicode-tables.js';

/**
 * The invisible characters (INVISIBLE_CHAR_CLASS, each restricted in identifiers by UTS #39) a name may hold in the
 * right place, and nowhere else, as the body of a character class: U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH
 * JOINER (Persian words, Indic conjuncts, emoji of several people), the variation selectors (❤️, an ideograph's
 * registered form) and the tag characters of a flag such as England's.
 */
export const CONTEXTUAL_CLASS = '\\u200c\\u200d\\p{Variation_Selector}\\u{e0020}-\\u{e007f}';

const INVISIBLE = new RegExp(`^[${MISLEADING_CHAR_RANGES}${INVISIBLE_CHAR_CLASS}]$`, 'u');
const CONTEXTUAL = new RegExp(`^[${CONTEXTUAL_CLASS}]$`, 'u');
const ANY_INVISIBLE = new RegExp(`[${MISLEADING_CHAR_RANGES}${INVISIBLE_CHAR_CLASS}]`, 'u');

/**
 * Joining_Type (ArabicShaping.txt), which JavaScript's patterns do not know: generated from the Unicode data
 * (scripts/unicode-tables.ts). $LJ joins the letter after it (L or D), $RJ the one before (R or D), $T is transparent to
 * joining (T: the marks and most format characters, which sit between two letters that still join).
 */
const JOINS_NEXT = new RegExp(`^[${JOINS_NEXT_CLASS}]$`, 'u');
const JOINS_PREVIOUS = new RegExp(`^[${JOINS_PREVIOUS_CLASS}]$`, 'u');
const TRANSPARENT = new RegExp(`^(?:[${TRANSPARENT_ADDED_CLASS}]|(?![${TRANSPARENT_REMOVED_CLASS}])[\\p{Mn}\\p{Me}\\p{Cf}])$`, 'u');
const isTransparent = (char: string | undefined): boolean => char !== undefined && TRANSPARENT.test(char);

/** The characters with a text and an emoji form (emoji-variation-sequences.txt): U+FE0E and U+FE0F change how only these show. */
const EMOJI_VARIATION_BASE = new RegExp(`^[${EMOJI_VARIATION_BASE_CLASS}]$`, 'u');

const LETTER = /^\p{L}$/u;
const NONSPACING = /^\p{Mn}$/u;

/** isVirama's and isClassedMark's answers by mark: at most one entry for each mark Unicode has, so normalizing runs once for each. */
const VIRAMAS = new Map<string, boolean>();
const CLASSED_MARKS = new Map<string, boolean>();

/**
 * Whether `char` is a virama (Canonical_Combining_Class 9, which JavaScript's patterns do not name): canonical
 * ordering moves a mark of class 8 (U+3099) before it and leaves one of class 9 (U+094D DEVANAGARI SIGN VIRAMA) after
 * it, so its class is 9 by the runtime's own Unicode data, which a table here would fall behind.
 */
function isVirama(char: string | undefined): boolean {
  if (char === undefined || !/^\p{M}$/u.test(char)) return false;
  let virama = VIRAMAS.get(char);
  if (virama === undefined) {
    const reordered = (mark: string) => `a${char}${mark}`.normalize('NFD') !== `a${char}${mark}`;
    virama = char.normalize('NFD') === char && reordered('\u3099') && !reordered('\u094d');
    VIRAMAS.set(char, virama);
  }
  return virama;
}

/**
 * Whether `char` is a nonspacing mark of a combining class other than 0 (UAX #31's $M₁): canonical ordering moves it
 * before U+0345 (class 240, the highest), which a mark of class 0 never passes.
 */
function isClassedMark(char: string): boolean {
  if (!NONSPACING.test(char)) return false;
  let classed = CLASSED_MARKS.get(char);
  if (classed === undefined) {
    classed = char === '\u0345' || `a\u0345${char}`.normalize('NFD') !== `a\u0345${char}`;
    CLASSED_MARKS.set(char, classed);
  }
  return classed;
}

/**
 * UAX #31 section 2.3 ("Layout and Format Control Characters"), the contexts where an identifier may hold a joiner
 * (RFC 5892's CONTEXTJ rules say the same for domain names), in its terms: $L a letter, $M a nonspacing mark, $M₁ one
 * of a combining class other than 0, $V a virama (class 9), $LJ/$RJ/$T Joining_Type as above.
 *   A1  /$LJ $T* ZWNJ $T* $RJ/   the ZWNJ keeps two Arabic, Syriac, N'Ko... letters from joining (a Persian word).
 *   A2  /$L $M* $V $M₁* ZWNJ/    it keeps a conjunct from forming (क्‌ष): taken here only with a letter after it, the
 *                                consonant it is kept from, since at a name's end it changes nothing shown.
 *   B   /$L $M* $V $M₁* ZWJ/     the ZWJ picks a half form, an eyelash RA (र्‍य), a Sinhala yansaya or rakaransaya
 *                                (ශ්‍රී, ක්‍ෂ), or a Malayalam chillu in its older spelling (ന്‍, at a word's end).
 * Beyond UAX #31, the Unicode Standard (chapters 12 and 13) gives ZWJ a use before the virama too, /$L $M* ZWJ $V $L/:
 * Bengali RA with a YA-phala rather than a reph (র‍্য), Sinhala touching letters (ක‍්ව).
 */
function followsVirama(chars: readonly string[], index: number): boolean {
  let at = index - 1;
  let virama = false;
  for (; at >= 0 && isClassedMark(chars[at]); at--) virama ||= isVirama(chars[at]);
  while (at >= 0 && NONSPACING.test(chars[at])) at--;
  return virama && at >= 0 && LETTER.test(chars[at]);
}

/** /$L $M* ZWJ $V $L/, the joiner at `index`. */
function precedesVirama(chars: readonly string[], index: number): boolean {
  if (!isVirama(chars[index + 1]) || !LETTER.test(chars[index + 2] ?? '')) return false;
  let at = index - 1;
  while (at >= 0 && NONSPACING.test(chars[at])) at--;
  return at >= 0 && LETTER.test(chars[at]);
}

/** A1: /$LJ $T* ZWNJ $T* $RJ/, the ZWNJ at `index`. */
function breaksJoin(chars: readonly string[], index: number): boolean {
  let before = index - 1;
  while (before >= 0 && isTransparent(chars[before])) before--;
  let after = index + 1;
  while (after < chars.length && isTransparent(chars[after])) after++;
  return before >= 0 && after < chars.length && JOINS_NEXT.test(chars[before]) && JOINS_PREVIOUS.test(chars[after]);
}

/** UTS #51's recommended emoji, sequences included: a property of strings, which only the `v` flag reads (made here since the compile target predates it). */
const RGI_EMOJI = new RegExp('\\p{RGI_Emoji}', 'gv');

/** Every character (by position) inside a recommended emoji sequence (UTS #51's RGI set: 👨‍👩‍👧‍👦, ❤️, 1️⃣, 🏴 with its tags). */
function inEmoji(value: string): Set<number> {
  const covered = new Set<number>();
  let position = 0;
  let offset = 0;
  for (const match of value.matchAll(RGI_EMOJI)) {
    for (; offset < match.index; position++) offset += (value.codePointAt(offset) ?? 0) > 0xffff ? 2 : 1;
    for (const _ of match[0]) covered.add(position++);
    offset += match[0].length;
  }
  return covered;
}

/** Where a contextual character may be, as a refusal says it. */
const ALLOWED_WHERE = {
  zwnj: 'only between letters it keeps from joining, or between a virama and a letter',
  zwj: 'only inside an emoji sequence, or beside the virama of a conjunct',
  selector: 'only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter',
  tag: 'only inside an emoji flag',
} as const;

/** Whether the variation selector `selector` has sequences with `base` (emoji-variation-sequences.txt, the ideographic variation database, Mongolian's free variation selectors). */
function selectsFormOf(selector: string, base: string | undefined): boolean {
  if (base === undefined) return false;
  const point = selector.codePointAt(0) ?? 0;
  // A digit, '#' or '*' with U+FE0F alone shows as itself: only a keycap (1️⃣, an emoji sequence) makes it another.
  if (point === 0xfe0e || point === 0xfe0f) return EMOJI_VARIATION_BASE.test(base) && (base.codePointAt(0) ?? 0) > 0x7f;
  if (point <= 0x180f) return /^\p{Script_Extensions=Mongolian}$/u.test(base);
  return /^\p{Ideographic}$/u.test(base);
}

/**
 * Where the contextual character at `index` may be, when it is somewhere else (else undefined): a joiner where UAX #31
 * section 2.3 or the Unicode Standard gives it a use (followsVirama), U+200D also inside an emoji sequence (👨‍👩‍👧‍👦); a
 * variation selector right after a base it has sequences with, or inside an emoji sequence (❤️, 1️⃣); a tag inside an
 * emoji flag. Anywhere else each changes nothing shown: `a\u200Cb`, `\u200Dsite`, `site\uFE0F`, `😀\uFE0F` (no text
 * form to tell it from) and `site` show alike.
 */
function misplaced(chars: readonly string[], index: number, emoji: () => Set<number>): string | undefined {
  const char = chars[index];
  if (char === '\u200c') return (followsVirama(chars, index) && LETTER.test(chars[index + 1] ?? '')) || breaksJoin(chars, index) ? undefined : ALLOWED_WHERE.zwnj;
  if (char === '\u200d') return followsVirama(chars, index) || precedesVirama(chars, index) || emoji().has(index) ? undefined : ALLOWED_WHERE.zwj;
  if (/^\p{Variation_Selector}$/u.test(char)) return selectsFormOf(char, chars[index - 1]) || emoji().has(index) ? undefined : ALLOWED_WHERE.selector;
  return emoji().has(index) ? undefined : ALLOWED_WHERE.tag;
}

/**
 * The first character of `value` that shows as something other than itself, as nothing or as a plain space, where it
 * does (a joiner, a variation selector or a tag out of the place a standard gives it a use: `allowed` says where that
 * is), by its position from 0 in characters; undefined when there is none.
 */
export function firstUnseenCharacter(value: string): { index: number; char: string; allowed?: string } | undefined {
  // Most names hold none of them: one scan of the string, no array, on the path of every request's series.
  if (!ANY_INVISIBLE.test(value)) return undefined;
  const chars = [...value];
  let emoji: Set<number> | undefined;
  const emojiOf = () => (emoji ??= inEmoji(value));
  for (let index = 0; index < chars.length; index++) {
    const char = chars[index];
    if (!INVISIBLE.test(char)) continue;
    if (!CONTEXTUAL.test(char)) return { index, char };
    const allowed = misplaced(chars, index, emojiOf);
    if (allowed !== undefined) return { index, char, allowed };
  }
  return undefined;
}
