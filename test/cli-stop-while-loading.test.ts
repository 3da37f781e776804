import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: the executable's own helper, plain JavaScript without declarations.
import { stopCleanlyUntilHandled } from '../bin/early-signals.js';
import { BIN, cleanEnvironment, REPO_ROOT } from './helpers/run-cli.js';

const SIGNAL_AT_OCLIF = path.resolve(__dirname, 'helpers/signal-at-oclif.mjs');

describe('cli > a command stopped while its modules still load', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-stop-loading-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  /** Runs `flts <args>` signalled with `signal` as it asks for oclif, long before the command listens for signals. */
  async function signalledWhileLoading(args: string[], signal: NodeJS.Signals, env: Record<string, string> = {}) {
    const home = mkdtempSync(path.join(dir, 'home-'));
    const child = spawn(process.execPath, ['--import', SIGNAL_AT_OCLIF, BIN, ...args], {
      cwd: REPO_ROOT,
      env: cleanEnvironment({ FLTS_HOME: home, EARLY_SIGNAL: signal, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = await new Promise<number | string>((resolve) => child.on('close', (code, by) => resolve(code ?? String(by))));
    return { ended, stdout, stderr, left: readdirSync(home) };
  }

  it.each([
    [['train'], 'FLTS_TRAIN_ABORTED', 'Train'],
    [['eval'], 'FLTS_EVAL_ABORTED', 'Eval'],
    [['backtest'], 'FLTS_BACKTEST_ABORTED', 'Backtest'],
    [['preprocess'], 'FLTS_PREPROCESS_ABORTED', 'Preprocess'],
    [['predict', '--data', 'x.csv'], 'FLTS_PREDICT_ABORTED', 'Predict'],
    [['promote', '--best'], 'FLTS_PROMOTE_ABORTED', 'Promote'],
    [['promote-manual', '--yes', '--run', 'r', '--reason', 'x'], 'FLTS_PROMOTE_ABORTED', 'Promote'],
    [['export', '--run', 'r'], 'FLTS_EXPORT_ABORTED', 'Export'],
    [['bench'], 'FLTS_BENCH_ABORTED', 'Bench'],
    [['replay-offsets', '--group', 'g', '--to-earliest', '--topic', 't'], 'FLTS_OFFSETS_ABORTED', 'replay-offsets'],
  ])('flts %j on SIGINT ends with its coded stop (%s, exit 5) and does nothing, not with the signal\'s silent exit 130', async (args, code, name) => {
    const run = await signalledWhileLoading(args, 'SIGINT');
    expect(run.ended, run.stderr).toBe(5);
    expect(run.stderr).toMatch(new RegExp(`^Error ${code}: ${name} was stopped by SIGINT while it started, before it began its work: nothing was done\\.\\nHint: .+\\n$`));
    expect(run.stdout).toBe('');
    expect(run.left).toEqual([]);
  }, 60_000);

  it('ends bench on SIGTERM as on Ctrl-C, with FLTS_BENCH_ABORTED', async () => {
    const run = await signalledWhileLoading(['bench'], 'SIGTERM');
    expect(run.ended, run.stderr).toBe(5);
    expect(run.stderr).toContain('Error FLTS_BENCH_ABORTED: Bench was stopped by SIGTERM while it started');
  }, 60_000);

  it('prints the coded stop as the one --json error document on stdout, for --json and for FLTS_CONTENT_TYPE=json, on SIGTERM too', async () => {
    for (const [args, env] of [[['promote', '--run', 'r', '--json'], {}], [['promote', '--run', 'r'], { FLTS_CONTENT_TYPE: 'json' }]] as const) {
      const run = await signalledWhileLoading([...args], 'SIGTERM', env);
      expect(run.ended, run.stderr).toBe(5);
      expect(JSON.parse(run.stdout)).toEqual({
        status: 'error',
        error: { code: 'FLTS_PROMOTE_ABORTED', kind: 'conflict', message: 'Promote was stopped by SIGTERM while it started, before it began its work: nothing was done.', hint: expect.stringContaining('it promoted nothing'), details: { signal: 'SIGTERM', written: false } },
      });
      expect(run.stderr).toBe('');
    }
  }, 60_000);

  it('leaves a signal its default action where the command has no stop of its own: help, config', async () => {
    for (const args of [['train', '--help'], ['config', 'show']]) {
      const run = await signalledWhileLoading(args, 'SIGTERM');
      expect(run.ended, `${args.join(' ')}: ${run.stderr}`).toBe('SIGTERM');
    }
  }, 60_000);

  it('hands each signal over to the command from the moment the command listens for it itself', async () => {
    const count = (name: NodeJS.Signals): number => process.listenerCount(name);
    const before = { SIGINT: count('SIGINT'), SIGTERM: count('SIGTERM'), newListener: process.listenerCount('newListener') };
    stopCleanlyUntilHandled('train', [], {});
    expect([count('SIGINT'), count('SIGTERM')]).toEqual([before.SIGINT + 1, before.SIGTERM + 1]);
    const own = (): void => {};
    process.on('SIGINT', own);
    // Handed over once the command's listener is in, never leaving the signal without one (node would stop watching it).
    expect(count('SIGINT')).toBe(before.SIGINT + 2);
    await Promise.resolve();
    // The early answer to SIGINT is gone, that to SIGTERM stays until the command listens for SIGTERM as well.
    expect([count('SIGINT'), count('SIGTERM')]).toEqual([before.SIGINT + 1, before.SIGTERM + 1]);
    expect(process.listeners('SIGINT').at(-1)).toBe(own);
    process.on('SIGTERM', own);
    await Promise.resolve();
    expect([count('SIGINT'), count('SIGTERM')]).toEqual([before.SIGINT + 1, before.SIGTERM + 1]);
    expect(process.listenerCount('newListener')).toBe(before.newListener);
    process.off('SIGINT', own);
    process.off('SIGTERM', own);
    // A signal after the command let go of it (its work done) is not answered as one that came while it loaded.
    expect([count('SIGINT'), count('SIGTERM')]).toEqual([before.SIGINT, before.SIGTERM]);
  });
});
