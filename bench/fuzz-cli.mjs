#!/usr/bin/env node
// Hostile flag values and settings variables against every command of the built CLI (bin/run.js). The contract: a
// refused value is a usage/input exit (never 1) with a coded reason that is not FLTS_INTERNAL, JSON under --json,
// no stack trace, and no hang. A value a command accepts is fine (exit 0, or still serving when the time is up).
// Usage: npm run build && node bench/fuzz-cli.mjs [command-filter-regex] [--quick] [--env] [--concurrency 2] [--timeout 20000]
// Prints one line per failure and counts by outcome; exit 1 when anything failed.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;
const BIN = path.resolve(here, '../bin/run.js');
const DATASETS = path.resolve(here, '../../shared/datasets');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const filter = new RegExp(args.find((arg, i) => !arg.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? '.');
const concurrency = Number(option('--concurrency', '2'));
const timeoutMs = Number(option('--timeout', '20000'));
const fuzzEnv = args.includes('--env');

const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-fuzz-cli-'));
const dir = path.join(scratch, 'a-directory');
mkdirSync(dir);
const fifo = path.join(scratch, 'a-fifo');
await run(['mkfifo', fifo], { bare: true });
const unreadable = path.join(scratch, 'unreadable.csv');
writeFileSync(unreadable, 'ts,down\n');
chmodSync(unreadable, 0o000);
const garbage = path.join(scratch, 'garbage.csv');
writeFileSync(garbage, '\0\0\0 not a csv \n\n,,,\n');

/** The values every flag is given: numbers out of range, text no flag means, and paths that are not files. */
const QUICK = new Set(['NaN', 'Infinity', '-1', '0', '1e309', '99999999999999999999999', '', 'a\nb', 'x'.repeat(100_000), dir, fifo, '2026-13-45T99:99', '10x']);
const ALL_VALUES = [
  'NaN', 'Infinity', '-1', '0', '1e309', '99999999999999999999999', '1.5', '0x10', ' ', '', 'a\nb', 'x'.repeat(100_000), '../../etc/passwd',
  dir, path.join(scratch, 'missing', 'file.csv'), fifo, unreadable, garbage, '2026-13-45T99:99', 'P1D', '10x', ',', 'é\u202e',
];
// --quick: fewer values, and the shared flags (--config, --home, --log-level, --profile) on `config show` alone.
const quick = args.includes('--quick');
const HOSTILE = quick ? ALL_VALUES.filter((value) => QUICK.has(value)) : ALL_VALUES;

function run(argv, { env = {}, bare = false, timeout = timeoutMs } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FLTS_')));
    const child = execFile(bare ? argv[0] : process.execPath, bare ? argv.slice(1) : [BIN, ...argv], { env: { ...base, ...env }, timeout, killSignal: 'SIGKILL', maxBuffer: 64 << 20, cwd: scratch }, (error, stdout, stderr) => {
      const timedOut = error?.killed === true;
      resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr, timedOut, ms: Date.now() - started });
    });
    child.stdin?.end();
  });
}

/** A home with a processed PobleSec slice, a NAIVE and an LSTM run and the NAIVE promoted: what each command finds. */
async function seedHome() {
  const home = path.join(scratch, 'seed-home');
  const env = { FLTS_DATA_DIR: DATASETS };
  for (const argv of [
    ['preprocess', '--home', home, '--train', 'PobleSec.csv', '--test', 'PobleSec_test.csv', '--sample-train-rows', '400', '--sample-test-rows', '150'],
    ['train', '--home', home, '--model', 'NAIVE,LSTM', '--epochs', '1', '--hidden-size', '8', '--num-layers', '1'],
    ['promote', '--best', '--home', home],
  ]) {
    const result = await run(argv, { env, timeout: 120_000 });
    if (result.exitCode !== 0) throw new Error(`seeding failed: ${argv.join(' ')}\n${result.stderr}`);
  }
  return home;
}

/** Flags each command gets besides the one fuzzed, so it reaches its flags' checks and stays quick when accepted. */
const BASE = {
  train: ['--model', 'NAIVE'],
  serve: ['--port', '0'],
  daemon: ['--port', '0'],
  bench: ['--duration', '1', '--warmup', '0'],
  backtest: ['--models', 'NAIVE', '--folds', '1'],
  'replay-offsets': ['--group', 'flts-trainer', '--all-topics', '--to-earliest'],
  predict: ['--data', path.join(DATASETS, 'PobleSec_test.csv')],
};
const SERVICES = new Set(['serve', 'daemon']);
const GLOBAL = ['config', 'home', 'log-level', 'profile'];

