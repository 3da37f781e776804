import { describe, expect, it } from 'vitest';
import { clip, firstCodePoints, listNames, singleLine } from './clip-text.js';

describe('core > clip-text', () => {
  it('keeps short text, cuts long text to the limit with an ellipsis, and never halves a surrogate pair', () => {
    expect(clip('down')).toBe('down');
    expect(clip('x'.repeat(100))).toBe('x'.repeat(100));
    expect(clip('x'.repeat(5000))).toBe(`${'x'.repeat(100)}...`);
    expect(clip('abcdef', 3)).toBe('abc...');
    expect(clip('ab😀cd', 3)).toBe('ab...');
    expect(clip('ab😀cd', 4)).toBe('ab😀...');
  });

  it('lists the first ten names, each clipped, and counts the rest', () => {
    expect(listNames(['a', 'b'])).toBe('a, b');
    const many = Array.from({ length: 3000 }, (_, i) => `c${i}`);
    expect(listNames(many)).toBe('c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 2990 more');
    expect(listNames(['x'.repeat(500)])).toBe(`${'x'.repeat(60)}...`);
  });

  it('puts text on one line: each run of control characters becomes a space, other text is kept', () => {
    expect(singleLine('a\r\nb\tc')).toBe('a b c');
    expect(singleLine('\u001B[31mred\u001B[0m \u009B2J ok')).toBe(' [31mred [0m  2J ok');
    expect(singleLine('déjà vu 😀')).toBe('déjà vu 😀');
    // Before, a reason holding U+202E was stored and listed as it was, and turned round the rest of its history line.
    expect(singleLine('rollout\u202Eok\u2066 a\u2028b\u2029c')).toBe('rollout ok  a b c');
  });

  it('firstCodePoints counts characters as a JSON schema does, an emoji as one, and keeps text within the count whole', () => {
    expect(firstCodePoints('😀'.repeat(256), 256)).toBe('😀'.repeat(256));
    expect(firstCodePoints('😀'.repeat(257), 256)).toBe('😀'.repeat(256));
    expect(firstCodePoints('abc', 2)).toBe('ab');
    expect(firstCodePoints('', 2)).toBe('');
  });
});
