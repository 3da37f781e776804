import { describe, expect, it } from 'vitest';
import { targetFileNames } from './target-file-names.js';

describe('core > charts > target-file-names', () => {
  it('names each target as a file name may hold it, unchanged where nothing shares its file name', () => {
    expect(targetFileNames(['down', 'up', 'a b', 'rb_down.var-2'])).toEqual(['down', 'up', 'a_b', 'rb_down.var-2']);
    // `..` named the folder above plots/; `.` plots/ itself.
    expect(targetFileNames(['..', '.'])).toEqual(['__', '_']);
  });

  // Before, `a b` and `a_b` were both a_b: the plot written second replaced the first without a word.
  it('gives names that come out as one file name files of their own, named by the targets and not their order', () => {
    expect(targetFileNames(['down', 'a b', 'a_b'])).toEqual(['down', 'a_b-c8687a08', 'a_b']);
    expect(targetFileNames(['a_b', 'a b', 'down'])).toEqual(['a_b', 'a_b-c8687a08', 'down']);
    // Two changed names: both take their suffix. Case aside, for the file systems of macOS and Windows.
    expect(targetFileNames(['a b', 'a:b'])).toEqual(['a_b-c8687a08', 'a_b-6783a31e']);
    expect(targetFileNames(['A b', 'a_b'])).toEqual(['A_b-a760b0e1', 'a_b']);
    expect(targetFileNames(['..', '__'])).toEqual(['__-5ec1f7e7', '__']);
  });
});
