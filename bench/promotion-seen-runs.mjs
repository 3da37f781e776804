#!/usr/bin/env node
// What a promotion by hand costs in a large run registry: its record keeps the SUCCESS runs the registry held as it
// was made (`seen_runs`, `seen_set`), and each build finds them its own way. An embedded (fs) home of `--runs` run
// records (copies under new ids of a NAIVE run trained on a slice of PobleSec, over `--versions` config_hashes, 5%
// FAILED, written through the registry: saveRunRecord), then `--reps` hand promotions with each build's library
// (`promote`, source manual, of two real runs in turn), the builds alternating on the same home, each promoting into a
// promotion bucket of its own. The table shows the median wall time of one promotion and the store calls it made
// (what it asks of S3: a GET per object read, a request per 1,000 names listed), run.json reads among them. Both builds
// must record the same `seen_set` for the same registry, or the bench fails.
// `--base <dir>` is a second checkout with its own `npm run build` (e.g. main's: `git -C /work/main archive main`),
// shown as "before". "after, home without the index" is the first promotion on a home an flts before the SUCCESS index
// wrote (its entries removed): it reads every record as before, then lists the SUCCESS runs it read; "after, next" is
// the promotion after it.
// `--s3-endpoint <url>` (or MINIO_ENDPOINT, with MINIO_ROOT_USER / MINIO_ROOT_PASSWORD) keeps the runs and promotions
// in S3 buckets of their own on that server (e.g. `scripts/infra/infra.sh start s3`) instead of the fs store.
// Usage: npm run build && node bench/promotion-seen-runs.mjs [--runs 2000] [--reps 7] [--versions 10] [--base /tmp/main-copy]
//          [--s3-endpoint http://127.0.0.1:19000] [--keep] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    reps: { type: 'string', default: '7' },
    versions: { type: 'string', default: '10' },
    base: { type: 'string' },
    's3-endpoint': { type: 'string', default: process.env.MINIO_ENDPOINT ?? '' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const here = import.meta.dirname;
const size = Number(flags.runs);
const reps = Number(flags.reps);
const versions = Number(flags.versions);
const builds = [
  ...(flags.base ? [{ label: 'before', root: path.resolve(flags.base), promotionBucket: 'model-promotion-before' }] : []),
  { label: flags.base ? 'after' : 'this', root: path.resolve(here, '..'), promotionBucket: 'model-promotion' },
];
for (const build of builds) build.lib = await import(`${build.root}/dist/core/index.js`);
const dist = path.resolve(here, '../dist/core');
const { resolveSettings, createObjectStore, runPreprocess, isolatedStack } = await import(`${dist}/index.js`);
const { trainModels } = await import(`${dist}/workflows/train.js`);
const { saveRunRecord } = await import(`${dist}/registry/run-store.js`);
const { sealRunRecord } = await import(`${dist}/registry/run-record-seal.js`);
const { mapBounded } = await import(`${dist}/bounded-map.js`);

const s3 = flags['s3-endpoint'];
const stack = isolatedStack('seen-bench');
/** The store's environment: the fs store under the home, or S3 buckets of this bench's own. */
const storeEnv = s3 ? { ...process.env, FLTS_STORE: 's3', MINIO_ENDPOINT: s3, FLTS_RUNS_BUCKET: stack.env.FLTS_RUNS_BUCKET, OUTPUT_BUCKET: stack.env.OUTPUT_BUCKET } : { FLTS_STORE: 'fs' };
const sliceFlags = (home) => ({
  home,
  'data.dataDir': path.resolve(here, '../../shared/datasets'),
  'data.trainFile': 'PobleSec.csv',
  'data.testFile': 'PobleSec_test.csv',
  'data.sampleTrainRows': 1000,
  'data.sampleTestRows': 150,
});

/** A deterministic stream of numbers in [0, 1), so every home of one size is the same. */
function random(seed) {
  let state = seed >>> 0;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const hex = (rand, length) => Array.from({ length }, () => Math.floor(rand() * 16).toString(16)).join('');

/** The home: two real runs (NAIVE, SNAIVE) of one processed version, and `size` copies of the NAIVE over `versions` config_hashes. */
async function buildHome(dir) {
  const home = path.join(dir, 'home');
  const settings = resolveSettings({ env: storeEnv, flags: { ...sliceFlags(home), 'training.models': ['NAIVE', 'SNAIVE'] } }).settings;
  const store = await createObjectStore(settings);
  await runPreprocess(settings, { store });
  const { runs } = await trainModels({ models: ['NAIVE', 'SNAIVE'] }, settings, { store });
  const template = runs.find((run) => run.model_type === 'NAIVE');
  const rand = random(size);
  const hashes = [template.config_hash, ...Array.from({ length: versions - 1 }, () => hex(rand, 64))];
  const start = Date.UTC(2025, 0, 1);
  const records = Array.from({ length: size }, (_, i) => {
    const startedAt = new Date(start + Math.floor((i * 365 * 86_400_000) / size)).toISOString();
    const failed = rand() < 0.05;
    // Sealed again as training seals a finished record: the template's seal no longer matches the copy's content.
    return sealRunRecord({
      ...template,
      run_id: hex(rand, 32),
      config_hash: hashes[Math.floor((i * versions) / size)],
      status: failed ? 'FAILED' : 'SUCCESS',
      ...(failed ? { error: { code: 'FLTS_TRAIN_ABORTED', message: 'bench' } } : {}),
      timings: { ...template.timings, started_at: startedAt, finished_at: new Date(Date.parse(startedAt) + 60_000).toISOString() },
    });
  });
  await mapBounded(records, 16, (record) => saveRunRecord(store, settings, record));
  return { home, settings, store, promoted: runs.map((run) => run.run_id) };
}

/** `store`, counting the calls made through it, and the run.json reads among them. */
function counted(store) {
  const tally = { calls: 0, runJsonReads: 0 };
  const proxy = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args) => {
        tally.calls++;
        if ((name === 'get' || name === 'getVersioned' || name === 'getStream') && String(args[1]).endsWith('/run.json')) tally.runJsonReads++;
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, tally };
}

/** One hand promotion of `runId` with `build`'s library: its wall time, store calls and seen_set. */
async function promoteByHand(build, home, runId) {
  const settings = build.lib.resolveSettings({ env: storeEnv, flags: { home, 'store.buckets.promotion': `${s3 ? `${stack.prefix}-` : ''}${build.promotionBucket}` } }).settings;
  const inner = await build.lib.createObjectStore(settings);
  const { store, tally } = counted(inner);
  const started = performance.now();
  const result = await build.lib.promote({ runId, source: 'manual', actor: 'bench', reason: 'bench' }, settings, { store });
  const ms = performance.now() - started;
  inner.close?.();
  if (!result.changed) throw new Error(`${build.label}: promoting ${runId} changed nothing`);
  return { ms, ...tally, seenSet: result.record.seen_set };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-promotion-seen-'));
try {
  const { home, settings, store, promoted } = await buildHome(dir);
  const samples = new Map(builds.map((build) => [build.label, []]));
  for (let rep = 0; rep < reps; rep++) {
    const seen = [];
    for (const build of builds) {
      const sample = await promoteByHand(build, home, promoted[rep % promoted.length]);
      samples.get(build.label).push(sample);
      seen.push(JSON.stringify(sample.seenSet));
    }
    if (new Set(seen).size > 1) throw new Error(`the builds recorded different seen_set: ${seen.join(' vs ')}`);
  }
  const rows = builds.map((build) => {
    const taken = samples.get(build.label);
    return { build: build.label, runs: size, ms: median(taken.map((s) => s.ms)), store_calls: median(taken.map((s) => s.calls)), run_json_reads: median(taken.map((s) => s.runJsonReads)) };
  });
  // A home an flts before the index wrote: the index taken away, then two promotions with this build.
  const build = builds.at(-1);
  if (build.label !== 'before') {
    const runsBucket = settings.store.buckets.runs;
    if (s3) await store.deleteMany(runsBucket, (await store.list(runsBucket, 'success-runs/')).map((info) => info.key));
    else rmSync(path.join(home, 'store', runsBucket, 'success-runs'), { recursive: true, force: true });
    for (const [label, runId] of [['after, home without the index', promoted[reps % promoted.length]], ['after, next', promoted[(reps + 1) % promoted.length]]]) {
      const sample = await promoteByHand(build, home, runId);
      rows.push({ build: label, runs: size, ms: sample.ms, store_calls: sample.calls, run_json_reads: sample.runJsonReads });
    }
  }
  store.close?.();
  if (flags.json) console.log(JSON.stringify({ runs: size, reps, versions, store: s3 ? 's3' : 'fs', rows }, null, 2));
  else {
    console.log(`Hand promotion (promote, source manual) with ${size} runs over ${versions} config_hashes, ${s3 ? `S3 at ${s3}` : 'fs store'}, median of ${reps}:`);
    console.log('| build | ms | store calls | run.json reads |');
    console.log('|---|---:|---:|---:|');
    for (const row of rows) console.log(`| ${row.build} | ${row.ms.toFixed(0)} | ${row.store_calls} | ${row.run_json_reads} |`);
  }
} finally {
  if (flags.keep) console.error(`home kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
