#!/usr/bin/env node
// Sites unlike the one the defaults were measured on, cut from PobleSec: shorter training files, a patchy one
// and coarser cadences ("Shorter, patchier and coarser sites" in bench/results-quality.md). Writes each as
// <name>.csv and <name>_test.csv into DIR and prints the training files, comma-separated, for
// `npm run bench:quality -- $(node bench/site-variants.mjs DIR)` and `node bench/linear-reference.mjs`.
// Usage: npm run build && node bench/site-variants.mjs DIR
//   2d / 5d: the last 1,500 / 4,000 training rows (2 / 5.5 days at 2 minutes), tested on the first 1,000 / 2,000
//   rows of the test file; gaps: the last 8,000 rows less five 200-row gaps and 3 % of the rows at random, 1 % of
//   the rows with one cell blank, tested on the first 2,000; 10min / hourly: both files as means over 10 minutes
//   / an hour. Derived from ../shared/datasets at each run; never commit them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRandom } from '../dist/core/data/seeded-random.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const datasets = process.env.FLTS_DATASETS ?? path.resolve(root, '../shared/datasets');
const dir = process.argv[2];
if (!dir) throw new Error('Usage: node bench/site-variants.mjs DIR');
mkdirSync(dir, { recursive: true });

const read = (file) => {
  const [header, ...rows] = readFileSync(path.join(datasets, file), 'utf8').split(/\r?\n/).filter((line) => line.length > 0);
  return { header, rows: rows.map((line) => line.split(',')) };
};
const train = read('PobleSec.csv');
const test = read('PobleSec_test.csv');

function withGaps(rows) {
  // Seeded: the same gaps on every run.
  const next = createRandom(3);
  const gaps = [500, 2000, 3500, 5000, 6500];
  return rows.flatMap((row, i) => {
    if (gaps.some((start) => i >= start && i < start + 200) || next() < 0.03) return [];
    if (next() >= 0.01) return [row];
    const blanked = [...row];
    blanked[1 + Math.floor(next() * (row.length - 1))] = '';
    return [blanked];
  });
}

/** Means of each column over buckets of `minutes` (timestamps `YYYY-MM-DD HH:MM:SS`, read as UTC), blanks skipped. */
function resample(rows, minutes) {
  const bucketMs = minutes * 60_000;
  const buckets = new Map();
  for (const row of rows) {
    const start = Math.floor(Date.parse(`${row[0].replace(' ', 'T')}Z`) / bucketMs) * bucketMs;
    if (!buckets.has(start)) buckets.set(start, []);
    buckets.get(start).push(row);
  }
  return [...buckets].map(([start, members]) => [
    new Date(start).toISOString().slice(0, 19).replace('T', ' '),
    ...members[0].slice(1).map((_, c) => {
      const values = members.map((row) => row[c + 1]).filter((cell) => cell !== '' && Number.isFinite(Number(cell))).map(Number);
      return values.length > 0 ? String(values.reduce((sum, v) => sum + v, 0) / values.length) : '';
    }),
  ]);
}

const VARIANTS = {
  '2d': [train.rows.slice(-1500), test.rows.slice(0, 1000)],
  '5d': [train.rows.slice(-4000), test.rows.slice(0, 2000)],
  gaps: [withGaps(train.rows.slice(-8000)), test.rows.slice(0, 2000)],
  '10min': [resample(train.rows, 10), resample(test.rows, 10)],
  hourly: [resample(train.rows, 60), resample(test.rows, 60)],
};

const written = [];
for (const [name, [trainRows, testRows]] of Object.entries(VARIANTS)) {
  const file = (suffix, rows) => writeFileSync(path.join(dir, `poblesec-${name}${suffix}.csv`), [train.header, ...rows.map((row) => row.join(',')), ''].join('\n'));
  file('', trainRows);
  file('_test', testRows);
  written.push(path.resolve(dir, `poblesec-${name}.csv`));
}
console.log(written.join(','));
