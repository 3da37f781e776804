// Prints a /predict request body built from the last N rows of a CSV with a `time` column.
//   node examples/request-from-csv.mjs examples/data/example_test.csv 12
// An empty cell is sent as null, never as 0: /predict does not impute, so it answers such a row with a 400 that names
// the column and row, rather than forecasting from a value the file does not have.
import { readFileSync } from 'node:fs';

const [file, rowsArg = '12'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node examples/request-from-csv.mjs <file.csv> [rows, default 12]\n');
  process.exit(2);
}
const lines = readFileSync(file, 'utf8').trim().split('\n');
const header = lines[0].split(',');
const rows = lines.slice(-Number(rowsArg)).map((line) => line.split(','));
const cell = (text) => (text.trim() === '' ? null : Number(text));
const data = Object.fromEntries(header.map((name, c) => [name, rows.map((row) => (name === 'time' ? row[c] : cell(row[c])))]));
process.stdout.write(JSON.stringify({ index_col: 'time', data }));
