import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodeFor, FltsError, type ErrorCode } from '../src/core/errors.js';
import { REPO_ROOT, runCli } from './helpers/run-cli.js';

const DATASETS = path.resolve(REPO_ROOT, '../shared/datasets');
const TRAIN = path.join(DATASETS, 'PobleSec.csv');
const TEST = path.join(DATASETS, 'PobleSec_test.csv');

const exitCodeOf = (code: ErrorCode): number => exitCodeFor(new FltsError(code, ''));

const homes: string[] = [];
function tempHome(): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-settings-bounds-'));
  homes.push(home);
  return home;
}
afterAll(() => homes.forEach((home) => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })));

const runIds = (home: string): string[] => {
  const runs = path.join(home, 'store', 'runs');
  return existsSync(runs) ? readdirSync(runs).filter((name) => /^[0-9a-f]{32}$/.test(name)) : [];
};

/** Settings each valid alone that the data cannot carry: refused with a code and the setting to change, before any work. */
describe.skipIf(!existsSync(TRAIN))('cli > settings the data cannot carry', () => {
  it('preprocess refuses a training sample no model could ever fit on, and writes nothing', async () => {
    const home = tempHome();
    const run = await runCli(['preprocess', '--home', home, '--train', TRAIN, '--test', TEST, '--sample-train-rows', '1', '--json']);
    expect(run.exitCode).toBe(exitCodeOf('FLTS_CONFIG_INVALID_VALUE'));
    expect(run.json.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'data.sampleTrainRows', value: 1 } });
    expect(run.json.error.message).toMatch(/SAMPLE_TRAIN_ROWS.*--sample-train-rows/);
    expect(existsSync(path.join(home, 'store', 'processed-data'))).toBe(false);
  });

  it('train refuses the model types a 12-row sample cannot carry, naming the rows each needs, and records no run', async () => {
    const home = tempHome();
    const prepared = await runCli(['preprocess', '--home', home, '--train', TRAIN, '--test', TEST, '--sample-train-rows', '12', '--sample-test-rows', '20', '--json']);
    expect(prepared.exitCode).toBe(0);
    // Told when the rows are processed: the defaults' window (10 + 1 + 1) fits 12 rows, MSTL's 30 rows and SNAIVE's
    // day (720 rows of 2 min) do not.
    expect(prepared.json.result.warnings).toEqual([expect.objectContaining({ code: 'too_few_training_rows', details: { rows: 12, needed: { SNAIVE: 722, MSTL: 32 } } })]);
    const train = await runCli(['train', '--home', home, '--model', 'SNAIVE,MSTL', '--json']);
    expect(train.exitCode).toBe(exitCodeOf('FLTS_MODEL_TOO_FEW_ROWS'));
    expect(train.json.error.code).toBe('FLTS_MODEL_TOO_FEW_ROWS');
    expect(train.json.error.message).toMatch(/^SNAIVE needs at least 722 training rows .* has 12\..*MSTL needs at least 32 training rows/);
    expect(train.json.error.hint).toMatch(/SAMPLE_TRAIN_ROWS/);
    expect(runIds(home)).toEqual([]);

    // A target that is no processed column: refused for every type at once, before any run.
    const target = await runCli(['train', '--home', home, '--model', 'NAIVE', '--json'], { env: { TARGETS: 'time' } });
    expect(target.json.error).toMatchObject({ code: 'FLTS_MODEL_TARGET_MISSING', details: { missing: ['time'] } });
    expect(runIds(home)).toEqual([]);

    const backtest = await runCli(['backtest', '--home', home, '--models', 'MSTL', '--folds', '2', '--json']);
    expect(backtest.exitCode).toBe(exitCodeOf('FLTS_MODEL_TOO_FEW_ROWS'));
    expect(backtest.json.error).toMatchObject({ code: 'FLTS_MODEL_TOO_FEW_ROWS', details: { model_type: 'MSTL', rows: 12, needed: 32 } });
  });

  it('train refuses a horizon longer than the test data, which would leave nothing to score', async () => {
    const home = tempHome();
    expect((await runCli(['preprocess', '--home', home, '--train', TRAIN, '--test', TEST, '--sample-train-rows', '60', '--sample-test-rows', '5'])).exitCode).toBe(0);
    const train = await runCli(['train', '--home', home, '--model', 'NAIVE', '--json'], { env: { OUTPUT_SEQ_LEN: '6' } });
    expect(train.json.error).toMatchObject({ code: 'FLTS_MODEL_TOO_FEW_ROWS', details: { test_rows: 5, needed: 6, setting: 'data.sampleTestRows' } });
    expect(runIds(home)).toEqual([]);
  });
});
