#!/usr/bin/env node
// Reading a wide CSV (thousands of columns, few rows): what costs there is per column, not per cell. A table of
// `columns` numeric columns is generated in memory, one column in ten with empty cells (re-read as text to tell an
// empty cell from a word) and one in fifty of thousands grouped by commas (made plain numbers as text); every build
// given is timed on it, alternating, in one process, and the median CPU ms is printed per build, with the ratio of
// each other build to the first one.
// Usage: npm run build && node bench/read-wide.bench.mjs [runs] [columns] [rows] [other build root ...]
//   PLAIN=1 makes every cell a plain number (no empty cells, no grouped thousands): a table of float64 columns only.
//   e.g. node bench/read-wide.bench.mjs 5 5000 300 /tmp/before   (a build of another commit, its dist/ built there)
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 5);
const columns = Number(process.argv[3] ?? 5000);
const rows = Number(process.argv[4] ?? 300);
const builds = [root, ...process.argv.slice(5).map((dir) => path.resolve(dir))];

const t0 = Date.UTC(2024, 0, 1);
const plain = process.env.PLAIN === '1';
const cell = (row, column) => {
  if (plain) return String(((row * 31 + column) % 997) / 8);
  if (column % 10 === 1 && row % 7 === 0) return '';
  if (column % 50 === 2) return `"${(1000 + row * column).toLocaleString('en-US')}.5"`;
  return String(((row * 31 + column) % 997) / 8);
};
const lines = [['time', ...Array.from({ length: columns }, (_, c) => `c${c}`)].join(',')];
for (let row = 0; row < rows; row++) {
  lines.push([new Date(t0 + row * 60_000).toISOString().slice(0, 19).replace('T', ' '), ...Array.from({ length: columns }, (_, c) => cell(row, c))].join(','));
}
const bytes = Buffer.from(`${lines.join('\n')}\n`);

const readers = await Promise.all(builds.map(async (build) => (await import(path.join(build, 'dist/core/data/read-table.js'))).readTableBytes));
const cpuMs = builds.map(() => []);
for (let run = 0; run <= runs; run++) {
  // Builds take turns going first: each read pays for the garbage the one before it left.
  for (const b of readers.map((_, i) => (i + run) % readers.length)) {
    const before = process.cpuUsage();
    const table = readers[b](bytes, 'wide.csv');
    const used = process.cpuUsage(before);
    if (table.frame.columns.length !== columns) throw new Error(`build ${b} read ${table.frame.columns.length} columns of ${columns}`);
    // Run 0 warms up (polars loaded, expressions built); CPU time is steadier than wall time on a shared machine.
    if (run > 0) cpuMs[b].push((used.user + used.system) / 1000);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cpus = os.cpus();
console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`);
console.log(`readTableBytes of ${columns} ${plain ? 'plain ' : ''}columns x ${rows} rows (${(bytes.length / 1e6).toFixed(1)} MB), ${runs} runs after a warm-up, median CPU ms`);
const first = median(cpuMs[0]);
for (const [b, build] of builds.entries()) {
  const value = median(cpuMs[b]);
  console.log(`  [${b}] ${build.padEnd(40)} ${value.toFixed(0).padStart(8)} ms${b > 0 ? `   x${(value / first).toFixed(2)} of [0]` : ''}`);
}