function verdict(result, service) {
  if (result.timedOut) return service ? { outcome: 'running' } : { outcome: 'fail', why: `no answer within ${timeoutMs} ms` };
  if (result.exitCode === 0) return { outcome: 'accepted' };
  if (/^\s+at .+:\d+:\d+\)?$/m.test(result.stderr) || /^\s+at .+:\d+:\d+\)?$/m.test(result.stdout)) return { outcome: 'fail', why: `stack trace (exit ${result.exitCode})` };
  let body;
  try {
    body = JSON.parse(result.stdout);
  } catch {
    return { outcome: 'fail', why: `exit ${result.exitCode} without a JSON error: ${(result.stdout + result.stderr).slice(0, 300)}` };
  }
  const code = body?.error?.code;
  if (typeof code !== 'string' || !code.startsWith('FLTS_')) return { outcome: 'fail', why: `exit ${result.exitCode}, no coded error: ${result.stdout.slice(0, 300)}` };
  if (code === 'FLTS_INTERNAL' || result.exitCode === 1) return { outcome: 'fail', why: `${code} exit ${result.exitCode}: ${body.error.message?.slice(0, 300)}` };
  return { outcome: code };
}

function cases(manifest, home) {
  const out = [];
  for (const [id, command] of Object.entries(manifest.commands)) {
    const name = id.replace(':', ' ');
    if (!filter.test(name)) continue;
    const base = [...name.split(' '), '--json', '--home', home, ...(BASE[name] ?? [])];
    for (const [flag, spec] of Object.entries(command.flags)) {
      if (flag === 'json' || flag === 'debug' || flag === 'home') continue;
      if (quick && GLOBAL.includes(flag) && name !== 'config show') continue;
      if (spec.type === 'boolean') {
        out.push({ name, label: `--${flag}=maybe`, argv: [...base, `--${flag}=maybe`] });
        out.push({ name, label: `--${flag} --${flag}`, argv: [...base, `--${flag}`, `--${flag}`] });
        continue;
      }
      const rest = base.filter((arg, i) => arg !== `--${flag}` && base[i - 1] !== `--${flag}`);
      for (const value of HOSTILE) out.push({ name, label: `--${flag} ${JSON.stringify(value.length > 40 ? `${value.slice(0, 12)}...(${value.length})` : value)}`, argv: [...rest, `--${flag}`, value] });
      out.push({ name, label: `--${flag} 1 --${flag} 2`, argv: [...rest, `--${flag}`, '1', `--${flag}`, '2'] });
    }
    if (!GLOBAL.every((flag) => command.flags[flag])) continue;
    out.push({ name, label: '--home <a FIFO>', argv: [...name.split(' '), '--json', '--home', fifo] });
    out.push({ name, label: '--home <a file>', argv: [...name.split(' '), '--json', '--home', garbage] });
  }
  return out;
}

async function envCases(home) {
  const { ALL_SPECS } = await import('../dist/core/config/specs/index.js');
  const names = [...new Set(ALL_SPECS.flatMap((spec) => spec.env ?? []).filter((name) => name.startsWith('FLTS_'))), 'FLTS_OPERATOR'];
  // NUL cannot reach a process environment; every other hostile value can.
  const values = HOSTILE.filter((value) => !value.includes('\0') && value.length < 1000);
  const out = [];
  for (const command of ['config show', 'eval', 'promote --history'].filter((name) => filter.test(name)))
    for (const name of names) for (const value of values) out.push({ name: command, label: `${name}=${JSON.stringify(value)}`, argv: [...command.split(' '), '--json', '--home', home], env: { [name]: value } });
  return out;
}

const manifest = JSON.parse(readFileSync(path.resolve(here, '../oclif.manifest.json'), 'utf8'));
const seed = await seedHome();
const all = [...cases(manifest, seed), ...(fuzzEnv ? await envCases(seed) : [])];
console.log(`${all.length} cases, ${concurrency} at a time, scratch ${scratch}`);
const counts = new Map();
const failures = [];
let next = 0;
let done = 0;
await Promise.all(
  Array.from({ length: concurrency }, async (_, worker) => {
    while (next < all.length) {
      const item = all[next++];
      // Each case gets its own copy of the home: an accepted value may write to it.
      const home = path.join(scratch, `home-${worker}`);
      rmSync(home, { recursive: true, force: true });
      cpSync(seed, home, { recursive: true });
      const argv = item.argv.map((arg) => (arg === seed ? home : arg));
      const result = await run(argv, { env: item.env });
      const { outcome, why } = verdict(result, SERVICES.has(item.name) || item.name === 'bench');
      const key = `${item.name}: ${outcome}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (++done % 50 === 0) console.log(`${done}/${all.length} done`);
      if (outcome === 'fail') {
        const line = `${item.name} ${item.label}: ${why.replace(/\s+/g, ' ')}`;
        failures.push(line);
        console.log(`FAIL ${line}`);
      }
    }
  }),
);
for (const [key, count] of [...counts].sort()) console.log(`${key}  ${count}`);
console.log(`${failures.length} failures of ${all.length} cases`);
chmodSync(unreadable, 0o600);
rmSync(scratch, { recursive: true, force: true });
process.exitCode = failures.length ? 1 : 0;
