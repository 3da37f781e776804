import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Backtest from '../src/commands/backtest.js';
import Bench from '../src/commands/bench.js';
import Daemon from '../src/commands/daemon.js';
import Eval from '../src/commands/eval.js';
import Export from '../src/commands/export.js';
import Predict from '../src/commands/predict.js';
import Preprocess from '../src/commands/preprocess.js';
import PromoteManual from '../src/commands/promote-manual.js';
import Promote from '../src/commands/promote.js';
import ReplayOffsets from '../src/commands/replay-offsets.js';
import Serve from '../src/commands/serve.js';
import Train from '../src/commands/train.js';
import { identifierFlag } from '../src/cli/identifier-flag.js';
import { createTrainedHome, DATASETS, type TrainedHome } from './helpers/poblesec-slice.js';
import { runCli } from './helpers/run-cli.js';

describe('cli > --identifier wherever the deployment scope is read or written', () => {
  it('is one flag, with one description, on every command whose work depends on the scope, and on no other', () => {
    const scoped = { Promote, PromoteManual, Eval, Serve, Predict, Daemon, Preprocess };
    for (const [name, command] of Object.entries(scoped)) expect({ name, flag: (command.flags as Record<string, unknown>).identifier }).toEqual({ name, flag: identifierFlag });
    // Runs, their test and backtest figures, exports and consumer offsets belong to no scope.
    const unscoped = { Train, Backtest, Export, Bench, ReplayOffsets };
    for (const [name, command] of Object.entries(unscoped)) expect({ name, flag: (command.flags as Record<string, unknown>).identifier }).toEqual({ name, flag: undefined });
  });

  describe('predict', () => {
    let trained: TrainedHome;
    const data = `${DATASETS}/PobleSec_test.csv`;

    beforeAll(async () => {
      trained = await createTrainedHome('flts-identifier-flag-', ['NAIVE']);
      // Promoted in scope plant-7 alone (below): the root pointer reference eval writes would serve every scope.
      await trained.store.delete(trained.settings.store.buckets.promotion, 'current.json');
    }, 120_000);

    afterAll(() => trained?.remove());

    it('forecasts with the run promoted in the scope --identifier names, over IDENTIFIER, and files its record there', async () => {
      const [run] = trained.runs;
      const promoted = await runCli(['promote', '--run', run.run_id, '--force', '--identifier', 'plant-7', '--home', trained.home, '--json']);
      expect(promoted.exitCode, promoted.stderr).toBe(0);

      const flagged = await runCli(['predict', '--data', data, '--identifier', 'plant-7', '--home', trained.home, '--json'], { env: { IDENTIFIER: 'plant-9' } });
      expect(flagged.exitCode, flagged.stderr).toBe(0);
      expect({ run: flagged.json.result.run_id, log: flagged.json.result.log_object_key.split('/')[0] }).toEqual({ run: run.run_id, log: 'plant-7' });

      // The scope IDENTIFIER names alone has no promotion.
      const other = await runCli(['predict', '--data', data, '--home', trained.home, '--json'], { env: { IDENTIFIER: 'plant-9' } });
      expect(other.json.error.code).toBe('FLTS_PREDICT_NO_PROMOTION');
    });
  });
});
