#!/usr/bin/env node
// What a linear model reaches on a site's inputs, beside the networks: least squares of the target's next value on
// the last 10 rows of the target alone (an AR(10)) and of every column (an ARX), fitted on the training file,
// scored on the test file's windows as % lower RMSE than persistence. A site where these reach little is one where
// the inputs say little about the next value, whatever the model ("Shorter, patchier and coarser sites" in
// bench/results-quality.md).
// Usage: node bench/linear-reference.mjs <train.csv>[,<train.csv>...]   (each with <stem>_test.csv beside it)
// Env: TARGETS (first name, default down). Blank cells take the training mean, as `flts preprocess` fills them.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const WINDOW = 10;
const files = (process.argv[2] ?? '').split(',').filter(Boolean);
if (files.length === 0) throw new Error('Usage: node bench/linear-reference.mjs <train.csv>[,<train.csv>...]');
const target = (process.env.TARGETS ?? 'down').split(',')[0];

function readColumns(file) {
  const [header, ...lines] = readFileSync(file, 'utf8').split(/\r?\n/).filter((line) => line.length > 0);
  const names = header.split(',').slice(1);
  const rows = lines.map((line) => line.split(',').slice(1).map((cell) => (cell === '' ? Number.NaN : Number(cell))));
  return { names, rows };
}

/** Solves (A + ridge I) x = b for a symmetric positive definite A by Gaussian elimination. */
function solve(a, b) {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  const ridge = 1e-9 * a.reduce((sum, row, i) => sum + row[i], 0);
  for (let i = 0; i < n; i++) m[i][i] += ridge;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < n; r++) {
      const factor = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= factor * m[col][c];
    }
  }
  const x = new Array(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let sum = m[i][n];
    for (let c = i + 1; c < n; c++) sum -= m[i][c] * x[c];
    x[i] = sum / m[i][i];
  }
  return x;
}

function linearGain(train, test, columns, t) {
  const means = train.names.map((_, c) => {
    const values = train.rows.map((row) => row[c]).filter(Number.isFinite);
    return values.reduce((sum, v) => sum + v, 0) / values.length;
  });
  const spreads = train.names.map((_, c) => Math.sqrt(train.rows.reduce((sum, row) => sum + ((Number.isFinite(row[c]) ? row[c] : means[c]) - means[c]) ** 2, 0) / train.rows.length) || 1);
  const standard = (rows) => rows.map((row) => row.map((v, c) => ((Number.isFinite(v) ? v : means[c]) - means[c]) / spreads[c]));
  const windows = (rows) => {
    const features = [];
    const next = [];
    const last = [];
    for (let i = WINDOW; i < rows.length; i++) {
      features.push([1, ...rows.slice(i - WINDOW, i).flatMap((row) => columns.map((c) => row[c]))]);
      next.push(rows[i][t]);
      last.push(rows[i - 1][t]);
    }
    return { features, next, last };
  };
  const fit = windows(standard(train.rows));
  const k = fit.features[0].length;
  const xtx = Array.from({ length: k }, () => new Array(k).fill(0));
  const xty = new Array(k).fill(0);
  fit.features.forEach((x, w) => {
    for (let i = 0; i < k; i++) {
      xty[i] += x[i] * fit.next[w];
      for (let j = 0; j < k; j++) xtx[i][j] += x[i] * x[j];
    }
  });
  const beta = solve(xtx, xty);
  const scored = windows(standard(test.rows));
  let modelSq = 0;
  let persistenceSq = 0;
  scored.features.forEach((x, w) => {
    const forecast = x.reduce((sum, v, i) => sum + v * beta[i], 0);
    modelSq += (forecast - scored.next[w]) ** 2;
    persistenceSq += (scored.last[w] - scored.next[w]) ** 2;
  });
  return 100 * (1 - Math.sqrt(modelSq / persistenceSq));
}

console.log(`| site | target | training rows | AR(10) of ${target} vs persistence | ARX(10), every column |`);
console.log('|---|---|---|---|---|');
for (const file of files) {
  const train = readColumns(file);
  const test = readColumns(file.replace(/\.csv$/, '_test.csv'));
  const t = train.names.indexOf(target);
  if (t < 0) throw new Error(`${file} has no column ${target}`);
  const ar = linearGain(train, test, [t], t);
  const arx = linearGain(train, test, train.names.map((_, c) => c), t);
  console.log(`| ${path.basename(file, '.csv')} | ${target} | ${train.rows.length} | ${ar >= 0 ? '+' : ''}${ar.toFixed(1)} % | ${arx >= 0 ? '+' : ''}${arx.toFixed(1)} % |`);
}
