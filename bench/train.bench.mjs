#!/usr/bin/env node
// Training throughput (samples/s) of LSTM and GRU with the reference configuration (window 10 x 17 features,
// 2 x 128 units, batch 64, Adam 1e-4) on the full PobleSec data, with and without the transposed-matmul
// kernel fix side by side. Each measurement trains a fixed number of batches for a few epochs; the first
// epoch is a warm-up. Usage: npm run build && node bench/train.bench.mjs [batchesPerEpoch=40] [epochs=3] [backend=wasm]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveSettings } from '../dist/core/config/settings.js';
import { runPreprocess } from '../dist/core/preprocess/run-preprocess.js';
import { loadProcessedData } from '../dist/core/preprocess/processed-data.js';
import { createFsStore } from '../dist/core/storage/fs-store.js';
import { selectBackend } from '../dist/core/tf/backend.js';
import { buildRecurrentNetwork } from '../dist/core/models/recurrent-model.js';
import { prepareWindows } from '../dist/core/train/prepare-windows.js';
import { sliceWindows } from '../dist/core/models/windows.js';
import { fitNetwork } from '../dist/core/train/fit-network.js';

const batchesPerEpoch = Number(process.argv[2] ?? 40);
const epochs = Number(process.argv[3] ?? 3);
const backendChoice = process.argv[4] ?? 'wasm';
const datasets = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../../shared/datasets');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-train-'));
const { settings } = resolveSettings({
  flags: { home, 'data.trainFile': path.join(datasets, 'PobleSec.csv'), 'data.testFile': path.join(datasets, 'PobleSec_test.csv') },
});
const store = createFsStore(path.join(home, 'store'));
const t = settings.training;

async function measure(kind, matMulFix) {
  const backend = await selectBackend(backendChoice, { matMulFix });
  const data = await loadProcessedData(store, settings);
  const spec = { features: data.columns, targets: t.targets, inputSeqLen: t.inputSeqLen, outputSeqLen: t.outputSeqLen };
  const windows = prepareWindows(data, spec, t.validationSplit);
  const fit = sliceWindows(windows.fit, 0, Math.min(windows.fit.size, batchesPerEpoch * t.batchSize), spec);
  // One validation window: the epoch time is then (almost) all training steps.
  const validation = sliceWindows(windows.validation, 0, 1, spec);
  const tensorsBefore = tf.memory().numTensors;
  const network = buildRecurrentNetwork(kind, spec, { hiddenSize: t.hiddenSize, numLayers: t.numLayers }, t.seed);
  const cpuBefore = process.cpuUsage();
  const result = await fitNetwork(network, fit, validation, spec, { runId: 'bench', epochs, batchSize: t.batchSize, learningRate: t.learningRate, earlyStopping: false, patience: t.patience, seed: t.seed });
  const cpu = process.cpuUsage(cpuBefore);
  const measured = result.history.slice(1);
  const wallS = measured.reduce((s, e) => s + e.duration_ms, 0) / 1000;
  const samples = fit.size * measured.length;
  network.dispose();
  // Layer weights are disposed with the network; anything left over was leaked by the training loop.
  return {
    kind,
    backend: backend.name,
    fix: backend.matMulFix,
    samplesPerSec: samples / wallS,
    cpuSamplesPerSec: (fit.size * epochs) / ((cpu.user + cpu.system) / 1e6),
    loss: result.history.at(-1).loss,
    tensorsLeaked: tf.memory().numTensors - tensorsBefore,
  };
}

try {
  await runPreprocess(settings, { store });
  const cpus = os.cpus();
  console.log(`machine: ${os.platform()} ${os.arch()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, tfjs ${tf.version.tfjs}, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`config: window ${t.inputSeqLen} -> ${t.outputSeqLen}, ${t.numLayers} x ${t.hiddenSize} units, batch ${t.batchSize}, Adam ${t.learningRate}; ${batchesPerEpoch} batches x ${epochs} epochs (first is warm-up)`);
  const rows = [];
  for (const kind of ['LSTM', 'GRU']) {
    for (const fix of backendChoice === 'wasm' ? [false, true] : [true]) rows.push(await measure(kind, fix));
  }
  console.log('model  backend  matmul-fix  samples/s  samples/cpu-s  final loss  leaked tensors');
  for (const r of rows) {
    console.log(`${r.kind.padEnd(6)} ${r.backend.padEnd(8)} ${String(r.fix).padEnd(11)} ${r.samplesPerSec.toFixed(0).padStart(9)}  ${r.cpuSamplesPerSec.toFixed(0).padStart(13)}  ${r.loss.toExponential(4)}  ${r.tensorsLeaked}`);
  }
  for (const kind of ['LSTM', 'GRU']) {
    const [off, on] = [rows.find((r) => r.kind === kind && !r.fix), rows.find((r) => r.kind === kind && r.fix)];
    if (off && on) console.log(`${kind}: kernel fix speed-up x${(on.samplesPerSec / off.samplesPerSec).toFixed(2)}; same loss: ${Math.abs(on.loss - off.loss) <= 1e-4 * Math.abs(off.loss) ? 'yes' : `no (${off.loss} vs ${on.loss})`}`);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
