import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS } from './helpers/poblesec-slice.js';
import { startSilentStore, type StoppedRun } from './helpers/silent-store.js';

describe('cli > predict, eval, train, backtest and bench stopped by Ctrl-C or SIGTERM', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-predict-eval-stop-'));
  // An S3 endpoint that accepts connections and never answers: each command waits on it until it is stopped.
  let silent: Awaited<ReturnType<typeof startSilentStore>>;
  const stopOnceAtWork = (args: string[], signal: NodeJS.Signals): Promise<StoppedRun> => silent.stopOnceAtWork(args, signal, { FLTS_HOME: home });

  beforeAll(async () => {
    silent = await startSilentStore('stop-test-secret');
  });

  afterAll(async () => {
    await silent.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('predict ends on SIGINT with FLTS_PREDICT_ABORTED on stderr and exit 5, not the signal\'s silent exit', async () => {
    const run = await stopOnceAtWork(['predict', '--data', path.join(DATASETS, 'PobleSec_test.csv')], 'SIGINT');
    expect(run.exitCode, run.stderr).toBe(5);
    expect(run.stderr).toContain('Error FLTS_PREDICT_ABORTED: Predict was stopped by SIGINT before it ended.\nHint: ');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  }, 60_000);

  it.each([
    ['train', 'SIGINT', 'FLTS_TRAIN_ABORTED', 'Training was stopped: NAIVE never started (no run recorded for it); finished: none.'],
    ['backtest', 'SIGTERM', 'FLTS_BACKTEST_ABORTED', 'Backtest stopped while it read the data and runs, before its first fold; nothing was stored.'],
    ['bench', 'SIGTERM', 'FLTS_BENCH_ABORTED', 'Benchmark stopped before it started a replica or sent a request: nothing was run.'],
  ] as const)('%s ends on %s while it reads from a store that does not answer with its coded stop at once, not after the store\'s time limit as unavailable', async (command, signal, code, message) => {
    const run = await stopOnceAtWork([command, ...(command === 'train' ? ['--model', 'NAIVE'] : []), '--json'], signal);
    expect(run.exitCode, run.stderr).toBe(5);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code, message });
    expect(run.stdout + run.stderr).not.toContain('stop-test-secret');
  }, 60_000);

  it('eval --json ends on SIGTERM with an FLTS_EVAL_ABORTED error document and exit 5', async () => {
    const run = await stopOnceAtWork(['eval', '--json'], 'SIGTERM');
    expect(run.exitCode, run.stderr).toBe(5);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'error', error: { code: 'FLTS_EVAL_ABORTED', kind: 'conflict', message: 'Eval was stopped by SIGTERM before its ranking was ready.', details: { signal: 'SIGTERM' } } });
    expect(run.stdout + run.stderr).not.toContain('stop-test-secret');
  }, 60_000);
});
