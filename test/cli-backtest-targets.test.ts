import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainModels } from '../src/core/workflows/train.js';
import type { RunRecord } from '../src/core/registry/run-record.js';
import { createTrainedHome, type TrainedHome } from './helpers/poblesec-slice.js';
import { runCli } from './helpers/run-cli.js';

describe('cli > backtest and eval --rank-by backtest with runs of two target sets', () => {
  let trained: TrainedHome;
  let wide: RunRecord;

  beforeAll(async () => {
    trained = await createTrainedHome('flts-backtest-targets-', ['NAIVE']);
    // Trained after the run of the configured targets, by hand, for other columns: the newest NAIVE run.
    wide = (await trainModels({ models: ['NAIVE'] }, { ...trained.settings, training: { ...trained.settings.training, targets: ['down', 'up'] } }, { store: trained.store })).runs[0];
  }, 60_000);

  afterAll(() => trained?.remove());

  it('backtests the runs of the configured targets, or of --targets, and ranks each set on its own board', async () => {
    const args = ['--home', trained.home, '--models', 'NAIVE', '--horizon', '3', '--folds', '2', '--json'];
    const configured = await runCli(['backtest', ...args]);
    expect(configured.exitCode, configured.stderr).toBe(0);
    const record = JSON.parse(configured.stdout).result;
    expect(record.targets).toEqual(['down']);
    expect(record.models.map((m: { run_id: string }) => m.run_id)).toEqual([trained.runs[0].run_id]);

    const board = await runCli(['eval', '--home', trained.home, '--rank-by', 'backtest', '--json']);
    expect(board.exitCode, board.stderr).toBe(0);
    expect(JSON.parse(board.stdout).result.target_sets.map((set: { targets: string[] }) => set.targets)).toEqual([['down']]);

    const other = await runCli(['backtest', ...args, '--targets', 'up,down']);
    expect(other.exitCode, other.stderr).toBe(0);
    expect(JSON.parse(other.stdout).result).toMatchObject({ targets: ['down', 'up'], models: [{ run_id: wide.run_id }] });
    const human = await runCli(['eval', '--home', trained.home, '--rank-by', 'backtest']);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/; targets down,up\)$/);

    // A column the data does not hold is bad input, told as such.
    const unknown = await runCli(['backtest', ...args, '--targets', 'nope']);
    expect(unknown.exitCode).not.toBe(0);
    expect(JSON.parse(unknown.stdout).error.code).toBe('FLTS_MODEL_TARGET_MISSING');
  });

  it('says in its text report whether and how often the models are refitted', async () => {
    // Before, the default read "refit every never".
    const args = ['backtest', '--home', trained.home, '--models', 'NAIVE', '--horizon', '3', '--folds', '2'];
    const kept = await runCli(args);
    const refitted = await runCli([...args, '--refit-every', '2']);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(refitted.exitCode, refitted.stderr).toBe(0);
    const header = (run: { stdout: string }) => run.stdout.split('\n').find((line) => line.startsWith('config_hash '));
    expect(header(kept)).toContain(': 2 folds, horizon 3, stride 3, no refit (the trained models); rmse and score on the scaled data');
    expect(header(refitted)).toContain(': 2 folds, horizon 3, stride 3, refit every 2 folds; rmse and score on the scaled data');
    // Before, nothing said the rows were ranked by score, so a model of lower rmse ranked below another read as a bug.
    expect(header(kept)).toMatch(/; rmse and score on the scaled data, ranked by score = 0\.5 rmse \+ 0\.3 mae \+ 0\.2 mse of the fold means \(lower is better\)$/);
  }, 60_000);
});
