#!/usr/bin/env node
// Times `runPreprocess` on the full PobleSec train + test files (forced, so every run does all the work), in one
// process after a warm-up run per build. `--wide COLUMNSxROWS` times a generated wide pair instead (COLUMNS numeric
// columns, ROWS training rows and a third as many test rows, 2 minutes apart), where the cost is per column.
// `--base <dir>` (repeatable) is another checkout with its own `npm run build` (e.g. main's): every build is loaded into
// this process and the builds take turns run by run, so all see the same load.
// Usage: npm run build && node bench/preprocess.bench.mjs [runs=5] [--wide 9999x300] [--base /tmp/main-copy]
// Prints the medians to stdout; the homes (and generated files) are temporary and removed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const { values: options, positionals } = parseArgs({ options: { wide: { type: 'string' }, base: { type: 'string', multiple: true, default: [] } }, allowPositionals: true });
const runs = Number(positionals[0] ?? 5);
const roots = [path.resolve(here, '..'), ...options.base.map((dir) => path.resolve(dir))];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-'));

/** A wide CSV pair: a time column, then `columns` numeric ones (the first named `down`, the default target). */
function writeWidePair(columns, rows) {
  const write = (file, count, start) => {
    const lines = [['time', 'down', ...Array.from({ length: columns - 1 }, (_, c) => `c${c}`)].join(',')];
    for (let r = start; r < start + count; r++) {
      const time = new Date(Date.UTC(2024, 0, 1) + r * 120_000).toISOString().replace('T', ' ').slice(0, 19);
      lines.push([time, ...Array.from({ length: columns }, (_, c) => ((r * 31 + c) % 997) / 8)].join(','));
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
  };
  const files = { train: path.join(scratch, 'wide.csv'), test: path.join(scratch, 'wide_test.csv') };
  write(files.train, rows, 0);
  write(files.test, Math.max(1, Math.round(rows / 3)), rows);
  return files;
}

let files;
let label = 'PobleSec train+test';
if (options.wide) {
  const [columns, rows] = options.wide.split('x').map(Number);
  files = writeWidePair(columns, rows);
  label = `generated ${columns} columns x ${rows} + ${Math.round(rows / 3)} rows`;
} else {
  const datasets = path.resolve(here, '../../shared/datasets');
  files = { train: path.join(datasets, 'PobleSec.csv'), test: path.join(datasets, 'PobleSec_test.csv') };
}

const builds = [];
for (const [i, root] of roots.entries()) {
  const load = (module) => import(pathToFileURL(path.join(root, 'dist/core', module)).href);
  const [{ resolveSettings }, { runPreprocess }, { createFsStore }] = await Promise.all([load('config/settings.js'), load('preprocess/run-preprocess.js'), load('storage/fs-store.js')]);
  const home = path.join(scratch, `home-${i}`);
  const { settings } = resolveSettings({ flags: { home, 'data.trainFile': files.train, 'data.testFile': files.test, 'data.forceReprocess': true } });
  builds.push({ root, settings, runPreprocess, store: createFsStore(path.join(home, 'store')), rows: [] });
}

try {
  for (let i = 0; i <= runs; i++) {
    for (const build of i % 2 ? [...builds].reverse() : builds) {
      const cpuBefore = process.cpuUsage();
      const result = await build.runPreprocess(build.settings, { store: build.store });
      const cpu = process.cpuUsage(cpuBefore);
      // CPU time (all threads, user + system) is steadier than wall time on a shared machine.
      if (i > 0) build.rows.push({ ...result.timings, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
  }
  const cpus = os.cpus();
  console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`${label}, ${runs} forced runs per build after one warm-up, builds taking turns (median ms):`);
  for (const [b, build] of builds.entries()) {
    const median = (key, rows = build.rows) => rows.map((r) => r[key]).sort((x, y) => x - y)[Math.floor(rows.length / 2)];
    const cached = await build.runPreprocess({ ...build.settings, data: { ...build.settings.data, forceReprocess: false } }, { store: build.store });
    const ratio = b > 0 ? `  total x${(median('totalMs') / median('totalMs', builds[0].rows)).toFixed(2)}, cpu x${(median('cpuMs') / median('cpuMs', builds[0].rows)).toFixed(2)} of [0]` : '';
    console.log(`  [${b}] ${build.root}`);
    console.log(`      read+parse+sample ${median('readMs').toFixed(1)}  transform ${median('transformMs').toFixed(1)}  write ${median('writeMs').toFixed(1)}  total ${median('totalMs').toFixed(1)}  (cpu ${median('cpuMs').toFixed(1)})${ratio}`);
    console.log(`      cached run: ${cached.status}, ${cached.timings.totalMs.toFixed(1)} ms`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
