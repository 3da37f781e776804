#!/usr/bin/env node
// Resident memory of one `flts serve` replica (or, with --command daemon, of `flts daemon --roles serving`), idle after its model loaded and under /predict load, side by side for
// builds (checkouts with `npm run build` done) served from one home, in alternating rounds so that the machine's load
// weighs on each alike. Per build and round: VmRSS (RssAnon, RssFile) idle and the largest seen under load, requests
// per second, and the replica's CPU per request (utime + stime over the load / requests answered: what machine load
// changes far less than it changes request rates). Every build answers the same bodies on /predict and on the Open
// Inference Protocol's infer route first; their answers must be byte-identical across builds, else the bench fails.
// Replicas run as `flts bench` starts them: live scoring and prediction records off.
// Usage: node bench/serve-memory.mjs --home <home> --run <run_id> [--build <checkout>]... [--rounds 2]
//          [--connections 64] [--duration 20] [--warmup 3] [--port 19150] [--compare NAME=value1,value2]
//          [--command serve|daemon]
// --command daemon measures the daemon's serving role (the file bus in the home; its health server on --port + 1):
// the same inference API in a process that also runs the daemon's health server and roles.
// --compare starts each build once per value of that environment variable (e.g. NODE_OPTIONS=,--max-semi-space-size=8).
// The first --build defaults to this checkout. Request rows: TEST_FILE in FLTS_DATA_DIR (default ../shared/datasets,
// PobleSec_test.csv), 16 rows a body, 64 bodies.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { buildRequestPayloads } from '../dist/core/bench/request-payloads.js';
import { processCpuSeconds } from '../dist/core/bench/process-cpu.js';
import { modelPath, servedModelName } from './served-model-name.mjs';

const here = import.meta.dirname;
const { values } = parseArgs({
  options: {
    home: { type: 'string' },
    run: { type: 'string' },
    build: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    port: { type: 'string', default: '19150' },
    compare: { type: 'string' },
    command: { type: 'string', default: 'serve' },
  },
});
if (!values.home || !values.run) throw new Error('--home and --run are required');
if (!['serve', 'daemon'].includes(values.command)) throw new Error('--command is serve or daemon');
const roots = (values.build?.length ? values.build : [path.resolve(here, '..')]).map((root) => path.resolve(root));
const [compareName, compareValues] = values.compare ? [values.compare.slice(0, values.compare.indexOf('=')), values.compare.slice(values.compare.indexOf('=') + 1).split(',')] : [];
const builds = roots.flatMap((root) => (compareName ? compareValues.map((value) => ({ root, env: { [compareName]: value }, label: `${root} ${compareName}=${value}` })) : [{ root, env: {}, label: root }]));
const dataDir = path.resolve(process.env.FLTS_DATA_DIR ?? path.join(here, '../../shared/datasets'));
const testFile = path.join(dataDir, process.env.TEST_FILE ?? 'PobleSec_test.csv');
const connections = Number(values.connections);
const port = Number(values.port);

/** VmRSS, RssAnon and RssFile of a process in MiB. */
function residentMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)[1]) / 1024;
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

async function startServe({ root, env: variant }) {
  const env = { ...process.env, ...variant, FLTS_LIVE_SCORING: 'false', FLTS_SERVE_PREDICTION_LOG: 'false', FLTS_LOG_LEVEL: 'warn' };
  const args =
    values.command === 'daemon'
      ? { argv: ['daemon', '--roles', 'serving', '--home', values.home, '--port', String(port + 1)], env: { FLTS_BUS: 'fs', FLTS_SERVE_RUN: values.run, FLTS_SERVE_PORT: String(port) } }
      : { argv: ['serve', '--home', values.home, '--run', values.run, '--port', String(port)], env: {} };
  const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), ...args.argv], { env: { ...env, ...args.env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${values.command} of ${root} exited (${child.exitCode}): ${out}`);
    const ready = await fetch(`${url}/readyz`).then((res) => res.status === 200, () => false);
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { pid: child.pid, url, stop: () => (child.kill('SIGTERM'), exited) };
}

const post = (url, body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (res) => `${res.status} ${await res.text()}`);

function load(url, bodies, seconds) {
  let next = 0;
  return autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{ method: 'POST', path: '/predict', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
  });
}

async function measure(build, payloads, answers) {
  const { root } = build;
  const serve = await startServe(build);
  try {
    // The answers, before any load: the same bodies on /predict and the Open Inference Protocol route.
    const name = await servedModelName(process.env, root);
    const replies = [];
    for (const body of payloads.bodies.slice(0, 16)) replies.push(await post(`${serve.url}/predict`, body));
    for (const body of payloads.oipBodies.slice(0, 16)) replies.push(await post(`${serve.url}${modelPath(name)}/infer`, body));
    // req_id differs by request; the rest of an answer is the same for the same body.
    const digest = createHash('sha256').update(replies.join('\n').replace(/"req_id":"[^"]*",?/g, '')).digest('hex');
    answers.set(build.label, { digest, sample: replies[0] });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = residentMiB(serve.pid);
    if (Number(values.warmup) > 0) await load(serve.url, payloads.bodies, Number(values.warmup));
    let peak = residentMiB(serve.pid);
    const sampler = setInterval(() => {
      const now = residentMiB(serve.pid);
      if (now.rss > peak.rss) peak = now;
    }, 250);
    const cpuBefore = processCpuSeconds(serve.pid);
    const result = await load(serve.url, payloads.bodies, Number(values.duration));
    const cpu = processCpuSeconds(serve.pid) - cpuBefore;
    clearInterval(sampler);
    const end = residentMiB(serve.pid);
    if (end.rss > peak.rss) peak = end;
    const answered = result['2xx'];
    return { idle, peak, end, reqPerSec: answered / Number(values.duration), cpuUsPerRequest: (cpu * 1e6) / answered, errors: result.errors + result.non2xx + result.timeouts };
  } finally {
    await serve.stop();
  }
}

const payloads = await buildRequestPayloads(testFile, 16, 'flts', 64);
const answers = new Map();
const rows = [];
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const build of builds) {
    const m = await measure(build, payloads, answers);
    rows.push({ round, build: build.label, ...m });
    const mib = (r) => `${r.rss.toFixed(0)} (anon ${r.anon.toFixed(0)}, file ${r.file.toFixed(0)})`;
    console.log(`round ${round} ${build.label}: idle ${mib(m.idle)} MiB, under load max ${mib(m.peak)} MiB, ${m.reqPerSec.toFixed(0)} req/s, ${m.cpuUsPerRequest.toFixed(1)} us CPU/request, ${m.errors} errors`);
  }
}
const digests = new Set([...answers.values()].map((a) => a.digest));
console.log(digests.size === 1 ? `answers byte-identical across builds (sha256 ${[...digests][0].slice(0, 16)})` : 'ANSWERS DIFFER across builds');
console.log('\n| round | build | idle RSS MiB | max RSS under load MiB | req/s | CPU us/request | errors |\n|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.round} | ${r.build} | ${r.idle.rss.toFixed(0)} | ${r.peak.rss.toFixed(0)} | ${r.reqPerSec.toFixed(0)} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.errors} |`);
if (digests.size !== 1) process.exitCode = 1;
