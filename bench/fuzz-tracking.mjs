#!/usr/bin/env node
// Hostile answers to MLflow REST calls against every command of the built CLI (bin/run.js) that talks to tracking:
// a local node:http server on 127.0.0.1 stands in for a broken network path (a proxy, a wrong URL, a server under
// stress), not for MLflow. The contract: each command ends within its tracking budget plus its own work, its memory
// stays bounded, a tracking failure comes back as a coded reason (never FLTS_INTERNAL, never a stack trace), and a
// trained run is written to the registry whatever tracking did.
// With --daemon, the same answers meet `flts daemon` (roles trainer, promoter and serving over the embedded fs bus)
// instead: each role still does its work (a run trained, promoted and served), memory stays bounded, /healthz keeps
// answering while tracking stalls, the failures are counted in /metrics (flts_daemon_tracking_failures_total), and
// SIGTERM ends the daemon with exit 0 within its tracking budget.
// Usage: npm run build && node bench/fuzz-tracking.mjs [scenario-filter-regex] [--daemon] [--bin path/to/bin/run.js] [--timeout 60000]
// Prints one line per command and scenario, then the failures; exit 1 when anything failed.
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const BIN = path.resolve(option('--bin', path.join(here, '../bin/run.js')));
const DATASETS = path.resolve(here, '../../shared/datasets');
// The filter is the one argument that is no option's value: --daemon and --keep take none.
const VALUE_OPTIONS = new Set(['--bin', '--timeout', '--max-rss-mb']);
const filter = new RegExp(args.find((arg, i) => !arg.startsWith('--') && !VALUE_OPTIONS.has(args[i - 1])) ?? '.');
const killAfterMs = Number(option('--timeout', '60000'));
const daemonMode = args.includes('--daemon');
/**
 * Memory a command may peak at (resident set): a CLI that trains NAIVE on a slice sits near 200 MB. A daemon of three
 * roles sits near 220 MB; its limit is the smallest a daemon's pod has in the Helm chart (the promoter's, 512Mi).
 */
const MAX_RSS_MB = Number(option('--max-rss-mb', daemonMode ? '512' : '400'));

// Small limits so a hostile answer costs seconds: budget = (retries + 1) * timeout + backoff = 2 * 1500 + <= 200 ms.
const TIMEOUT_MS = 1500;
const RETRIES = 1;
const BACKOFF_MS = 100;
const BUDGET_MS = (RETRIES + 1) * TIMEOUT_MS + 2 * BACKOFF_MS;

const MB = 1 << 20;
const sockets = new Set();
let mode = 'ok';
let requests = 0;
let authSeenElsewhere = 0;

const json = (res, status, body, headers = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));

