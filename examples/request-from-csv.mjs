// Prints a /predict request body built from the last N rows of a CSV with a `time` column.
//   node examples/request-from-csv.mjs examples/data/example_test.csv 12
// An empty cell is sent as null, never as 0: /predict does not impute, so it answers such a row with a 400 that names
// the column and row, rather than forecasting from a value the file does not have.
import { readFileSync } from 'node:fs';

const USAGE = 'usage: node examples/request-from-csv.mjs <file.csv> [rows, default 12]\n';
const [file, rowsArg = '12'] = process.argv.slice(2);
const count = Number(rowsArg);
if (!file || !Number.isInteger(count) || count < 1) {
  process.stderr.write(file ? `rows must be a whole number of at least 1, not ${JSON.stringify(rowsArg)}\n${USAGE}` : USAGE);
  process.exit(2);
}
let text;
try {
  text = readFileSync(file, 'utf8');
} catch (error) {
  process.stderr.write(`cannot read ${file}: ${error.code ?? error.message}\n`);
  process.exit(2);
}
const lines = text.trim().split('\n');
const header = lines[0].split(',');
// The last rows of the data, never the header: a file shorter than `count` gives all its rows.
const rows = lines.slice(1).slice(-count).map((line) => line.split(','));
const cell = (text) => (text.trim() === '' ? null : Number(text));
const data = Object.fromEntries(header.map((name, c) => [name, rows.map((row) => (name === 'time' ? row[c] : cell(row[c])))]));
process.stdout.write(JSON.stringify({ index_col: 'time', data }));
