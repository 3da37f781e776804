import { describe, expect, it } from 'vitest';
import { onTerminal } from '../src/cli/report-error.js';
import { characterName, INVISIBLE_CHAR_CLASS, misleadingCharacter, MISLEADING_CHAR_RANGES, shownText, singleLine, unicodeEscape } from '../src/core/clip-text.js';
import { identifierProblem, IDENTIFIER_PATTERN, isIdentifier } from '../src/core/config/specs/runtime.js';
import { CONTEXTUAL_CLASS } from '../src/core/unseen-characters.js';

/** Every Unicode scalar value (lone surrogates are no characters of their own), as a one-character string. */
const EVERY_CHARACTER = Array.from({ length: 0x110000 }, (_, point) => point)
  .filter((point) => point < 0xd800 || point > 0xdfff)
  .map((point) => String.fromCodePoint(point));

const BY_PROPERTY = /^[\p{Cc}\p{Bidi_Control}\u2028\u2029]$/u;
const IN_RANGES = new RegExp(`^[${MISLEADING_CHAR_RANGES}]$`, 'u');
const shared = EVERY_CHARACTER.filter((char) => BY_PROPERTY.test(char));
const INVISIBLE_BY_PROPERTY = /^[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zs}]$/u;
/** Those a name may hold where a standard gives them a use (test/identifier-joiners.test.ts): the joiners, the variation selectors, the tags. */
const CONTEXTUAL = new RegExp(`^[${CONTEXTUAL_CLASS}]$`, 'u');
const IN_INVISIBLE_CLASS = new RegExp(`^[${INVISIBLE_CHAR_CLASS}]$`, 'u');
/** The invisible characters that are not misleading too (the bidirectional controls are both). */
const invisibleOnly = EVERY_CHARACTER.filter((char) => char !== ' ' && INVISIBLE_BY_PROPERTY.test(char) && !BY_PROPERTY.test(char));
const invisibleSet = new Set(invisibleOnly);

describe('characters that show as something other than themselves: one class wherever they are refused or escaped', () => {
  it('the written-out ranges are \\p{Cc}, \\p{Bidi_Control}, U+2028 and U+2029, no character more or less', () => {
    // Ranges, so the identifier's pattern can take them without the `u` flag; a Unicode that added a bidirectional
    // control would show here.
    expect(EVERY_CHARACTER.filter((char) => IN_RANGES.test(char))).toEqual(shared);
    expect(shared).toHaveLength(65 + 12 + 2);
  });

  it('messages escape, listings space out, the identifier refuses and a terminal report escapes each of them', () => {
    for (const char of shared) {
      const name = unicodeEscape(char);
      expect(shownText(`a${char}b`), name).toBe(`a${name}b`);
      expect(misleadingCharacter(`a${char}b`), name).toBe(char);
      expect(singleLine(`a${char}b`), name).toBe('a b');
      expect(isIdentifier(`a${char}b`), name).toBe(false);
      // A message on a terminal keeps the line feed between its lines and its tabs: the one difference.
      expect(onTerminal(`a${char}b`), name).toBe(char === '\n' || char === '\t' ? `a${char}b` : `a${name}b`);
    }
  });

  it('the invisible class is \\p{Cf}, \\p{Default_Ignorable_Code_Point} and every \\p{Zs} but U+0020, no character more or less', () => {
    const inClass = EVERY_CHARACTER.filter((char) => IN_INVISIBLE_CLASS.test(char));
    expect(inClass).toEqual(EVERY_CHARACTER.filter((char) => char !== ' ' && INVISIBLE_BY_PROPERTY.test(char)));
    // Every space a user could paste for U+0020 is named, not only numbered.
    const spaces = EVERY_CHARACTER.filter((char) => char !== ' ' && /^\p{Zs}$/u.test(char));
    expect(spaces.map(characterName).filter((name) => !/^U\+[0-9A-F]{4} [A-Z]/.test(name))).toEqual([]);
    expect(spaces).toHaveLength(16);
  });

  it('messages escape them and the identifier refuses them, naming the character; column names and listings keep them', () => {
    // Before, `a\u200Bb` was an identifier of its own that shows as "ab", and messages quoted it as "ab".
    for (const char of invisibleOnly) {
      const name = unicodeEscape(char);
      expect(shownText(`a${char}b`), name).toBe(`a${name}b`);
      expect(isIdentifier(`a${char}b`), name).toBe(false);
      // Out of their place (between two Latin letters) the joiners, selectors and tags are refused too, saying where they may be.
      const problem = identifierProblem(`a${char}b`);
      if (CONTEXTUAL.test(char)) expect(problem?.startsWith(`holds ${characterName(char)} at position 2, allowed only `), name).toBe(true);
      else expect(problem, name).toBe(`holds ${characterName(char)} at position 2`);
      // A byte order mark opens many a CSV header, a no-break space groups many a number's thousands: kept there.
      expect(misleadingCharacter(`a${char}b`), name).toBeUndefined();
      expect(singleLine(`a${char}b`), name).toBe(`a${char}b`);
      expect(onTerminal(`a${char}b`), name).toBe(`a${char}b`);
    }
    expect(identifierProblem('site\u200Ba')).toBe('holds U+200B ZERO WIDTH SPACE at position 5');
    expect(identifierProblem('Poble\u00A0Sec')).toBe('holds U+00A0 NO-BREAK SPACE at position 6');
    expect(identifierProblem('\uFEFFsite')).toBe('holds U+FEFF ZERO WIDTH NO-BREAK SPACE at position 1');
    expect(identifierProblem('x\u00AD')).toBe('holds U+00AD SOFT HYPHEN at position 2');
    expect(identifierProblem('\u{1F600}\u2060')).toBe('holds U+2060 WORD JOINER at position 2');
    expect(identifierProblem('a\u{E0041}')).toBe('holds U+E0041 (an invisible format character) at position 2, allowed only inside an emoji flag');
    expect(identifierProblem('a\u3164')).toBe('holds U+3164 HANGUL FILLER at position 2');
  });

  it('the identifier\'s stated pattern and its check refuse the same characters, but for where a joiner, selector or tag may be', () => {
    const differ = EVERY_CHARACTER.filter((char) => IDENTIFIER_PATTERN.regex.test(`ab${char}c`) !== isIdentifier(`ab${char}c`));
    // No pattern says where they may be: it takes them, the check holds them to their place, here none.
    expect(differ.map(unicodeEscape)).toEqual(EVERY_CHARACTER.filter((char) => CONTEXTUAL.test(char)).map(unicodeEscape));
  });

  it('and leave every other character as it is', () => {
    const others = EVERY_CHARACTER.filter((char) => !BY_PROPERTY.test(char) && !invisibleSet.has(char));
    const changed = others.filter((char) => {
      // Two letters first: "a:" would be a drive letter.
      const text = `ab${char}c`;
      // "/" and "\\" are no part of the class: an identifier is one folder name for its own reason.
      return shownText(text) !== text || misleadingCharacter(text) !== undefined || singleLine(text) !== text || onTerminal(text) !== text || (isIdentifier(text) === (char === '/' || char === '\\'));
    });
    expect(changed.map(unicodeEscape)).toEqual([]);
  });
});
