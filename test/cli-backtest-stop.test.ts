import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPreprocess } from '../src/core/preprocess/run-preprocess.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';
import { BIN, cleanEnvironment, REPO_ROOT } from './helpers/run-cli.js';

describe('cli > backtest stopped by Ctrl-C', () => {
  let slice: SliceHome;
  beforeAll(async () => {
    slice = createSliceHome('flts-cli-backtest-stop-');
    await runPreprocess(slice.settings, { store: slice.store });
  }, 60_000);
  afterAll(() => slice?.remove());

  it('ends with FLTS_BACKTEST_ABORTED (exit 5) once its first fold is reported, not with the signal\'s silent exit', async () => {
    const args = ['backtest', '--home', slice.home, '--models', 'LSTM', '--refit-every', '1', '--folds', '10', '--horizon', '3'];
    const env = cleanEnvironment({ HIDDEN_SIZE: '8', FLTS_BACKTEST_REFIT_EPOCHS: '1' });
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Each later fold refits the network first, so the signal lands with folds still to go.
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/LSTM: 1\/10 folds/.test(stdout)) resolve();
      }),
    );
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(5);
    expect(stderr).toContain('Error FLTS_BACKTEST_ABORTED: Backtest stopped at LSTM, with 0 of 1 model type(s) done; nothing was stored.');
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
