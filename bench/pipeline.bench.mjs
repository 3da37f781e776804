#!/usr/bin/env node
// The whole pipeline on the full PobleSec data through the `flts` binary, as a user runs it, stage by stage:
// preprocess, train, eval on the held-out test file, promote the best run, and serve it until /readyz answers
// 200 and a first /predict succeeds. Prints one row per stage and the total.
//
// With --baseline <other checkout>/bin/run.js the same pipeline also runs on that build, in the same invocation,
// on the same data, the two builds alternating (current, baseline, current, ... for --rounds), each in a home of
// its own, so the comparison is same-run. What each side trains (--work):
//   same      both sides: LSTM,GRU,PROPHET in the reference configuration (2 x 128 units, Adam 1e-4, 10 epochs,
//             patience 30, window 10, batch 64); the current build gets FLTS_PROFILE=reference, which is what a
//             build from before profiles uses by default.
//   defaults  each side as shipped: the current build's `flts train` with no --model (its default model set and
//             settings), the baseline's LSTM,GRU,PROPHET with its defaults (what this benchmark ran by default then).
// Without --baseline: the current build only, training [models] (default: LSTM,GRU,PROPHET; "defaults" = no
// --model flag, the default model set).
// Usage: npm run build && node bench/pipeline.bench.mjs [models] [--baseline <path>/bin/run.js] [--work same|defaults] [--rounds 1]
//          [--port N (where `flts serve` listens; default: a free port the system gives)]
//   shortest: node bench/pipeline.bench.mjs NAIVE
// The table goes to stdout, each stage's line to stderr as it ends; the homes are temporary and removed.
// Env: passed through to every command of the current build (e.g. FLTS_TRAIN_WORKERS=1, EPOCHS).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const datasets = path.resolve(here, '../../shared/datasets');
const { values: options, positionals } = parseArgs({
  options: { baseline: { type: 'string' }, work: { type: 'string', default: 'same' }, rounds: { type: 'string', default: '1' }, port: { type: 'string' } },
  allowPositionals: true,
});
const REFERENCE_WORK = 'LSTM,GRU,PROPHET';

/** What one side runs: its binary, the --model value of `flts train` (undefined = none) and extra environment. */
function sides() {
  const current = { name: 'current', bin: path.resolve(here, '../bin/run.js'), env: {} };
  if (!options.baseline) return [{ ...current, models: positionals[0] === 'defaults' ? undefined : (positionals[0] ?? REFERENCE_WORK) }];
  const baseline = { name: 'baseline', bin: path.resolve(options.baseline), env: {}, models: REFERENCE_WORK };
  if (options.work === 'same') return [{ ...current, models: REFERENCE_WORK, env: { FLTS_PROFILE: 'reference' } }, baseline];
  if (options.work === 'defaults') return [{ ...current, models: undefined }, baseline];
  throw new Error(`--work must be same or defaults, not ${options.work}`);
}

