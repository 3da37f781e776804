import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run-cli.js';

/** A PATH with every command of the given directories except the named ones (here: Java and Maven). */
function pathWithout(commands: string[]): { dir: string; path: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-path-'));
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const source of dirs) {
    let names: string[];
    try {
      names = readdirSync(source);
    } catch {
      continue;
    }
    for (const name of names) {
      if (commands.includes(name)) continue;
      try {
        symlinkSync(path.join(source, name), path.join(dir, name));
      } catch {
        // An earlier directory already provides this name, as it would on the real PATH.
      }
    }
  }
  return { dir, path: [path.dirname(process.execPath), dir].join(path.delimiter) };
}

function vitest(file: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', file], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, '') });
    });
  });
}

describe('test servers: a missing toolchain', () => {
  const noJava = pathWithout(['java', 'mvn']);
  afterAll(() => rmSync(noJava.dir, { recursive: true, force: true }));
  const env = { PATH: noJava.path, KAFKA_BOOTSTRAP_SERVERS: '', MINIO_ENDPOINT: '' };

  it('skips the tests that need it, named in one line', async () => {
    const { code, output } = await vitest('test/integration/s3-store.test.ts', { ...env, CI: 'false' });
    expect(code, output).toBe(0);
    expect(output.match(/java, mvn not found/g) ?? [], output).toHaveLength(1);
    expect(output).toMatch(/^\[test servers\] infra: tests that need it are skipped: java, mvn not found, so Kafka and S3Proxy/m);
    expect(output).toMatch(/Tests {2}1 skipped \(1\)/);
  });

  it('fails them instead under CI=true', async () => {
    const { code, output } = await vitest('test/integration/s3-store.test.ts', { ...env, CI: 'true' });
    expect(code).not.toBe(0);
    expect(output).toContain('CI=true and java, mvn not found');
  });
});
