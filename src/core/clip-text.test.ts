import { describe, expect, it } from 'vitest';
import { clip } from './clip-text.js';

describe('core > clip-text', () => {
  it('keeps short text, cuts long text to the limit with an ellipsis, and never halves a surrogate pair', () => {
    expect(clip('down')).toBe('down');
    expect(clip('x'.repeat(100))).toBe('x'.repeat(100));
    expect(clip('x'.repeat(5000))).toBe(`${'x'.repeat(100)}...`);
    expect(clip('abcdef', 3)).toBe('abc...');
    expect(clip('ab😀cd', 3)).toBe('ab...');
    expect(clip('ab😀cd', 4)).toBe('ab😀...');
  });
});
