#!/usr/bin/env node
// Held-out periods of one site: a setting compared on several train/test cuts of the same data, so that a
// default is not chosen on one test file ("Held-out periods of PobleSec" in bench/results-quality.md). Each
// cut trains on a contiguous share of the training file's rows and tests on the rows after it (or on the
// test file): the test period always follows the training rows, as in a deployment. Per cut and variant, a
// home of its own: `flts preprocess`, `flts train --model NAIVE`, then the networks once per seed with the
// variant's environment, `flts eval --json`; prints % better than persistence per seed and the mean.
// Usage: npm run build && node bench/period-splits.mjs <NAME=value[,NAME=value...]> ... [--seeds 42,1,2] [--models GRU,LSTM] [--keep DIR]
//   each positional argument is one variant: environment assignments joined by commas, `default` for none
// Derived CSVs and homes go to a temporary directory, removed at the end, or to DIR with --keep (one home per cut
// and variant, each printed as it is made, for offline analyses such as bench/calibration-sets.mjs).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const datasets = path.resolve(root, '../shared/datasets');
const TRAIN = path.join(datasets, 'PobleSec.csv');
const TEST = path.join(datasets, 'PobleSec_test.csv');
/** [name, first share of the training rows, end share, test]: `rest` = the training rows after the cut. */
const CUTS = [
  ['0-50 % -> 50-100 %', 0, 0.5, 'rest'],
  ['0-60 % -> 60-100 %', 0, 0.6, 'rest'],
  ['0-70 % -> 70-100 %', 0, 0.7, 'rest'],
  ['0-80 % -> 80-100 %', 0, 0.8, 'rest'],
  ['25-75 % -> 75-100 %', 0.25, 0.75, 'rest'],
  ['30-100 % -> test file', 0.3, 1, 'test'],
];

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1].split(',') : fallback;
};
const seeds = option('--seeds', ['42', '1', '2']);
const models = option('--models', ['GRU', 'LSTM']);
const keep = option('--keep', undefined)?.[0];
const variants = args.length > 0 ? args : ['FLTS_INPUT_SCALING=none', 'FLTS_INPUT_SCALING=standard'];
const envOf = (variant) => (variant === 'default' ? {} : Object.fromEntries(variant.split(',').map((pair) => pair.split('='))));

const work = keep ? path.resolve(keep) : mkdtempSync(path.join(tmpdir(), 'flts-periods-'));
mkdirSync(work, { recursive: true });
const flts = (env, ...cliArgs) => execFileSync(process.execPath, [path.join(root, 'bin/run.js'), ...cliArgs], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

function writeCut(dir, from, to, test) {
  const [header, ...rows] = readFileSync(TRAIN, 'utf8').split(/\r?\n/).filter((line) => line.length > 0);
  const start = Math.floor(rows.length * from);
  const end = Math.floor(rows.length * to);
  writeFileSync(path.join(dir, 'train.csv'), [header, ...rows.slice(start, end), ''].join('\n'));
  writeFileSync(path.join(dir, 'test.csv'), test === 'test' ? readFileSync(TEST, 'utf8') : [header, ...rows.slice(end), ''].join('\n'));
}

const results = [];
try {
  for (const [name, from, to, test] of CUTS) {
    const dir = mkdtempSync(path.join(work, 'cut-'));
    writeCut(dir, from, to, test);
    for (const variant of variants) {
      const env = envOf(variant);
      const home = mkdtempSync(path.join(work, 'home-'));
      if (keep) console.error(`home: ${name} ${variant} ${home}`);
      flts(env, 'preprocess', '--home', home, '--train', path.join(dir, 'train.csv'), '--test', path.join(dir, 'test.csv'));
      flts(env, 'train', '--home', home, '--model', 'NAIVE');
      for (const seed of seeds) flts(env, 'train', '--home', home, '--model', models.join(','), '--seed', seed);
      const rows = JSON.parse(flts(env, 'eval', '--home', home, '--json')).result.rows;
      for (const model of models) {
        const bySeed = new Map();
        for (const row of rows.filter((r) => r.model_type === model)) {
          const record = JSON.parse(readFileSync(path.join(home, 'store/runs', row.run_id, 'run.json'), 'utf8'));
          bySeed.set(String(record.seed), row);
        }
        const gains = seeds.map((seed) => bySeed.get(seed)?.improvement_over_naive_pct ?? Number.NaN);
        results.push({ cut: name, variant, model, gains, coverage: seeds.map((seed) => bySeed.get(seed)?.coverage ?? {}) });
        console.error(`done: ${name} ${variant} ${model}`);
      }
    }
  }
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}

const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;
const percent = (share) => (share === undefined ? '-' : (100 * share).toFixed(1));
console.log(`| training rows -> test rows (shares of PobleSec.csv) | model | variant | % better than persistence, seeds ${seeds.join(' / ')} | mean | cover 0.8 | cover 0.95 |`);
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.cut} | ${r.model} | \`${r.variant}\` | ${r.gains.map((g) => g.toFixed(2)).join(' / ')} | ${mean(r.gains).toFixed(2)} | ${r.coverage.map((c) => percent(c['0.8'])).join(' / ')} | ${r.coverage.map((c) => percent(c['0.95'])).join(' / ')} |`);
}
for (const model of models) {
  for (const variant of variants) {
    const rows = results.filter((r) => r.model === model && r.variant === variant);
    console.log(`${model} ${variant}: mean over cuts ${mean(rows.map((r) => mean(r.gains))).toFixed(2)} %, worst seed ${Math.min(...rows.flatMap((r) => r.gains)).toFixed(2)} %`);
  }
}
