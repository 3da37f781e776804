#!/usr/bin/env node
// Damaged run artifacts against every command that loads a run, on the built CLI (bin/run.js). A run's files come
// from the store, where another system may also write: they can be cut short, edited or absurd. The contract: a
// command meeting a damaged run answers with a coded error (FLTS_*, never FLTS_INTERNAL, exit 2-7, JSON under
// --json), prints no stack trace, ends within the timeout and is not killed by a signal (an allocation driven by a
// number in a file shows up as a crash or a timeout under the heap cap). A command may also accept the damage
// (exit 0): that is counted apart, as "accepted".
// Usage: npm run build && node bench/fuzz-artifacts.mjs [filter-regex over "<model>/<file>/<mutation>/<command>"]
//        [--concurrency 2] [--timeout 30000] [--heap-mb 768] [--bin path/to/bin/run.js] [--full] [--keep] [--verbose]
//        [--no-digests]
// A run records the SHA-256 of the files its model predicts from, and any damage to one of them is refused as such
// before it is read: --no-digests removes them (and the record's seal, which covers them) from the seed runs, as in
// runs trained before they were kept or written by another system, so that the checks of each file's content meet
// the damage instead.
// Prints one line per failure and counts by outcome and command; exit 1 when anything failed.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const here = import.meta.dirname;
const DATASETS = path.resolve(here, '../../shared/datasets');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
// --bin: another build's bin/run.js (a copy of main's build, to compare before and after).
const BIN = path.resolve(option('--bin', path.join(here, '../bin/run.js')));
// The filter is the one argument that is no option's value: --full, --keep, --verbose and --no-digests take none.
const VALUE_OPTIONS = new Set(['--bin', '--concurrency', '--timeout', '--heap-mb']);
const filter = new RegExp(args.find((arg, i) => !arg.startsWith('--') && !VALUE_OPTIONS.has(args[i - 1])) ?? '.');
const concurrency = Number(option('--concurrency', '2'));
const timeoutMs = Number(option('--timeout', '30000'));
const heapMb = Number(option('--heap-mb', '768'));
const full = args.includes('--full');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-fuzz-artifacts-'));

