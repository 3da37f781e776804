import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../src/core/config/settings.js';
import { loadProcessedData } from '../src/core/preprocess/processed-data.js';
import { createFsStore } from '../src/core/storage/fs-store.js';
import { REPO_ROOT, runCli } from './helpers/run-cli.js';

const DATASETS = path.resolve(REPO_ROOT, '../shared/datasets');
const TRAIN = path.join(DATASETS, 'PobleSec.csv');
const TEST = path.join(DATASETS, 'PobleSec_test.csv');
const DEFAULT_HASH = '6ce79cfae0029f0499e5ca7a14f996ee0fe8c7d4f2a4bbf2fe78d3ae6b155ea9';
const COLUMNS = ['down', 'up', 'rnti_count', 'mcs_down', 'mcs_down_var', 'mcs_up', 'mcs_up_var', 'rb_down', 'rb_down_var', 'rb_up', 'rb_up_var', 'min_of_day_sin', 'min_of_day_cos', 'day_of_week_sin', 'day_of_week_cos', 'day_of_year_sin', 'day_of_year_cos'];

const homes: string[] = [];
function tempHome(): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-preprocess-'));
  homes.push(home);
  return home;
}
afterAll(() => homes.forEach((home) => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })));

/** The raw `down` column, read without flts code. */
function rawDown(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split('\n').slice(1).map((line) => Number(line.split(',')[1]));
}

describe.skipIf(!existsSync(TRAIN))('cli > preprocess (PobleSec)', () => {
  const home = tempHome();
  const args = ['preprocess', '--home', home, '--train', TRAIN, '--test', TEST];

  it('processes the reference dataset with the reference default hash, then reports cached', async () => {
    const first = await runCli(args);
    expect(first.stderr).not.toMatch(/Error FLTS_/);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain(`config_hash ${DEFAULT_HASH}`);
    expect(first.stdout).toMatch(/processed: train 15927 x 17, test 3982 x 17/);
    expect(first.stdout).toContain('PobleSec.csv');

    const second = await runCli(args);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain(DEFAULT_HASH);
    expect(second.stdout).toMatch(/^cached/m);
  });

  it('wrote outputs: 17 columns in reference order, train scaled into [0, 1], test on the train scale', async () => {
    const settings = resolveSettings({ flags: { home } }).settings;
    const data = await loadProcessedData(createFsStore(path.join(home, 'store')), settings);
    expect(data.configHash).toBe(DEFAULT_HASH);
    expect(data.columns).toEqual(COLUMNS);
    expect(data.train.time.length).toBe(15927);
    expect(data.test.time.length).toBe(3982);
    expect(data.train.time[0]).toBe(Date.UTC(2018, 1, 5, 23, 40));
    expect(data.test.time[3981]).toBe(Date.UTC(2018, 2, 5, 15, 16));
    for (const column of COLUMNS) {
      const values = data.train.values[column];
      expect(Math.min(...values), column).toBe(0);
      expect(Math.max(...values), column).toBeCloseTo(1, 12);
    }
    const trainDown = rawDown(TRAIN);
    const testDown = rawDown(TEST);
    const min = Math.min(...trainDown);
    const max = Math.max(...trainDown);
    expect(min).toBe(8607664); // the reference documents down from 8.6e6
    const i = data.scaler.columns.indexOf('down');
    expect(data.scaler.offset[i]).toBe(min);
    expect(data.scaler.scale[i]).toBe(max - min);
    // test is transformed with the train min/max, not re-fitted on itself
    expect(data.test.values.down[0]).toBeCloseTo((testDown[0] - min) / (max - min), 12);
    expect(data.sidecar.flts?.imputed_cells).toBe(22); // the reference counts 22 NaN cells in train, none in test
    expect(data.sidecar).toMatchObject({ row_count: 15927, train_source_object: 'PobleSec.csv', scaler_type: 'MinMaxScaler' });
  });

  it('--json returns the result object', async () => {
    const run = await runCli([...args, '--json']);
    expect(run.exitCode).toBe(0);
    expect(run.json).toMatchObject({
      status: 'ok',
      result: {
        status: 'cached',
        config_hash: DEFAULT_HASH,
        train: { rows: 15927, columns: 17 },
        test: { rows: 3982, columns: 17 },
        columns: COLUMNS,
        bucket: 'processed-data',
        fingerprints: { train: { file: 'PobleSec.csv', bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } },
        timings: { total_ms: expect.any(Number) },
        warnings: [],
      },
    });
    const forced = await runCli([...args, '--json', '--force']);
    // Every column, scaled, keeps its values apart in float32: no scaled_values_indistinct (nor any other warning).
    expect(forced.json.result).toMatchObject({ status: 'processed', warnings: [], output_keys: expect.arrayContaining(['processed_data.parquet', `${DEFAULT_HASH}/scaler.json`]) });
    expect(forced.json.result.inputs.train).toMatchObject({ rows: 15927, columns: 11 });
  });
});

