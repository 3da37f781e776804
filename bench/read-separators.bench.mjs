#!/usr/bin/env node
// Reading a semicolon or tab CSV against the same table written with commas: each text column goes through the
// number-style and number-cast expressions (src/core/data/number-text.ts, polars-frame.ts), which a comma file's
// float columns skip. A comma file ending in rows of empty cells (a spreadsheet's trailing rows) goes through the
// filter that leaves blank rows out (polars-frame.ts). The example data (and PobleSec when present) are rewritten
// in memory with each separator; every build given is timed on every file, alternating, in one process, and the median CPU ms
// is printed per build and file, with the ratio of each other build to the first one.
// Usage: npm run build && node bench/read-separators.bench.mjs [runs] [other build root ...]
//   e.g. node bench/read-separators.bench.mjs 9 /tmp/before   (a build of another commit, its dist/ built there)
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 7);
const builds = [root, ...process.argv.slice(3).map((dir) => path.resolve(dir))];
const datasets = process.env.FLTS_DATASETS ?? path.resolve(root, '../shared/datasets');
const sources = [path.join(root, 'examples/data/example.csv'), path.join(datasets, 'PobleSec.csv')].filter((file) => existsSync(file));
if (!existsSync(sources[0])) throw new Error('examples/data/example.csv is missing: npm run examples:data');

const files = sources.flatMap((source) => {
  const text = readFileSync(source, 'utf8');
  const name = path.basename(source, '.csv');
  return [
    { label: `${name} comma`, bytes: Buffer.from(text) },
    { label: `${name} semicolon`, bytes: Buffer.from(text.replaceAll(',', ';')) },
    { label: `${name} tab`, bytes: Buffer.from(text.replaceAll(',', '\t')) },
    { label: `${name} comma+blank`, bytes: Buffer.from(`${text.trimEnd()}\n${`${','.repeat(text.split('\n', 1)[0].split(',').length - 1)}\n`.repeat(3)}`) },
  ];
});
const readers = await Promise.all(builds.map(async (build) => (await import(path.join(build, 'dist/core/data/read-table.js'))).readTableBytes));
const cpuMs = builds.map(() => files.map(() => []));
for (let run = 0; run <= runs; run++) {
  for (const [f, file] of files.entries()) {
    // Builds take turns going first: each read pays for the garbage the one before it left.
    const order = readers.map((_, b) => (b + run) % readers.length);
    for (const b of order) {
      const read = readers[b];
      const before = process.cpuUsage();
      read(file.bytes, 'x.csv');
      const used = process.cpuUsage(before);
      // Run 0 warms up (polars loaded, expressions built); CPU time is steadier than wall time on a shared machine.
      if (run > 0) cpuMs[b][f].push((used.user + used.system) / 1000);
    }
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cpus = os.cpus();
console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`);
console.log(`readTableBytes, ${runs} runs after a warm-up, median CPU ms (builds: ${builds.map((build, b) => `[${b}] ${build}`).join(', ')})`);
console.log(`  ${'file'.padEnd(20)} ${builds.map((_, b) => `[${b}] ms  / comma`.padStart(18)).join('')}`);
for (const [f, file] of files.entries()) {
  const medians = builds.map((_, b) => median(cpuMs[b][f]));
  // Files come in fours from one source, the comma file first.
  const ofComma = builds.map((_, b) => medians[b] / median(cpuMs[b][f - (f % 4)]));
  const ratios = medians.slice(1).map((value) => ` x${(value / medians[0]).toFixed(2)}`).join('');
  console.log(`  ${file.label.padEnd(20)} ${medians.map((value, b) => `${value.toFixed(1).padStart(10)}  x${ofComma[b].toFixed(1).padEnd(5)}`).join('')}${ratios ? `   other/first:${ratios}` : ''}`);
}
