#!/usr/bin/env node
// A burst of big Open Inference Protocol calls against the bound on forecast rows (serve.maxQueuedRows), with clients
// that honour Retry-After: `--calls` concurrent POST /v2/models/<served model>/infer, each asking for `--rows` forecast rows,
// against `flts serve` on a PobleSec slice home (an LSTM trained here, one epoch on 2,000 rows, pinned with --run).
// A refused client waits the Retry-After it was given and sends the same call again, until answered. Reported per
// build: the server's peak RSS (VmRSS from /proc every 20 ms, threads included), the time until every call was
// answered, the seconds of it with no call in flight that was then answered (room no client used), the refusals, and
// how the retries were spread: in how many distinct seconds clients came back and the most that came back in one.
// Each `--build label=dir` is a checkout whose bin/run.js serves (built: `npm run build` in it); every build serves the
// same home, one after the other, in this one run. The home is trained with the first build.
// Usage: npm run build && node bench/serve-burst.mjs [--build new=.] [--build old=/path/to/main-checkout]
//          [--calls 500] [--rows 10000] [--max-queued-rows 100000] [--deadline-s 900] [--json] [--trace (each refusal on stderr)]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { modelPath, servedModelName } from './served-model-name.mjs';

const { values: flags } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    calls: { type: 'string', default: '500' },
    rows: { type: 'string', default: '10000' },
    'max-queued-rows': { type: 'string', default: '100000' },
    'deadline-s': { type: 'string', default: '900' },
    json: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
  },
});
const here = import.meta.dirname;
const datasets = path.resolve(here, '../../shared/datasets');
const builds = await Promise.all((flags.build ?? [`current=${path.resolve(here, '..')}`]).map(async (spec) => {
  const [label, dir] = spec.includes('=') ? spec.split(/=(.*)/s) : [path.basename(spec), spec];
  // The model the build's server answers for with this environment (FLTS_SERVE_MODEL_NAME, else its default).
  return { label, bin: path.resolve(dir, 'bin/run.js'), inferPath: `${modelPath(await servedModelName(process.env, dir))}/infer` };
}));
const calls = Number(flags.calls);
const rows = Number(flags.rows);
const maxQueuedRows = Number(flags['max-queued-rows']);
const deadlineMs = Number(flags['deadline-s']) * 1000;
const run = promisify(execFile);

const settingsEnv = { SAMPLE_TRAIN_ROWS: '2000', SAMPLE_TEST_ROWS: '500', EPOCHS: '1', FLTS_LOG_LEVEL: 'warn' };

