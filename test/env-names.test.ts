import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_SPECS } from '../src/core/config/specs/index.js';
import { TOOL_ENV_NAMES } from '../src/core/config/tool-env.js';
import { ERROR_CATALOGUE } from '../src/core/errors.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const PLACES = ['scripts', '.ci', 'test', 'bench', 'src', 'charts', 'compose', 'examples', 'daemon', 'docs', 'README.md', 'CONTRIBUTING.md', 'package.json'];

/** FLTS_ names of the repository that are no variable: identifiers, an old error code, the warning's own test typos. */
const NOT_VARIABLES = new Set([
  'FLTS_SERVICES', // test/deploy/compose.test.ts: the compose services running flts
  'FLTS_NOT_IMPLEMENTED', // an error code of earlier releases, named in a test's comment
  'FLTS_SERVE_PROT', 'FLTS_KAFKA_CONNECT_TIMEOUT_MS', 'FLTS_FOO_BAR', 'FLTS_LOGLEVEL', 'FLTS_KAFKA_TIMEOUT', 'FLTS_EPOCS', // typos the warning's tests set
  'FLTS_EPOCH', 'FLTS_SERVE_TIMEOUT_MS', // typos src/cli/unknown-env.ts gives as examples
]);

function files(place: string): string[] {
  const full = path.join(ROOT, place);
  if (!statSync(full, { throwIfNoEntry: false })) return [];
  if (!statSync(full).isDirectory()) return [full];
  return readdirSync(full).filter((name) => name !== 'node_modules').flatMap((name) => files(path.join(place, name)));
}

describe('FLTS_ environment names', () => {
  it('every FLTS_ name the repository uses is a setting\'s, a listed tool variable, an error code or a prefix', () => {
    const settings = new Set(ALL_SPECS.flatMap((spec) => spec.env ?? []));
    const unlisted = new Map<string, string>();
    for (const file of PLACES.flatMap(files)) {
      for (const [name] of readFileSync(file, 'utf8').matchAll(/FLTS_[A-Z0-9_]+/g)) {
        // A name ending in _ is a prefix matched on (FLTS_SERVE_, FLTS_DATA_), no variable of its own.
        if (name.endsWith('_') || settings.has(name) || Object.hasOwn(TOOL_ENV_NAMES, name) || name in ERROR_CATALOGUE || NOT_VARIABLES.has(name)) continue;
        if (!unlisted.has(name)) unlisted.set(name, path.relative(ROOT, file));
      }
    }
    // A tool variable goes in TOOL_ENV_NAMES (src/core/config/tool-env.ts), else flts warns of it as unknown.
    expect(Object.fromEntries(unlisted)).toEqual({});
  });

  it('lists no tool variable that is also a setting\'s', () => {
    const settings = new Set(ALL_SPECS.flatMap((spec) => spec.env ?? []));
    expect(Object.keys(TOOL_ENV_NAMES).filter((name) => settings.has(name))).toEqual([]);
  });
});
