import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIMD_KERNEL_FILES } from '../src/core/kernels/simd-wat.js';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

/** Why a file in dist/ is there, or undefined when nothing in the build makes it. */
function madeBy(file: string): string | undefined {
  const compiled = /^(.*)\.(js|js\.map|d\.ts)$/.exec(file);
  if (compiled) {
    const source = ['.ts', '.tsx'].map((ext) => `src/${compiled[1]}${ext}`).find((candidate) => existsSync(path.join(ROOT, candidate)));
    return source && !/\.test\.tsx?$/.test(source) ? source : undefined;
  }
  if (Object.values(SIMD_KERNEL_FILES).some((name) => file === `core/kernels/${name}`)) return 'scripts/build-assets.mjs (assembled)';
  return existsSync(path.join(ROOT, 'src', file)) ? `src/${file} (copied)` : undefined;
}

describe('build output', () => {
  it('dist/ holds only what the build makes from the current sources: no compiled tests, nothing whose source is gone', () => {
    const files = readdirSync(DIST, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(DIST, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
    expect(files).toContain('commands/serve.js');
    expect(files.filter((file) => madeBy(file) === undefined)).toEqual([]);
  });
});
