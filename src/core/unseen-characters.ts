import { INVISIBLE_CHAR_CLASS, MISLEADING_CHAR_RANGES } from './clip-text.js';

/**
 * The invisible characters (INVISIBLE_CHAR_CLASS, each restricted in identifiers by UTS #39) a name may hold in the
 * right place, and nowhere else, as the body of a character class: U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH
 * JOINER (Persian words, Indic conjuncts, emoji of several people), the variation selectors (❤️, an ideograph's
 * registered form) and the tag characters of a flag such as England's.
 */
export const CONTEXTUAL_CLASS = '\\u200c\\u200d\\p{Variation_Selector}\\u{e0020}-\\u{e007f}';

const INVISIBLE = new RegExp(`^[${MISLEADING_CHAR_RANGES}${INVISIBLE_CHAR_CLASS}]$`, 'u');
const CONTEXTUAL = new RegExp(`^[${CONTEXTUAL_CLASS}]$`, 'u');

/**
 * Letters that join the letter after them (Joining_Type L or D, ArabicShaping.txt of the Unicode Character Database:
 * Arabic, Syriac, N'Ko, Mandaic, Mongolian, Phags-pa, Manichaean, Psalter Pahlavi, Hanifi Rohingya, Sogdian, Adlam...).
 * JavaScript's patterns know no Joining_Type.
 */
const JOINS_NEXT = /^[\u0620\u0626\u0628\u062a-\u062e\u0633-\u063f\u0641-\u0647\u0649\u064a\u066e\u066f\u0678-\u0687\u069a-\u06bf\u06c1\u06c2\u06cc\u06ce\u06d0\u06d1\u06fa-\u06fc\u06ff\u0712-\u0714\u071a-\u071d\u071f-\u0727\u0729\u072b\u072d\u072e\u074e-\u0758\u075c-\u076a\u076d-\u0770\u0772\u0775-\u0777\u077a-\u077f\u07ca-\u07ea\u0841-\u0845\u0848\u084a-\u0853\u0855\u0860\u0862-\u0865\u0868\u0886\u0889-\u088d\u088f\u08a0-\u08a9\u08af\u08b0\u08b3-\u08b8\u08ba-\u08c8\u1807\u1820-\u1878\u1887-\u18a8\u18aa\ua840-\ua872\u{10ac0}-\u{10ac4}\u{10acd}\u{10ad3}-\u{10adc}\u{10ade}-\u{10ae0}\u{10aeb}-\u{10aee}\u{10b80}\u{10b82}\u{10b86}-\u{10b88}\u{10b8a}\u{10b8b}\u{10b8d}\u{10b90}\u{10bad}\u{10bae}\u{10d00}-\u{10d21}\u{10d23}\u{10ec3}\u{10ec4}\u{10ec6}\u{10ec7}\u{10ed9}-\u{10eee}\u{10f30}-\u{10f32}\u{10f34}-\u{10f44}\u{10f51}-\u{10f53}\u{10f70}-\u{10f73}\u{10f76}-\u{10f81}\u{10fb0}\u{10fb2}\u{10fb3}\u{10fb8}\u{10fbb}\u{10fbc}\u{10fbe}\u{10fbf}\u{10fc1}\u{10fc4}\u{10fca}\u{10fcb}\u{1e900}-\u{1e943}]$/u;

/** Letters that join the letter before them (Joining_Type R or D). */
const JOINS_PREVIOUS = /^[\u0620\u0622-\u063f\u0641-\u064a\u066e\u066f\u0671-\u0673\u0675-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff\u0710\u0712-\u072f\u074d-\u077f\u07ca-\u07ea\u0840-\u0858\u0860\u0862-\u0865\u0867-\u086a\u0870-\u0882\u0886\u0889-\u088f\u08a0-\u08ac\u08ae-\u08c8\u1807\u1820-\u1878\u1887-\u18a8\u18aa\ua840-\ua871\u{10ac0}-\u{10ac5}\u{10ac7}\u{10ac9}\u{10aca}\u{10ace}-\u{10ad6}\u{10ad8}-\u{10ae1}\u{10ae4}\u{10aeb}-\u{10aef}\u{10b80}-\u{10b91}\u{10ba9}-\u{10bae}\u{10d01}-\u{10d23}\u{10ec2}-\u{10ec4}\u{10ec6}\u{10ec7}\u{10f30}-\u{10f44}\u{10f51}-\u{10f54}\u{10f70}-\u{10f81}\u{10fb0}\u{10fb2}-\u{10fb6}\u{10fb8}-\u{10fbf}\u{10fc1}-\u{10fc4}\u{10fc9}\u{10fca}\u{1e900}-\u{1e943}]$/u;

