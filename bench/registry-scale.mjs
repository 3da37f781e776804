#!/usr/bin/env node
// How the commands that list, rank and promote runs, and serving's start, grow with a home used for a year: an
// embedded (fs) home with `size` run records over several model types and processed versions, a promotion
// history of about size/5 records, a few replicas' live reports, and a prediction log of size*3 objects over 30 old days.
// The runs are copies of real ones: one run of each model type is trained on a slice of PobleSec (preprocess +
// trainModels), and every run of the home is one of them under a new id, config_hash, start time and metrics,
// with its artifacts copied byte for byte and its record written through the registry (saveRunRecord).
// Each operation runs as users run it (the built CLI, `node bin/run.js`), `--reps` times for every build given,
// the builds alternating on the same home so both see the same load; the table shows the median wall time.
// `--base <dir>` is a second checkout with its own `npm run build` (e.g. main's), shown as "before". Each build keeps
// the promotion history its own code writes (the automatic promotions' candidate runs), in a bucket of its own.
// `eval` and `eval-hash` fail when the builds' `--json` outputs differ.
// Usage: npm run build && node bench/registry-scale.mjs [--sizes 100,1000,5000] [--reps 3] [--base /tmp/main-copy]
//          [--ops eval,promote-run,...] [--keep] [--json]
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

