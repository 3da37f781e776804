import { describe, expect, it } from 'vitest';
import { clip, listNames } from './clip-text.js';

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
});
