#!/usr/bin/env node
// How long a promotion takes to reach every serving replica through the bus, from each entry point: N `flts serve`
// replicas with pointer polling off (FLTS_SERVE_POLL_INTERVAL_MS=0, so only a model-selected message can move
// them), then for each entry point several promotions, each of a run the replicas do not serve yet. A promotion's
// latency is from the entry point's completion (the CLI command's exit, the library call's return) to the moment
// the last replica's /healthz names the new run (polled every 5 ms); 0 when every replica had switched before the
// command returned. The daemon's automatic promotion has no completion to wait for: its latency, like the
// "from record" column of every row, runs from the promotion record's own timestamp (written just before the
// pointers move and the message is published).
// Stacks: fs (embedded bus and store, always) and kafka (Kafka + S3) when brokers and an S3 endpoint are given
// (env KAFKA_BOOTSTRAP_SERVERS and MINIO_ENDPOINT, with MINIO_ROOT_USER / MINIO_ROOT_PASSWORD, or the flags).
// Usage: npm run build && node bench/promotion-latency.mjs [--replicas 3] [--rounds 5] [--stacks fs,kafka]
//          [--brokers host:port] [--s3-endpoint http://host:port] [--json]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createMessageBus, createObjectStore, isolatedStack, promote, resolveSettings } from '../dist/core/index.js';

const { values: flags } = parseArgs({
  options: {
    replicas: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    stacks: { type: 'string' },
    brokers: { type: 'string', default: process.env.KAFKA_BOOTSTRAP_SERVERS ?? '' },
    's3-endpoint': { type: 'string', default: process.env.MINIO_ENDPOINT ?? '' },
    json: { type: 'boolean', default: false },
  },
});
const replicaCount = Number(flags.replicas);
const rounds = Number(flags.rounds);
const distributedGiven = Boolean(flags.brokers && flags['s3-endpoint']);
const stacks = (flags.stacks ?? (distributedGiven ? 'fs,kafka' : 'fs')).split(',').map((s) => s.trim()).filter(Boolean);
const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const bin = path.resolve(here, '../bin/run.js');
const datasets = path.resolve(here, '../../shared/datasets');
const SEEN_TIMEOUT_MS = 30_000;

/** The environment of one stack: its own home (fs) or its own buckets and topics (kafka), small training. */
function stackEnv(stack) {
  const base = { SAMPLE_TRAIN_ROWS: '300', SAMPLE_TEST_ROWS: '100', FLTS_SERVE_POLL_INTERVAL_MS: '0', FLTS_SERVE_PREDICTION_LOG: 'false', FLTS_LOG_LEVEL: 'warn', EXPECTED_MODEL_TYPES: 'NAIVE', FLTS_TRAINER_MODELS: 'NAIVE' };
  if (stack === 'fs') return { home: mkdtempSync(path.join(os.tmpdir(), 'flts-promotion-bench-')), env: { ...base, FLTS_STORE: 'fs', FLTS_BUS: 'fs' } };
  return {
    env: {
      ...base,
      FLTS_STORE: 's3',
      FLTS_BUS: 'kafka',
      KAFKA_BOOTSTRAP_SERVERS: flags.brokers,
      MINIO_ENDPOINT: flags['s3-endpoint'],
      ...isolatedStack('bench').env,
    },
  };
}

function childEnv(stack, extra = {}) {
  const env = { ...process.env, ...stack.env, ...extra };
  if (stack.home) env.FLTS_HOME = stack.home;
  return env;
}

/** Runs `flts <args> --json`; resolves with its result and the moment it exited. */
function flts(stack, args, extra = {}) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args, '--json'], { env: childEnv(stack, extra), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitedAt = performance.now();
      if (error) return reject(new Error(`flts ${args.join(' ')} failed: ${stdout}${stderr || error.message}`));
      resolve({ result: JSON.parse(stdout).result, exitedAt });
    });
  });
}

