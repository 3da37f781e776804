#!/usr/bin/env node
// Forecast quality of the default model set, per site, through the `flts` binary as a user runs it:
// preprocess, `flts train` with no model flags (the default set and settings), `flts eval`. For each site and
// model: R2, RMSE, MAE and NRMSE on the held-out test file (original units of the first target), % lower RMSE
// than persistence (NAIVE) and than the best baseline (NAIVE, SNAIVE, MSTL), prediction-interval coverage,
// and training time. With `reference`, the same run also trains the reference configuration's set
// (`--profile reference --model LSTM,GRU,PROPHET`) on the first site, so both training times come from one run.
// Usage: npm run build && node bench/quality.bench.mjs [sites=poblesec,examples] [reference]
//   sites: examples; any dataset NAME with NAME.csv and NAME_test.csv in FLTS_DATASETS (poblesec, or another site
//   of the network dropped there: elborn, lescorts), its name matched without case; NAME-up for its upload series
//   as the target (`TARGETS=up`; poblesec-up: a series no setting was chosen on); or a path to a training CSV
//   whose test file lies beside it as <stem>_test.csv.
// Env: passed through to every command (FLTS_TRAIN_WORKERS, FLTS_INTERVAL_LEVELS, ...); FLTS_DATASETS = where
// PobleSec*.csv live (default ../shared/datasets beside the repository).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const bin = path.resolve(here, '../bin/run.js');
const datasets = process.env.FLTS_DATASETS ?? path.resolve(here, '../../shared/datasets');
const examples = { train: path.resolve(here, '../examples/data/example.csv'), test: path.resolve(here, '../examples/data/example_test.csv') };

/** Train and test files of a site named on the command line; see the usage above. */
function resolveSite(name) {
  if (name === 'examples') return examples;
  if (name.endsWith('.csv')) {
    const test = name.replace(/\.csv$/, '_test.csv');
    if (!existsSync(name) || !existsSync(test)) throw new Error(`Site ${name}: needs ${name} and ${test}`);
    return { train: path.resolve(name), test: path.resolve(test) };
  }
  const [, dataset, upload] = /^(.*?)(-up)?$/.exec(name);
  const files = existsSync(datasets) ? readdirSync(datasets) : [];
  const find = (file) => files.find((candidate) => candidate.toLowerCase() === file.toLowerCase());
  const train = find(`${dataset}.csv`);
  const test = find(`${dataset}_test.csv`);
  if (!train || !test) {
    const known = files.filter((file) => file.endsWith('_test.csv')).map((file) => file.replace(/_test\.csv$/, '').toLowerCase());
    throw new Error(`Unknown site ${name}: no ${dataset}.csv and ${dataset}_test.csv in ${datasets}; known: ${['examples', ...known].join(', ')}, or a path to a training CSV`);
  }
  return { train: path.join(datasets, train), test: path.join(datasets, test), ...(upload ? { env: { TARGETS: 'up' } } : {}) };
}
const sites = (process.argv[2] ?? 'poblesec,examples').split(',');
const withReference = process.argv.includes('reference');

function flts(home, args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args, '--home', home, '--json'], { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`flts ${args.join(' ')} failed: ${stderr || stdout || error.message}`));
      resolve(JSON.parse(stdout).result);
    });
  });
}

const pct = (value) => (value === null || value === undefined || !Number.isFinite(value) ? '-' : `${value >= 0 ? '+' : ''}${value.toFixed(1)} %`);
const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

async function trainSite(name, files, extra = []) {
  const home = mkdtempSync(path.join(os.tmpdir(), `flts-quality-${name}-`));
  try {
    await flts(home, ['preprocess', '--train', files.train, '--test', files.test], files.env);
    const started = performance.now();
    const trained = await flts(home, ['train', ...extra], files.env);
    const trainSeconds = (performance.now() - started) / 1000;
    const board = await flts(home, ['eval'], files.env);
    const byRun = new Map(trained.runs.map((run) => [run.run_id, run]));
    const rows = board.rows.map((row) => {
      const run = byRun.get(row.run_id);
      const target = run.metrics.test.targets[run.window.targets[0]];
      return {
        model: row.model_type,
        r2: target.original.r2,
        rmse: target.original.rmse,
        mae: target.original.mae,
        nrmse: target.original.nrmse,
        vsNaive: row.improvement_over_naive_pct,
        vsBaseline: row.improvement_over_baseline_pct,
        baseline: row.baseline_model_type,
        coverage: row.coverage,
        seconds: (run.timings.duration_ms ?? 0) / 1000,
        epochs: run.epochs_run,
      };
    });
    return { name, rows, trainSeconds, ...(files.env ? { env: files.env } : {}) };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function render(result, levels) {
  const envPrefix = Object.entries(result.env ?? {}).map(([name, value]) => `${name}=${value} `).join('');
  const lines = [
    `### ${result.name}: \`${envPrefix}flts train${result.extra ? ` ${result.extra}` : ''}\` (${result.trainSeconds.toFixed(0)} s in all)`,
    '',
    `| model | R2 | RMSE | MAE | NRMSE | vs persistence | vs best baseline | ${levels.map((level) => `cover ${level}`).join(' | ')} | train s (epochs) |`,
    `|---|---|---|---|---|---|---|${levels.map(() => '---|').join('')}---|`,
  ];
  for (const row of result.rows) {
    const coverage = levels.map((level) => (row.coverage[level] === undefined ? '-' : `${(row.coverage[level] * 100).toFixed(1)} %`));
    lines.push(
      `| ${row.model} | ${fixed(row.r2, 3)} | ${row.rmse.toPrecision(4)} | ${row.mae.toPrecision(4)} | ${fixed(row.nrmse, 3)} | ${pct(row.vsNaive)} | ${pct(row.vsBaseline)}${row.baseline ? ` (${row.baseline})` : ''} | ${coverage.join(' | ')} | ${row.seconds.toFixed(1)}${row.epochs ? ` (${row.epochs})` : ''} |`,
    );
  }
  return lines.join('\n');
}

const load = os.loadavg().map((v) => v.toFixed(2)).join(' ');
const siteFiles = new Map(sites.map((site) => [site, resolveSite(site)]));
const results = [];
for (const site of sites) {
  results.push(await trainSite(path.basename(site, '.csv'), siteFiles.get(site)));
  console.error(`done: ${site} (${results.at(-1).trainSeconds.toFixed(0)} s)`);
}
if (withReference) {
  const reference = await trainSite(results[0].name, siteFiles.get(sites[0]), ['--profile', 'reference', '--model', 'LSTM,GRU,PROPHET']);
  results.push({ ...reference, name: `${results[0].name}, reference configuration`, extra: '--profile reference --model LSTM,GRU,PROPHET' });
  console.error(`done: reference (${reference.trainSeconds.toFixed(0)} s)`);
}
const levels = [...new Set(results.flatMap((result) => result.rows.flatMap((row) => Object.keys(row.coverage))))].sort((a, b) => Number(a) - Number(b));
console.log(`Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.availableParallelism()} cores; 1-minute load at start ${load}; Node ${process.version}\n`);
console.log(results.map((result) => render(result, levels)).join('\n\n'));