function flts(side, home, args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [side.bin, ...args, '--home', home, '--json'], { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ...side.env } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${side.name}: flts ${args.join(' ')} failed: ${stderr || error.message}`));
      resolve(JSON.parse(stdout).result);
    });
  });
}

async function untilReady(url, child) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/readyz`).then((response) => response.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const trainDetail = (result) =>
  result.runs
    .map((run) => {
      const epochs = run.epochs_run;
      const rate = run.timings?.samples_per_sec ? ` ${run.timings.samples_per_sec.toFixed(0)} samples/s` : '';
      return `${run.model_type} ${run.status === 'SUCCESS' ? '' : `${run.status} `}${((run.timings?.duration_ms ?? 0) / 1000).toFixed(1)} s${rate}${epochs ? `, ${epochs} ep.` : ''}`;
    })
    .join('; ');

/** A port nothing listens on now, from the system (a random pick in a fixed range could meet another server's). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** One whole pipeline of `side` in a fresh home; resolves with its stages. */
async function pipeline(side) {
  const home = mkdtempSync(path.join(os.tmpdir(), `flts-pipeline-${side.name}-`));
  const port = options.port ? Number(options.port) : await freePort();
  const stages = [];
  const stage = async (name, work) => {
    const started = performance.now();
    const detail = await work();
    stages.push({ name, seconds: (performance.now() - started) / 1000, detail });
    console.error(`${side.name}: ${name} ${stages.at(-1).seconds.toFixed(1)} s ${detail ?? ''}`);
  };
  let server;
  try {
    await stage('preprocess', async () => {
      const result = await flts(side, home, ['preprocess', '--train', path.join(datasets, 'PobleSec.csv'), '--test', path.join(datasets, 'PobleSec_test.csv')]);
      return `config_hash ${(result.config_hash ?? result.configHash).slice(0, 12)}`;
    });
    await stage('train', async () => trainDetail(await flts(side, home, ['train', ...(side.models ? ['--model', side.models] : [])])));
    await stage('eval', async () => {
      const result = await flts(side, home, ['eval']);
      return result.rows.map((row) => `${row.model_type} R2 ${row.r2.toFixed(3)}`).join(', ');
    });
    await stage('promote --best', async () => {
      const result = await flts(side, home, ['promote', '--best', '--reason', 'pipeline benchmark']);
      return `${result.record.model_type} ${result.record.run_id.slice(0, 8)}`;
    });
    await stage('serve until ready, first /predict', async () => {
      server = spawn(process.execPath, [side.bin, 'serve', '--home', home, '--port', String(port), '--log-level', 'silent'], { stdio: 'ignore', env: { ...process.env, ...side.env } });
      const url = `http://127.0.0.1:${port}`;
      await untilReady(url, server);
      const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const body = await response.json();
      if (body.status !== 'SUCCESS') throw new Error(`first /predict failed: ${JSON.stringify(body)}`);
      return body.model_type;
    });
    return stages;
  } finally {
    if (server && server.exitCode === null) {
      // The server flushes its prediction log on the way out; remove the home only after it has exited.
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT');
      await exited;
    }
    rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' ');
const loadBefore = load();
const runs = sides().map((side) => ({ side, rounds: [] }));
for (let round = 0; round < Number(options.rounds); round++) {
  for (const run of runs) run.rounds.push(await pipeline(run.side));
}
console.log(`machine: ${os.cpus()[0].model.trim()} x${os.cpus().length}, node ${process.version}, load ${loadBefore} -> ${load()}`);
console.log(`env: ${Object.entries(process.env).filter(([k]) => k.startsWith('FLTS_') || ['EPOCHS', 'MODEL_TYPE'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ') || '(defaults)'}`);
for (const { side } of runs) {
  const settings = Object.entries(side.env).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`${side.name}: ${side.bin}; flts train ${side.models ? `--model ${side.models}` : '(its default model set)'}${settings ? `; ${settings}` : ''}`);
}
const names = runs[0].rounds[0].map((s) => s.name);
const seconds = (run, name) => median(run.rounds.map((stages) => stages.find((s) => s.name === name).seconds));
const total = (run) => median(run.rounds.map((stages) => stages.reduce((sum, s) => sum + s.seconds, 0)));
console.log(`\n${runs.length > 1 ? `${options.work} work, ` : ''}${options.rounds} round(s), alternating; seconds${Number(options.rounds) > 1 ? ' (median)' : ''}\n`);
console.log(`| stage | ${runs.map((r) => r.side.name).join(' | ')} |${runs.length > 1 ? ' baseline / current |' : ''} ${runs.map((r) => `${r.side.name}: last round`).join(' | ')} |`);
console.log(`|---|${runs.map(() => '---|').join('')}${runs.length > 1 ? '---|' : ''}${runs.map(() => '---|').join('')}`);
for (const name of names) {
  const cells = runs.map((r) => seconds(r, name).toFixed(1));
  const ratio = runs.length > 1 ? ` x${(seconds(runs[1], name) / seconds(runs[0], name)).toFixed(2)} |` : '';
  console.log(`| ${name} | ${cells.join(' | ')} |${ratio} ${runs.map((r) => r.rounds.at(-1).find((s) => s.name === name).detail ?? '').join(' | ')} |`);
}
const totals = runs.map((r) => `**${total(r).toFixed(1)}**`);
console.log(`| **total** | ${totals.join(' | ')} |${runs.length > 1 ? ` **x${(total(runs[1]) / total(runs[0])).toFixed(2)}** |` : ''} ${runs.map(() => '').join(' | ')} |`);
