import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGrowingDataHome, type GrowingDataHome } from './helpers/growing-data-home.js';
import { runCli } from './helpers/run-cli.js';

let data: GrowingDataHome;
let env: Record<string, string>;

beforeEach(() => {
  data = createGrowingDataHome('flts-cli-eval-backtest-rows-');
  env = data.env;
});
afterEach(() => data.remove());

async function cli(...args: string[]): Promise<any> {
  const run = await runCli([...args, '--json'], { env, timeoutMs: 120_000 });
  expect(run.exitCode, run.stdout + run.stderr).toBe(0);
  return run.json.result;
}

const backtest = (): Promise<{ models: Array<{ model_type: string; run_id: string | null }> }> => cli('backtest', '--models', 'NAIVE,SNAIVE', '--horizon', '3', '--folds', '2');

describe('cli > eval --rank-by backtest after new data under the same file names', () => {
  it('ranks only runs of the rows held now, says how many it left out, and backtests those runs alone', async () => {
    data.writeInputs(1000);
    const { configHash } = await cli('preprocess');
    const old = (await cli('train', '--model', 'NAIVE,SNAIVE')).runs as Array<{ run_id: string; model_type: string }>;
    await backtest();
    const before = await cli('eval', '--rank-by', 'backtest');
    expect(before.rows.map((row: { run_id: string }) => row.run_id).sort()).toEqual(old.map((run) => run.run_id).sort());

    // New rows under the same file name: the same config_hash, and the stored backtest scored runs of the rows they replaced.
    data.writeInputs(1100);
    expect((await cli('preprocess')).configHash).toBe(configHash);
    const [fresh] = (await cli('train', '--model', 'NAIVE')).runs as Array<{ run_id: string }>;
    const stale = await runCli(['eval', '--rank-by', 'backtest', '--json'], { env });
    expect(stale.exitCode, stale.stdout).toBe(4);
    expect(stale.json.error).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { configHash, runsOfReplacedRows: 2 } });
    expect(stale.json.error.message).toContain('new data under the same file names replaced');

    // A new backtest takes the NAIVE run of the new rows, and SNAIVE, whose only run is of the old rows, as it would without one.
    const again = await backtest();
    expect(again.models.map((model) => [model.model_type, model.run_id])).toEqual([['NAIVE', fresh.run_id], ['SNAIVE', null]]);
    const board = await cli('eval', '--rank-by', 'backtest');
    expect(board.rows.map((row: { run_id: string }) => row.run_id)).toEqual([fresh.run_id]);
    expect(board.runs_of_replaced_rows).toBeUndefined();
  }, 300_000);
});
