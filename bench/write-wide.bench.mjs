#!/usr/bin/env node
// Writing a wide frame as Parquet (encodeFrameParquet, how processed data is stored): thousands of columns of few
// rows, where what costs is per column. Each build given encodes the same generated frame in a process of its own
// (so that its peak memory is its own), builds taking turns; the median CPU ms and peak RSS are printed per build,
// with the ratios of each other build to the first one.
// Usage: npm run build && node bench/write-wide.bench.mjs [runs] [columns] [rows] [other build root ...]
//   e.g. node bench/write-wide.bench.mjs 5 5000 300 /tmp/before   (a build of another commit, its dist/ built there)
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [build, columns, rows] = [process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
  const { encodeFrameParquet } = await import(path.join(build, 'dist/core/data/frame-parquet.js'));
  const time = Float64Array.from({ length: rows }, (_, i) => Date.UTC(2024, 0, 1) + i * 60_000);
  const names = Array.from({ length: columns }, (_, c) => `c${c}`);
  const values = Object.fromEntries(names.map((name, c) => [name, Float64Array.from({ length: rows }, (_, row) => (c % 10 === 1 && row % 7 === 0 ? Number.NaN : ((row * 31 + c) % 997) / 8))]));
  const before = process.cpuUsage();
  const bytes = encodeFrameParquet({ time, columns: names, values });
  const used = process.cpuUsage(before);
  process.stdout.write(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, bytes: bytes.length }));
  process.exit(0);
}

const root = path.resolve(path.dirname(self), '..');
const runs = Number(process.argv[2] ?? 5);
const columns = Number(process.argv[3] ?? 5000);
const rows = Number(process.argv[4] ?? 300);
const builds = [root, ...process.argv.slice(5).map((dir) => path.resolve(dir))];

const results = builds.map(() => ({ cpuMs: [], maxRssMb: [], bytes: 0 }));
for (let run = 0; run < runs; run++) {
  for (const b of builds.map((_, i) => (i + run) % builds.length)) {
    const result = JSON.parse(execFileSync(process.execPath, [self, '--child', builds[b], String(columns), String(rows)], { encoding: 'utf8' }));
    results[b].cpuMs.push(result.cpuMs);
    results[b].maxRssMb.push(result.maxRssMb);
    results[b].bytes = result.bytes;
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cpus = os.cpus();
console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`);
console.log(`encodeFrameParquet of ${columns} columns x ${rows} rows, ${runs} runs per build, a process each, medians`);
const [firstCpu, firstRss] = [median(results[0].cpuMs), median(results[0].maxRssMb)];
for (const [b, build] of builds.entries()) {
  const [cpu, rss] = [median(results[b].cpuMs), median(results[b].maxRssMb)];
  const ratios = b > 0 ? `   CPU x${(cpu / firstCpu).toFixed(2)}, RSS x${(rss / firstRss).toFixed(2)} of [0]` : '';
  console.log(`  [${b}] ${build.padEnd(40)} ${cpu.toFixed(0).padStart(7)} ms CPU ${rss.toFixed(0).padStart(6)} MB peak RSS  ${(results[b].bytes / 1e6).toFixed(1)} MB written${ratios}`);
}
