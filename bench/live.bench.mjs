#!/usr/bin/env node
// Live scoring overhead on POST /predict, side by side in one process: two inference APIs over the same loaded
// run (one model, one inference thread), one with live scoring off and one on, driven in alternating blocks (off, on, off, on, ...)
// so machine noise falls on both alike. Requests are consecutive 16-row slices of the PobleSec test file, so
// every request with live scoring on also scores the forecasts of the requests before it. Handlers run through
// fastify's inject (no sockets): the figure is the server's own work per request, where the scoring happens.
// On a shared machine wall-clock blocks are noisy, so each round's on/off ratio is kept and the median reported,
// beside the process CPU time per request (all threads), which other processes' load disturbs far less.
// Usage: npm run build && node bench/live.bench.mjs [rounds] [requestsPerBlock]
// Env: BENCH_MODEL (LSTM, default, or NAIVE: the cheapest model, the largest relative overhead), BENCH_TRAIN_ROWS,
//      BENCH_CONTROL=1 (both sides with scoring off: the noise floor of the comparison itself).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildRequestPayloads } from '../dist/core/bench/request-payloads.js';
import { resolveSettings } from '../dist/core/config/settings.js';
import { silentLogger } from '../dist/core/logger.js';
import { runPreprocess } from '../dist/core/preprocess/run-preprocess.js';
import { buildServer } from '../dist/core/serve/build-server.js';
import { createLiveMonitor } from '../dist/core/serve/live-monitor.js';
import { createModelHolder } from '../dist/core/serve/model-holder.js';
import { createRegistryModelSource } from '../dist/core/serve/registry-model-source.js';
import { openServedModel } from '../dist/core/serve/served-model.js';
import { createFsStore } from '../dist/core/storage/fs-store.js';
import { trainModels } from '../dist/core/workflows/train.js';

const rounds = Number(process.argv[2] ?? 10);
const perBlock = Number(process.argv[3] ?? 400);
const concurrency = 16;
const modelType = (process.env.BENCH_MODEL ?? 'LSTM').toUpperCase();
const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const datasets = path.resolve(here, '../../shared/datasets');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-live-bench-'));
const { settings } = resolveSettings({
  // The reference architecture its figures were measured on (bench/results-live.md), not the measured defaults.
  flags: {
    profile: 'reference',
    home,
    'data.dataDir': datasets,
    'data.trainFile': 'PobleSec.csv',
    'data.testFile': 'PobleSec_test.csv',
    'data.sampleTrainRows': Number(process.env.BENCH_TRAIN_ROWS ?? 3000),
    'training.models': [modelType],
    'training.epochs': 1,
    'serve.predictionLog.enabled': false,
  },
});

/** One loaded run, and two inference APIs over it (same model, same inference thread): scoring off and on. */
async function startApis(store, runId, scoreSecond) {
  const source = createRegistryModelSource(store, settings);
  const batching = { maxBatch: settings.serve.batchMaxSize, maxWaitMs: settings.serve.batchMaxWaitMs };
  const holder = createModelHolder({ source, pinnedRunId: runId, pollIntervalMs: 0, batching, logger: silentLogger });
  await holder.start();
  const monitor = scoreSecond ? createLiveMonitor({ settings, holder, loadShadow: (id) => openServedModel(source, id, { batching }), replica: 'bench', logger: silentLogger }) : undefined;
  const off = { app: await buildServer({ holder, identifier: '' }) };
  const on = { app: await buildServer({ holder, live: monitor, identifier: '' }), monitor };
  return { off, on, close: async () => (await off.app.close(), await on.app.close(), await holder.stop()) };
}

async function block(app, bodies, offset) {
  let next = 0;
  const worker = async () => {
    while (next < perBlock) {
      const body = bodies[(offset + next++) % bodies.length];
      const response = await app.inject({ method: 'POST', url: '/predict', payload: body, headers: { 'content-type': 'application/json' } });
      if (response.statusCode !== 200) throw new Error(`POST /predict answered ${response.statusCode}: ${response.body}`);
    }
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  // Scoring runs right after each answer (setImmediate): let it finish inside the timed block.
  await new Promise((resolve) => setImmediate(resolve));
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

try {
  const store = createFsStore(path.join(home, 'store'));
  await runPreprocess(settings, { store });
  const { runs } = await trainModels({ models: [modelType] }, settings, { store });
  // The model name only names the Open Inference Protocol bodies, which this bench does not send.
  const payloads = await buildRequestPayloads(path.join(datasets, 'PobleSec_test.csv'), 16, 'flts', 256, 'consecutive');
  const apis = await startApis(store, runs[0].run_id, process.env.BENCH_CONTROL !== '1');
  const { off, on } = apis;
  const totals = { off: { ms: 0, cpuMs: 0 }, on: { ms: 0, cpuMs: 0 } };
  const ratios = [];
  await block(off.app, payloads.bodies, 0);
  await block(on.app, payloads.bodies, 0);
  for (let round = 0; round < rounds; round++) {
    // Alternate which variant goes first, so a drift in machine load never favours one of them.
    const order = round % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    const timed = {};
    for (const variant of order) timed[variant] = await block((variant === 'on' ? on : off).app, payloads.bodies, round * perBlock);
    for (const variant of order) {
      totals[variant].ms += timed[variant].ms;
      totals[variant].cpuMs += timed[variant].cpuMs;
    }
    ratios.push(timed.off.ms / timed.on.ms);
  }
  const requests = rounds * perBlock;
  const rps = (variant) => requests / (totals[variant].ms / 1000);
  const cpuPerRequest = (variant) => (totals[variant].cpuMs * 1000) / requests;
  const matched = (on.monitor?.scorer.figures() ?? []).reduce((sum, run) => sum + run.matched_total, 0);
  const pct = (value) => `${(value * 100).toFixed(1)} %`;
  console.log(`flts live scoring overhead: ${modelType} run, ${rounds} alternating rounds x ${perBlock} requests per variant, ${concurrency} concurrent, ${payloads.rowsPerRequest} rows per request`);
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}, node ${process.version}`);
  console.log(`live off: ${rps('off').toFixed(1)} req/s, ${cpuPerRequest('off').toFixed(0)} us CPU per request`);
  console.log(`live on:  ${rps('on').toFixed(1)} req/s, ${cpuPerRequest('on').toFixed(0)} us CPU per request (${matched} forecast points matched and scored)`);
  console.log(`on / off req/s: total ${pct(rps('on') / rps('off'))}, median of ${rounds} rounds ${pct(median(ratios))}`);
  console.log(`on / off CPU per request: ${pct(cpuPerRequest('on') / cpuPerRequest('off'))} (capacity of a CPU-bound server on / off: ${pct(cpuPerRequest('off') / cpuPerRequest('on'))})`);
  await apis.close();
} finally {
  rmSync(home, { recursive: true, force: true });
}
