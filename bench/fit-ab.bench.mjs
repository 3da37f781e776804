#!/usr/bin/env node
// Two builds' training loops on the same windows, alternating in one process (A/B under load): CPU per sample
// (all threads, and the calling thread) and wall per sample over epochs 2..E, and the losses per epoch.
// Usage: node bench/fit-ab.bench.mjs <distA> <distB>[:off] [batches=100] [epochs=3] [rounds=8] [kind=LSTM]
//   e.g. git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build);
//        node bench/fit-ab.bench.mjs /tmp/base/dist dist
// A build named with ":off" trains with the engine on its own thread (what side-by-side training uses).
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const here = import.meta.dirname;
const [a, b, batches = '100', epochsArg = '3', roundsArg = '8', kind = 'LSTM'] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: node bench/fit-ab.bench.mjs <distA> <distB>[:off] [batches] [epochs] [rounds] [kind]');
const builds = [a, b].map((spec) => ({ dist: path.resolve(spec.replace(/:off$/, '')), offThread: spec.endsWith(':off'), label: spec }));
const load = (dist, module) => import(pathToFileURL(path.join(dist, module)).href);
const local = path.resolve(here, '../dist');
const { resolveSettings } = await load(local, 'core/config/settings.js');
const { runPreprocess } = await load(local, 'core/preprocess/run-preprocess.js');
const { loadProcessedData } = await load(local, 'core/preprocess/processed-data.js');
const { createFsStore } = await load(local, 'core/storage/fs-store.js');
const { selectBackend } = await load(local, 'core/tf/backend.js');
const { buildRecurrentNetwork } = await load(local, 'core/models/recurrent-model.js');
const { prepareWindows } = await load(local, 'core/train/prepare-windows.js');
const { modelWindow } = await load(local, 'core/train/fit-model.js');
const { sliceWindows } = await load(local, 'core/forecast/windows.js');
for (const build of builds) build.fitNetwork = (await load(build.dist, 'core/train/fit-network.js')).fitNetwork;

const home = mkdtempSync(path.join(os.tmpdir(), 'flts-fit-ab-'));
const datasets = path.resolve(here, '../../shared/datasets');
const settings = resolveSettings({ flags: { home, 'data.trainFile': path.join(datasets, 'PobleSec.csv'), 'data.testFile': path.join(datasets, 'PobleSec_test.csv') }, env: {} }).settings;
const t = settings.training;
const store = createFsStore(path.join(home, 'store'));
await runPreprocess(settings, { store });
const data = await loadProcessedData(store, settings);
const spec = modelWindow(kind, data, settings);
const windows = prepareWindows(data, spec, t.validationSplit);
const fit = sliceWindows(windows.fit, 0, Math.min(windows.fit.size, Number(batches) * t.batchSize), spec);
const validation = sliceWindows(windows.validation, 0, 1, spec);
const epochs = Math.max(2, Number(epochsArg));
await selectBackend('wasm', { matMulFix: true });

const results = builds.map(() => ({ cpu: [], main: [], wall: [], losses: '' }));
for (let round = 0; round < Number(roundsArg); round++) {
  for (const i of round % 2 ? [1, 0] : [0, 1]) {
    const network = buildRecurrentNetwork(kind, spec, { hiddenSize: t.hiddenSize, numLayers: t.numLayers }, t.seed);
    let start;
    const result = await builds[i].fitNetwork(network, fit, validation, spec, {
      runId: 'ab', epochs, batchSize: t.batchSize, learningRate: t.learningRate, earlyStopping: false, patience: t.patience, seed: t.seed, backend: 'wasm', cores: os.availableParallelism(), offThread: builds[i].offThread,
      // Epoch 1 (session set-up, warm-up) is not counted.
      onEvent: (event) => {
        if (event.type === 'train.epoch_end' && event.epoch === 1) start = { cpu: process.cpuUsage(), main: process.threadCpuUsage(), wall: performance.now() };
      },
    });
    const cpu = process.cpuUsage(start.cpu);
    const main = process.threadCpuUsage(start.main);
    const samples = fit.size * (epochs - 1);
    results[i].cpu.push((cpu.user + cpu.system) / samples);
    results[i].main.push((main.user + main.system) / samples);
    results[i].wall.push(((performance.now() - start.wall) * 1000) / samples);
    results[i].losses = result.history.map((e) => e.loss.toExponential(4)).join(' ');
    network.dispose();
  }
}
rmSync(home, { recursive: true, force: true });
const median = (values) => [...values].sort((p, q) => p - q)[values.length >> 1];
console.log(`${kind} ${t.numLayers} x ${t.hiddenSize}, ${fit.size} windows x ${epochs} epochs, ${roundsArg} rounds each; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('build: median us per sample: CPU (all threads) / calling thread / wall; paired CPU ratio to the first; losses per epoch');
builds.forEach((build, i) => {
  const ratio = median(results[i].cpu.map((v, k) => v / results[0].cpu[k]));
  console.log(`${build.label}: ${median(results[i].cpu).toFixed(2)} / ${median(results[i].main).toFixed(2)} / ${median(results[i].wall).toFixed(2)}; x${ratio.toFixed(3)}; ${results[i].losses}`);
});
