#!/usr/bin/env node
// Times what a served model's load reads of its processed data: the registry source's `loadTestFrame` on the full
// PobleSec files, processed once (default settings) into a temporary store that every build then reads. `--base <dir>`
// (repeatable) is another checkout with its own `npm run build` (e.g. main's): every build is loaded into this process,
// the builds take turns call by call so all see the same load, and their frames are compared value for value.
// Usage: npm run build && node bench/test-frame-load.mjs [rounds=5] [calls=20] [--base /tmp/main-copy]
// Prints the medians to stdout; the temporary home is removed.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const { values: options, positionals } = parseArgs({ options: { base: { type: 'string', multiple: true, default: [] } }, allowPositionals: true });
const rounds = Number(positionals[0] ?? 5);
const calls = Number(positionals[1] ?? 20);
const roots = [path.resolve(here, '..'), ...options.base.map((dir) => path.resolve(dir))];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-'));
const datasets = path.resolve(here, '../../shared/datasets');

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

/** Same times, same columns, same float bits: what the served window is cut from. */
function sameFrame(a, b) {
  if (a.columns.join() !== b.columns.join() || a.time.length !== b.time.length) return false;
  const bits = (array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  return bits(a.time).equals(bits(b.time)) && a.columns.every((column) => bits(a.values[column]).equals(bits(b.values[column])));
}

try {
  const builds = [];
  for (const root of roots) {
    const load = (module) => import(pathToFileURL(path.join(root, 'dist/core', module)).href);
    const [{ resolveSettings }, { createFsStore }, { createRegistryModelSource }, { runPreprocess }] = await Promise.all([
      load('config/settings.js'),
      load('storage/fs-store.js'),
      load('serve/registry-model-source.js'),
      load('preprocess/run-preprocess.js'),
    ]);
    const { settings } = resolveSettings({ flags: { home: scratch, 'data.trainFile': path.join(datasets, 'PobleSec.csv'), 'data.testFile': path.join(datasets, 'PobleSec_test.csv') } });
    const store = createFsStore(path.join(scratch, 'store'));
    builds.push({ root, settings, store, runPreprocess, source: createRegistryModelSource(store, settings), perCall: [], cpuPerCall: [] });
  }
  const [first] = builds;
  const processed = await first.runPreprocess(first.settings, { store: first.store });
  const frames = await Promise.all(builds.map((build) => build.source.loadTestFrame(processed.configHash)));
  const identical = frames.every((frame) => sameFrame(frame, frames[0]));

  for (let round = 0; round <= rounds; round++) {
    for (const build of round % 2 ? [...builds].reverse() : builds) {
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < calls; i++) await build.source.loadTestFrame(processed.configHash);
      const wall = performance.now() - start;
      const cpu = process.cpuUsage(cpuBefore);
      // Round 0 warms each build up (module code, the store's file handles) and is not counted.
      if (round > 0) {
        build.perCall.push(wall / calls);
        build.cpuPerCall.push((cpu.user + cpu.system) / 1000 / calls);
      }
    }
  }
  const cpus = os.cpus();
  console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`PobleSec processed (${processed.train.rows} train rows, ${processed.test.rows} test rows, ${processed.test.columns} columns), config_hash ${processed.configHash.slice(0, 12)}`);
  console.log(`loadTestFrame, ${rounds} rounds of ${calls} calls per build after a warm-up round, builds taking turns (median ms per call):`);
  for (const [b, build] of builds.entries()) {
    const ratio = b > 0 ? `  wall x${(median(build.perCall) / median(first.perCall)).toFixed(2)}, cpu x${(median(build.cpuPerCall) / median(first.cpuPerCall)).toFixed(2)} of [0]` : '';
    console.log(`  [${b}] ${build.root}: wall ${median(build.perCall).toFixed(2)} (rounds ${build.perCall.map((ms) => ms.toFixed(1)).join(' ')}), cpu ${median(build.cpuPerCall).toFixed(2)}${ratio}`);
  }
  console.log(`frames of every build identical (times, columns, float bits): ${identical}`);
  if (!identical) process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