describe('cli > preprocess (back to a version processed before)', () => {
  it('makes the version kept under its config_hash the latest again as stored, with the created_at of its first processing', async () => {
    const home = tempHome();
    const preprocess = async (...flags: string[]) => {
      const run = await runCli(['preprocess', '--home', home, '--dataset', 'example', '--sample-train-rows', '300', '--json', ...flags]);
      expect(run.exitCode, run.stderr).toBe(0);
      return run.json.result;
    };
    const bucket = path.join(home, 'store', 'processed-data');
    const first = await preprocess();
    const kept = readFileSync(path.join(bucket, first.config_hash, 'processed_data.meta.json'), 'utf8');
    const other = await preprocess('--salt', 'other');
    expect(other.config_hash).not.toBe(first.config_hash);

    // Before, the same inputs were recomputed and written again, dated now: newer than the version that replaced them.
    const back = await preprocess();
    expect(back).toMatchObject({ status: 'reused', config_hash: first.config_hash, created_at: first.created_at, restored_keys: expect.arrayContaining(['processed_data.parquet', 'processed_data.meta.json']) });
    expect(readFileSync(path.join(bucket, first.config_hash, 'processed_data.meta.json'), 'utf8')).toBe(kept);
    expect(readFileSync(path.join(bucket, 'processed_data.parquet'))).toEqual(readFileSync(path.join(bucket, first.config_hash, 'processed_data.parquet')));
    const latest = JSON.parse(readFileSync(path.join(bucket, 'processed_data.meta.json'), 'utf8'));
    expect(latest).toEqual({ ...JSON.parse(kept), output_object: 'processed_data.parquet' });
    const data = await loadProcessedData(createFsStore(path.join(home, 'store')), resolveSettings({ flags: { home } }).settings);
    expect(data.configHash).toBe(first.config_hash);
    expect(data.sidecar.flts?.created_at).toBe(first.created_at);

    expect(await preprocess()).toMatchObject({ status: 'cached', created_at: first.created_at });
    const human = await runCli(['preprocess', '--home', home, '--dataset', 'example', '--sample-train-rows', '300', '--salt', 'other']);
    expect(human.stdout).toContain(`reused (processed from these inputs at ${other.created_at}, kept under its config_hash`);
  });
});

describe('cli > preprocess (the same rows in other bytes)', () => {
  it('keeps the version stored, with its created_at ("unchanged"), and processes rows that did change', async () => {
    const home = tempHome();
    const data = path.join(home, 'data');
    mkdirSync(data);
    const train = readFileSync(path.join(REPO_ROOT, 'examples/data/example.csv'), 'utf8');
    const test = readFileSync(path.join(REPO_ROOT, 'examples/data/example_test.csv'), 'utf8');
    const env = { FLTS_DATA_DIR: data, TRAIN_FILE: 'train.csv', TEST_FILE: 'test.csv' };
    const preprocess = async () => {
      const run = await runCli(['preprocess', '--home', home, '--json'], { env });
      expect(run.exitCode, run.stderr).toBe(0);
      return run.json.result;
    };
    writeFileSync(path.join(data, 'train.csv'), train);
    writeFileSync(path.join(data, 'test.csv'), test);
    const first = await preprocess();
    const sidecar = path.join(home, 'store', 'processed-data', 'processed_data.meta.json');
    const stored = readFileSync(sidecar, 'utf8');

    // Saved again with Windows line endings: other bytes, the same rows. Before, written again under a new created_at.
    writeFileSync(path.join(data, 'train.csv'), train.replaceAll('\n', '\r\n'));
    const resaved = await preprocess();
    expect(resaved).toMatchObject({ status: 'unchanged', config_hash: first.config_hash, created_at: first.created_at, inputs: { train: { rows: 5040 } } });
    expect(resaved.fingerprints.train.sha256).not.toBe(first.fingerprints.train.sha256);
    expect(readFileSync(sidecar, 'utf8')).toBe(stored);

    writeFileSync(path.join(data, 'train.csv'), train.split('\n').slice(0, 4001).join('\n'));
    const fewer = await preprocess();
    expect(fewer).toMatchObject({ status: 'processed', config_hash: first.config_hash, train: { rows: 4000 } });
    expect(fewer.created_at > first.created_at).toBe(true);
  });
});

