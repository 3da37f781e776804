#!/usr/bin/env node
// Train and test CSVs with extra input columns computed causally from the target, for measuring them as
// network inputs ("Lag and rolling inputs on standardised inputs" in bench/results-quality.md). The raw cells
// are copied unchanged; the extra columns are appended. Every extra cell of row r reads only rows up to r,
// and row r's window forecasts row r + 1, so nothing reaches the row forecast. The test file continues the
// training file, so its first rows take their history from the end of the training rows.
//   day    the target one day before the row forecast: the value at time(r) + cadence - 1 day, matched by
//          timestamp (cadence = the most common step between rows, so 720 rows at 2 minutes)
//   mean30, mean180  the target's mean over rows r-29..r and r-179..r
//   sd30   the target's standard deviation (n - 1) over rows r-29..r
// Training rows without a value one day before the row forecast (the first day) are dropped, so no extra
// cell is ever missing; with `keep` among the columns they stay, their `day` cell empty, which preprocessing
// fills with the column's training mean (the rolling columns there average the rows there are).
// Usage: node bench/lag-features.mjs <train.csv> <test.csv> <out-dir> <columns> [target=down]
//   columns: comma list of day, mean30, mean180, sd30 (and keep), or `none` (the plain columns, the first
//   day dropped)
// Writes <out-dir>/train.csv and <out-dir>/test.csv. Derived data: keep <out-dir> outside the repository.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [trainPath, testPath, outDir, columnList, target = 'down'] = process.argv.slice(2);
if (!trainPath || !testPath || !outDir || !columnList) {
  console.error('usage: node bench/lag-features.mjs <train.csv> <test.csv> <out-dir> <day,mean30,mean180,sd30[,keep]|none> [target]');
  process.exit(2);
}
const KNOWN = ['day', 'mean30', 'mean180', 'sd30'];
const listed = columnList === 'none' ? [] : columnList.split(',');
const keepFirstDay = listed.includes('keep');
const wanted = listed.filter((name) => name !== 'keep');
for (const name of wanted) if (!KNOWN.includes(name)) throw new Error(`unknown column '${name}' (known: ${KNOWN.join(', ')}, none)`);

function read(file) {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((line) => line.length > 0);
  return { header: lines[0], rows: lines.slice(1) };
}
const train = read(trainPath);
const test = read(testPath);
if (train.header !== test.header) throw new Error('train and test headers differ');
const names = train.header.split(',');
const timeAt = names.indexOf('time');
const targetAt = names.indexOf(target);
if (timeAt < 0 || targetAt < 0) throw new Error(`no 'time' or '${target}' column`);

const rows = [...train.rows, ...test.rows];
const cells = rows.map((line) => line.split(','));
const time = cells.map((c) => Date.parse(`${c[timeAt].replace(' ', 'T')}Z`));
const y = cells.map((c) => (c[targetAt] === '' ? Number.NaN : Number(c[targetAt])));
if (time.some(Number.isNaN) || y.some(Number.isNaN)) throw new Error('unparsed timestamp or missing target cell');

const steps = new Map();
for (let i = 1; i < time.length; i++) steps.set(time[i] - time[i - 1], (steps.get(time[i] - time[i - 1]) ?? 0) + 1);
const cadence = [...steps].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
const DAY = 86_400_000;
const rowAt = new Map(time.map((t, i) => [t, i]));

function rolling(r, n) {
  const from = Math.max(0, r - n + 1);
  const xs = y.slice(from, r + 1);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd, full: xs.length === n };
}
const extra = {
  day: (r) => {
    const source = rowAt.get(time[r] + cadence - DAY);
    return source === undefined ? Number.NaN : y[source];
  },
  mean30: (r) => rolling(r, 30).mean,
  mean180: (r) => rolling(r, 180).mean,
  sd30: (r) => rolling(r, 30).sd,
};
// Rows kept: every row with a value one day before the row it forecasts (the series' first day goes).
const keep = (r) => keepFirstDay || rowAt.has(time[r] + cadence - DAY);

function write(name, from, to) {
  const header = [train.header, ...wanted.map((w) => `${target}_${w}`)].join(',');
  const out = [header];
  let dropped = 0;
  for (let r = from; r < to; r++) {
    if (!keep(r)) {
      dropped++;
      continue;
    }
    out.push([rows[r], ...wanted.map((w) => extra[w](r)).map((v) => (Number.isNaN(v) ? '' : String(v)))].join(','));
  }
  writeFileSync(path.join(outDir, name), `${out.join('\n')}\n`);
  return { rows: out.length - 1, dropped };
}
mkdirSync(outDir, { recursive: true });
const wroteTrain = write('train.csv', 0, train.rows.length);
const wroteTest = write('test.csv', train.rows.length, rows.length);
console.log(JSON.stringify({ out_dir: path.resolve(outDir), cadence_ms: cadence, rows_per_day: DAY / cadence, columns: wanted, train: wroteTrain, test: wroteTest }));
