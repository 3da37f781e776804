import { execFile, spawn } from 'node:child_process';
import { constants, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTimestamp } from '../src/core/data/timestamps.js';
import { BIN, cleanEnvironment, REPO_ROOT, runCli } from './helpers/run-cli.js';

const DATA = path.resolve(__dirname, '../../shared/datasets');
const TEST = path.join(DATA, 'PobleSec_test.csv');
const hasData = existsSync(TEST);
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-out-formats-'));
const env = { FLTS_DATA_DIR: DATA, TRAIN_FILE: 'PobleSec.csv', TEST_FILE: 'PobleSec_test.csv', SAMPLE_TRAIN_ROWS: '400', SAMPLE_TEST_ROWS: '150' };

/**
 * Runs the CLI with its output file a named pipe that nobody reads yet, and opens the pipe for reading only once the
 * command has said on stderr that it waits for a reader. What the command said, printed and wrote into the pipe.
 */
async function writingIntoPipe(args: readonly string[], fifo: string, said: RegExp): Promise<{ exitCode: number | null; stdout: string; stderr: string; piped: Buffer; saidBeforeReader: boolean }> {
  await promisify(execFile)('mkfifo', [fifo]);
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: cleanEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // The notice, or the command's end without it (it gave up waiting, a minute on): a reader opens only after the notice.
  const saidBeforeReader = await new Promise<boolean>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (said.test(stderr)) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  const chunks: Buffer[] = [];
  if (saidBeforeReader) {
    const reader = new Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    await new Promise<void>((resolve) => reader.on('data', (chunk: Buffer) => chunks.push(chunk)).on('close', () => resolve()));
  }
  return { exitCode: await exited, stdout, stderr, piped: Buffer.concat(chunks), saidBeforeReader };
}