const run = promisify(execFile);
const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,5000' },
    reps: { type: 'string', default: '3' },
    base: { type: 'string' },
    ops: { type: 'string', default: 'eval,eval-hash,eval-library,promote-run,promote-best,promote-in-service,auto-promote-decision,promote-manual,promote-manual-hash,serve-start,eval-live,mirror-pending,prune' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const here = import.meta.dirname;
const builds = [
  ...(flags.base ? [{ label: 'before', root: path.resolve(flags.base), promotionBucket: 'model-promotion-before' }] : []),
  { label: flags.base ? 'after' : 'this', root: path.resolve(here, '..'), promotionBucket: 'model-promotion' },
];
for (const build of builds) build.buildPromotionRecord = (await import(`${build.root}/dist/core/workflows/promote.js`)).buildPromotionRecord;
const reps = Number(flags.reps);
const ops = flags.ops.split(',');
const dist = path.resolve(here, '../dist/core');
const { resolveSettings, createObjectStore, runPreprocess, putJson } = await import(`${dist}/index.js`);
const { trainModels } = await import(`${dist}/workflows/train.js`);
const { saveRunRecord } = await import(`${dist}/registry/run-store.js`);
const { sealRunRecord } = await import(`${dist}/registry/run-record-seal.js`);
const { readProcessedSidecar } = await import(`${dist}/preprocess/processed-data.js`);
const { historyKey, syncPointers } = await import(`${dist}/registry/promotion-history.js`);
const { toLogLine } = await import(`${dist}/serve/prediction-log.js`);
const { mapBounded } = await import(`${dist}/bounded-map.js`);

const MODELS = ['NAIVE', 'SNAIVE', 'LSTM', 'GRU'];
const VERSIONS = 6;
const DAY = 86_400_000;
const sliceFlags = (home, rows) => ({
  home,
  'data.dataDir': path.resolve(here, '../../shared/datasets'),
  'data.trainFile': 'PobleSec.csv',
  'data.testFile': 'PobleSec_test.csv',
  'data.sampleTrainRows': rows,
  'data.sampleTestRows': 150,
  'training.epochs': 1,
  'training.hiddenSize': 8,
  'training.numLayers': 1,
});

/** A deterministic stream of numbers in [0, 1), so every home of one size is the same. */
function random(seed) {
  let state = seed >>> 0;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** One real run of each model type on each of VERSIONS processed versions (distinct sample sizes, so distinct config_hashes). */
async function trainTemplates(dir) {
  const home = path.join(dir, 'template');
  const versions = [];
  let store;
  for (let v = 0; v < VERSIONS; v++) {
    const settings = resolveSettings({ flags: { ...sliceFlags(home, 1000 + v), 'training.models': MODELS } }).settings;
    store ??= await createObjectStore(settings);
    const pre = await runPreprocess(settings, { store });
    const configHash = pre.configHash ?? pre.config_hash;
    const runs = v === 0 ? (await trainModels({ models: MODELS }, settings, { store })).runs : [];
    // The rows of this version as a run trained on them records them: a run whose rows are not its config_hash's is
    // left out of rankings and promotions as trained on rows that new data replaced.
    const { flts } = await readProcessedSidecar(store, settings, configHash);
    const lineage = { ...(flts?.fingerprints ? { fingerprints: flts.fingerprints } : {}), ...(flts?.data_sha256 ? { processed_sha256: flts.data_sha256 } : {}) };
    versions.push({ configHash, runs, lineage });
  }
  return { home, settings: resolveSettings({ flags: sliceFlags(home, 1000) }).settings, store, templates: versions[0].runs, hashes: versions.map((v) => v.configHash), lineages: versions.map((v) => v.lineage) };
}

/** The home of one size: runs, promotion history, live reports and prediction logs. */
async function buildHome(dir, size, base) {
  const home = path.join(dir, `home-${size}`);
  cpSync(base.home, home, { recursive: true });
  const settings = resolveSettings({ flags: { home } }).settings;
  const store = await createObjectStore(settings);
  const runsDir = path.join(home, 'store', settings.store.buckets.runs);
  for (const t of base.templates) rmSync(path.join(runsDir, t.run_id), { recursive: true });
  const rand = random(size);
  const start = Date.UTC(2025, 0, 1);
  const records = [];
  for (let i = 0; i < size; i++) {
    const template = base.templates[i % base.templates.length];
    const id = `${(i + 1).toString(16).padStart(8, '0')}${Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0')}`.padEnd(32, '0');
    const startedAt = new Date(start + Math.floor((i * 365 * DAY) / size)).toISOString();
    const scale = 0.8 + 0.4 * rand();
    const m = template.metrics;
    const metrics = m && { ...m, test_rmse: m.test_rmse * scale, test_mae: m.test_mae * scale, test_mse: m.test_mse * scale * scale };
    const failed = rand() < 0.05;
    const version = Math.floor((i * VERSIONS) / size);
    // Sealed again as training seals a finished record: the template's seal no longer matches the copy's content, and
    // every listing would leave the copy out as edited since training.
    records.push(sealRunRecord({
      ...template,
      run_id: id,
      config_hash: base.hashes[version],
      data: { ...template.data, ...base.lineages[version] },
      status: failed ? 'FAILED' : template.status,
      ...(failed ? { error: { code: 'FLTS_TRAIN_ABORTED', message: 'bench' } } : {}),
      timings: { ...template.timings, started_at: startedAt, finished_at: new Date(Date.parse(startedAt) + 60_000).toISOString() },
      ...(metrics ? { metrics } : {}),
    }));
  }
  await mapBounded(records, 16, async (record) => {
    const template = base.templates.find((t) => t.model_type === record.model_type);
    cpSync(path.join(base.home, 'store', settings.store.buckets.runs, template.run_id), path.join(runsDir, record.run_id), { recursive: true });
    await saveRunRecord(store, settings, record);
  });
  // A promotion every few runs, of the latest version's runs at the end, so the history's newest names a real run.
  // An automatic one chose among every SUCCESS run of its config_hash so far (its candidate runs), and each build
  // records them as its code does.
  const promoted = records.filter((_, i) => i % 5 === 4 && records[i].status === 'SUCCESS');
  const candidatesOf = (run) => records.filter((r) => r.config_hash === run.config_hash && r.status === 'SUCCESS' && r.timings.started_at <= run.timings.started_at).map((r) => r.run_id);
  for (const build of builds) {
    const buildSettings = resolveSettings({ flags: { home, 'store.buckets.promotion': build.promotionBucket } }).settings;
    await mapBounded(promoted.map((run, at) => ({ run, at })), 16, async ({ run, at }) => {
      const ts = new Date(Date.parse(run.timings.started_at) + 3_600_000);
      const source = at % 3 === 0 ? 'manual' : 'auto';
      const fields = { source, actor: 'bench', reason: 'bench', action: 'promote', previousRunId: promoted[at - 1]?.run_id ?? null, now: () => ts, ...(source === 'auto' ? { candidateRuns: candidatesOf(run) } : {}) };
      const record = build.buildPromotionRecord(run, buildSettings, fields);
      await putJson(store, build.promotionBucket, historyKey(record), record);
    });
    await syncPointers(store, buildSettings);
  }
  // What MLflow has: a complete mirror of every run but the 10 trained last (`mirror-pending`).
  writeFileSync(path.join(home, 'mirrored.json'), JSON.stringify(records.slice(0, -10).map((r) => r.run_id)));
  // Three replicas' live reports over the most recent runs.
  const recent = records.slice(-20);
  for (let r = 0; r < 3; r++) {
    const runs = recent.map((run) => ({ run_id: run.run_id, targets: { down: { rmse: 1 + rand(), mae: 0.5 + rand(), points: 100 + Math.floor(rand() * 900) } } }));
    await putJson(store, settings.store.buckets.runs, `live/global/replicas/bench-${r}.json`, { replica: `bench-${r}`, updated_at: new Date().toISOString(), served_run_id: recent.at(-1).run_id, runs, probation: null, memory: { points: 0, forgotten: 0 } });
  }
  // Prediction log: 30 days well past any retention, size*3 objects of 10 records, laid out as the log writes them.
  const logs = path.join(home, 'store', settings.store.buckets.inferenceLogs);
  const objects = size * 3;
  const now = Date.now();
  for (let d = 0; d < 30; d++) {
    const day = new Date(now - (40 + d) * DAY);
    const dayDir = path.join(logs, 'default', day.toISOString().slice(0, 10).replace(/-/g, ''));
    mkdirSync(dayDir, { recursive: true });
    for (let o = 0; o < objects / 30; o++) {
      const lines = Array.from({ length: 10 }, (_, k) => toLogLine({ timestamp: new Date(day.getTime() + o * 2000 + k).toISOString(), req_id: `r${o}-${k}`, run_id: recent[0].run_id, model_type: 'LSTM', config_hash: recent[0].config_hash, predictions: { down: [0.5] }, metrics: {}, samples: [] }).line);
      writeFileSync(path.join(dayDir, `${String(o).padStart(9, '0')}-${o.toString(16).padStart(12, '0')}.jsonl`), `${lines.join('\n')}\n`);
    }
  }
  cpSync(logs, `${logs}.pristine`, { recursive: true });
  return { home, settings, records, logs };
}

function env(home, build) {
  return { ...process.env, FLTS_HOME: home, FLTS_STORE: 'fs', FLTS_BUS: 'none', FLTS_LOG_LEVEL: 'warn', FLTS_OPERATOR: 'bench', PROMOTION_BUCKET: build.promotionBucket };
}

async function timed(action) {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

/** The last `--json` output of each build, by operation and home size: what `eval` compares. */
const outputs = new Map();

async function cli(build, home, args, op) {
  let stdout = '';
  const ms = await timed(async () => {
    stdout = (await run(process.execPath, [path.join(build.root, 'bin/run.js'), ...args], { env: env(home, build), maxBuffer: 256 * 1024 * 1024 })).stdout;
  });
  if (op) {
    const other = [...(outputs.get(op) ?? new Map())].find(([label]) => label !== build.label);
    if (other && other[1] !== stdout) throw new Error(`${op}: the --json output of ${build.label} differs from ${other[0]}'s`);
    outputs.set(op, new Map([...(outputs.get(op) ?? new Map()), [build.label, stdout]]));
  }
  return ms;
}

/** From spawn to the "Serving run" line: settings, the pointer, the run's record and artifacts, the model loaded. */
async function serveStart(build, home) {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(build.root, 'bin/run.js'), 'serve', '--port', '0'], { env: env(home, build), stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.includes('Serving run')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}) before loading a run: ${out}`)));
    });
    return performance.now() - started;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  }
}

/**
 * A library call of `build` in a process of its own, timed inside it (no CLI start-up): `body` is an expression
 * over `core` (its dist/core), `dist` (that folder's path, for modules the index does not export), `store` and
 * `settings` of the home.
 */
async function library(build, home, body) {
  const script = `const dist = ${JSON.stringify(`${build.root}/dist/core`)};
const core = await import(${JSON.stringify(`${build.root}/dist/core/index.js`)});
const runbooks = await import(${JSON.stringify(`${build.root}/dist/core/runbooks/index.js`)});
const settings = core.resolveSettings({ flags: { home: ${JSON.stringify(home)}, 'store.buckets.promotion': ${JSON.stringify(build.promotionBucket)} } }).settings;
const store = core.createFsStore(${JSON.stringify(path.join(home, 'store'))});
const t = performance.now(); const result = await (${body}); console.log(performance.now() - t);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: env(home, build), maxBuffer: 64 * 1024 * 1024 });
  return Number(stdout.trim().split('\n').at(-1));
}

