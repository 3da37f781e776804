import { describe, expect, it } from 'vitest';
import { optionalIdentifier } from '../src/core/bus/message-fields.js';
import { resolveSettings } from '../src/core/config/settings.js';
import { identifierLookalike, identifierProblem, IDENTIFIER_PATTERN } from '../src/core/config/specs/runtime.js';
import { assertRequestIdentifier } from '../src/core/serve/request-frame.js';

/** Names written as their users write them, each needing the joiner, selector or tag it holds. */
const TAKEN: Record<string, string> = {
  // "I want": ZWNJ keeps YEH from joining KHAH, as Persian spelling requires.
  'Persian word with ZWNJ': '\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645',
  // "the houses": HEH kept from joining the plural suffix.
  'Persian plural with ZWNJ': '\u062e\u0627\u0646\u0647\u200c\u0647\u0627',
  'family emoji (ZWJ sequence)': '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}',
  'site named with a family emoji': 'site-\u{1f468}\u200d\u{1f469}\u200d\u{1f467}',
  'rainbow flag (selector and ZWJ)': '\u{1f3f3}\ufe0f\u200d\u{1f308}',
  'red heart with its emoji selector': '\u2764\ufe0f',
  keycap: 'cell-1\ufe0f\u20e3',
  "England's flag (tags)": '\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}',
  'Devanagari half form kept off by ZWNJ after the virama': '\u0915\u094d\u200c\u0937',
  'Devanagari eyelash RA: ZWJ after the virama': '\u0930\u094d\u200d\u092f',
  'Sinhala "Sri": ZWJ after the al-lakuna': '\u0dc1\u0dca\u200d\u0dbb\u0dd3',
  'ideograph with a registered variation': '\u845b\u{e0100}',
  'Mongolian letter with a free variation selector': '\u1820\u180b',
  'watch in its text form (U+FE0E)': '\u231a\ufe0e',
};

/** Names refused before this check followed UAX #31 section 2.3 and the Unicode data, each needing its joiner or selector. */
const TAKEN_NOW: Record<string, string> = {
  // "RAB": RA, ZWJ, HASANTA, YA: RA with a YA-phala, not the reph the sequence without the ZWJ shows (ZWJ before the virama).
  'Bengali RA with YA-phala': '\u09b0\u200d\u09cd\u09af\u09be\u09ac',
  // KA, ZWJ, AL-LAKUNA, VA: touching letters (ZWJ before the al-lakuna), where AL-LAKUNA then ZWJ makes the conjunct ක්‍ෂ.
  'Sinhala touching letters': '\u0d9a\u200d\u0dca\u0dc0',
  // "Malayalam" spelt with the older chillu: NA, VIRAMA, ZWJ at the word's end (UAX #31's B needs no letter after).
  'Malayalam chillu N, older spelling': '\u0d2e\u0d32\u0d2f\u0d3e\u0d33\u0d02\u0d28\u0d4d\u200d',
  // "he": the chillu mid-name, before a hyphen.
  'Malayalam chillu before a hyphen': '\u0d05\u0d35\u0d28\u0d4d\u200d-2',
  // A Devanagari half form shown alone: KA, VIRAMA, ZWJ.
  'Devanagari half KA': 'site-\u0915\u094d\u200d',
  // ADLAM letter, NASALIZATION MARK (Joining_Type T though a letter by category), ZWNJ, ADLAM letter: A1 looks through it.
  'Adlam ZWNJ after a nasalization mark': '\u{1e900}\u{1e94b}\u200c\u{1e900}',
};

