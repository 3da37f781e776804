import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnvironment, REPO_ROOT, runCli } from './helpers/run-cli.js';

const exec = promisify(execFile);

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);

// FLTS_DATA_DIR names the directory of data files; oclif reads the same variable as the place of a user's plugins.
describe('cli > a data directory holding a package.json', () => {
  let dir: string;
  let dataDir: string;
  let marker: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flts-cli-data-dir-'));
    dataDir = path.join(dir, 'data');
    marker = path.join(dir, 'plugin-ran');
    const plugin = path.join(dir, 'plugin');
    await mkdir(plugin, { recursive: true });
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(plugin, 'package.json'), JSON.stringify({ name: 'data-dir-plugin', version: '1.0.0', type: 'module', oclif: { hooks: { init: './hook.js' } } }));
    await writeFile(path.join(plugin, 'hook.js'), `import { writeFileSync } from 'node:fs';\nexport default async function () { writeFileSync(${JSON.stringify(marker)}, 'ran'); }\n`);
    await writeFile(path.join(dataDir, 'package.json'), JSON.stringify({ oclif: { plugins: [{ type: 'link', name: 'data-dir-plugin', root: plugin }] } }));
  });
  beforeEach(async () => {
    await rm(marker, { force: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('flts neither loads the plugins it names nor warns about it', async () => {
    const run = await runCli(['promote', '--history', '--json'], { env: { FLTS_HOME: path.join(dir, 'home'), FLTS_DATA_DIR: dataDir } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.result.history).toEqual([]);
    expect(await exists(marker)).toBe(false);
    expect(run.stderr).toBe('');
  });

  it('nor does daemon/main.js', async () => {
    const env = cleanEnvironment({ FLTS_HOME: path.join(dir, 'home'), FLTS_DATA_DIR: dataDir });
    const run = await exec(process.execPath, [path.join(REPO_ROOT, 'daemon/main.js'), '--help'], { cwd: REPO_ROOT, env });
    expect(run.stdout).toContain('USAGE');
    expect(await exists(marker)).toBe(false);
    expect(run.stderr).toBe('');
  });

  it('a package.json there that is not JSON draws no warning either', async () => {
    const broken = path.join(dir, 'broken');
    await mkdir(broken, { recursive: true });
    await writeFile(path.join(broken, 'package.json'), '{not json');
    const run = await runCli(['promote', '--history', '--json'], { env: { FLTS_HOME: path.join(dir, 'home'), FLTS_DATA_DIR: broken } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
  });
});