/** Plausible MLflow answers, so a command gets as far as the call a scenario breaks. */
function plausible(pathname) {
  const run = { info: { run_id: 'r1', experiment_id: '1', status: 'RUNNING', artifact_uri: 'mlflow-artifacts:/1/r1/artifacts' }, data: {} };
  if (pathname.endsWith('/experiments/get-by-name')) return { experiment: { experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' } };
  if (pathname.endsWith('/experiments/search')) return { experiments: [{ experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' }] };
  if (pathname.endsWith('/experiments/create')) return { experiment_id: '1' };
  if (pathname.endsWith('/runs/create') || pathname.endsWith('/runs/get')) return { run };
  if (pathname.endsWith('/runs/search')) return { runs: [] };
  if (pathname.endsWith('/model-versions/create') || pathname.endsWith('/registered-models/alias')) return { model_version: { name: 'm', version: '1' } };
  return {};
}

function manyRuns(count) {
  return Array.from({ length: count }, (_, i) => ({
    info: { run_id: `r${i}`, experiment_id: '1', status: 'FINISHED', start_time: String(i) },
    data: { params: [{ key: 'config_hash', value: 'h' }], metrics: [{ key: 'test_rmse', value: i, timestamp: 0, step: 0 }] },
  }));
}

// Made once, before any command runs: made on the first request, it would stall this process's own event loop, and
// with it the daemon mode's /healthz probes, for as long as the stringify takes.
const hugeRunsPage = Buffer.from(JSON.stringify({ runs: manyRuns(100_000) }));
// As many runs as asked for, each with a 27 kB param (quotes to escape, non-ASCII text): ~27 MB, within the body cap.
const fullRunsPage = Buffer.from(
  JSON.stringify({ runs: manyRuns(1000).map((run, i) => ({ ...run, data: { ...run.data, params: [...run.data.params, { key: 'note', value: `${i} ${'say "hi" € done.'.repeat(1400)}` }] } })) }),
);

/** Scenario name -> handler; each handler answers every MLflow call the same hostile way. */
const SCENARIOS = {
  'html-200': (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body>Welcome to nginx!</body></html>'),
  'invalid-json-200': (req, res) => json(res, 200, '{"run": {"info": '),
  'empty-object-200': (req, res) => json(res, 200, {}),
  'nulls-200': (req, res) => json(res, 200, { run: null, experiment: null, experiments: null, runs: null, model_version: null, experiment_id: null }),
  'arrays-for-objects': (req, res) => json(res, 200, { run: [], experiment: [], experiments: { a: 1 }, runs: 'abc', model_version: [], experiment_id: [] }),
  'missing-run-id': (req, res, url) => {
    const body = plausible(url.pathname);
    if (body.run) body.run = { info: { experiment_id: '1' }, data: {} };
    if (url.pathname.endsWith('/runs/search')) body.runs = [{ info: { experiment_id: '1' } }];
    json(res, 200, body);
  },
  'huge-body-100mb': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(MB, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < 100 && !res.destroyed) {
        sent += 1;
        if (!res.write(chunk)) return res.once('drain', pump);
      }
      res.end('{}');
    };
    pump();
  },
  // Under the body cap (~19 MB): a page of 100x the runs asked for, refused as its runs arrive (reason oversized_page).
  'huge-runs-page': (req, res, url) => json(res, 200, url.pathname.endsWith('/runs/search') ? hugeRunsPage : plausible(url.pathname)),
  // A page as large as asked for, near the body cap: read, and parsed run by run without stalling the loop.
  'full-runs-page-27mb': (req, res, url) => json(res, 200, url.pathname.endsWith('/runs/search') ? fullRunsPage : plausible(url.pathname)),
  'slow-drip': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 1000);
    res.on('close', () => clearInterval(timer));
  },
  'headers-never-sent': () => {},
  'reset-mid-body': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    res.write('{"experiments": [');
    setTimeout(() => res.socket?.destroy(), 50);
  },
  'redirect-loop': (req, res) => res.writeHead(302, { location: req.url }).end(),
  'redirect-other-host': (req, res) => res.writeHead(307, { location: `${otherUri}${req.url}` }).end(),
  'status-401': (req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="mlflow"', 'content-type': 'text/html' }).end('<html>401 Unauthorized</html>'),
  'status-403': (req, res) => json(res, 403, { error_code: 'PERMISSION_DENIED', message: 'Permission denied' }),
  'status-404-html': (req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>'),
  'status-429': (req, res) => json(res, 429, { message: 'slow down' }),
  'status-429-retry-after-absurd': (req, res) => json(res, 429, { message: 'slow down' }, { 'retry-after': '999999999' }),
  // A gateway before MLflow asking for a wait past the call budget: the call ends at once (retry_after_past_budget).
  'status-502-retry-after-past-budget': (req, res) => res.writeHead(502, { 'retry-after': '120', 'content-type': 'text/html' }).end('<html>502 Bad Gateway</html>'),
  'status-503-retry-after-garbage': (req, res) => res.writeHead(503, { 'retry-after': 'soon-ish', 'content-type': 'text/plain' }).end('upstream unavailable'),
  'pagination-same-token': (req, res, url) => {
    const body = plausible(url.pathname);
    if (url.pathname.endsWith('/runs/search')) body.runs = manyRuns(1);
    json(res, 200, { ...body, next_page_token: 'same' });
  },
  'pagination-new-token': (req, res, url) => json(res, 200, { ...plausible(url.pathname), next_page_token: `t${requests}` }),
};

const server = createServer((req, res) => {
  requests += 1;
  const url = new URL(req.url, 'http://127.0.0.1');
  req.resume();
  req.on('end', () => (SCENARIOS[mode] ?? ((q, r) => json(r, 200, plausible(url.pathname))))(req, res, url));
});
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
/** "Another host": a second server on another loopback address that counts credentials it is sent. */
const other = createServer((req, res) => {
  if (req.headers.authorization) authSeenElsewhere += 1;
  json(res, 200, {});
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const otherHost = await new Promise((resolve) => {
  other.once('error', () => other.listen(0, '127.0.0.1', () => resolve('127.0.0.1')));
  other.listen(0, '127.0.0.2', () => resolve('127.0.0.2'));
});
const uri = `http://127.0.0.1:${server.address().port}`;
const otherUri = `http://${otherHost}:${other.address().port}`;

const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-fuzz-tracking-'));
const baseEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FLTS_') && !name.startsWith('MLFLOW_'))),
  FLTS_DATA_DIR: DATASETS,
  TRAIN_FILE: 'PobleSec.csv',
  TEST_FILE: 'PobleSec_test.csv',
  SAMPLE_TRAIN_ROWS: '400',
  SAMPLE_TEST_ROWS: '150',
  FLTS_LOG_LEVEL: 'error',
};
const trackingEnv = { MLFLOW_TRACKING_URI: uri, MLFLOW_TRACKING_TOKEN: 'fuzz-secret-token', FLTS_MLFLOW_TIMEOUT_MS: String(TIMEOUT_MS), FLTS_MLFLOW_RETRIES: String(RETRIES), FLTS_MLFLOW_BACKOFF_MS: String(BACKOFF_MS) };

/** The peak resident set of a process so far (VmHWM), in kB; 0 once it has exited. */
function peakKbOf(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // the process has exited
  }
}

/** Runs the CLI, polling its peak resident set; kills it when the time is up. */
function cli(argv, env) {
  return new Promise((resolve) => {
    const started = Date.now();
    let peakKb = 0;
    const child = execFile(process.execPath, [BIN, ...argv], { env: { ...baseEnv, ...env }, timeout: killAfterMs, killSignal: 'SIGKILL', maxBuffer: 64 * MB, cwd: scratch }, (error, stdout, stderr) => {
      clearInterval(watch);
      resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr, timedOut: error?.killed === true, ms: Date.now() - started, peakMb: Math.round(peakKb / 1024) });
    });
    const watch = setInterval(() => (peakKb = Math.max(peakKb, peakKbOf(child.pid))), 100);
  });
}

const runCount = (home) => {
  const runs = path.join(home, 'store', 'runs');
  return existsSync(runs) ? readdirSync(runs).filter((id) => existsSync(path.join(runs, id, 'run.json'))).length : 0;
};

// A home with processed data and one NAIVE run trained without tracking: eval and promote read it, train adds to it.
const template = path.join(scratch, 'template');
for (const argv of [['preprocess'], ['train', '--model', 'NAIVE']]) {
  const result = await cli([...argv, '--json'], { FLTS_HOME: template });
  if (result.exitCode !== 0) throw new Error(`setting up the home failed: ${argv.join(' ')}: ${result.stderr || result.stdout}`);
}
// The runs folder also holds config-hashes/ and leases/: the run is the entry with a run.json, not the first one listed.
const templateRun = readdirSync(path.join(template, 'store', 'runs')).find((id) => existsSync(path.join(template, 'store', 'runs', id, 'run.json')));
if (!templateRun) throw new Error('setting up the home failed: no run in the template');
const baselineTrain = await cli(['train', '--model', 'NAIVE', '--json'], { FLTS_HOME: template });

/** The commands, each with the time its own work takes besides tracking and how many tracking calls may each spend a budget. */
const COMMANDS = [
  // Mirroring the new run, then the backlog for at most one more budget (sync-runs-to-tracking.ts).
  { name: 'train', argv: ['train', '--model', 'NAIVE', '--json'], ownMs: baselineTrain.ms, budgets: 2, trains: true },
  { name: 'eval-mlflow', argv: ['eval', '--source', 'mlflow', '--json'], ownMs: 3000, budgets: 1 },
  { name: 'promote', argv: ['promote', '--run', templateRun, '--force', '--json'], ownMs: 5000, budgets: 1 },
];

const failures = [];
const rows = [];
const scenarios = Object.keys(SCENARIOS).filter((name) => filter.test(name));
async function fuzzCommands() {
  for (const scenario of scenarios) {
    for (const command of COMMANDS) {
      const home = path.join(scratch, `${scenario}-${command.name}`);
      cpSync(template, home, { recursive: true });
      const before = runCount(home);
      mode = scenario;
      requests = 0;
      const seen = authSeenElsewhere;
      const result = await cli(command.argv, { ...trackingEnv, FLTS_HOME: home });
      mode = 'ok';
      sockets.forEach((socket) => socket.destroy());
      const output = `${result.stdout}\n${result.stderr}`;
      const code = /"code":\s*"(FLTS_[A-Z_]+)"/.exec(output)?.[1] ?? /\b(FLTS_[A-Z_]+)\b/.exec(output)?.[1] ?? '-';
      const tracking = /"tracking":\s*\{\s*"status":\s*"(\w+)"/.exec(result.stdout)?.[1] ?? '-';
      const limitMs = command.ownMs + command.budgets * BUDGET_MS + 3000;
      const problems = [];
      if (result.timedOut) problems.push(`hung: killed after ${killAfterMs} ms`);
      else if (result.ms > limitMs) problems.push(`slow: ${result.ms} ms > ${limitMs} ms`);
      if (result.peakMb > MAX_RSS_MB) problems.push(`memory: peak ${result.peakMb} MB`);
      if (/FLTS_INTERNAL/.test(output)) problems.push('FLTS_INTERNAL');
      // promote shows the guarded tracking failure as a message only: a JavaScript error there is FLTS_INTERNAL too.
      if (/Cannot read properties|is not iterable|is not a function|Spread syntax|Maximum call stack/.test(output)) problems.push('a JavaScript error as the reason');
      // A mirror reported done is a lost one: every scenario breaks the searches a mirror starts with.
      if (tracking === 'ok') problems.push('tracking reported ok');
      if (/\n\s+at .+\(.+:\d+:\d+\)/.test(output)) problems.push('stack trace');
      if (/fuzz-secret-token/.test(output)) problems.push('token shown');
      if (authSeenElsewhere > seen) problems.push('credentials sent to another host');
      if (command.trains && runCount(home) !== before + 1) problems.push(`run lost: ${runCount(home) - before} new run(s)`);
      if (!result.timedOut && result.exitCode !== 0 && code === '-') problems.push(`exit ${result.exitCode} without a code`);
      const line = `${scenario.padEnd(30)} ${command.name.padEnd(12)} exit=${String(result.exitCode).padEnd(3)} ${String(result.ms).padStart(6)} ms ${String(result.peakMb).padStart(5)} MB req=${String(requests).padEnd(6)} tracking=${tracking.padEnd(11)} ${code}`;
      rows.push(line);
      console.log(`${line}${problems.length ? `  !! ${problems.join('; ')}` : ''}`);
      if (problems.length) failures.push(`${scenario} / ${command.name}: ${problems.join('; ')}: ${output.replace(/\s+/g, ' ').slice(0, 300)}`);
      rmSync(home, { recursive: true, force: true });
    }
  }
}

/** What `flts daemon` needs besides tracking: the fs bus, one model type, both ports chosen by the system. */
const DAEMON_ENV = { FLTS_BUS: 'fs', EXPECTED_MODEL_TYPES: 'NAIVE', FLTS_TRAINER_MODELS: 'NAIVE', FLTS_SERVE_PORT: '0', FLTS_LOG_LEVEL: 'info', FLTS_BUS_RETRY_BACKOFF_MS: '50', FLTS_BUS_RETRY_MAX_BACKOFF_MS: '500' };
/** How long a /healthz probe may take: the Helm chart's livenessProbe.timeoutSeconds. */
const HEALTH_TIMEOUT_MS = 3000;
/** SIGTERM to exit: the daemon's own stop (roles, bus, two servers) and one tracking call being left. */
const STOP_LIMIT_MS = 5000;

/** Starts `flts daemon` on a copy of the template without its run, watching its memory and its /healthz. */
function startDaemon(home, env) {
  cpSync(template, home, { recursive: true });
  rmSync(path.join(home, 'store', 'runs'), { recursive: true, force: true });
  const child = spawn(process.execPath, [BIN, 'daemon', '--roles', 'trainer,promoter,serving', '--port', '0'], { env: { ...baseEnv, ...DAEMON_ENV, ...env, FLTS_HOME: home }, cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
  const daemon = { child, log: '', url: undefined, exit: undefined, peakKb: 0, probes: 0, probeFailures: 0, slowestProbeMs: 0 };
  const onData = (chunk) => {
    daemon.log += chunk;
    daemon.url ??= /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"daemon_listening"|"msg":"daemon_listening"[^\n]*"url":"(http:\/\/[^"]+)"/.exec(daemon.log)?.slice(1).find(Boolean);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  daemon.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((daemon.exit = { code, signal, at: Date.now() }))));
  const watch = setInterval(() => (daemon.peakKb = Math.max(daemon.peakKb, peakKbOf(child.pid))), 100);
  // /healthz answers on the event loop the roles share: a tracking call that stalls must not stall it. Within the Helm
  // chart's liveness timeout (3 s), which is what a slow answer would cost in a deployment: a restart.
  void (async () => {
    while (!daemon.exit && !daemon.stopping) {
      if (daemon.url) {
        const sent = Date.now();
        const ok = await fetch(`${daemon.url}/healthz`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) }).then((response) => response.ok, () => false);
        // A probe that SIGTERM overtook (the server closes before the process exits) says nothing of the daemon at work.
        if (daemon.exit || daemon.stopping) break;
        daemon.probes += 1;
        if (!ok) daemon.probeFailures += 1;
        daemon.slowestProbeMs = Math.max(daemon.slowestProbeMs, Date.now() - sent);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  daemon.exited.then(() => clearInterval(watch));
  return daemon;
}

const getJson = (url) => fetch(url, { signal: AbortSignal.timeout(2000) }).then((response) => response.json()).catch(() => undefined);
const counter = (metrics, name, labels) => {
  const line = metrics.split('\n').find((text) => text.startsWith(`${name}{`) && Object.entries(labels).every(([key, value]) => text.includes(`${key}="${value}"`)));
  return line ? Number(line.split(' ').at(-1)) : 0;
};
const sumOf = (metrics, name) => metrics.split('\n').filter((text) => text.startsWith(`${name}{`)).reduce((sum, text) => sum + Number(text.split(' ').at(-1)), 0);

/** SIGTERM, and how long the daemon takes to exit; SIGKILL past the limit. */
async function stopDaemon(daemon) {
  if (daemon.exit) return { ms: -1, exit: daemon.exit };
  const sent = Date.now();
  daemon.stopping = true;
  daemon.child.kill('SIGTERM');
  const killer = setTimeout(() => daemon.child.kill('SIGKILL'), killAfterMs);
  const exit = await daemon.exited;
  clearTimeout(killer);
  return { ms: exit.at - sent, exit };
}

/**
 * Per scenario two daemons: one left to train, promote and serve a run with tracking hostile, then stopped; one
 * stopped as its first tracking call is under way (the trainer's mirror of the run it has just trained).
 */
async function fuzzDaemon() {
  const ownMs = baselineTrain.ms * 3 + 10_000;
  for (const scenario of scenarios) {
    mode = scenario;
    requests = 0;
    const seen = authSeenElsewhere;
    const problems = [];
    const daemon = startDaemon(path.join(scratch, `${scenario}-daemon`), trackingEnv);
    const started = Date.now();
    let served;
    while (!daemon.exit && Date.now() - started < killAfterMs) {
      const status = daemon.url && (await getJson(`${daemon.url}/status`));
      served = status?.roles?.find((role) => role.name === 'serving')?.runId ?? undefined;
      if (served) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const servedMs = Date.now() - started;
    // The run is served before its roles' steps end: the trainer mirrors it and the promoter marks it afterwards.
    let metrics = '';
    let trained = 0;
    let promoted = 0;
    let trackingFailures = 0;
    while (served && !daemon.exit && Date.now() - started < killAfterMs) {
      metrics = await fetch(`${daemon.url}/metrics`).then((response) => response.text(), () => '');
      trained = counter(metrics, 'flts_daemon_steps_total', { role: 'trainer', result: 'done' });
      promoted = counter(metrics, 'flts_daemon_steps_total', { role: 'promoter', result: 'done' });
      trackingFailures = sumOf(metrics, 'flts_daemon_tracking_failures_total');
      if (trained >= 1 && promoted >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const settledMs = Date.now() - started;
    const stopped = await stopDaemon(daemon);
    const limitMs = ownMs + 3 * BUDGET_MS;
    if (!served) problems.push(daemon.exit && stopped.ms < 0 ? `exited before serving: ${JSON.stringify(daemon.exit)}` : `nothing served after ${servedMs} ms`);
    else if (settledMs > limitMs) problems.push(`slow: steps done after ${settledMs} ms > ${limitMs} ms`);
    if (served && (trained < 1 || promoted < 1)) problems.push(`steps: trainer done ${trained}, promoter done ${promoted}`);
    if (served && trackingFailures < 1) problems.push('no tracking failure counted');
    if (daemon.probeFailures > 0) problems.push(`/healthz failed ${daemon.probeFailures} of ${daemon.probes} times (slowest ${daemon.slowestProbeMs} ms)`);
    if (stopped.ms > STOP_LIMIT_MS) problems.push(`stop: ${stopped.ms} ms after SIGTERM`);
    if (stopped.ms >= 0 && stopped.exit.code !== 0) problems.push(`stop: exit ${JSON.stringify(stopped.exit)}`);

    // The second daemon, stopped while the trainer's first tracking call waits on the hostile server.
    requests = 0;
    const early = startDaemon(path.join(scratch, `${scenario}-daemon-stop`), trackingEnv);
    const earlyStarted = Date.now();
    while (requests === 0 && !early.exit && Date.now() - earlyStarted < killAfterMs) await new Promise((resolve) => setTimeout(resolve, 20));
    const midCall = await stopDaemon(early);
    if (midCall.ms < 0) problems.push(`second daemon exited by itself: ${JSON.stringify(early.exit)}`);
    else if (midCall.ms > STOP_LIMIT_MS) problems.push(`stop mid-call: ${midCall.ms} ms after SIGTERM`);
    else if (midCall.exit.code !== 0) problems.push(`stop mid-call: exit ${JSON.stringify(midCall.exit)}`);
    mode = 'ok';
    sockets.forEach((socket) => socket.destroy());

    const peakMb = Math.round(Math.max(daemon.peakKb, early.peakKb) / 1024);
    if (peakMb > MAX_RSS_MB) problems.push(`memory: peak ${peakMb} MB`);
    const output = `${daemon.log}\n${early.log}`;
    if (/FLTS_INTERNAL/.test(output)) problems.push('FLTS_INTERNAL');
    if (/uncaught|unhandled/i.test(output)) problems.push('an uncaught error');
    if (/fuzz-secret-token/.test(output)) problems.push('token shown');
    if (authSeenElsewhere > seen) problems.push('credentials sent to another host');
    const line = `${scenario.padEnd(30)} daemon served=${String(servedMs).padStart(6)} ms steps-done=${String(settledMs).padStart(6)} ms stop=${String(stopped.ms).padStart(5)} ms stop-mid-call=${String(midCall.ms).padStart(5)} ms ${String(peakMb).padStart(5)} MB healthz=${daemon.probes - daemon.probeFailures}/${daemon.probes} (max ${daemon.slowestProbeMs} ms) tracking-failures=${trackingFailures}`;
    rows.push(line);
    console.log(`${line}${problems.length ? `  !! ${problems.join('; ')}` : ''}`);
    if (problems.length) failures.push(`${scenario} / daemon: ${problems.join('; ')}: ${output.split('\n').filter((text) => /FLTS_INTERNAL|uncaught|unhandled/i.test(text)).concat(output.split('\n').filter((text) => /"level":(4|5)0/.test(text)).slice(-3)).join(' ').slice(0, 1200)}`);
    if (!args.includes('--keep')) for (const home of ['daemon', 'daemon-stop']) rmSync(path.join(scratch, `${scenario}-${home}`), { recursive: true, force: true });
  }
}

if (daemonMode) await fuzzDaemon();
else await fuzzCommands();

console.log(`\n${rows.length} ${daemonMode ? 'daemon' : 'command'} runs, ${failures.length} failed (budget per call ${BUDGET_MS} ms, memory limit ${MAX_RSS_MB} MB, baseline train ${baselineTrain.ms} ms / ${baselineTrain.peakMb} MB)`);
for (const failure of failures) console.log(`FAIL ${failure}`);
sockets.forEach((socket) => socket.destroy());
server.close();
other.close();
rmSync(scratch, { recursive: true, force: true });
process.exit(failures.length > 0 ? 1 : 0);