describe.skipIf(!hasData)('cli > output files: the extension decides the format', () => {
  let runId: string;
  const predict = (out: string) => runCli(['predict', '--home', home, '--run', runId, '--data', TEST, '--out', out, '--json', '--log-level', 'silent'], { env });

  beforeAll(async () => {
    expect((await runCli(['preprocess', '--home', home, '--json'], { env })).exitCode).toBe(0);
    const train = await runCli(['train', '--home', home, '--model', 'NAIVE', '--json'], { env });
    expect(train.exitCode, train.stderr).toBe(0);
    runId = train.json.result.runs[0].run_id;
  }, 120_000);
  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('writes the same forecast table as Parquet, CSV, JSON rows and JSON lines', async () => {
    const tables: Record<string, pl.DataFrame> = {};
    for (const name of ['f.parquet', 'f.csv', 'f.json', 'f.jsonl']) {
      const file = path.join(home, name);
      const run = await predict(file);
      expect(run.exitCode, run.stdout).toBe(0);
      expect(run.json.result.out_file).toBe(file);
      const bytes = readFileSync(file);
      if (name.endsWith('.parquet')) tables[name] = pl.readParquet(bytes);
      else if (name.endsWith('.csv')) tables[name] = pl.readCSV(bytes);
      else if (name.endsWith('.jsonl')) tables[name] = pl.DataFrame(bytes.toString().trim().split('\n').map((line) => JSON.parse(line)));
      else tables[name] = pl.DataFrame(JSON.parse(bytes.toString()));
    }
    expect(readFileSync(path.join(home, 'f.parquet')).subarray(0, 4).toString()).toBe('PAR1');
    const rows = tables['f.parquet'].height;
    expect(rows).toBeGreaterThan(100);
    for (const table of Object.values(tables)) {
      expect(table.height).toBe(rows);
      expect(table.columns.slice(0, 5)).toEqual(['time', 'origin', 'step', 'down', 'down_actual']);
      expect(table.getColumn('down').toArray()).toEqual(tables['f.parquet'].getColumn('down').toArray());
    }
    // The text formats write a time as POST /predict answers it ("2018-02-28T02:54:00"): before, CSV wrote
    // "2018-02-28T02:54:00.000" and JSON "2018-02-28 02:54:00".
    const asPredictSays = (column: string): string[] => tables['f.parquet'].getColumn(column).toArray().map((time) => formatTimestamp(Number(time)));
    expect(asPredictSays('time')[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    for (const name of ['f.csv', 'f.json', 'f.jsonl']) {
      for (const column of ['time', 'origin']) expect(tables[name].getColumn(column).toArray().map(String), `${name} ${column}`).toEqual(asPredictSays(column));
    }
  }, 60_000);

  it('says on stderr that an --out or --plot pipe waits for its reader, and writes the same bytes into it once one reads', async () => {
    // Before, `flts predict --out <fifo>` waited up to a minute for a reader without a word.
    const plain = path.join(home, 'plain-for-pipe.csv');
    expect((await predict(plain)).exitCode).toBe(0);
    const fifo = path.join(home, 'forecast pipe.csv');
    const notice = (file: string, cat: string): string => `waiting up to 60 s for a reader on ${file} (open it with: cat ${cat})`;
    const text = await writingIntoPipe(['predict', '--home', home, '--run', runId, '--data', TEST, '--out', fifo], fifo, /open it with/);
    expect(text.saidBeforeReader, text.stderr).toBe(true);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stderr.split('\n')).toContain(notice(fifo, `'${fifo}'`));
    expect(text.stdout).not.toContain('waiting up to');
    expect(text.piped.equals(readFileSync(plain))).toBe(true);

    // Under --json, a warning log line on stderr; stdout holds the one JSON document.
    const svg = path.join(home, 'plot-pipe.svg');
    const json = await writingIntoPipe(['predict', '--home', home, '--run', runId, '--data', TEST, '--plot', svg, '--json'], svg, /output_waiting_for_reader.*\n/);
    expect(json.saidBeforeReader, json.stderr).toBe(true);
    expect(json.exitCode, json.stderr).toBe(0);
    const line = json.stderr.split('\n').find((entry) => entry.includes('output_waiting_for_reader'));
    expect(JSON.parse(line!)).toMatchObject({ level: 40, msg: 'output_waiting_for_reader', path: svg, wait_ms: 60_000 });
    expect(JSON.parse(json.stdout).result).toMatchObject({ plot_files: [svg] });
    expect(json.piped.toString()).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  }, 120_000);

  it('refuses an --out name whose extension decides no format, before forecasting or logging anything', async () => {
    const logs = path.join(home, 'store', 'inference-logs');
    const logged = existsSync(logs) ? readdirSync(logs, { recursive: true }).length : 0;
    const file = path.join(home, 'forecasts.txt');
    const run = await predict(file);
    expect(run.exitCode).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'out', value: file, accepted: ['.parquet', '.pq', '.csv', '.json', '.jsonl'] } });
    expect(run.json.error.message).toContain('.parquet, .pq, .csv, .json or .jsonl');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(logs) ? readdirSync(logs, { recursive: true }).length : 0).toBe(logged);
  });

  it('refuses an --out it could not write (a missing folder, a directory, a name too long) before it reads the data', async () => {
    // Before, each was found only once the whole data had been read and forecast: here, data that does not exist
    // was reported first, and real data was forecast for nothing.
    const directory = path.join(home, 'a-directory.csv');
    mkdirSync(directory);
    const missingData = path.join(home, 'no-such-data.csv');
    for (const out of [path.join(home, 'no-such-dir', 'f.csv'), directory, path.join(home, `${'n'.repeat(300)}.csv`)]) {
      const run = await runCli(['predict', '--home', home, '--run', runId, '--data', missingData, '--out', out, '--json', '--log-level', 'silent'], { env });
      expect(run.json?.error, out).toMatchObject({ code: 'FLTS_PATH_UNUSABLE', details: { path: out } });
      expect(run.exitCode, out).toBe(2);
    }
  });

  it('refuses an --out that names the --data file, by its path or through a link, and leaves the data as it was', async () => {
    // Before, the forecast table was written over the data it was made from, exit 0.
    const data = path.join(home, 'data-copy.csv');
    copyFileSync(TEST, data);
    const link = path.join(home, 'data-link.csv');
    symlinkSync(data, link);
    for (const out of [data, link, path.relative(REPO_ROOT, data)]) {
      const run = await runCli(['predict', '--home', home, '--run', runId, '--data', data, '--out', out, '--json', '--log-level', 'silent'], { env });
      expect(run.json?.error, out).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'out', value: out } });
      expect(run.json.error.message, out).toContain('is the file --data reads');
      expect(run.exitCode, out).toBe(2);
    }
    expect(readFileSync(data).equals(readFileSync(TEST))).toBe(true);
  });

  it('refuses an --out that names the file of the store object --data reads, and leaves the processed data as it was', async () => {
    // Before, an object of the store was taken for no local file: the forecast table replaced the processed test data
    // in the embedded store, exit 0, and preprocess went on answering "cached" over it.
    const stored = path.join(home, 'store', 'processed-data', 'test_processed_data.parquet');
    const before = readFileSync(stored);
    for (const out of [stored, path.relative(REPO_ROOT, stored)]) {
      const run = await runCli(['predict', '--home', home, '--run', runId, '--data', 'processed-data/test_processed_data.parquet', '--out', out, '--json', '--log-level', 'silent'], { env });
      expect(run.json?.error, out).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'out', value: out } });
      expect(run.json.error.message, out).toContain('is the file --data reads');
      expect(run.exitCode, out).toBe(2);
    }
    expect(readFileSync(stored).equals(before)).toBe(true);
  });

  it('plots the forecast to a --plot SVG named after the run, with the same forecasts as without it', async () => {
    const file = path.join(home, 'forecast.svg');
    const [plain, plotted] = [await predict(path.join(home, 'plain.csv')), await runCli(['predict', '--home', home, '--run', runId, '--data', TEST, '--plot', file, '--json', '--log-level', 'silent'], { env })];
    expect(plotted.exitCode, plotted.stdout).toBe(0);
    expect(plotted.json.result).toMatchObject({ plot_files: [file], prediction_hash: plain.json.result.prediction_hash });
    const svg = readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain(`down forecast, run ${runId} (NAIVE, config_hash ${plain.json.result.config_hash.slice(0, 12)})`);
    for (const name of ['actual', 'forecast', '80 % interval', '95 % interval']) expect(svg).toContain(`>${name}<`);
    expect(svg).toContain('<polygon class="band"');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  }, 60_000);

  it('refuses a --plot not named .svg, or that it could not write, before forecasting or logging anything', async () => {
    const logs = path.join(home, 'store', 'inference-logs');
    const logged = existsSync(logs) ? readdirSync(logs, { recursive: true }).length : 0;
    const plot = (file: string) => runCli(['predict', '--home', home, '--run', runId, '--data', TEST, '--plot', file, '--json', '--log-level', 'silent'], { env });
    const png = path.join(home, 'forecast.png');
    const [named, unwritable] = await Promise.all([plot(png), plot(path.join(home, 'no-such-dir', 'forecast.svg'))]);
    expect(named.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'plot', value: png, accepted: ['.svg'] } });
    expect(named.exitCode).toBe(2);
    expect(unwritable.json.error).toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
    expect(unwritable.exitCode).toBe(2);
    expect(existsSync(png)).toBe(false);
    expect(existsSync(logs) ? readdirSync(logs, { recursive: true }).length : 0).toBe(logged);
  });

  it('refuses an export --out not named .onnx, or that it could not write, before exporting', async () => {
    // Before, any name was written (model.txt), and a NAIVE run was refused as not exportable first.
    const file = path.join(home, 'model.txt');
    const run = await runCli(['export', '--home', home, '--run', runId, '--out', file, '--json', '--log-level', 'silent'], { env });
    expect(run.exitCode).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'out', value: file, accepted: ['.onnx'] } });
    expect(existsSync(file)).toBe(false);
    const unwritable = await runCli(['export', '--home', home, '--run', runId, '--out', path.join(home, 'no-such-dir', 'model.onnx'), '--json', '--log-level', 'silent'], { env });
    expect(unwritable.exitCode).toBe(2);
    expect(unwritable.json.error).toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
  });

  it('refuses a backtest --plot not named .svg before backtesting', async () => {
    const file = path.join(home, 'errors.png');
    const run = await runCli(['backtest', '--home', home, '--plot', file, '--json', '--log-level', 'silent'], { env });
    expect(run.exitCode).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'plot', accepted: ['.svg'] } });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(path.join(home, 'store', 'runs', 'backtests'))).toBe(false);
  });

  it('refuses a backtest --plot it could not write before backtesting, not after storing the backtest', async () => {
    const directory = path.join(home, 'a-directory.svg');
    mkdirSync(directory);
    for (const file of [path.join(home, 'no-such-dir', 'errors.svg'), directory]) {
      const run = await runCli(['backtest', '--home', home, '--models', 'NAIVE', '--folds', '1', '--plot', file, '--json', '--log-level', 'silent'], { env });
      expect(run.json.error).toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
      expect(run.exitCode).toBe(2);
      expect(existsSync(path.join(home, 'store', 'runs', 'backtests'))).toBe(false);
    }
  });

  it('ends a backtest whose --plot pipe waits for its reader on SIGINT with FLTS_BACKTEST_ABORTED, the backtest stored', async () => {
    // Before, the signals were no longer listened for: Ctrl-C killed it silently (exit 130), no --json document.
    const fifo = path.join(home, 'backtest-pipe.svg');
    await promisify(execFile)('mkfifo', [fifo]);
    const child = spawn(process.execPath, [BIN, 'backtest', '--home', home, '--models', 'NAIVE', '--folds', '1', '--plot', fifo, '--json'], { cwd: REPO_ROOT, env: cleanEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr, stopped] = ['', '', false];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // Once only: a second SIGINT kills outright.
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!stopped && stderr.includes('output_waiting_for_reader')) stopped = child.kill('SIGINT');
    });
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(exitCode, stderr).toBe(5);
    const { error } = JSON.parse(stdout);
    expect(error).toMatchObject({ code: 'FLTS_BACKTEST_ABORTED', message: `Backtest was stopped by SIGINT while --plot ${fifo} waited for its reader, after it stored the backtest: the plot was not written.`, details: { signal: 'SIGINT', plot: fifo } });
    for (const object of error.details.stored) expect(existsSync(object), object).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  }, 60_000);

  it('writes the backtest SVG with --plot, the name predict takes, and still with its former name --plot-out', async () => {
    for (const flag of ['--plot', '--plot-out']) {
      const file = path.join(home, `backtest${flag}.svg`);
      const run = await runCli(['backtest', '--home', home, '--models', 'NAIVE', '--folds', '1', flag, file, '--json', '--log-level', 'silent'], { env });
      expect(run.exitCode, run.stdout).toBe(0);
      expect(readFileSync(file, 'utf8')).toMatch(/^<svg/);
      // Named where a script and a reader look for it, as predict --plot names its file.
      expect(run.json.result.plot_files).toEqual([file]);
    }
    const file = path.join(home, 'backtest-text.svg');
    const text = await runCli(['backtest', '--home', home, '--models', 'NAIVE', '--folds', '1', '--plot', file, '--log-level', 'silent'], { env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe(`plot: ${file}`);
    const help = await runCli(['backtest', '--help']);
    expect(help.stdout).toMatch(/--plot=<value>/);
    expect(help.stdout).toMatch(/--plot-out.*still accepted/s);
  });

  it('refuses an --out or --plot that names a file the store holds, and leaves the object as it was', async () => {
    // Before, predict wrote its forecast table over the run's test predictions (exit 0), and eval --plot then failed
    // as FLTS_INTERNAL reading them; a --plot replaced the stored backtest's error-over-time SVG.
    const backtest = await runCli(['backtest', '--home', home, '--models', 'NAIVE', '--folds', '1', '--json', '--log-level', 'silent'], { env });
    expect(backtest.exitCode, backtest.stdout).toBe(0);
    const predictions = path.join(home, 'store', 'runs', runId, 'predictions.json');
    const svg = backtest.json.result.objects.map((object: string) => path.join(home, 'store', object)).find((file: string) => file.endsWith('.svg'));
    const before = [readFileSync(predictions), readFileSync(svg)];
    const refusals = [
      [['predict', '--run', runId, '--data', TEST, '--out', predictions], 'out', predictions, `runs/${runId}/predictions.json`],
      [['predict', '--run', runId, '--data', TEST, '--plot', svg], 'plot', svg, path.relative(path.join(home, 'store'), svg)],
      [['backtest', '--models', 'NAIVE', '--folds', '1', '--plot', svg], 'plot', svg, path.relative(path.join(home, 'store'), svg)],
    ] as const;
    for (const [args, flag, value, object] of refusals) {
      const run = await runCli([...args, '--home', home, '--json', '--log-level', 'silent'], { env });
      expect(run.json?.error, args.join(' ')).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag, value, object } });
      expect(run.exitCode, args.join(' ')).toBe(2);
    }
    expect([readFileSync(predictions), readFileSync(svg)]).toEqual(before);
  }, 60_000);

  it('refuses every output flag naming a path inside the store, not there yet, through `..` or a link, and writes nothing there', async () => {
    // Before, each was written into the store (exit 0): a file not there yet was left to the user.
    const store = path.join(home, 'store');
    const link = path.join(home, 'to-store');
    symlinkSync(store, link);
    const inRun = path.join(store, 'runs', runId);
    const refusals = [
      [['predict', '--run', runId, '--data', TEST, '--out', path.join(inRun, 'new.json')], 'out', `runs/${runId}/new.json`],
      [['predict', '--run', runId, '--data', TEST, '--plot', path.join(home, 'elsewhere', '..', 'store', 'runs', runId, 'new.svg')], 'plot', `runs/${runId}/new.svg`],
      [['predict', '--run', runId, '--data', TEST, '--out', path.join(link, 'forecast.csv')], 'out', 'forecast.csv'],
      [['export', '--run', runId, '--out', path.join(inRun, 'model.onnx')], 'out', `runs/${runId}/model.onnx`],
      [['backtest', '--models', 'NAIVE', '--folds', '1', '--plot', path.join(link, 'runs', 'errors.svg')], 'plot', 'runs/errors.svg'],
      [['replay-offsets', '--group', 'g', '--all-topics', '--to-earliest', '--export', path.join(store, 'plan.csv')], 'export', 'plan.csv'],
      [['bench', '--out', path.join(store, 'bench')], 'out', 'bench'],
      [['bench', '--out', link], 'out', ''],
    ] as const;
    for (const [args, flag, object] of refusals) {
      const run = await runCli([...args, '--home', home, '--json', '--log-level', 'silent'], { env });
      expect(run.json?.error, args.join(' ')).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining(object === '' ? "is the store's own folder" : 'inside the store'), details: { flag, object } });
      expect(run.exitCode, args.join(' ')).toBe(2);
    }
    for (const [, , object] of refusals.filter(([, , object]) => object !== '')) expect(existsSync(path.join(store, ...object.split('/'))), object).toBe(false);
    rmSync(link);
  }, 60_000);
});
