#!/usr/bin/env node
// Training throughput (samples/s) of LSTM and GRU with the reference configuration (window 10 x 17 features,
// 2 x 128 units, batch 64, Adam 1e-4) on the full PobleSec data, for each training path side by side:
// tfjs-layers without and with the transposed-matmul kernel fix, the fused path with the tfjs wasm kernels and
// with flts's SIMD kernels (suffix -tfjs: the tfjs ones) on one thread, and the fused
// path on N gradient worker threads. Each measurement trains a fixed number of batches for a few epochs;
// the first epoch is a warm-up.
// Usage: npm run build && node bench/train.bench.mjs [batchesPerEpoch=40] [epochs=3] [backend=wasm] [kinds=LSTM,GRU] [variants=layers-nofix,layers,fused1-tfjs,fused2-tfjs,fused1,fused2]
// Prints one JSON line per measurement after the table when FLTS_BENCH_JSON=1.
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
import { sliceWindows } from '../dist/core/forecast/windows.js';
import { fitNetwork } from '../dist/core/train/fit-network.js';

const batchesPerEpoch = Number(process.argv[2] ?? 40);
const epochs = Number(process.argv[3] ?? 3);
const backendChoice = process.argv[4] ?? 'wasm';
const kinds = (process.argv[5] ?? 'LSTM,GRU').split(',');
const variants = (process.argv[6] ?? 'layers-nofix,layers,fused1-tfjs,fused2-tfjs,fused1,fused2').split(',');
const datasets = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../../shared/datasets');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-train-'));
const { settings } = resolveSettings({
  // The reference configuration its figures are of, not the measured defaults (--profile).
  flags: { profile: 'reference', home, 'data.trainFile': path.join(datasets, 'PobleSec.csv'), 'data.testFile': path.join(datasets, 'PobleSec_test.csv') },
});
const store = createFsStore(path.join(home, 'store'));
const t = settings.training;

function variantOptions(variant) {
  if (variant === 'layers-nofix') return { engine: 'layers', matMulFix: false };
  if (variant === 'layers') return { engine: 'layers', matMulFix: true };
  const match = /^fused(\d+)(-tfjs)?$/.exec(variant);
  if (!match) throw new Error(`unknown variant ${variant}`);
  return { engine: 'fused', matMulFix: true, workers: Number(match[1]), kernels: match[2] ? 'tfjs' : 'simd' };
}

async function measure(kind, variant) {
  const { engine, matMulFix, workers, kernels } = variantOptions(variant);
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
  const result = await fitNetwork(network, fit, validation, spec, {
    runId: 'bench', epochs, batchSize: t.batchSize, learningRate: t.learningRate, earlyStopping: false, patience: t.patience, seed: t.seed,
    engine, workers, kernels, backend: backendChoice, cores: os.availableParallelism(),
  });
  const cpu = process.cpuUsage(cpuBefore);
  const measured = result.history.slice(1);
  const wallS = measured.reduce((s, e) => s + e.duration_ms, 0) / 1000;
  const samples = fit.size * measured.length;
  network.dispose();
  return {
    kind,
    variant,
    backend: backend.name,
    threads: result.threads,
    samplesPerSec: samples / wallS,
    // Process CPU time covers the worker threads too.
    cpuSamplesPerSec: (fit.size * epochs) / ((cpu.user + cpu.system) / 1e6),
    loss: result.history.at(-1).loss,
    tensorsLeaked: tf.memory().numTensors - tensorsBefore,
    load: os.loadavg()[0],
  };
}

try {
  await runPreprocess(settings, { store });
  const cpus = os.cpus();
  console.log(`machine: ${os.platform()} ${os.arch()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, tfjs ${tf.version.tfjs}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`config: window ${t.inputSeqLen} -> ${t.outputSeqLen}, ${t.numLayers} x ${t.hiddenSize} units, batch ${t.batchSize}, Adam ${t.learningRate}; ${batchesPerEpoch} batches x ${epochs} epochs (first is warm-up)`);
  const rows = [];
  for (const kind of kinds) for (const variant of variants) rows.push(await measure(kind, variant));
  console.log('model  variant       backend threads  samples/s  samples/cpu-s  final loss   leaked  load');
  for (const r of rows) {
    console.log(`${r.kind.padEnd(6)} ${r.variant.padEnd(13)} ${r.backend.padEnd(7)} ${String(r.threads).padStart(7)}  ${r.samplesPerSec.toFixed(0).padStart(9)}  ${r.cpuSamplesPerSec.toFixed(0).padStart(13)}  ${r.loss.toExponential(4)}  ${String(r.tensorsLeaked).padStart(6)}  ${r.load.toFixed(2)}`);
  }
  for (const kind of kinds) {
    const of = (v) => rows.find((r) => r.kind === kind && r.variant === v);
    const reference = of('layers');
    if (!reference) continue;
    for (const r of rows.filter((x) => x.kind === kind && x !== reference)) {
      const sameLoss = Math.abs(r.loss - reference.loss) <= 1e-3 * Math.abs(reference.loss);
      console.log(`${kind} ${r.variant} vs layers(+fix): x${(r.samplesPerSec / reference.samplesPerSec).toFixed(2)}; same final loss (1e-3): ${sameLoss ? 'yes' : `no (${reference.loss} vs ${r.loss})`}`);
    }
  }
  if (process.env.FLTS_BENCH_JSON === '1') for (const r of rows) console.log(JSON.stringify(r));
} finally {
  rmSync(home, { recursive: true, force: true });
}
