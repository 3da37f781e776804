import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';

describe('cli > environment: containers and CI runners with a bare environment', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flts-cli-env-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs under a uid the user database does not name with no HOME, SHELL, USER, TERM or LANG', async () => {
    // `docker run --user 12345 ... env -i`: os.homedir() has neither HOME nor a user database entry to go by.
    const nodeArgs = ['--import', path.join(__dirname, 'helpers/no-passwd-entry.mjs')];
    const unset = ['HOME', 'SHELL', 'USER', 'LOGNAME', 'TERM', 'LANG', 'LC_ALL'];
    const env = { FLTS_HOME: path.join(dir, 'bare-home'), SAMPLE_TRAIN_ROWS: '1500', SAMPLE_TEST_ROWS: '300' };
    // Before, each ended in a stack trace, exit 1: "uv_os_homedir returned ENOENT", thrown as oclif loaded.
    const [help, preprocess] = await Promise.all([runCli(['--help'], { env, nodeArgs, unset }), runCli(['preprocess', '--dataset', 'example', '--json'], { env, nodeArgs, unset })]);
    expect(help.exitCode, help.stderr).toBe(0);
    expect(help.stdout).toContain('USAGE');
    expect(preprocess.exitCode, preprocess.stderr).toBe(0);
    expect(preprocess.json.result.status).toBe('processed');
    const history = await runCli(['promote', '--history', '--json'], { env, nodeArgs, unset });
    expect(history.json?.result, history.stdout + history.stderr).toEqual({ history: [] });
  }, 60_000);
});
