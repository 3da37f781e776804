import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const readJson = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));

/** Every dependency of the lockfile with an install script: its package name (the path after the last node_modules/). */
function packagesWithInstallScripts(): Map<string, string[]> {
  const lock = readJson('package-lock.json') as { packages: Record<string, { version?: string; hasInstallScript?: boolean }> };
  const found = new Map<string, string[]>();
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '' || !entry.hasInstallScript) continue;
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    found.set(name, [...(found.get(name) ?? []), entry.version ?? '']);
  }
  return found;
}

/** The package an allowScripts key names: `name` or `name@range` (a scoped name keeps its leading @). */
const keyName = (key: string) => key.replace(/(?<=.)@[^@/]*$/, '');

// npm 11.16 and later end every install with a warning naming each dependency whose install script package.json's
// allowScripts neither allows nor denies (npm 12 skips those scripts); npm ci on a fresh clone is to print none.
describe('package.json allowScripts', () => {
  const allowScripts = readJson('package.json').allowScripts as Record<string, boolean>;

  it('decides every install script in the lockfile, by name for all its versions', () => {
    const decided = new Set(Object.keys(allowScripts).map(keyName));
    const undecided = [...packagesWithInstallScripts()].filter(([name]) => !decided.has(name));
    expect(undecided.map(([name, versions]) => `${name}@${versions.join(',')}`)).toEqual([]);
    // The lockfile keeps no resolved URLs, so npm can only write name-only entries; a pinned one would go stale unseen.
    expect(Object.keys(allowScripts).filter((key) => keyName(key) !== key)).toEqual([]);
  });

  it('names no package without an install script (a stale entry hides nothing but misleads)', () => {
    const scripted = packagesWithInstallScripts();
    expect(Object.keys(allowScripts).filter((key) => !scripted.has(key))).toEqual([]);
  });

  it('skips onnxruntime-node, whose script downloads CUDA libraries from outside the registry', () => {
    expect(allowScripts['onnxruntime-node']).toBe(false);
    expect(readFileSync(path.join(ROOT, '.npmrc'), 'utf8')).toMatch(/^onnxruntime-node-install=skip$/m);
  });
});