function startProcess(stack, args, extra, ready) {
  const child = spawn(process.execPath, [bin, ...args], { env: childEnv(stack, extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk) => (err = (err + chunk).slice(-8000)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) resolve({ child, match, output: () => out });
    });
    child.on('exit', (code) => reject(new Error(`flts ${args.join(' ')} exited with ${code}: ${out}${err}`)));
  });
}

async function startReplica(stack, id) {
  const started = await startProcess(stack, ['serve', '--port', '0'], { FLTS_REPLICA_ID: id }, /Listening on (http:\/\/\S+)[\s\S]*Following \S+ as group/);
  return { child: started.child, url: started.match[1] };
}

const runIdOf = async (replica) => {
  try {
    const response = await fetch(`${replica.url}/healthz`);
    return (await response.json()).run_id;
  } catch {
    return undefined;
  }
};

/** Resolves with the moment (performance.now) the last replica reported `runId`. */
async function allServe(replicas, runId) {
  const seenAt = new Map();
  const deadline = performance.now() + SEEN_TIMEOUT_MS;
  while (seenAt.size < replicas.length) {
    if (performance.now() > deadline) throw new Error(`replicas still not on run ${runId} after ${SEEN_TIMEOUT_MS} ms`);
    await Promise.all(
      replicas.map(async (replica) => {
        if (seenAt.has(replica)) return;
        if ((await runIdOf(replica)) === runId) seenAt.set(replica, performance.now());
      }),
    );
    if (seenAt.size < replicas.length) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Math.max(...seenAt.values());
}

/** performance.now() of a promotion record's timestamp (microseconds in the record; wall clock of this machine). */
function recordTime(record) {
  return Date.parse(record.timestamp.replace(/(\.\d{3})\d+Z$/, '$1Z')) - Date.now() + performance.now();
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function benchStack(name) {
  const stack = stackEnv(name);
  // The environment the CLI children get: S3 credentials and Kafka security come from this process's environment.
  const { settings } = resolveSettings({ env: childEnv(stack) });
  const store = await createObjectStore(settings);
  const bus = createMessageBus(settings);
  const processes = [];
  const rows = [];
  try {
    const data = ['--dataset', 'PobleSec', '--train', path.join(datasets, 'PobleSec.csv'), '--test', path.join(datasets, 'PobleSec_test.csv')];
    await flts(stack, ['preprocess', ...data]);
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push((await flts(stack, ['train', '--model', 'NAIVE'])).result.runs[0].run_id);
    const replicas = [];
    for (let i = 0; i < replicaCount; i++) replicas.push(await startReplica(stack, `r${i}`));
    processes.push(...replicas.map((r) => r.child));
    let current;
    const library = async (runId) => {
      if (runId === current) return;
      await promote({ runId, source: 'manual', actor: 'bench', reason: 'setup' }, settings, { store, bus });
      await allServe(replicas, runId);
      current = runId;
    };
    const other = (...not) => runs.find((id) => !not.includes(id));
    await library(runs[0]);
    // The scoreboard winner, found once: every --best round starts from another run.
    const winner = (await flts(stack, ['promote', '--best'])).result.record.run_id;
    await allServe(replicas, winner);
    current = winner;

    const entries = [
      { entry: 'library promote()', prepare: async () => other(current), act: async (runId) => ({ record: (await promote({ runId, source: 'manual', actor: 'bench', reason: 'bench' }, settings, { store, bus })).record, doneAt: performance.now() }) },
      { entry: 'flts promote --run', prepare: async () => other(current), act: (runId) => viaCli(['promote', '--run', runId, '--reason', 'bench']) },
      { entry: 'flts promote --best', prepare: async () => (await library(other(winner)), winner), act: () => viaCli(['promote', '--best']) },
      {
        entry: 'flts promote --rollback',
        prepare: async () => {
          const back = other(current);
          await library(back);
          await library(other(back));
          return back;
        },
        act: () => viaCli(['promote', '--rollback']),
      },
      { entry: 'flts promote-manual --yes', prepare: async () => other(current), act: (runId) => viaCli(['promote-manual', '--yes', '--run', runId, '--reason', 'bench']) },
    ];
    async function viaCli(args) {
      const { result, exitedAt } = await flts(stack, args);
      return { record: result.record, doneAt: exitedAt };
    }
    for (const { entry, prepare, act } of entries) {
      const fromDone = [];
      const fromRecord = [];
      for (let round = 0; round < rounds; round++) {
        const expected = await prepare();
        const { record, doneAt } = await act(expected);
        if (record.run_id !== expected) throw new Error(`${entry} promoted ${record.run_id}, expected ${expected}`);
        const seen = await allServe(replicas, expected);
        current = expected;
        fromDone.push(Math.max(0, seen - doneAt));
        fromRecord.push(seen - recordTime(record));
      }
      rows.push(summary(entry, name, fromDone, fromRecord));
    }

    // The daemon's automatic promotion: each round preprocesses newer data, the daemon trains NAIVE and promotes it.
    const daemon = await startProcess(stack, ['daemon', '--port', '0'], {}, /Roles started: /);
    processes.push(daemon.child);
    const fromRecord = [];
    for (let round = 0; round < rounds; round++) {
      const { result } = await flts(stack, ['preprocess', ...data], { SAMPLE_TRAIN_ROWS: String(301 + round) });
      const record = await waitForAuto(store, settings, result.config_hash ?? result.configHash);
      const seen = await allServe(replicas, record.run_id);
      fromRecord.push(seen - recordTime(record));
    }
    rows.push(summary('daemon automatic', name, fromRecord, fromRecord));
  } finally {
    for (const child of processes) if (child.exitCode === null) child.kill('SIGINT');
    await Promise.all(processes.map((child) => (child.exitCode === null ? new Promise((resolve) => child.on('exit', resolve)) : undefined)));
    await bus?.close();
    if (stack.home) rmSync(stack.home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
  return rows;
}

async function waitForAuto(store, settings, configHash) {
  const { listPromotionHistory } = await import('../dist/core/registry/promotion-history.js');
  const deadline = Date.now() + 180_000;
  for (;;) {
    const record = (await listPromotionHistory(store, settings)).find((r) => r.source === 'auto' && (!configHash || r.config_hash === configHash));
    if (record) return record;
    if (Date.now() > deadline) throw new Error(`no automatic promotion of ${configHash} within 180 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function summary(entry, stack, fromDone, fromRecord) {
  const ms = (v) => Math.round(v);
  return { entry, stack, replicas: replicaCount, rounds: fromDone.length, p50_ms: ms(percentile(fromDone, 50)), max_ms: ms(Math.max(...fromDone)), from_record_p50_ms: ms(percentile(fromRecord, 50)), from_record_max_ms: ms(Math.max(...fromRecord)) };
}

const all = [];
for (const stack of stacks) {
  if (stack === 'kafka' && !distributedGiven) {
    console.error('kafka: skipped (no brokers and S3 endpoint: set KAFKA_BOOTSTRAP_SERVERS and MINIO_ENDPOINT, or --brokers and --s3-endpoint)');
    continue;
  }
  console.error(`${stack}: ${replicaCount} replicas, ${rounds} promotions per entry point...`);
  all.push(...(await benchStack(stack)));
}
if (flags.json) {
  console.log(JSON.stringify({ load: os.loadavg(), rows: all }, null, 2));
} else {
  const header = ['entry point', 'stack', 'replicas', 'rounds', 'p50 ms', 'max ms', 'from record p50 ms', 'from record max ms'];
  const lines = all.map((r) => [r.entry, r.stack, r.replicas, r.rounds, r.p50_ms, r.max_ms, r.from_record_p50_ms, r.from_record_max_ms].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(row(header));
  for (const line of lines) console.log(row(line));
  console.log(`load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${os.cpus().length} cores`);
}