async function flts(bin, home, args) {
  const { stdout } = await run(process.execPath, [bin, ...args, '--home', home, '--json'], { env: { ...process.env, ...settingsEnv }, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout).result;
}

/** The first `count` rows of the PobleSec test file as OIP inputs (timestamp as BYTES, every other column FP64). */
function oipBody(count) {
  const [header, ...lines] = readFileSync(path.join(datasets, 'PobleSec_test.csv'), 'utf8').trim().split('\n');
  const names = header.split(',');
  const columns = names.map(() => []);
  for (const line of lines.slice(0, count)) line.split(',').forEach((cell, c) => columns[c].push(c === 0 ? cell : Number(cell)));
  const inputs = names.map((name, c) => ({ name: c === 0 ? 'timestamp' : name, shape: [count], datatype: c === 0 ? 'BYTES' : 'FP64', data: columns[c] }));
  return JSON.stringify({ inputs, parameters: { inference_length: rows } });
}

function startServe(bin, home, runId) {
  const env = { ...process.env, ...settingsEnv, FLTS_SERVE_MAX_QUEUED_ROWS: String(maxQueuedRows), FLTS_SERVE_PREDICTION_LOG: 'false' };
  const child = spawn(process.execPath, [bin, 'serve', '--home', home, '--run', runId, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk) => (err = (err + chunk).slice(-8000)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const url = /Listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url && /^Serving run \S+/m.test(out)) resolve({ child, url });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}${err}`)));
  });
}

function rssMiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** One client: sends the call until it is answered, waiting each Retry-After; records every refusal. */
async function client(url, inferPath, body, started, refusals) {
  for (let attempt = 1; ; attempt++) {
    const sentMs = performance.now() - started;
    const response = await fetch(`${url}${inferPath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const bytes = (await response.arrayBuffer()).byteLength;
    const at = performance.now() - started;
    if (response.status === 200) return { attempts: attempt, sentMs, answeredMs: at, bytes };
    if (response.status !== 503) throw new Error(`status ${response.status} on attempt ${attempt}`);
    const retryAfter = Number(response.headers.get('retry-after'));
    refusals.push({ at, retryAfter, back: at + retryAfter * 1000 });
    if (flags.trace) console.error(`refused at ${(at / 1000).toFixed(2)} s: ${retryAfter}`);
    if (at + retryAfter * 1000 > deadlineMs) return { attempts: attempt, answeredMs: undefined, bytes: 0 };
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
  }
}

async function burst(build, home, runId, body) {
  const server = await startServe(build.bin, home, runId);
  try {
    // Warm: the first forecast compiles and allocates what every later one reuses.
    const warm = await fetch(`${server.url}${build.inferPath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (warm.status !== 200) throw new Error(`warm-up call answered ${warm.status}: ${await warm.text()}`);
    const idleRss = rssMiB(server.child.pid);
    let peakRss = idleRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(server.child.pid))), 20);
    const refusals = [];
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: calls }, () => client(server.url, build.inferPath, body, started, refusals)));
    clearInterval(sampler);
    peakRss = Math.max(peakRss, rssMiB(server.child.pid));
    const answered = results.filter((result) => result.answeredMs !== undefined);
    // Retries come back at refusal + Retry-After: the clients due in each whole second of the run.
    const perSecond = new Map();
    for (const refusal of refusals) perSecond.set(Math.floor(refusal.back / 1000), (perSecond.get(Math.floor(refusal.back / 1000)) ?? 0) + 1);
    // Seconds before the last answer with no answered call in flight: room the server had and no client used.
    let idleMs = 0;
    let busyUntil = 0;
    for (const result of [...answered].sort((a, b) => a.sentMs - b.sentMs)) {
      idleMs += Math.max(0, result.sentMs - busyUntil);
      busyUntil = Math.max(busyUntil, result.answeredMs);
    }
    const advice = refusals.map((refusal) => refusal.retryAfter).sort((a, b) => a - b);
    const quantile = (q) => (advice.length === 0 ? 0 : advice[Math.min(advice.length - 1, Math.floor(q * advice.length))]);
    return {
      build: build.label,
      answered: answered.length,
      unanswered: calls - answered.length,
      allAnsweredS: Math.max(...answered.map((result) => result.answeredMs)) / 1000,
      idleS: idleMs / 1000,
      idleRssMiB: Math.round(idleRss),
      peakRssMiB: Math.round(peakRss),
      refusals: refusals.length,
      maxAttempts: Math.max(...results.map((result) => result.attempts)),
      retrySeconds: perSecond.size,
      peakRetriesPerSecond: Math.max(0, ...perSecond.values()),
      retryAfter: { min: advice[0] ?? 0, p50: quantile(0.5), p90: quantile(0.9), max: advice.at(-1) ?? 0 },
    };
  } finally {
    server.child.kill('SIGINT');
    await new Promise((resolve) => (server.child.exitCode === null ? server.child.once('exit', resolve) : resolve()));
  }
}

const home = mkdtempSync(path.join(os.tmpdir(), 'flts-burst-bench-'));
try {
  const data = ['--train', path.join(datasets, 'PobleSec.csv'), '--test', path.join(datasets, 'PobleSec_test.csv')];
  await flts(builds[0].bin, home, ['preprocess', ...data]);
  const runId = (await flts(builds[0].bin, home, ['train', '--model', 'LSTM'])).runs[0].run_id;
  const body = oipBody(32);
  const rowsOut = [];
  for (const build of builds) {
    const result = await burst(build, home, runId, body);
    rowsOut.push(result);
    if (!flags.json) console.error(`${build.label}: done`);
  }
  if (flags.json) console.log(JSON.stringify({ calls, rows, maxQueuedRows, results: rowsOut }, null, 2));
  else {
    console.log(`${calls} OIP calls x ${rows} rows at once, serve.maxQueuedRows ${maxQueuedRows}, clients honour Retry-After`);
    console.log('| build | answered | all answered s | s with no call in flight | idle RSS MiB | peak RSS MiB | refusals | most attempts | seconds with retries | most retries in one second | Retry-After min/p50/p90/max |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rowsOut) {
      const a = r.retryAfter;
      console.log(`| ${r.build} | ${r.answered}/${calls} | ${r.allAnsweredS.toFixed(1)} | ${r.idleS.toFixed(1)} | ${r.idleRssMiB} | ${r.peakRssMiB} | ${r.refusals} | ${r.maxAttempts} | ${r.retrySeconds} | ${r.peakRetriesPerSecond} | ${a.min}/${a.p50}/${a.p90}/${a.max} |`);
    }
  }
} finally {
  rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}
