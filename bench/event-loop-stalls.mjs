#!/usr/bin/env node
// How long the daemon's own work holds its event loop, which also sends the Kafka consumer's heartbeats (every ~3 s;
// a member silent for bus.kafka.sessionTimeoutMs, 10 s by default, is dropped from its group). Runs, in this process
// and with default settings, the steps the daemon runs on its main thread on the full PobleSec data: a forced
// preprocess, then each model type trained as the daemon's trainer trains it (trainModels, one type per call, no claim,
// mirroring deferred, under an abort signal as the daemon's handlers are: work that yields to let a stop in yields only
// then), then the promoter's check of each trained run (loaded as serving loads it, its last test windows forecast).
// During each step `perf_hooks.monitorEventLoopDelay` (10 ms resolution) and a 10 ms
// setInterval watch the loop; printed per step: wall time, the longest block and p99 of the loop delay, the longest
// gap between two interval ticks, and the phase (last log line or event) the longest gap started in and ended in.
// `--no-signal` trains without one, as a library caller may: the post-fit forecasts turn between chunks and before a
// stage's first chunk all the same (training always reports its progress).
// Usage: npm run build && node bench/event-loop-stalls.mjs [models=<training.models default>] [--no-signal] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolveSettings } from '../dist/core/config/settings.js';
import { runPreprocess } from '../dist/core/preprocess/run-preprocess.js';
import { createFsStore } from '../dist/core/storage/fs-store.js';
import { trainModels } from '../dist/core/workflows/train.js';
import { validateCandidate } from '../dist/core/workflows/validate-candidate.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const withSignal = !args.includes('--no-signal');
const positional = args.filter((arg) => !arg.startsWith('--'));
const datasets = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../../shared/datasets');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-stalls-'));
const { settings } = resolveSettings({
  flags: { home, 'data.trainFile': path.join(datasets, 'PobleSec.csv'), 'data.testFile': path.join(datasets, 'PobleSec_test.csv'), 'data.forceReprocess': true },
});
const models = positional[0] ? positional[0].split(',') : [...settings.training.models];
const store = createFsStore(path.join(home, 'store'));
// The daemon trains under its handler's abort signal; the post-fit forecasts let the loop go round between chunks
// and before a stage's first chunk with or without one.
const stop = new AbortController();
const INTERVAL_MS = 10;
/** A third of the default session timeout: the heartbeat interval, past which one heartbeat is late. */
const WARN_MS = 3000;

// What the main thread is doing, as the work itself says it: log lines and events (batch ends are too many to name).
let phase = 'idle';
const phaseLogger = {
  trace() {},
  debug() {},
  info: (_obj, msg) => void (phase = msg ?? phase),
  warn: (_obj, msg) => void (phase = msg ?? phase),
  error: (_obj, msg) => void (phase = msg ?? phase),
  child: () => phaseLogger,
};
function onEvent(event) {
  if (event.type === 'train.batch_end') return;
  if (event.type === 'train.epoch_end') phase = `epoch ${event.epoch} end`;
  else if (event.type === 'train.predict') phase = `predict ${event.stage} ${event.done}/${event.total}`;
  else phase = event.type;
}

async function measured(name, work) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  let last = performance.now();
  let gap = { ms: 0, from: '', to: '' };
  let lastPhase = phase;
  const ticker = setInterval(() => {
    const now = performance.now();
    const late = now - last - INTERVAL_MS;
    if (late > gap.ms) gap = { ms: late, from: lastPhase, to: phase };
    last = now;
    lastPhase = phase;
  }, INTERVAL_MS);
  histogram.enable();
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  let outcome = 'ok';
  try {
    await work();
  } catch (error) {
    outcome = `${error.code ?? 'error'}: ${error.message}`.slice(0, 120);
  }
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  histogram.disable();
  clearInterval(ticker);
  // The delay histogram counts the loop's lateness beyond its 10 ms resolution timer.
  const row = { step: name, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, maxBlockMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, maxGapMs: gap.ms, gapFrom: gap.from, gapTo: gap.to, outcome };
  phase = 'idle';
  // Between steps the loop gets a turn, so the next step's histogram starts clean.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return row;
}

const rows = [];
try {
  let configHash;
  rows.push(await measured('preprocess (forced)', async () => {
    configHash = (await runPreprocess(settings, { store, logger: phaseLogger, onEvent })).configHash;
  }));
  const trained = [];
  for (const modelType of models) {
    rows.push(await measured(`train ${modelType}`, async () => {
      const { runs } = await trainModels({ models: [modelType], configHash, inProgress: 'train', deferMirror: true }, settings, { store, logger: phaseLogger, onEvent, ...(withSignal ? { signal: stop.signal } : {}) });
      trained.push(...runs);
    }));
  }
  for (const run of trained) rows.push(await measured(`check ${run.model_type}`, () => validateCandidate(store, settings, run)));
  const cpus = os.cpus();
  console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`PobleSec train+test, default settings (training.engine ${settings.training.engine}, backend ${settings.training.backend}, epochs ${settings.training.epochs}), ${withSignal ? 'under an abort signal' : 'no abort signal'}; loop watched at ${INTERVAL_MS} ms:`);
  console.log(`${'step'.padEnd(22)} ${'wall s'.padStart(8)} ${'cpu s'.padStart(7)} ${'max block ms'.padStart(13)} ${'p99 ms'.padStart(8)} ${'max gap ms'.padStart(11)}  longest gap (from -> to)`);
  for (const row of rows) {
    const flag = row.maxGapMs > WARN_MS ? '  !! over a heartbeat interval' : '';
    console.log(`${row.step.padEnd(22)} ${(row.wallMs / 1000).toFixed(1).padStart(8)} ${(row.cpuMs / 1000).toFixed(1).padStart(7)} ${row.maxBlockMs.toFixed(0).padStart(13)} ${row.p99Ms.toFixed(0).padStart(8)} ${row.maxGapMs.toFixed(0).padStart(11)}  ${row.gapFrom} -> ${row.gapTo}${flag}${row.outcome === 'ok' ? '' : `  (${row.outcome})`}`);
  }
  if (json) for (const row of rows) console.log(JSON.stringify(row));
} finally {
  rmSync(home, { recursive: true, force: true });
}
