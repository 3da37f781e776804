import { describe, expect, it } from 'vitest';
import { onTerminal } from '../src/cli/report-error.js';
import { misleadingCharacter, MISLEADING_CHAR_RANGES, shownText, singleLine, unicodeEscape } from '../src/core/clip-text.js';
import { isIdentifier } from '../src/core/config/specs/runtime.js';

/** Every Unicode scalar value (lone surrogates are no characters of their own), as a one-character string. */
const EVERY_CHARACTER = Array.from({ length: 0x110000 }, (_, point) => point)
  .filter((point) => point < 0xd800 || point > 0xdfff)
  .map((point) => String.fromCodePoint(point));

const BY_PROPERTY = /^[\p{Cc}\p{Bidi_Control}\u2028\u2029]$/u;
const IN_RANGES = new RegExp(`^[${MISLEADING_CHAR_RANGES}]$`, 'u');
const shared = EVERY_CHARACTER.filter((char) => BY_PROPERTY.test(char));

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

  it('and leave every other character as it is', () => {
    const others = EVERY_CHARACTER.filter((char) => !BY_PROPERTY.test(char));
    const changed = others.filter((char) => {
      // Two letters first: "a:" would be a drive letter.
      const text = `ab${char}c`;
      // "/" and "\\" are no part of the class: an identifier is one folder name for its own reason.
      return shownText(text) !== text || misleadingCharacter(text) !== undefined || singleLine(text) !== text || onTerminal(text) !== text || (isIdentifier(text) === (char === '/' || char === '\\'));
    });
    expect(changed.map(unicodeEscape)).toEqual([]);
  });
});