describe('cli > preprocess (errors)', () => {
  it('rejects an invalid environment value with exit 2, naming the setting', async () => {
    const run = await runCli(['preprocess', '--home', tempHome()], { env: { SAMPLE_STRATEGY: 'tail' } });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('SAMPLE_STRATEGY');
    expect(run.stderr).toMatch(/head/);
  });

  it('reports a missing input file with exit 4 and a JSON error', async () => {
    const run = await runCli(['preprocess', '--home', tempHome(), '--train', 'nope.csv', '--test', 'nope_test.csv', '--json']);
    expect(run.exitCode).toBe(4);
    expect(run.json).toMatchObject({ status: 'error', error: { code: 'FLTS_DATA_FILE_NOT_FOUND' } });
  });

  it('finds --dataset NAME in the working directory, then in the shipped example data; FLTS_DATA_DIR alone when set', async () => {
    const elsewhere = tempHome();
    const shipped = path.join(REPO_ROOT, 'examples/data');
    const example = await runCli(['preprocess', '--home', tempHome(), '--dataset', 'example', '--json'], { cwd: elsewhere });
    expect(example.exitCode, example.stderr).toBe(0);
    expect(example.json.result.inputs.train.path).toBe(path.join(shipped, 'example.csv'));

    const absent = await runCli(['preprocess', '--home', tempHome(), '--dataset', 'absent', '--json'], { cwd: elsewhere });
    expect(absent.exitCode).toBe(4);
    expect(absent.json.error).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', details: { searched: [elsewhere, shipped] } });
    expect(absent.json.error.message).toContain(`absent.csv not found; looked in ${elsewhere}, ${shipped}`);

    const own = await runCli(['preprocess', '--home', tempHome(), '--dataset', 'example', '--json'], { cwd: REPO_ROOT, env: { FLTS_DATA_DIR: elsewhere } });
    expect(own.exitCode).toBe(4);
    expect(own.json.error.details.searched).toEqual([elsewhere]);
  });

  it('names the file a missing name differs from only in case, from --dataset and from a path', async () => {
    const shipped = path.join(REPO_ROOT, 'examples/data');
    const elsewhere = tempHome();
    // Before, both said only "not found", on a directory that holds the file under the name's other case.
    const [dataset, given] = await Promise.all([
      runCli(['preprocess', '--home', tempHome(), '--dataset', 'EXAMPLE', '--json'], { cwd: elsewhere, env: { FLTS_DATA_DIR: shipped } }),
      runCli(['preprocess', '--home', tempHome(), '--train', path.join(shipped, 'Example.csv'), '--test', path.join(shipped, 'example_test.csv'), '--json'], { cwd: elsewhere }),
    ]);
    expect(dataset.exitCode).toBe(4);
    expect(dataset.json.error).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', details: { file: 'EXAMPLE.csv', searched: [shipped], similar: [path.join(shipped, 'example.csv')] } });
    expect(dataset.json.error.message).toContain(`did you mean ${path.join(shipped, 'example.csv')}?`);
    expect(given.exitCode).toBe(4);
    expect(given.json.error).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', details: { similar: [path.join(shipped, 'example.csv')] } });
  });

  it('refuses every unusable data file with a coded input error (exit 3) and a hint about that file, never a stack', async () => {
    const data = tempHome();
    const example = readFileSync(path.join(REPO_ROOT, 'examples/data/example.csv'), 'utf8');
    const exampleTest = readFileSync(path.join(REPO_ROOT, 'examples/data/example_test.csv'), 'utf8');
    const write = (name: string, text: string) => writeFileSync(path.join(data, name), text);
    write('good.csv', example);
    write('good_test.csv', exampleTest);
    write('pipes.csv', example.replaceAll(',', '|'));
    write('spaces.csv', example.replaceAll(',', ' '));
    write('header.csv', `${example.split('\n')[0]}\n`);
    write('empty.csv', '');
    write('blank.csv', '\n\n');
    mkdirSync(path.join(data, 'folder.csv'));
    write('narrow_test.csv', exampleTest.split('\n').map((line) => line.split(',').slice(0, 2).join(',')).join('\n'));
    const cases: Array<[train: string, test: string, code: string, message: RegExp, hint: RegExp]> = [
      // Before: FLTS_DATA_MISSING_TIME_COLUMN (no column labeled 'time'), as if the column were not there.
      ['pipes.csv', 'good_test.csv', 'FLTS_DATA_UNREADABLE', /reads as one column: its names are separated by '\|'/, /commas between the columns, or make its first line sep=\|/],
      ['spaces.csv', 'good_test.csv', 'FLTS_DATA_UNREADABLE', /separated by spaces/, /commas between the columns/],
      // Before: the hint spoke of rows left after sampling and cleaning.
      ['header.csv', 'good_test.csv', 'FLTS_DATA_EMPTY', /header\.csv: the file has no data rows/, /header and nothing under it/],
      // Before: FLTS_DATA_UNREADABLE 'cannot read as csv: no data: empty CSV'.
      ['empty.csv', 'good_test.csv', 'FLTS_DATA_EMPTY', /empty\.csv: the file is empty \(0 bytes\)/, /Give the data file itself/],
      ['blank.csv', 'good_test.csv', 'FLTS_DATA_EMPTY', /holds only blank lines/, /Give the data file itself/],
      ['folder.csv', 'good_test.csv', 'FLTS_DATA_NOT_A_FILE', /is a directory/, /regular CSV or Parquet file/],
      // Before: FLTS_DATA_UNREADABLE with the hint 'The file must be a CSV with a header row'.
      ['good.csv', 'narrow_test.csv', 'FLTS_DATA_MISSING_COLUMNS', /narrow_test\.csv lacks training column\(s\) up, rnti_count, .*; it has down\./, /same columns: give the two files of one dataset/],
    ];
    const runs = await Promise.all(cases.map(([train, test]) => runCli(['preprocess', '--home', tempHome(), '--train', train, '--test', test, '--json'], { env: { FLTS_DATA_DIR: data } })));
    runs.forEach((run, i) => {
      const [train, , code, message, hint] = cases[i];
      expect(run.exitCode, `${train}: ${run.stdout}${run.stderr}`).toBe(3);
      expect(run.json.error, train).toMatchObject({ code, message: expect.stringMatching(message), hint: expect.stringMatching(hint) });
      expect(run.stderr, train).not.toMatch(/^\s+at /m);
    });
  });

  it('processes the shipped example data', async () => {
    const run = await runCli(['preprocess', '--home', tempHome(), '--train', 'examples/data/example.csv', '--test', 'examples/data/example_test.csv', '--json']);
    expect(run.exitCode).toBe(0);
    expect(run.json.result).toMatchObject({ status: 'processed', train: { rows: 5040, columns: 17 }, test: { rows: 1440, columns: 17 }, warnings: [] });
  });
});

