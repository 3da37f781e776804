import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';

// Preloaded into the command: lists, on stderr at exit, the packages of every module the process loaded.
const PACKAGE_LOG = `
import { registerHooks } from 'node:module';
const packages = new Set();
registerHooks({
  load(url, context, next) {
    const name = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url)?.[1];
    if (name) packages.add(name);
    return next(url, context);
  },
});
process.on('exit', () => process.stderr.write('loaded packages: ' + JSON.stringify([...packages].sort()) + '\\n'));
`;

function loadedPackages(stderr: string): string[] {
  const line = stderr.split('\n').find((text) => text.startsWith('loaded packages: '));
  if (!line) throw new Error(`no package list on stderr:\n${stderr}`);
  return JSON.parse(line.slice('loaded packages: '.length)) as string[];
}

describe('cli > start-up', () => {
  let dir: string;
  let hook: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flts-cli-startup-'));
    hook = path.join(dir, 'package-log.mjs');
    await writeFile(hook, PACKAGE_LOG);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a command on the embedded store and bus that reads no data loads none of kafkajs, undici and nodejs-polars', async () => {
    const run = await runCli(['promote', '--history', '--json'], { env: { FLTS_HOME: path.join(dir, 'home') }, nodeArgs: ['--import', hook] });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.result.history).toEqual([]);
    const packages = loadedPackages(run.stderr);
    // The hook itself works: the CLI's own framework is listed.
    expect(packages).toContain('@oclif/core');
    expect(packages).not.toContain('kafkajs');
    expect(packages).not.toContain('undici');
    expect(packages).not.toContain('nodejs-polars');
  });
});
