#!/usr/bin/env node
// Times `runPreprocess` on the full PobleSec train + test files (forced, so every run does all the work),
// in one process after a warm-up run. Usage: npm run build && node bench/preprocess.bench.mjs [runs]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSettings } from '../dist/core/config/settings.js';
import { runPreprocess } from '../dist/core/preprocess/run-preprocess.js';
import { createFsStore } from '../dist/core/storage/fs-store.js';

const runs = Number(process.argv[2] ?? 5);
const datasets = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../../shared/datasets');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-'));
const { settings } = resolveSettings({
  flags: {
    home,
    'data.trainFile': path.join(datasets, 'PobleSec.csv'),
    'data.testFile': path.join(datasets, 'PobleSec_test.csv'),
    'data.forceReprocess': true,
  },
});
const store = createFsStore(path.join(home, 'store'));
const rows = [];
try {
  for (let i = 0; i <= runs; i++) {
    const cpuBefore = process.cpuUsage();
    const result = await runPreprocess(settings, { store });
    const cpu = process.cpuUsage(cpuBefore);
    // CPU time (all threads, user + system) is steadier than wall time on a shared machine.
    if (i > 0) rows.push({ ...result.timings, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
  const cached = await runPreprocess({ ...settings, data: { ...settings.data, forceReprocess: false } }, { store });
  const median = (key) => rows.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
  const cpus = os.cpus();
  console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`PobleSec train+test, ${runs} forced runs after one warm-up (median ms):`);
  console.log(`  read+parse+sample ${median('readMs').toFixed(1)}  transform ${median('transformMs').toFixed(1)}  write ${median('writeMs').toFixed(1)}  total ${median('totalMs').toFixed(1)}  (cpu ${median('cpuMs').toFixed(1)})`);
  console.log(`  cached run: ${cached.status}, ${cached.timings.totalMs.toFixed(1)} ms`);
} finally {
  rmSync(home, { recursive: true, force: true });
}
