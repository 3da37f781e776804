import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnvironment, REPO_ROOT, runCli } from './helpers/run-cli.js';

/** The daemon's own executable (`flts-daemon` in the image). */
const DAEMON_ENTRY = path.join(REPO_ROOT, 'daemon/main.js');

/** Runs the built binary (or `entry`) with its stdout on `/dev/full`, a device every write to fails with ENOSPC (a full disk). */
async function runToFullDevice(args: readonly string[], entry = BIN): Promise<{ exitCode: number | null; stderr: string }> {
  const full = await open('/dev/full', 'w');
  try {
    const child = spawn(process.execPath, [entry, ...args], { cwd: REPO_ROOT, env: cleanEnvironment({}), stdio: ['ignore', full.fd, 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { exitCode, stderr };
  } finally {
    await full.close();
  }
}

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

  it('starts the daemon launcher (`flts-daemon`, daemon/main.js) under such a uid, with the image\'s HOME or none', async () => {
    const nodeArgs = ['--import', path.join(__dirname, 'helpers/no-passwd-entry.mjs')];
    const launch = (unset: string[], env: Record<string, string>) =>
      new Promise<{ exitCode: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [...nodeArgs, path.join(REPO_ROOT, 'daemon/main.js'), '--help'], { cwd: REPO_ROOT, env: cleanEnvironment(env, unset), stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
      });
    const bare = ['HOME', 'SHELL', 'USER', 'LOGNAME'];
    // The image sets HOME=/data and no SHELL; `env -i` neither. Before, both ended in a stack trace, exit 1
    // ("uv_os_get_passwd returned ENOENT", then "uv_os_homedir"), where `flts daemon` itself started.
    const runs = await Promise.all([launch(['SHELL', 'USER', 'LOGNAME'], { HOME: dir }), launch(bare, {})]);
    for (const run of runs) {
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toContain('$ flts daemon');
    }
  }, 60_000);

  it.skipIf(!existsSync('/dev/full'))('says stdout refused a write (a full disk) as a coded error on stderr, --json too, not a stack trace', async () => {
    const runs = await Promise.all([runToFullDevice(['config', 'show']), runToFullDevice(['promote', '--history', '--home', path.join(dir, 'full-home'), '--json']), runToFullDevice(['--help']), runToFullDevice(['--help'], DAEMON_ENTRY), runToFullDevice(['--version'], DAEMON_ENTRY)]);
    for (const run of runs) {
      // Before, exit 1 with "Error: ENOSPC: no space left on device, write" and its stack, thrown from oclif's listener.
      expect(run.stderr).toMatch(/^Error FLTS_PATH_UNUSABLE: Cannot write to standard output: ENOSPC: [^\n]*\nHint: Standard output goes to a file or device that refuses writes/);
      expect(run.stderr).not.toContain('    at ');
      expect(run.exitCode).toBe(2);
    }
  }, 60_000);

  it('says the working directory was removed under the command as a coded error, not an internal one', async () => {
    const gone = await mkdtemp(path.join(dir, 'gone-'));
    const nodeArgs = ['--import', path.join(__dirname, 'helpers/removed-cwd.mjs')];
    // Before, FLTS_INTERNAL (exit 1) "process.cwd failed ... uv_cwd", whose hint calls it a bug in flts.
    const history = await runCli(['promote', '--history', '--json'], { cwd: gone, nodeArgs });
    expect(existsSync(gone)).toBe(false);
    expect(history.json?.error, history.stdout + history.stderr).toMatchObject({ code: 'FLTS_PATH_UNUSABLE', details: { path: '.', errno: 'ENOENT' }, hint: expect.stringContaining('Change to a directory that exists') });
    expect(history.json.error.message).toMatch(/^The working directory no longer exists: it was removed while/);
    expect(history.exitCode).toBe(2);
  });
});