/** Runs the CLI; `until` ends it early (SIGKILL, as `served`) once its output matches, e.g. a server that loaded its model. */
function run(argv, { timeout = timeoutMs, cwd = scratch, until } = {}) {
  return new Promise((resolve) => {
    let served = false;
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FLTS_')));
    // The seed's small network: a command that refits (backtest, when the run it would reuse is damaged) stays quick.
    const env = { ...base, FLTS_DATA_DIR: DATASETS, EPOCHS: '1', HIDDEN_SIZE: '8', NUM_LAYERS: '1', NODE_OPTIONS: `--max-old-space-size=${heapMb}` };
    const started = Date.now();
    const child = execFile(process.execPath, [BIN, ...argv], { env, timeout, killSignal: 'SIGKILL', maxBuffer: 64 << 20, cwd }, (error, stdout, stderr) => {
      const killed = error?.killed === true || (served && error?.signal === 'SIGKILL');
      resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : -1) : 0, signal: killed ? null : (error?.signal ?? null), timedOut: killed && !served, served, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin?.end();
    if (until) {
      let seen = '';
      const watch = (chunk) => {
        seen += chunk;
        if (!served && until.test(seen)) {
          served = true;
          child.kill('SIGKILL');
        }
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
    }
  });
}

/**
 * A home with a processed PobleSec slice and one run of every trained type: NAIVE and SNAIVE (a JSON window), LSTM and
 * GRU (topology + weights), MSTL (a season), PROPHET (a series refitted at load). 1,500 rows: SNAIVE reads a day (720).
 */
async function seedHome() {
  const home = path.join(scratch, 'seed');
  for (const argv of [
    ['preprocess', '--home', home, '--train', 'PobleSec.csv', '--test', 'PobleSec_test.csv', '--sample-train-rows', '1500', '--sample-test-rows', '150'],
    ['train', '--home', home, '--model', TYPES.join(','), '--epochs', '1', '--hidden-size', '8', '--num-layers', '1', '--json'],
  ]) {
    const result = await run(argv, { timeout: 300_000 });
    if (result.exitCode !== 0) throw new Error(`seeding failed: ${argv.join(' ')}\n${result.stderr}`);
  }
  const runsDir = path.join(home, 'store', 'runs');
  const runs = {};
  for (const id of readdirSync(runsDir).filter((name) => existsSync(path.join(runsDir, name, 'run.json')))) {
    const record = JSON.parse(readFileSync(path.join(runsDir, id, 'run.json'), 'utf8'));
    runs[record.model_type] = id;
    // The record's seal covers its artifact digests: a record without them but still sealed is an edited one, refused
    // whole, so both go, as in a run trained before either was kept.
    if (args.includes('--no-digests') && record.artifact_sha256) {
      delete record.artifact_sha256;
      delete record.record_sha256;
      writeFileSync(path.join(runsDir, id, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
    }
  }
  // Every case counts a coded refusal as a pass: seed runs that are refused undamaged would pass them all unread.
  const undamaged = await run(['eval', '--home', home, '--json']);
  const ranked = undamaged.exitCode === 0 ? JSON.parse(undamaged.stdout).result.rows.length : 0;
  if (ranked !== TYPES.length) throw new Error(`seeding failed: eval ranks ${ranked} of the ${TYPES.length} undamaged seed runs\n${undamaged.stdout}${undamaged.stderr}`);
  return { home, runs };
}

const TYPES = ['NAIVE', 'SNAIVE', 'LSTM', 'GRU', 'MSTL', 'PROPHET'];
const deep = (depth) => '['.repeat(depth) + ']'.repeat(depth);
const BIG = 2 ** 31;

/** Whole-file damage, for every file of a run. `raw` is the new content; `make` builds something else in the file's place. */
const FILE_MUTATIONS = {
  empty: { raw: () => '' },
  half: { raw: (text) => text.subarray(0, Math.floor(text.length / 2)) },
  flipped: { raw: (text) => Buffer.from(text).map((byte, i) => (i % 7 === 3 ? byte ^ 0x5a : byte)) },
  null: { raw: () => 'null' },
  array: { raw: () => '[]' },
  string: { raw: () => '"model"' },
  number: { raw: () => '1e999' },
  nested: { raw: () => deep(200_000) },
  huge: { raw: () => `{"pad":"${'x'.repeat(300 << 20)}"}` },
  directory: { make: (file) => mkdirSync(file) },
  'link-dev-zero': { make: (file) => symlinkSync('/dev/zero', file) },
  'link-outside': { make: (file) => symlinkSync('/etc/passwd', file) },
  fifo: { make: (file) => promisify(execFile)('mkfifo', [file]) },
};

/** Damage to one field, where the file has it: values a file can hold that no trained run writes. */
const FIELD_MUTATIONS = {
  'run.json': {
    'window.inputSeqLen': [BIG, 1e12, 1.5, '10'],
    'window.outputSeqLen': [BIG, 1e12],
    'window.features': [['nope'], Array.from({ length: 200_000 }, (_, i) => `c${i}`)],
    'window.targets': [['nope'], []],
    'window.targetFloors': ['x', { down: 'x' }, []],
    'window.changeWeight': ['x', null],
    'window.targetForm': ['sideways', 7],
    model_type: ['XYZ', 42],
    status: ['RUNNING', 'FAILED'],
    params: [null, { input_size: BIG }],
  },
  'model/naive.json': {
    'window.inputSeqLen': [BIG, -1, 0],
    'window.outputSeqLen': [BIG, 0],
    'window.features': [['nope'], 'down'],
    'window.targets': [['nope'], []],
    format: ['flts-naive-v9'],
  },
  'model/seasonal-naive.json': {
    period: [BIG, 0, -1, 'x'],
    'window.inputSeqLen': [BIG, -1, 0],
    'window.outputSeqLen': [BIG, 0],
    'window.targets': [['nope'], []],
    format: ['flts-seasonal-naive-v9'],
  },
  'model/prophet.json': {
    format: ['flts-prophet-v9', 7],
    series: [null, [], 'x', [null]],
    'series.0.target': ['nope', 7],
    'series.0.ds': [[], 'x', [null, 'x'], Array(3).fill(1e300)],
    'series.0.y': [[], 'x', Array(1500).fill(null)],
    'series.0.params': [null, 'x'],
    'series.0.ds.3': [0.5, 1e20],
    'series.0.y.7': [1e308],
    'series.0.params.k': ['x', null, 1e308, -1e30],
    'series.0.params.m': [1e308],
    'series.0.params.sigmaObs': [0, -1, 1e308],
    'series.0.params.delta': ['x', [], Array(100_000).fill(1)],
    'series.0.params.delta.0': [1e308],
    'series.0.params.beta': ['x', []],
    'series.0.params.beta.0': [-1e308],
    'series.0.params.trend': ['x', []],
    'series.0.shift': ['x', 1e308, 2],
    options: [null, 'x', {}],
    'options.nChangepoints': [BIG, -1, 'x'],
    'options.changepointRange': [2, -1, 'x'],
    // Of any size a setting takes; a damaged one is found by the settings the run recorded.
    'options.changepointPriorScale': [1e300, 0],
    'options.seasonalityPriorScale': [1e300, 0],
    'options.seasonalityMode': ['sideways'],
    seed: ['x', -1],
  },
  'model/mstl.json': {
    period: [BIG, 1e12, 0, -5, 1.5, 'x'],
    cadenceMs: [0, -1, 1e-300, 'x'],
    'profiles.down': [[], 'x', [null, 'x']],
    profiles: [null, {}],
    'window.inputSeqLen': [BIG],
    'window.targets': [['nope']],
    format: ['flts-mstl-v9'],
  },
  'model/model.json': {
    'weightsManifest.0.weights.0.shape': [[1e12, 32], [-1, 32], [BIG, BIG], 'x', [13.5, 32]],
    'weightsManifest.0.weights.0.dtype': ['float64', 'int32', 7],
    'weightsManifest.0.paths': [['../../../../../etc/passwd'], ['../scaler.json'], ['weights.bin', 'weights.bin'], [7]],
    weightsManifest: [null, [], [{}]],
    'modelTopology.config.layers.0.config.units': [BIG, -1, 0],
    'modelTopology.config.layers.0.config.batch_input_shape': [[null, BIG, 13], [null, 10, BIG]],
    'modelTopology.config.layers.0.class_name': ['Conv2D', 'Nope'],
    'modelTopology.config.layers': [[], null],
    modelTopology: [null],
  },
  'scaler.json': {
    scale: ['x', Array(17).fill(0), Array(17).fill('x'), Array(17).fill(null)],
    offset: [Array(17).fill(null)],
    columns: [['nope'], Array(17).fill(7)],
  },
  'intervals.json': {
    horizon: [BIG, -1],
    windows: [1e12, 'x'],
    'errors.down': ['x', [['x']], [[null]], []],
    'errors.down.0': [Array.from({ length: 100 }, () => 1e308), 'x', [-1, 0.5], [0.5, 0.1]],
    floors: [null, { down: 'x' }, {}, { down: -1 }],
    errors: [null, { nope: [[1]] }, {}],
    scale: ['sideways'],
    'lowerBounds.down': [1e6],
    format: ['flts-conformal-v9'],
  },
};

function setPath(value, dotted, replacement) {
  const keys = dotted.split('.');
  let node = value;
  for (const key of keys.slice(0, -1)) {
    if (node === null || typeof node !== 'object' || !(key in node)) return false;
    node = node[key];
  }
  if (node === null || typeof node !== 'object' || !(keys.at(-1) in node)) return false;
  node[keys.at(-1)] = replacement;
  return true;
}

/** Every (file, mutation) of a run: whole-file damage for each file the run has, field damage where the field exists. */
function casesOf(runDir) {
  const files = ['run.json', 'scaler.json', 'intervals.json', 'metrics.json', 'predictions.json', ...readdirSync(path.join(runDir, 'model')).map((name) => `model/${name}`)];
  const cases = [];
  for (const file of files) {
    for (const [name, mutation] of Object.entries(FILE_MUTATIONS)) cases.push({ file, mutation: name, apply: mutation });
    const original = file.endsWith('.json') ? JSON.parse(readFileSync(path.join(runDir, file), 'utf8')) : undefined;
    for (const [field, values] of Object.entries(FIELD_MUTATIONS[file] ?? {})) {
      values.forEach((replacement, i) => {
        const edited = structuredClone(original);
        if (setPath(edited, field, replacement)) cases.push({ file, mutation: `${field}=${i}`, apply: { raw: () => JSON.stringify(edited) } });
      });
    }
    if (file.endsWith('.bin')) {
      cases.push({ file, mutation: 'bin-nan', apply: { raw: (text) => Buffer.alloc(text.length, 0xff) } });
      cases.push({ file, mutation: 'bin-longer', apply: { raw: (text) => Buffer.concat([text, Buffer.alloc(1 << 20)]) } });
    }
  }
  return cases;
}

/** The commands that load a run, as run on a home whose run `id` (of `type`) is damaged. */
function commandsFor(home, type, id) {
  const common = ['--home', home, '--json'];
  return {
    predict: ['predict', '--run', id, '--data', type === 'SNAIVE' ? predictDataDay : predictData, '--scale', 'raw', ...common],
    promote: ['promote', '--run', id, ...common],
    export: ['export', '--run', id, '--out', path.join(home, 'out.onnx'), ...common],
    eval: ['eval', ...common],
    backtest: ['backtest', '--models', type, '--folds', '1', ...common],
    serve: ['serve', '--run', id, '--port', '0', ...common],
  };
}

/**
 * Without --full, a matrix that runs in minutes on shared cores: predict and serve (the two loaders: tfjs and the
 * saved-weights reader) meet every damage; promote, eval, backtest and export the whole-file damage of the files
 * that load; metrics.json and predictions.json go to eval and promote alone.
 */
const QUICK_FILE_MUTATIONS = new Set(['empty', 'half', 'null', 'array', 'nested', 'directory', 'fifo', 'link-dev-zero', 'link-outside']);
function inQuickMatrix(damage, command) {
  const whole = damage.mutation in FILE_MUTATIONS;
  if (whole && !QUICK_FILE_MUTATIONS.has(damage.mutation)) return false;
  if (['metrics.json', 'predictions.json'].includes(damage.file)) return whole && ['eval', 'promote'].includes(command);
  if (['predict', 'serve'].includes(command)) return true;
  return whole && (command === 'promote' || ['empty', 'null', 'directory', 'link-dev-zero'].includes(damage.mutation));
}

const STACK = /\n\s+at .+[(:]\d+|\bat (?:async )?[\w.<>]+ \(/;

/** What one command did: ok/accepted, coded, or one of the failure classes. */
function judge(command, result) {
  const text = `${result.stdout}\n${result.stderr}`;
  if (result.served) return { outcome: 'served' };
  // A server that could not load its run stays up, degraded, retrying: its log says why, by code.
  const loadCodes = [...`${result.stderr}`.matchAll(/"code":"(FLTS_[A-Z_]+)"[^\n]*"msg":"serve_model_load_failed"/g)].map((match) => match[1]);
  if (command === 'serve' && loadCodes.includes('FLTS_INTERNAL')) return { outcome: 'internal', detail: 'serve_model_load_failed FLTS_INTERNAL' };
  if (result.timedOut) return command === 'serve' && loadCodes.length > 0 ? { outcome: 'coded', detail: loadCodes[0] } : { outcome: 'timeout' };
  if (result.signal) return { outcome: 'signal', detail: result.signal };
  if (STACK.test(text)) return { outcome: 'stack', detail: text.match(/.*\n.*at .*/)?.[0] };
  let code;
  try {
    code = JSON.parse(result.stdout.trim().split('\n').filter(Boolean).join('\n') || 'null')?.error?.code;
  } catch {
    code = /"code"\s*:\s*"(FLTS_[A-Z_]+)"/.exec(result.stdout)?.[1];
  }
  if (result.exitCode === 0) return { outcome: 'accepted' };
  if (code === 'FLTS_INTERNAL' || result.exitCode === 1) return { outcome: 'internal', detail: code ?? result.stderr.slice(-300) };
  if (!code?.startsWith('FLTS_')) return { outcome: 'uncoded', detail: `exit ${result.exitCode} ${result.stderr.slice(-300)}` };
  return { outcome: 'coded', detail: code };
}

// The first rows of the test file: MSTL fits a smoothing per window, and the whole file takes half a minute on busy cores.
const predictData = path.join(scratch, 'predict.csv');
writeFileSync(predictData, `${readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').split('\n').slice(0, 201).join('\n')}\n`);
// SNAIVE reads one whole day (720 rows at the data's 2-minute step) before it forecasts anything.
const predictDataDay = path.join(scratch, 'predict-day.csv');
writeFileSync(predictDataDay, `${readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').split('\n').slice(0, 801).join('\n')}\n`);
const seed = await seedHome();
console.log(`seed runs: ${JSON.stringify(seed.runs)} (scratch ${scratch})`);
const jobs = [];
for (const [type, id] of Object.entries(seed.runs)) {
  for (const damage of casesOf(path.join(seed.home, 'store', 'runs', id))) {
    for (const command of Object.keys(commandsFor('', type, id))) {
      const label = `${type}/${damage.file}/${damage.mutation}/${command}`;
      if (command === 'export' && type !== 'LSTM' && type !== 'GRU') continue;
      if (!full && !inQuickMatrix(damage, command)) continue;
      if (filter.test(label)) jobs.push({ label, type, id, damage, command });
    }
  }
}
console.log(`${jobs.length} cases, concurrency ${concurrency}, timeout ${timeoutMs} ms, heap ${heapMb} MB`);

const counts = {};
const failures = [];
let next = 0;
let homes = 0;
async function worker() {
  while (next < jobs.length) {
    const job = jobs[next++];
    const home = path.join(scratch, `home-${homes++}`);
    cpSync(seed.home, home, { recursive: true });
    const file = path.join(home, 'store', 'runs', job.id, job.damage.file);
    const original = readFileSync(file);
    rmSync(file);
    if (job.damage.apply.make) await job.damage.apply.make(file);
    else writeFileSync(file, job.damage.apply.raw(original));
    const result = await run(commandsFor(home, job.type, job.id)[job.command], { cwd: home, until: job.command === 'serve' ? /serve_model_loaded/ : undefined });
    const verdict = judge(job.command, result);
    const key = `${job.command} ${verdict.outcome}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if (!['coded', 'accepted', 'served'].includes(verdict.outcome)) {
      failures.push({ ...job, ...verdict });
      console.log(`FAIL ${verdict.outcome.padEnd(8)} ${job.label} (${result.ms} ms) ${String(verdict.detail ?? '').replace(/\s+/g, ' ').slice(0, 240)}`);
    } else if (args.includes('--verbose')) {
      console.log(`${verdict.outcome.padEnd(8)} ${job.label} ${verdict.detail ?? ''}`);
    }
    rmSync(home, { recursive: true, force: true });
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
console.log('\ncounts (command outcome: n):');
for (const key of Object.keys(counts).sort()) console.log(`  ${key}: ${counts[key]}`);
const byClass = {};
for (const failure of failures) byClass[failure.outcome] = (byClass[failure.outcome] ?? 0) + 1;
console.log(`failures: ${failures.length} ${JSON.stringify(byClass)}`);
if (!args.includes('--keep')) rmSync(scratch, { recursive: true, force: true });
else console.log(`seed runs, damaged copies and inputs kept in ${scratch}`);
process.exitCode = failures.length > 0 ? 1 : 0;