describe('cli > preprocess (a training column that, scaled, float32 cannot tell apart)', () => {
  // A counter of about 1e9 with one glitch row of 0: min-max scaled, its values are all 1 in float32. It was refused
  // (FLTS_DATA_OUT_OF_RANGE), stopping the site's whole preprocess and training.
  it('processes it and warns on every run, cached too, in text and --json', async () => {
    const home = tempHome();
    const data = path.join(home, 'data');
    mkdirSync(data);
    const counter = (lines: string[]) => lines.map((line, i) => (i === 0 ? line : line.replace(/,[^,]*,/, `,${1e9 + (i % 20)},`)));
    const train = counter(readFileSync(path.join(REPO_ROOT, 'examples/data/example.csv'), 'utf8').trim().split('\n'));
    train[100] = train[100].replace(/,[^,]*,/, ',0,');
    writeFileSync(path.join(data, 'train.csv'), `${train.join('\n')}\n`);
    writeFileSync(path.join(data, 'test.csv'), `${counter(readFileSync(path.join(REPO_ROOT, 'examples/data/example_test.csv'), 'utf8').trim().split('\n')).join('\n')}\n`);
    const args = ['preprocess', '--home', home, '--train', 'train.csv', '--test', 'test.csv'];
    const env = { FLTS_DATA_DIR: data };
    const warning =
      "warning: Column 'down' of the training data spans 0 to 1000000019: 20 of its 21 distinct values (1000000000 to 1000000019), scaled by the MinMaxScaler fitted on the training data (offset 0, scale 1000000019), are all 1 in the float32 the models compute in, so the models see them as one value. A few extreme values (a glitch row, a sentinel) or a span of many orders of magnitude set the scale: correct or remove the extreme values, give the column's logarithm, or leave the column out.";
    for (const outcome of ['processed', 'cached']) {
      const text = await runCli(args, { env });
      expect(text.exitCode, text.stderr).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`^${outcome}\\b.*: train 5040 x 17, test 1440 x 17$`, 'm'));
      expect(text.stdout.split('\n').filter((line) => line.startsWith('warning: '))).toEqual([warning]);
    }
    const json = await runCli([...args, '--json'], { env });
    expect(json.json.result).toMatchObject({ status: 'cached' });
    expect(json.json.result.warnings).toEqual([
      {
        code: 'scaled_values_indistinct',
        message: warning.slice('warning: '.length),
        details: { column: 'down', method: 'MinMaxScaler', offset: 0, scale: 1000000019, min: 0, max: 1000000019, distinct_values: 21, indistinct_values: 20, from: 1e9, to: 1000000019, float32: 1 },
      },
    ]);
  }, 60_000);
});

