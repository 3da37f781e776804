#!/usr/bin/env node
// What one MLflow catch-up sync (`syncRunsToTracking`, run by `flts train` and the daemon's trainer after each
// training) costs against a real MLflow server holding `size` complete mirrors of the registry's runs: with nothing to
// do, and with 10 new runs to mirror. Each sync runs in a process of its own (the library, no CLI start-up), timed
// inside it, its MLflow traffic going through a counting proxy: HTTP calls and response bytes read are per sync.
// The registry is an embedded (fs) home of `size` run records (the fixture's record, with 60 params and the processed
// digest); MLflow gets their mirrors through its REST API in batches (one run mirrored by flts is the template: its
// tags, params and metrics, under each run's id), far faster than mirroring each run.
// `--base <dir>` is a second checkout with its own `npm run build` (e.g. main's), shown as "before"; the builds
// alternate, each on a home of its own over the same MLflow. A build that marks mirrors in its store pays for it on
// its first sync over an existing MLflow, reported on its own line ("first sync").
// Usage: npm run build && scripts/mlflow/up.sh <port> && node bench/mlflow-mirror-sync.mjs --uri http://127.0.0.1:<port>
//          [--sizes 1000,5000] [--reps 3] [--base /tmp/main-copy] [--json]
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const { values: flags } = parseArgs({
  options: {
    uri: { type: 'string' },
    sizes: { type: 'string', default: '1000,5000' },
    reps: { type: 'string', default: '3' },
    base: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
if (!flags.uri) throw new Error('--uri <MLflow tracking URI> is required (scripts/mlflow/up.sh <port> starts one)');
const upstream = new URL(flags.uri);
const here = import.meta.dirname;
const builds = [...(flags.base ? [{ label: 'before', root: path.resolve(flags.base) }] : []), { label: flags.base ? 'after' : 'this', root: path.resolve(here, '..') }];
const reps = Number(flags.reps);
const dist = path.resolve(here, '../dist/core');
const { resolveSettings, createFsStore } = await import(`${dist}/index.js`);
const { saveRunRecord } = await import(`${dist}/registry/run-store.js`);
const { fakeRun } = await import(`${dist}/registry/run-record.fixture.js`);
const { mirrorRun } = await import(`${dist}/registry/mirror-run.js`);
const { mapBounded } = await import(`${dist}/bounded-map.js`);

/** Forwards to MLflow and counts what flts asks: calls, and bytes of the answers. */
const traffic = { calls: 0, bytes: 0 };
const proxy = http.createServer((request, response) => {
  traffic.calls += 1;
  const forward = http.request({ host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: { ...request.headers, host: upstream.host } }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.on('data', (chunk) => (traffic.bytes += chunk.length));
    answer.pipe(response);
  });
  forward.on('error', () => response.destroy());
  request.pipe(forward);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyUri = `http://127.0.0.1:${proxy.address().port}`;

async function mlflow(method, route, body) {
  const response = await fetch(`${flags.uri}/api/2.0/mlflow/${route}`, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const text = await response.text();
  if (!response.ok) throw new Error(`${route}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** A run record as training writes one: the fixture's, with a config's worth of params and the processed digest. */
function record(runId, at) {
  const base = fakeRun(runId, 'NAIVE', { rmse: 1 + (at % 7) / 10, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 60_000).toISOString());
  const params = Object.fromEntries(Array.from({ length: 60 }, (_, k) => [`training.option_${k}`, `value-${k}-${at % 13}`]));
  return { ...base, params, data: { ...base.data, processed_sha256: 'a'.repeat(64) } };
}

/** The template every seeded mirror copies: what flts itself sends for one run. */
async function templateMirror(scratch) {
  const settings = resolveSettings({ flags: { home: scratch, 'tracking.uri': flags.uri } }).settings;
  const store = createFsStore(path.join(scratch, 'store'));
  await saveRunRecord(store, settings, record('template', 0));
  const { mlflowRunId } = await mirrorRun(store, settings, 'template');
  const { run } = await mlflow('GET', `runs/get?run_id=${mlflowRunId}`);
  await mlflow('POST', 'runs/delete', { run_id: mlflowRunId });
  return { experimentId: run.info.experiment_id, tags: run.data.tags ?? [], params: run.data.params ?? [], metrics: run.data.metrics ?? [] };
}

/** Complete mirrors of runs `from`..`to`-1 (ids b<n>), in MLflow, 8 runs at a time. */
async function seedMirrors(template, from, to) {
  const ids = Array.from({ length: to - from }, (_, k) => `b${String(from + k).padStart(6, '0')}`);
  await mapBounded(ids, 8, async (runId) => {
    const tags = template.tags.filter((tag) => !tag.key.startsWith('mlflow.') || tag.key === 'mlflow.source.name').map((tag) => (tag.key === 'flts.run_id' ? { key: tag.key, value: runId } : tag));
    const { run } = await mlflow('POST', 'runs/create', { experiment_id: template.experimentId, run_name: 'NAIVE', start_time: Date.UTC(2026, 0, 1), tags });
    await mlflow('POST', 'runs/log-batch', { run_id: run.info.run_id, params: template.params, metrics: template.metrics });
    await mlflow('POST', 'runs/update', { run_id: run.info.run_id, status: 'FINISHED', end_time: Date.UTC(2026, 0, 1) });
  });
  return ids;
}

/** One sync of `build` over `home`, in a process of its own: milliseconds, its MLflow calls and bytes, and what it did. */
async function sync(build, home, runIds) {
  const script = `const core = await import(${JSON.stringify(`${build.root}/dist/core/index.js`)});
const { syncRunsToTracking } = await import(${JSON.stringify(`${build.root}/dist/core/workflows/sync-runs-to-tracking.js`)});
const settings = core.resolveSettings({ flags: { home: ${JSON.stringify(home)}, 'tracking.uri': ${JSON.stringify(proxyUri)} } }).settings;
const store = core.createFsStore(${JSON.stringify(path.join(home, 'store'))});
const t = performance.now(); const outcome = await syncRunsToTracking(store, settings, { runIds: ${JSON.stringify(runIds)} });
const ms = performance.now() - t;
if (outcome.status !== 'ok') throw new Error(JSON.stringify(outcome));
console.log(JSON.stringify({ ms, pending: outcome.value.pending.length, created: outcome.value.mirrored.filter((m) => m.created).length, failed: outcome.value.failed.length }));`;
  traffic.calls = 0;
  traffic.bytes = 0;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, FLTS_LOG_LEVEL: 'warn' }, maxBuffer: 64 * 1024 * 1024 });
  const result = JSON.parse(stdout.trim().split('\n').at(-1));
  if (result.failed > 0) throw new Error(`${build.label}: ${result.failed} run(s) failed to mirror`);
  return { ...result, calls: traffic.calls, bytes: traffic.bytes };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-mirror-sync-'));
const results = [];
try {
  const template = await templateMirror(path.join(dir, 'template'));
  const homes = new Map(builds.map((build) => [build.label, path.join(dir, build.label)]));
  let seeded = 0;
  const registered = [];
  for (const size of flags.sizes.split(',').map(Number)) {
    const started = performance.now();
    const ids = await seedMirrors(template, seeded, size);
    seeded = size;
    process.stderr.write(`seeded ${ids.length} mirrors in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    for (const [label, home] of homes) {
      mkdirSync(home, { recursive: true });
      const settings = resolveSettings({ flags: { home } }).settings;
      const store = createFsStore(path.join(home, 'store'));
      await mapBounded(ids, 16, (runId) => saveRunRecord(store, settings, record(runId, registered.length + ids.indexOf(runId))));
      void label;
    }
    registered.push(...ids);
    const samples = new Map();
    const note = (build, scenario, value) => {
      const key = `${scenario}|${build.label}`;
      if (!samples.has(key)) samples.set(key, []);
      samples.get(key).push(value);
    };
    // The first sync over mirrors the store has not seen (every one of them when a build starts marking).
    for (const build of builds) note(build, 'first sync', await sync(build, homes.get(build.label), []));
    for (let rep = 0; rep < reps; rep++) {
      for (const build of builds) note(build, 'nothing to do', await sync(build, homes.get(build.label), []));
      for (const build of builds) {
        const home = homes.get(build.label);
        const settings = resolveSettings({ flags: { home } }).settings;
        const store = createFsStore(path.join(home, 'store'));
        const fresh = Array.from({ length: 10 }, (_, k) => `new-${build.label}-${size}-${rep}-${k}`);
        for (const [k, runId] of fresh.entries()) await saveRunRecord(store, settings, record(runId, registered.length + rep * 10 + k));
        const done = await sync(build, home, fresh);
        if (done.created !== 10) throw new Error(`${build.label}: ${done.created} new mirrors, not 10`);
        note(build, '10 new runs', done);
      }
    }
    for (const [key, values] of samples) {
      const [scenario, label] = key.split('|');
      results.push({ size, scenario, build: label, ms: median(values.map((v) => v.ms)), calls: median(values.map((v) => v.calls)), bytes: median(values.map((v) => v.bytes)), reps: values.length });
    }
  }
} finally {
  proxy.close();
  rmSync(dir, { recursive: true, force: true });
}

if (flags.json) console.log(JSON.stringify(results, null, 2));
else {
  const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
  console.log('| mirrors | sync | build | median ms | MLflow calls | bytes read | ms after/before |');
  console.log('|---:|---|---|---:|---:|---:|---:|');
  for (const row of results) {
    const before = results.find((other) => other.size === row.size && other.scenario === row.scenario && other.build === 'before');
    const ratio = before && row.build === 'after' ? (row.ms / before.ms).toFixed(3) : '';
    console.log(`| ${row.size} | ${row.scenario} | ${row.build} | ${row.ms.toFixed(0)} | ${row.calls} | ${kb(row.bytes)} | ${ratio} |`);
  }
}