/** The sweep of `POST /prune_logs` (every old day), on a fresh copy of the logs each time. */
async function prune(build, fixture) {
  rmSync(fixture.logs, { recursive: true, force: true });
  cpSync(`${fixture.logs}.pristine`, fixture.logs, { recursive: true });
  return library(build, fixture.home, `core.sweepPredictionLogs({ store, bucket: settings.store.buckets.inferenceLogs, retentionDays: 7 }).then((r) => { if (!r.complete || r.objects === 0) throw new Error('sweep incomplete'); })`);
}

/**
 * The catch-up after a training (`syncRunsToTracking`): MLflow (a stand-in answering in process) has a complete
 * mirror of every run but the 10 newest, and those are found, read and found complete meanwhile; what differs is
 * how the registry is searched for them. A build that marks mirrors in the store lists MLflow and writes the markers
 * at its first call; later calls read the markers (bench/mlflow-mirror-sync.mjs measures this against a real MLflow).
 */
async function mirrorPending(build, home) {
  return library(build, home, `(async () => {
    const { readFileSync } = await import('node:fs');
    const mirrored = JSON.parse(readFileSync(${JSON.stringify(path.join(home, 'mirrored.json'))}, 'utf8'));
    const mirror = (id) => ({ info: { run_id: 'm-' + id, experiment_id: '1', status: 'FINISHED', artifact_uri: 'mlflow-artifacts:/1' }, data: { params: [], tags: [{ key: 'flts.run_id', value: id }, { key: 'flts.mirror_complete', value: 'true' }] } });
    const searchRuns = async ({ filter = '', viewType }) => {
      if (viewType === 'DELETED_ONLY' || filter.includes('IS NULL')) return [];
      const one = /flts\\.run_id\` = '([^']+)'/.exec(filter)?.[1];
      if (one) return [mirror(one)];
      const among = /run_id IN \\(([^)]*)\\)/.exec(filter)?.[1];
      return among ? among.split(', ').map((quoted) => mirror(quoted.slice(3, -1))) : mirrored.map(mirror);
    };
    // A listing read a page at a time gets every mirror on its one page.
    const calls = { searchExperiments: async () => [{ experiment_id: '1', name: 'Default' }], searchRuns, searchRunsPage: async (input) => ({ runs: await searchRuns(input) }) };
    const client = new Proxy(calls, { get: (target, name) => target[name] ?? (async () => ({})) });
    const { mirrorPendingRuns } = await import(dist + '/registry/mirror-pending-runs.js');
    const result = await mirrorPendingRuns(store, settings, {}, { client });
    if (result.pending.length + (result.found ?? []).length > 10 || result.failed.length > 0) throw new Error('mirror-pending: ' + JSON.stringify({ pending: result.pending.length, failed: result.failed }));
  })()`);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-registry-scale-'));
const results = [];
try {
  const base = await trainTemplates(dir);
  for (const size of flags.sizes.split(',').map(Number)) {
    const fixture = await buildHome(dir, size, base);
    // What each build's promotion history weighs: every promotion reads it, the newest record is the pointer.
    const historyBytes = (build) => {
      const files = readdirSync(path.join(fixture.home, 'store', build.promotionBucket), { recursive: true }).filter((f) => /promotion-[^/]+\.json$/.test(f));
      const sizes = files.map((f) => statSync(path.join(fixture.home, 'store', build.promotionBucket, f)).size);
      return { records: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), largest: Math.max(...sizes) };
    };
    console.error(JSON.stringify({ size, history: Object.fromEntries(builds.map((b) => [b.label, historyBytes(b)])) }));
    const latest = fixture.records.filter((r) => r.config_hash === base.hashes.at(-1) && r.status === 'SUCCESS');
    let promoteAt = 0;
    const actions = {
      eval: (build) => cli(build, fixture.home, ['eval', '--json'], `eval ${size}`),
      // Another processed version than the latest: its runs are a sixth of the home's.
      'eval-hash': (build) => cli(build, fixture.home, ['eval', '--config-hash', base.hashes[0], '--json'], `eval-hash ${size}`),
      'promote-run': (build) => cli(build, fixture.home, ['promote', '--run', latest[promoteAt++ % latest.length].run_id, '--json']),
      // Each time another processed version, so every call chooses and promotes (the winner is not in service yet).
      'promote-best': (build) => cli(build, fixture.home, ['promote', '--best', '--config-hash', base.hashes[promoteAt++ % VERSIONS], '--json']),
      // What the promote-manual screen lists (it has no --json listing): the 50 most recent runs, and one version's.
      // What `eval` does past the CLI's start: the scoreboard of the latest processed version, in process.
      'eval-library': (build) => library(build, fixture.home, `import(dist + '/eval/evaluate-runs.js').then((m) => m.evaluateRuns({}, settings, { store }))`),
      // The run in service again: the history is read (what is in service), nothing is checked or written.
      'promote-in-service': (build) => cli(build, fixture.home, ['promote', '--run', JSON.parse(readFileSync(path.join(fixture.home, 'store', build.promotionBucket, 'global/current.json'), 'utf8')).run_id, '--json']),
      // What the daemon's promoter decides on a SUCCESS message: the runs of the config_hash, the pointer, the history.
      'auto-promote-decision': (build) => library(build, fixture.home, `import(dist + '/workflows/auto-promote.js').then((m) => m.decideAutoPromotion(store, settings, ${JSON.stringify(base.hashes.at(-1))}))`),
      'mirror-pending': (build) => mirrorPending(build, fixture.home),
      'promote-manual': (build) => library(build, fixture.home, 'runbooks.listPromotionCandidates({}, settings, { store })'),
      'promote-manual-hash': (build) => library(build, fixture.home, `runbooks.listPromotionCandidates({ configHash: ${JSON.stringify(base.hashes.at(-1))} }, settings, { store })`),
      'serve-start': (build) => serveStart(build, fixture.home),
      'eval-live': (build) => cli(build, fixture.home, ['eval', '--live', '--json']),
      prune: (build) => prune(build, fixture),
    };
    for (const op of ops) {
      const times = Object.fromEntries(builds.map((b) => [b.label, []]));
      // before, after, after, before, ...: neither build always runs first (cold caches, the previous call's writes).
      for (let rep = 0; rep < reps; rep++) for (const build of rep % 2 ? [...builds].reverse() : builds) times[build.label].push(await actions[op](build));
      const row = { size, op, ...Object.fromEntries(builds.map((b) => [b.label, Math.round(median(times[b.label]))])), load: os.loadavg()[0].toFixed(2) };
      results.push(row);
      if (!flags.json) console.error(JSON.stringify(row));
    }
    if (!flags.keep) rmSync(fixture.home, { recursive: true, force: true });
  }
} finally {
  if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  else console.error(`homes kept in ${dir}`);
}

if (flags.json) console.log(JSON.stringify({ cpus: os.cpus().length, reps, results }, null, 2));
else {
  const labels = builds.map((b) => b.label);
  console.log(`${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}; median of ${reps} (ms); load = 1-min load average after the row`);
  console.log(`| size | operation | ${labels.join(' | ')} | load |`);
  console.log(`|---:|---|${labels.map(() => '---:').join('|')}|---:|`);
  for (const r of results) console.log(`| ${r.size} | ${r.op} | ${labels.map((l) => r[l]).join(' | ')} | ${r.load} |`);
}
