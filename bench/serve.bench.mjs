#!/usr/bin/env node
// Load test of POST /predict on one `flts serve` process: trains the reference LSTM (2 x 128, window 10 -> 1)
// for one epoch on PobleSec, serves it in this process, and drives it with autocannon in a child process at
// 1, 16 and 64 connections. Every request carries 12 raw PobleSec test rows (a fresh forecast each time).
// Usage: npm run build && node bench/serve.bench.mjs [secondsPerLevel]
// Env: BENCH_TRAIN_ROWS (default 3000 training rows), BENCH_CONNECTIONS (default 1,16,64),
//      FLTS_SERVE_BATCH_MAX_WAIT_MS / FLTS_SERVE_BATCH_MAX_SIZE / FLTS_SERVE_PREDICTION_LOG as for `flts serve`.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveSettings } from '../dist/core/config/settings.js';
import { runPreprocess } from '../dist/core/preprocess/run-preprocess.js';
import { startInferenceService } from '../dist/core/serve/start-inference-service.js';
import { createFsStore } from '../dist/core/storage/fs-store.js';
import { currentBackend } from '../dist/core/tf/backend.js';
import { trainModels } from '../dist/core/workflows/train.js';

const seconds = Number(process.argv[2] ?? 10);
const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const datasets = path.resolve(here, '../../shared/datasets');
const connections = (process.env.BENCH_CONNECTIONS ?? '1,16,64').split(',').map(Number);
const autocannonBin = path.join(path.dirname(createRequire(import.meta.url).resolve('autocannon/package.json')), 'autocannon.js');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-serve-bench-'));
const serveEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('FLTS_SERVE_')));
const { settings } = resolveSettings({
  env: serveEnv,
  // The reference configuration this bench and its figures are about, not the measured defaults (--profile).
  flags: {
    profile: 'reference',
    home,
    'data.dataDir': datasets,
    'data.trainFile': 'PobleSec.csv',
    'data.testFile': 'PobleSec_test.csv',
    'data.sampleTrainRows': Number(process.env.BENCH_TRAIN_ROWS ?? 3000),
    'training.models': ['LSTM'],
    'training.epochs': 1,
    'serve.port': 0,
  },
});

/** 12 raw rows of the test file, column-oriented: the reference request shape. */
function requestBody() {
  const [header, ...lines] = readFileSync(path.join(datasets, 'PobleSec_test.csv'), 'utf8').trim().split('\n');
  const names = header.split(',');
  const data = Object.fromEntries(names.map((name) => [name, []]));
  for (const line of lines.slice(100, 112)) line.split(',').forEach((cell, c) => data[names[c]].push(c === 0 ? cell : Number(cell)));
  return JSON.stringify({ data });
}

function autocannon(url, body, c) {
  const args = [autocannonBin, '-c', String(c), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-b', body, '--json', url];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))));
  });
}

const store = createFsStore(path.join(home, 'store'));
let service;
try {
  await runPreprocess(settings, { store });
  const trainStarted = performance.now();
  const { runs } = await trainModels({ models: ['LSTM'] }, settings, { store });
  const run = runs[0];
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  service = await startInferenceService({ ...settings, serve: { ...settings.serve, runId: run.run_id } }, { store });
  const body = requestBody();
  const url = `${service.url}/predict`;
  const probe = await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json();
  if (probe.status !== 'SUCCESS') throw new Error(`probe request failed: ${JSON.stringify(probe)}`);
  await autocannon(url, body, 16).catch(() => undefined); // warm-up: JIT, wasm kernels, sockets

  const batchTotals = async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    return { sum: Number(/flts_prediction_batch_size_sum (\S+)/.exec(metrics)?.[1]), count: Number(/flts_prediction_batch_size_count (\S+)/.exec(metrics)?.[1]) };
  };
  const tensorsBefore = tf.memory().numTensors;
  const rows = [];
  for (const c of connections) {
    const before = await batchTotals();
    const r = await autocannon(url, body, c);
    const after = await batchTotals();
    const batch = (after.sum - before.sum) / (after.count - before.count);
    rows.push({ c, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, non2xx: r.non2xx, errors: r.errors + r.timeouts, batch });
  }
  const tensorsAfter = tf.memory().numTensors;

  const cpus = os.cpus();
  console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, backend ${currentBackend()?.name}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`model: ${run.model_type} ${settings.training.numLayers}x${settings.training.hiddenSize}, window ${settings.training.inputSeqLen} x ${run.window.features.length} -> ${settings.training.outputSeqLen}, trained 1 epoch on ${settings.data.sampleTrainRows} rows in ${trainSeconds.toFixed(1)} s (run ${run.run_id})`);
  console.log(`serving: batch max ${settings.serve.batchMaxSize}, max wait ${settings.serve.batchMaxWaitMs} ms, prediction log ${settings.serve.predictionLog.enabled ? 'on' : 'off'}; ${seconds} s per level, body ${body.length} B (12 raw rows)`);
  console.log('');
  console.log('| connections | req/s | p50 ms | p99 ms | requests | non-2xx | errors | windows per forward pass |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.c} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.total} | ${r.non2xx} | ${r.errors} | ${r.batch.toFixed(1)} |`);
  console.log('');
  console.log(`tf.memory().numTensors: ${tensorsBefore} before, ${tensorsAfter} after`);
} finally {
  await service?.close();
  rmSync(home, { recursive: true, force: true });
}
