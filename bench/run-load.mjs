#!/usr/bin/env node
// How long loading one run for serving takes (loadRunForServing: record, scaler, intervals, model, and the digest
// check of its files where the run recorded them), for each build given, on the same run. Each round starts one
// process per build, the builds alternating, and each process loads the run `--loads` times after one warm-up load
// (tfjs and the backend are imported once per process). Prints the median load of every build and their ratio.
// Usage: npm run build && node bench/run-load.mjs --home <home with the run> --run <run id>
//          [--base /tmp/main-copy (a checkout with its own build, shown as "before")] [--rounds 6] [--loads 30]
//          [--engine wasm|onnx] [--inference-thread]
import { execFile } from 'node:child_process';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    home: { type: 'string' },
    run: { type: 'string' },
    base: { type: 'string' },
    rounds: { type: 'string', default: '6' },
    loads: { type: 'string', default: '30' },
    engine: { type: 'string', default: 'wasm' },
    'inference-thread': { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});

if (flags.child) {
  const { resolveSettings, createObjectStore, loadRunForServing } = await import(path.join(flags.child, 'index.js'));
  const settings = resolveSettings({ flags: { home: flags.home } }).settings;
  const store = await createObjectStore(settings);
  const options = { engine: flags.engine, inferenceThread: flags['inference-thread'] };
  const load = async () => {
    const started = performance.now();
    const { model } = await loadRunForServing(store, settings, flags.run, options);
    const ms = performance.now() - started;
    await model.dispose?.();
    return ms;
  };
  await load();
  const times = [];
  for (let i = 0; i < Number(flags.loads); i++) times.push(await load());
  console.log(JSON.stringify(times));
  process.exit(0);
}

if (!flags.home || !flags.run) throw new Error('--home and --run are required');
const here = import.meta.dirname;
const builds = [...(flags.base ? [{ label: 'before', dist: path.resolve(flags.base, 'dist/core') }] : []), { label: flags.base ? 'after' : 'this', dist: path.resolve(here, '../dist/core') }];
const run = promisify(execFile);
const times = Object.fromEntries(builds.map((build) => [build.label, []]));
for (let round = 0; round < Number(flags.rounds); round++) {
  for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
    const argv = [import.meta.filename, '--child', build.dist, '--home', path.resolve(flags.home), '--run', flags.run, '--loads', flags.loads, '--engine', flags.engine];
    if (flags['inference-thread']) argv.push('--inference-thread');
    const { stdout } = await run(process.execPath, argv, { maxBuffer: 16 << 20 });
    times[build.label].push(...JSON.parse(stdout.trim().split('\n').at(-1)));
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const build of builds) console.log(`${build.label.padEnd(7)} median ${median(times[build.label]).toFixed(3)} ms over ${times[build.label].length} loads`);
if (flags.base) console.log(`after/before ${(median(times.after) / median(times.before)).toFixed(3)}`);