describe('cli > preprocess (a test file not after the training data)', () => {
  const example = readFileSync(path.join(REPO_ROOT, 'examples/data/example.csv'), 'utf8').trim().split('\n');
  const exampleTest = readFileSync(path.join(REPO_ROOT, 'examples/data/example_test.csv'), 'utf8').trim().split('\n');

  // The warning was given by the run that processed the files only: the next one, cached, said nothing.
  it('warns on every run, cached too, of a test file that repeats the last training row, in text and --json', async () => {
    const home = tempHome();
    const data = path.join(home, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'train.csv'), `${example.join('\n')}\n`);
    writeFileSync(path.join(data, 'test.csv'), `${[exampleTest[0], example.at(-1), ...exampleTest.slice(1)].join('\n')}\n`);
    const args = ['preprocess', '--home', home, '--train', 'train.csv', '--test', 'test.csv'];
    const env = { FLTS_DATA_DIR: data };
    const warning = 'warning: 1 row(s) of test.csv are not after the last time of train.csv: held-out metrics (eval, backtest) will include rows the models trained on.';
    const texts = [];
    for (const outcome of ['processed', 'cached']) {
      const text = await runCli(args, { env });
      expect(text.exitCode, text.stderr).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`^${outcome}`, 'm'));
      texts.push(text.stdout);
    }
    expect(texts.map((stdout) => /^warning: 1 .*are not after the/m.test(stdout))).toEqual([true, true]);
    for (const stdout of texts) expect(stdout).toContain(warning);
    const json = await runCli([...args, '--json'], { env });
    expect(json.json.result).toMatchObject({ status: 'cached', inputs: { test: { rows_not_after_train: 1 } } });
    expect(json.json.result.warnings).toContainEqual({ code: 'test_overlaps_train', message: warning.slice('warning: '.length), details: { file: 'test.csv', train_file: 'train.csv', rows_not_after_train: 1 } });
  }, 60_000);

  it('refuses a test file inside the training period (exit 3), naming both time ranges, and writes nothing', async () => {
    const home = tempHome();
    const run = await runCli(['preprocess', '--home', home, '--train', 'examples/data/example.csv', '--test', 'examples/data/example.csv', '--json']);
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.json.error).toMatchObject({
      code: 'FLTS_DATA_TEST_OVERLAPS_TRAIN',
      message: 'example.csv (2024-01-01T00:00:00 to 2024-01-07T23:58:00) has no row after the last time of example.csv (2024-01-01T00:00:00 to 2024-01-07T23:58:00): all 5040 of its rows lie at or before the end of the training data.',
      hint: expect.stringContaining('not swapped'),
    });
    expect(existsSync(path.join(home, 'store', 'processed-data'))).toBe(false);
  }, 60_000);
});

describe('cli > preprocess and train (a series of one value column)', () => {
  it('counts one column and one epoch in the singular', async () => {
    const home = tempHome();
    const data = path.join(home, 'data');
    mkdirSync(data);
    // time,value: the smallest dataset of one's own, two weeks then two days of hourly rows.
    const rows = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => `${new Date(Date.UTC(2024, 0, 1) + (from + i) * 3_600_000).toISOString()},${100 + ((from + i) % 24) * 3}`);
    writeFileSync(path.join(data, 'load.csv'), ['time,value', ...rows(0, 336)].join('\n'));
    writeFileSync(path.join(data, 'load_test.csv'), ['time,value', ...rows(336, 48)].join('\n'));
    const preprocessed = await runCli(['preprocess', '--home', home, '--train', path.join(data, 'load.csv'), '--test', path.join(data, 'load_test.csv')]);
    expect(preprocessed.exitCode, preprocessed.stderr).toBe(0);
    expect(preprocessed.stdout).toMatch(/^read train .*: 336 rows, 1 column$/m);
    const trained = await runCli(['train', '--home', home, '--model', 'LSTM', '--targets', 'value', '--epochs', '1', '--hidden-size', '4']);
    expect(trained.exitCode, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/^LSTM run [0-9a-f]{32}: 1 epoch x \d+ batches, backend /m);
  });
});
