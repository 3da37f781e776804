import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainedHome, type TrainedHome } from './helpers/poblesec-slice.js';
import { runCli } from './helpers/run-cli.js';

describe('cli > eval --rank-by names where its figures come from', () => {
  let trained: TrainedHome;

  beforeAll(async () => {
    trained = await createTrainedHome('flts-eval-rank-by-', ['NAIVE']);
    const backtest = await runCli(['backtest', '--home', trained.home, '--models', 'NAIVE', '--horizon', '3', '--folds', '2', '--json']);
    expect(backtest.exitCode, backtest.stderr).toBe(0);
  }, 60_000);

  afterAll(() => trained?.remove());

  it('says the backtest scoreboard holds fold means, not held-out test metrics', async () => {
    const byBacktest = await runCli(['eval', '--home', trained.home, '--rank-by', 'backtest']);
    expect(byBacktest.exitCode, byBacktest.stderr).toBe(0);
    const [first] = byBacktest.stdout.split('\n');
    expect(first).toContain('mean fold metrics of the stored `flts backtest`');
    expect(first).not.toContain('held-out test file');

    const byTest = await runCli(['eval', '--home', trained.home]);
    expect(byTest.stdout.split('\n')[0]).toContain('metrics on the held-out test file');
  });
});
