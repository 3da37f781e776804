import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from './helpers/run-cli.js';

/**
 * Under --json a long command's stdout holds its one document alone, and its progress goes to stderr as info log
 * lines, as bench's does: train, backtest and predict were silent until the end, minutes for a CI job watching them.
 */
const home = mkdtempSync(path.join(tmpdir(), 'flts-progress-json-'));
const env = { FLTS_HOME: home, SAMPLE_TRAIN_ROWS: '600', SAMPLE_TEST_ROWS: '200', HIDDEN_SIZE: '8', EPOCHS: '2', FLTS_BACKEND: 'wasm' };

/** The stderr lines that are JSON log lines (a Node warning is not), in order. */
function logLines(run: CliRun): Array<Record<string, any>> {
  return run.stderr.split('\n').flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      return parsed !== null && typeof parsed === 'object' ? [parsed as Record<string, any>] : [];
    } catch {
      return [];
    }
  });
}

/** stdout is one JSON document and nothing else: parsed whole, an ok envelope. */
function oneDocument(run: CliRun): any {
  expect(run.exitCode, run.stderr).toBe(0);
  const document = JSON.parse(run.stdout);
  expect(document.status).toBe('ok');
  return document.result;
}

const progressOf = (lines: Array<Record<string, any>>, prefix: string) => lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith(prefix));

describe('cli > progress under --json (stderr log lines, stdout one document)', () => {
  let pre: CliRun;
  beforeAll(async () => {
    pre = await runCli(['preprocess', '--dataset', 'example', '--json'], { env });
    expect(pre.exitCode, pre.stderr).toBe(0);
  }, 60_000);

  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('preprocess: each file as its parse begins and ends, the write, then done; a cached run its done alone; as text, lines before the report', async () => {
    const result = oneDocument(pre);
    const lines = progressOf(logLines(pre), 'preprocess_');
    for (const line of lines) expect(line.level).toBe(30);
    expect(lines.map((line) => [line.msg, line.role ?? null])).toEqual([
      ['preprocess_file_reading', 'train'],
      ['preprocess_file_read', 'train'],
      ['preprocess_file_reading', 'test'],
      ['preprocess_file_read', 'test'],
      ['preprocess_writing', null],
      ['preprocess_done', null],
    ]);
    expect(lines[0]).toMatchObject({ file: result.inputs.train.file, bytes: result.inputs.train.bytes, files: 2 });
    expect(lines[3]).toMatchObject({ file: result.inputs.test.file, rows: result.inputs.test.rows, columns: result.inputs.test.columns, files_done: 2, files: 2 });
    expect(lines[4]).toMatchObject({ config_hash: result.config_hash, train_rows: result.train.rows, test_rows: result.test.rows, columns: result.train.columns });
    expect(lines[5]).toMatchObject({ config_hash: result.config_hash, status: 'processed', duration_ms: expect.any(Number) });

    const cached = await runCli(['preprocess', '--dataset', 'example', '--json'], { env });
    expect(oneDocument(cached).status).toBe('cached');
    expect(progressOf(logLines(cached), 'preprocess_').map((line) => [line.msg, line.status])).toEqual([['preprocess_done', 'cached']]);

    const text = await runCli(['preprocess', '--dataset', 'example', '--salt', 'progress-as-text'], { env });
    expect(text.exitCode, text.stderr).toBe(0);
    const said = text.stdout.split('\n');
    const at = (pattern: RegExp): number => said.findIndex((line) => pattern.test(line));
    expect([at(/^reading train \S+ \(\d+ bytes\)$/), at(/^reading test {2}\S+ \(\d+ bytes\)$/), at(/^writing processed data [0-9a-f]{12}\.\.\.: train \d+ x \d+, test \d+ x \d+$/), at(/^read train /)]).toEqual([0, 1, 2, 3]);
  }, 60_000);

  it('train: each model started, every epoch with its losses and ETA, and done, in order, at info', async () => {
    const run = await runCli(['train', '--model', 'LSTM,NAIVE', '--json'], { env, timeoutMs: 110_000 });
    const result = oneDocument(run);
    const lines = progressOf(logLines(run), 'train_');
    for (const line of lines) expect(line.level).toBe(30);
    for (const trained of result.runs) {
      const own = lines.filter((line) => line.run_id === trained.run_id && line.msg !== 'train_forecast_progress');
      const epochs = trained.model_type === 'LSTM' ? 2 : 0;
      expect(own.map((line) => line.msg)).toEqual(['train_model_started', ...Array(epochs).fill('train_epoch_done'), 'train_model_done']);
      expect(own[0]).toMatchObject({ model_type: trained.model_type, epochs });
      expect(own.at(-1)).toMatchObject({ model_type: trained.model_type, status: 'SUCCESS', duration_ms: expect.any(Number) });
      own.slice(1, -1).forEach((line, i) => expect(line).toMatchObject({ epoch: i + 1, epochs: 2, loss: expect.any(Number), val_loss: expect.any(Number), eta_sec: expect.any(Number) }));
    }
  }, 120_000);

  it('backtest: each model started, then its folds, in order; predict: its windows, the last all of them', async () => {
    const backtest = await runCli(['backtest', '--models', 'NAIVE,LSTM', '--folds', '4', '--json'], { env, timeoutMs: 110_000 });
    const result = oneDocument(backtest);
    const lines = progressOf(logLines(backtest), 'backtest_');
    expect(lines.map((line) => [line.msg, line.model_type, line.fold])).toEqual(
      result.models.flatMap((model: any) => [['backtest_model_started', model.model_type, undefined], ...[1, 2, 3, 4].map((fold) => ['backtest_fold_done', model.model_type, fold])]),
    );
    expect(lines[1]).toMatchObject({ folds: 4, rmse: expect.any(Number), eta_sec: expect.any(Number) });

    expect((await runCli(['promote', '--best', '--json'], { env })).exitCode).toBe(0);
    const predict = await runCli(['predict', '--data', 'processed-data/test_processed_data.parquet', '--json'], { env, timeoutMs: 110_000 });
    const forecast = oneDocument(predict);
    const windows = progressOf(logLines(predict), 'predict_');
    expect(windows.length).toBeGreaterThan(0);
    expect(windows.at(-1)).toMatchObject({ msg: 'predict_windows_done', windows: forecast.windows, total: forecast.windows });
  }, 240_000);

  it('--log-level warn silences the progress lines, and stdout stays the one document', async () => {
    const train = await runCli(['train', '--model', 'NAIVE', '--log-level', 'warn', '--json'], { env, timeoutMs: 110_000 });
    oneDocument(train);
    const backtest = await runCli(['backtest', '--models', 'NAIVE', '--folds', '2', '--json'], { env: { ...env, FLTS_LOG_LEVEL: 'warn' }, timeoutMs: 110_000 });
    oneDocument(backtest);
    expect([...logLines(train), ...logLines(backtest)].filter((line) => line.level < 40)).toEqual([]);
  }, 240_000);
});
