import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/run-cli.js';
import { scratchFolders } from './helpers/scratch-folders.js';

const mkdtemp = scratchFolders();

/** A TypeScript program of a library user's, type-checked against the built package. */
const CONSUMER = `import * as flts from 'flts';

const { settings } = flts.resolveSettings({ env: {}, flags: { home: '/tmp/home', 'training.epochs': 2 } });
const store: flts.ObjectStore = flts.createFsStore(settings.home);

export async function servedRun(): Promise<string> {
  return (await flts.loadRunForServing(store, settings, 'abc')).run.run_id;
}
`;

describe('the package types, as a TypeScript user compiles against them', () => {
  it('a strict project without skipLibCheck type-checks', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-library-types-'));
    await mkdir(path.join(dir, 'node_modules'));
    // The package as installed (its dependencies resolve from where it lives), and the Node types a user has.
    await symlink(REPO_ROOT, path.join(dir, 'node_modules/flts'), 'dir');
    await symlink(path.join(REPO_ROOT, 'node_modules/@types'), path.join(dir, 'node_modules/@types'), 'dir');
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    const compilerOptions = { strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'] };
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    await writeFile(path.join(dir, 'consumer.ts'), CONSUMER);
    const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);
});
