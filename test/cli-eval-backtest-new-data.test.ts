import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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

const backtest = (): Promise<{ models: Array<{ model_type: string; run_id: string | null }>; data?: { processed_sha256?: string } }> => cli('backtest', '--models', 'NAIVE,SNAIVE', '--horizon', '3', '--folds', '2');

describe('cli > eval --rank-by backtest after new data under the same file names', () => {
  it('ranks only runs of the rows held now, says how many it left out, and backtests those runs alone', async () => {
    data.writeInputs(1000);
    const { config_hash: configHash } = await cli('preprocess');
    const old = (await cli('train', '--model', 'NAIVE,SNAIVE')).runs as Array<{ run_id: string; model_type: string }>;
    await backtest();
    const before = await cli('eval', '--rank-by', 'backtest');
    expect(before.rows.map((row: { run_id: string }) => row.run_id).sort()).toEqual(old.map((run) => run.run_id).sort());

    // New rows under the same file name: the same config_hash, and the stored backtest scored runs of the rows they replaced.
    data.writeInputs(1100);
    expect((await cli('preprocess')).config_hash).toBe(configHash);
    const [fresh] = (await cli('train', '--model', 'NAIVE')).runs as Array<{ run_id: string }>;
    const stale = await runCli(['eval', '--rank-by', 'backtest', '--json'], { env });
    expect(stale.exitCode, stale.stdout).toBe(4);
    expect(stale.json.error).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { config_hash: configHash, runs_of_replaced_rows: 2 } });
    expect(stale.json.error.message).toContain('new data under the same file names replaced');

    // A new backtest takes the NAIVE run of the new rows, and SNAIVE, whose only run is of the old rows, as it would without one.
    const again = await backtest();
    expect(again.models.map((model) => [model.model_type, model.run_id])).toEqual([['NAIVE', fresh.run_id], ['SNAIVE', null]]);
    const board = await cli('eval', '--rank-by', 'backtest');
    expect(board.rows.map((row: { run_id: string }) => row.run_id)).toEqual([fresh.run_id]);
    expect(board.runs_of_replaced_rows).toBeUndefined();
  }, 300_000);

  it('leaves out runs that record no rows when their backtest was made on rows new data replaced, until a backtest of the new rows', async () => {
    data.writeInputs(1000);
    const { config_hash: configHash } = await cli('preprocess');
    const runs = (await cli('train', '--model', 'NAIVE,SNAIVE')).runs as Array<{ run_id: string }>;
    // Runs of a flts that recorded no lineage of their rows (nor sealed its records): nothing tells which rows they were trained on.
    for (const { run_id } of runs) {
      const file = path.join(env.FLTS_HOME, 'store', 'runs', run_id, 'run.json');
      const record = JSON.parse(readFileSync(file, 'utf8'));
      delete record.data.processed_sha256;
      delete record.data.fingerprints;
      delete record.record_sha256;
      writeFileSync(file, JSON.stringify(record));
    }
    const ids = runs.map((run) => run.run_id).sort();
    const first = await backtest();
    expect(first.data?.processed_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await cli('eval', '--rank-by', 'backtest')).rows.map((row: { run_id: string }) => row.run_id).sort()).toEqual(ids);

    // The folds scored the rows new data under the same file name replaced: no ranking of these rows.
    data.writeInputs(1100);
    expect((await cli('preprocess')).config_hash).toBe(configHash);
    const stale = await runCli(['eval', '--rank-by', 'backtest', '--json'], { env });
    expect(stale.exitCode, stale.stdout).toBe(4);
    expect(stale.json.error).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { config_hash: configHash, runs_of_replaced_rows: 2 } });
    expect(stale.json.error.message).toContain('new data under the same file names replaced');

    // A backtest of the rows held now ranks them again: the runs still count as trained on any rows, as they always did.
    expect((await backtest()).data?.processed_sha256).not.toBe(first.data?.processed_sha256);
    const board = await cli('eval', '--rank-by', 'backtest');
    expect(board.rows.map((row: { run_id: string }) => row.run_id).sort()).toEqual(ids);
    expect(board.runs_of_replaced_rows).toBeUndefined();
  }, 300_000);
});