/** Taken before, though the character changes nothing shown there. */
const REFUSED_NOW: Array<[name: string, value: string, problem: string]> = [
  // GRINNING FACE has no text form (emoji-variation-sequences.txt): with U+FE0F it shows as without.
  ['emoji selector after an emoji with no text form', 'cell-\u{1f600}\ufe0f', 'holds U+FE0F VARIATION SELECTOR-16 at position 7, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
  ['text selector after an emoji with no text form', '\u{1f355}\ufe0e', 'holds U+FE0E VARIATION SELECTOR-15 at position 2, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
  ['emoji selector after a regional indicator', '\u{1f1ea}\ufe0f', 'holds U+FE0F VARIATION SELECTOR-16 at position 2, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
  // A virama opening the name follows no letter (UAX #31's $L $M* $V): the joiner after it joins nothing.
  ['ZWJ after a virama that follows no letter', '\u094d\u200d\u0915', 'holds U+200D ZERO WIDTH JOINER at position 2, allowed only inside an emoji sequence, or beside the virama of a conjunct'],
  // ZWJ before a virama with no letter after it: nothing to touch or join (refused before too, kept so).
  ['ZWJ before a virama ending the name', '\u0d9a\u200d\u0dca', 'holds U+200D ZERO WIDTH JOINER at position 2, allowed only inside an emoji sequence, or beside the virama of a conjunct'],
];

/** Each with where the character that shows as nothing is (from 1), and why it is refused there. */
const REFUSED: Array<[name: string, value: string, problem: string]> = [
  ['Hangul filler alone', '\u3164', 'holds U+3164 HANGUL FILLER at position 1'],
  ['Hangul filler after a name', 'site\u3164', 'holds U+3164 HANGUL FILLER at position 5'],
  ['Hangul choseong filler', '\u115fsite', 'holds U+115F HANGUL CHOSEONG FILLER at position 1'],
  ['Hangul jungseong filler', 'a\u1160', 'holds U+1160 HANGUL JUNGSEONG FILLER at position 2'],
  ['halfwidth Hangul filler', '\uffa0', 'holds U+FFA0 HALFWIDTH HANGUL FILLER at position 1'],
  ['combining grapheme joiner', 'a\u034fb', 'holds U+034F COMBINING GRAPHEME JOINER at position 2'],
  ['ZWNJ opening a Persian word', '\u200c\u0645\u06cc', 'holds U+200C ZERO WIDTH NON-JOINER at position 1, allowed only between letters it keeps from joining, or between a virama and a letter'],
  ['ZWNJ ending a Persian word', '\u0645\u06cc\u200c', 'holds U+200C ZERO WIDTH NON-JOINER at position 3, allowed only between letters it keeps from joining, or between a virama and a letter'],
  ['ZWNJ doubled', '\u0645\u06cc\u200c\u200c\u062e', 'holds U+200C ZERO WIDTH NON-JOINER at position 3, allowed only between letters it keeps from joining, or between a virama and a letter'],
  // ALEF never joins the letter after it: the ZWNJ breaks nothing, and the name shows as the one without it.
  ['ZWNJ after a letter that joins nothing after it', '\u0627\u200c\u0628', 'holds U+200C ZERO WIDTH NON-JOINER at position 2, allowed only between letters it keeps from joining, or between a virama and a letter'],
  ['ZWNJ between Latin letters', 'site\u200ca', 'holds U+200C ZERO WIDTH NON-JOINER at position 5, allowed only between letters it keeps from joining, or between a virama and a letter'],
  ['ZWNJ after a virama ending the name', '\u0915\u094d\u200c', 'holds U+200C ZERO WIDTH NON-JOINER at position 3, allowed only between letters it keeps from joining, or between a virama and a letter'],
  ['ZWJ between Latin letters', 'a\u200db', 'holds U+200D ZERO WIDTH JOINER at position 2, allowed only inside an emoji sequence, or beside the virama of a conjunct'],
  ['ZWJ opening a name', '\u200dsite', 'holds U+200D ZERO WIDTH JOINER at position 1, allowed only inside an emoji sequence, or beside the virama of a conjunct'],
  ['ZWJ ending an emoji', '\u{1f468}\u200d', 'holds U+200D ZERO WIDTH JOINER at position 2, allowed only inside an emoji sequence, or beside the virama of a conjunct'],
  // No emoji of its own: it shows as the two emoji side by side, as the name without it does.
  ['ZWJ between emoji that make no sequence', '\u{1f355}\u200d\u{1f354}', 'holds U+200D ZERO WIDTH JOINER at position 2, allowed only inside an emoji sequence, or beside the virama of a conjunct'],
  ['emoji selector after a letter', 'site\ufe0f', 'holds U+FE0F VARIATION SELECTOR-16 at position 5, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
  ['variation selector alone', '\ufe0e', 'holds U+FE0E VARIATION SELECTOR-15 at position 1, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
  ['emoji selector after a digit, no keycap', 'cell1\ufe0f', 'holds U+FE0F VARIATION SELECTOR-16 at position 6, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
  ['selector doubled', '\u2764\ufe0f\ufe0f', 'holds U+FE0F VARIATION SELECTOR-16 at position 3, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
  ['ideographic selector after a letter', 'a\u{e0100}', 'holds U+E0100 VARIATION SELECTOR-17 at position 2, allowed only right after a character it selects a form of: an emoji with a text form, an ideograph, a Mongolian letter'],
  ['tag outside a flag', 'a\u{e0041}', 'holds U+E0041 (an invisible format character) at position 2, allowed only inside an emoji flag'],
  ['flag left unfinished', '\u{1f3f4}\u{e0067}\u{e0062}', 'holds U+E0067 (an invisible format character) at position 2, allowed only inside an emoji flag'],
];

describe('identifier: joiners, variation selectors and tags where a standard gives them a use, and nothing else that shows as nothing', () => {
  it('takes the names that need them', () => {
    // Before, every ZWNJ, ZWJ and tag was refused: a Persian word, a family emoji, a Sinhala or Devanagari conjunct.
    for (const [name, value] of Object.entries(TAKEN)) {
      expect(identifierProblem(value), name).toBeUndefined();
      expect(IDENTIFIER_PATTERN.regex.test(value), name).toBe(true);
      expect(() => assertRequestIdentifier(value, "Field 'identifier'", {}), name).not.toThrow();
    }
  });

  it('refuses them anywhere else, and the characters shown as nothing, naming the character, where it is and where it may be', () => {
    // Before, the Hangul fillers, the grapheme joiner and every variation selector were taken wherever they were.
    for (const [name, value, problem] of REFUSED) expect(identifierProblem(value), name).toBe(problem);
  });

  it('takes the Indic and Adlam spellings UAX #31 section 2.3 and the Unicode Standard give a joiner, and refuses selectors on emoji with no text form', () => {
    // Before, each of TAKEN_NOW was refused (a ZWJ before a virama, a chillu at a name's end, an Adlam mark not read as
    // transparent) and each of REFUSED_NOW but the last taken (U+FE0F after any emoji, a virama with no letter before it).
    for (const [name, value] of Object.entries(TAKEN_NOW)) {
      expect(identifierProblem(value), name).toBeUndefined();
      expect(() => assertRequestIdentifier(value, "Field 'identifier'", {}), name).not.toThrow();
    }
    for (const [name, value, problem] of REFUSED_NOW) {
      expect(identifierProblem(value), name).toBe(problem);
      expect(() => assertRequestIdentifier(value, "Field 'identifier'", { field: 'identifier' }), name).toThrow(expect.objectContaining({ code: 'FLTS_REQUEST_INVALID' }));
      // The deployment's own IDENTIFIER and its claims stay lenient: taken with a warning.
      expect(resolveSettings({ env: { IDENTIFIER: value } }).warnings, name).toEqual([expect.objectContaining({ code: 'settings_identifier_lookalike', value })]);
      expect(optionalIdentifier({ identifier: value }, 'training-data'), name).toBe(value);
    }
  });

  it("a request's series is refused with the message naming it escaped", () => {
    expect(() => assertRequestIdentifier('site\u3164', "Field 'identifier'", { field: 'identifier' })).toThrow(
      expect.objectContaining({ code: 'FLTS_REQUEST_INVALID', message: expect.stringMatching(/; got "site\\u3164": it holds U\+3164 HANGUL FILLER at position 5\.$/) }),
    );
    expect(() => assertRequestIdentifier('a\u200db', "Parameter 'identifier'", { parameter: 'identifier' })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/; got "a\\u200db": it holds U\+200D ZERO WIDTH JOINER at position 2, allowed only inside an emoji sequence, or beside the virama of a conjunct\.$/) }),
    );
    // The deployment's own identifier is its series, as before.
    expect(() => assertRequestIdentifier('site\u3164', "Field 'identifier'", {}, 'site\u3164')).not.toThrow();
  });

  it('a deployment IDENTIFIER holding what a request is now refused is taken with a warning, and its claims on the bus are read', () => {
    for (const [name, value, problem] of REFUSED) {
      // Tags and ZWNJ outside their place were refused before too: every one of these is taken as it was.
      expect(identifierProblem(value, { lookalikes: 'allow' }), name).toBeUndefined();
      expect(identifierLookalike(value), name).toBe(problem);
      const resolved = resolveSettings({ env: { IDENTIFIER: value } });
      expect(resolved.settings.identifier, name).toBe(value);
      expect(resolved.warnings, name).toEqual([expect.objectContaining({ code: 'settings_identifier_lookalike', value, message: expect.stringContaining(` ${problem}, so this scope shows as another name`) })]);
      expect(optionalIdentifier({ identifier: value }, 'training-data'), name).toBe(value);
    }
    for (const [name, value] of Object.entries(TAKEN)) expect(resolveSettings({ env: { IDENTIFIER: value } }).warnings, name).toEqual([]);
  });
});
