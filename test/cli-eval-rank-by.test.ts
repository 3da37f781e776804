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

describe('cli > eval refuses flags its ranking would leave unused', () => {
  // Refused before any settings or store are read: the home needs nothing in it.
  it.each([
    [['--rank-by', 'backtest', '--plot'], 'plot', /--plot .* nothing to draw with --rank-by backtest/],
    [['--live', '--plot'], 'plot', /nothing to draw with --live/],
    [['--source', 'mlflow', '--plot'], 'plot', /nothing to draw with --source mlflow/],
    [['--live', '--rank-by', 'backtest'], 'rank-by', /--live ranks by its own figures/],
    [['--source', 'mlflow', '--rank-by', 'backtest'], 'rank-by', /--source mlflow ranks by its own figures/],
    [['--live', '--source', 'mlflow'], 'source', /--live ranks the figures of serving replicas/],
    // Before, these two were dropped without a word: --live ranked every run, and neither showed a gate.
    [['--live', '--config-hash', 'a'.repeat(64)], 'config-hash', /--live ranks every run .* takes no --config-hash/],
    [['--live', '--min-improvement', '5'], 'min-improvement', /--live shows no quality gate/],
    [['--source', 'mlflow', '--min-improvement', '5'], 'min-improvement', /--source mlflow shows no quality gate/],
  ])('eval %j: one JSON error on stdout, exit 2', async (args, flag, message) => {
    const run = await runCli(['eval', '--home', '/nonexistent/flts-eval-flags', ...args, '--json']);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.json.status).toBe('error');
    expect(run.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag } });
    expect(run.json.error.message).toMatch(message);
  });
});

describe('cli > eval --source mlflow without a tracking server named', () => {
  it('says MLFLOW_TRACKING_URI is not set, not that an empty value was given wrong', async () => {
    // The config_hash is named, so the ranking reaches the tracking settings before it reads the (absent) store.
    const run = await runCli(['eval', '--home', '/nonexistent/flts-eval-mlflow', '--source', 'mlflow', '--config-hash', 'a'.repeat(64), '--json']);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'tracking.uri' } });
    expect(run.json.error.message).toMatch(/^MLFLOW_TRACKING_URI \(setting tracking\.uri\) is not set: /);
    expect(run.json.error.message).not.toContain('= ""');
  });
});