/** Transparent to joining (Joining_Type T, the marks and format characters but the joiners): between two letters that still join. */
const TRANSPARENT = /^[\p{Mn}\p{Me}\p{Cf}]$/u;

/**
 * Whether `char` is a virama (Canonical_Combining_Class 9, which JavaScript's patterns do not name): canonical
 * ordering moves a mark of class 8 (U+3099) before it and leaves one of class 9 (U+094D DEVANAGARI SIGN VIRAMA) after
 * it, so its class is 9 by the runtime's own Unicode data, which a table here would fall behind.
 */
function isVirama(char: string | undefined): boolean {
  if (char === undefined || !/^\p{M}$/u.test(char) || char.normalize('NFD') !== char) return false;
  const reordered = (mark: string) => `a${char}${mark}`.normalize('NFD') !== `a${char}${mark}`;
  return reordered('\u3099') && !reordered('\u094d');
}

/** ZWNJ between a letter joining the next and one joining the previous (marks between them allowed): it breaks a join that would show. */
function breaksJoin(chars: readonly string[], index: number): boolean {
  let before = index - 1;
  while (before >= 0 && TRANSPARENT.test(chars[before]) && chars[before] !== '\u200c' && chars[before] !== '\u200d') before--;
  let after = index + 1;
  while (after < chars.length && TRANSPARENT.test(chars[after]) && chars[after] !== '\u200c' && chars[after] !== '\u200d') after++;
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
  zwj: 'only inside an emoji sequence, or between a virama and a letter',
  selector: 'only right after a character it selects a form of: an emoji, an ideograph, a Mongolian letter',
  tag: 'only inside an emoji flag',
} as const;

/** A virama, then the joiner at `index`, then a letter: the joiner picks how the conjunct of the two letters shows. */
function inConjunct(chars: readonly string[], index: number): boolean {
  return isVirama(chars[index - 1]) && /^\p{L}$/u.test(chars[index + 1] ?? '');
}

/** Whether the variation selector `selector` has sequences with `base` (emoji-variation-sequences.txt, the ideographic variation database, Mongolian's free variation selectors). */
function selectsFormOf(selector: string, base: string | undefined): boolean {
  if (base === undefined) return false;
  const point = selector.codePointAt(0) ?? 0;
  // A digit, '#' or '*' with U+FE0F alone shows as itself: only a keycap (1️⃣, an emoji sequence) makes it another.
  if (point === 0xfe0e || point === 0xfe0f) return /^\p{Emoji}$/u.test(base) && (base.codePointAt(0) ?? 0) > 0x7f;
  if (point <= 0x180f) return /^\p{Script_Extensions=Mongolian}$/u.test(base);
  return /^\p{Ideographic}$/u.test(base);
}

/**
 * Where the contextual character at `index` may be, when it is somewhere else (else undefined): U+200C between letters
 * it keeps from joining and either joiner between a virama and a letter (RFC 5892's CONTEXTJ rules, as IDNA holds domain
 * names to them, and UAX #31 section 2.3), U+200D inside an emoji sequence (👨‍👩‍👧‍👦); a variation selector right after a
 * base it has sequences with, or inside an emoji sequence (❤️, 1️⃣); a tag inside an emoji flag. Anywhere else each
 * changes nothing shown: `a\u200Cb`, `\u200Dsite`, `site\uFE0F` and `site` show alike.
 */
function misplaced(chars: readonly string[], index: number, emoji: () => Set<number>): string | undefined {
  const char = chars[index];
  if (char === '\u200c') return inConjunct(chars, index) || breaksJoin(chars, index) ? undefined : ALLOWED_WHERE.zwnj;
  if (char === '\u200d') return inConjunct(chars, index) || emoji().has(index) ? undefined : ALLOWED_WHERE.zwj;
  if (/^\p{Variation_Selector}$/u.test(char)) return selectsFormOf(char, chars[index - 1]) || emoji().has(index) ? undefined : ALLOWED_WHERE.selector;
  return emoji().has(index) ? undefined : ALLOWED_WHERE.tag;
}

/**
 * The first character of `value` that shows as something other than itself, as nothing or as a plain space, where it
 * does (a joiner, a variation selector or a tag out of the place a standard gives it a use: `allowed` says where that
 * is), by its position from 0 in characters; undefined when there is none.
 */
export function firstUnseenCharacter(value: string): { index: number; char: string; allowed?: string } | undefined {
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
