// Prints a /predict request body built from the last N rows of a CSV with a `time` column.
//   node examples/request-from-csv.mjs examples/data/example_test.csv 12
import { readFileSync } from 'node:fs';

const [file, rowsArg = '12'] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').trim().split('\n');
const header = lines[0].split(',');
const rows = lines.slice(-Number(rowsArg)).map((line) => line.split(','));
const data = Object.fromEntries(header.map((name, c) => [name, rows.map((row) => (name === 'time' ? row[c] : Number(row[c])))]));
process.stdout.write(JSON.stringify({ index_col: 'time', data }));
