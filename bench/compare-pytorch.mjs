#!/usr/bin/env node
// Side by side on this machine, same data, same configuration (the reference's LSTM: window 10 x 17
// features -> 1, 2 x 128 units, batch 64, Adam 1e-4, MSE): PyTorch on CPU, flts fused on the wasm backend
// with gradient worker threads, and flts with tfjs-layers. Each trains `batches` batches per epoch for
// `epochs` epochs, the first epoch being a warm-up. PyTorch runs from a venv (bench/pytorch_train.py says how).
// Usage: npm run build && node bench/compare-pytorch.mjs [batches=100] [epochs=3] [model=LSTM] [workers=2]
// Env: FLTS_TORCH_PYTHON (default ~/.cache/flts-bench/torch-venv/bin/python), FLTS_COMPARE_SKIP=layers,...
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { simdKernelsVariant } from '../dist/core/kernels/simd-module.js';

const batches = Number(process.argv[2] ?? 100);
const epochs = Number(process.argv[3] ?? 3);
const kind = process.argv[4] ?? 'LSTM';
const workers = Number(process.argv[5] ?? 2);
const skip = new Set((process.env.FLTS_COMPARE_SKIP ?? '').split(',').filter(Boolean));
const python = process.env.FLTS_TORCH_PYTHON ?? path.join(os.homedir(), '.cache/flts-bench/torch-venv/bin/python');
const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const datasets = path.resolve(here, '../../shared/datasets');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-compare-'));
const { settings } = resolveSettings({ flags: { home, 'data.trainFile': path.join(datasets, 'PobleSec.csv'), 'data.testFile': path.join(datasets, 'PobleSec_test.csv') } });
const store = createFsStore(path.join(home, 'store'));
const t = settings.training;
// What `flts train` runs with no settings: the fused engine on the SIMD kernels, one gradient worker per core (at most 2).
const defaultWorkers = t.workers === 0 ? Math.min(os.availableParallelism(), 2) : t.workers;
const isDefault = (options) => t.engine !== 'layers' && options.engine === 'fused' && (options.kernels ?? 'simd') === 'simd' && options.workers === defaultWorkers;

async function flts(label, options, spec, fit, validation) {
  await selectBackend('wasm', { matMulFix: true });
  const network = buildRecurrentNetwork(kind, spec, { hiddenSize: t.hiddenSize, numLayers: t.numLayers }, t.seed);
  const cpuBefore = process.cpuUsage();
  const result = await fitNetwork(network, fit, validation, spec, {
    runId: 'compare', epochs, batchSize: t.batchSize, learningRate: t.learningRate, earlyStopping: false, patience: t.patience, seed: t.seed, backend: 'wasm', cores: os.availableParallelism(), ...options,
  });
  const cpu = process.cpuUsage(cpuBefore);
  network.dispose();
  const measured = result.history.slice(epochs > 1 ? 1 : 0);
  const seconds = measured.reduce((s, e) => s + e.duration_ms, 0) / 1000;
  return { label: isDefault(options) ? `${label} (default)` : label, threads: result.threads, samplesPerSec: (fit.size * measured.length) / seconds, samplesPerCpuSec: (fit.size * epochs) / ((cpu.user + cpu.system) / 1e6), losses: result.history.map((e) => e.loss) };
}

try {
  await runPreprocess(settings, { store });
  const data = await loadProcessedData(store, settings);
  const spec = { features: data.columns, targets: t.targets, inputSeqLen: t.inputSeqLen, outputSeqLen: t.outputSeqLen };
  const windows = prepareWindows(data, spec, t.validationSplit);
  const fit = sliceWindows(windows.fit, 0, Math.min(windows.fit.size, batches > 0 ? batches * t.batchSize : windows.fit.size), spec);
  const validation = sliceWindows(windows.validation, 0, 1, spec);
  const dump = path.join(home, 'windows');
  mkdirSync(dump);
  writeFileSync(path.join(dump, 'x.f32'), Buffer.from(fit.x.buffer, fit.x.byteOffset, fit.x.byteLength));
  writeFileSync(path.join(dump, 'y.f32'), Buffer.from(fit.y.buffer, fit.y.byteOffset, fit.y.byteLength));
  writeFileSync(path.join(dump, 'meta.json'), JSON.stringify({ size: fit.size, inputSeqLen: spec.inputSeqLen, features: spec.features.length, outputs: spec.outputSeqLen * spec.targets.length }));

  const cpus = os.cpus();
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`machine: ${cpus[0]?.model ?? '?'} x${cpus.length} (${os.availableParallelism()} usable), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.arch()}, node ${process.version}, tfjs ${tf.version.tfjs}`);
  console.log(`load before: ${load()}; flts SIMD kernels: ${await simdKernelsVariant()} (relaxed = fused multiply-adds)`);
  console.log(`config: ${kind} ${t.numLayers} x ${t.hiddenSize}, window ${spec.inputSeqLen} x ${spec.features.length} -> ${spec.outputSeqLen}, batch ${t.batchSize}, Adam ${t.learningRate}, MSE; ${fit.size} windows x ${epochs} epochs (first = warm-up)`);
  const rows = [];
  if (!skip.has('pytorch')) {
    if (!existsSync(python)) console.log(`pytorch: skipped, no interpreter at ${python} (see bench/results-training.md for the venv setup)`);
    else {
      const out = execFileSync(python, [path.join(here, 'pytorch_train.py'), '--windows', dump, '--epochs', String(epochs), '--batches', '0', '--model', kind, '--lr', String(t.learningRate), '--batch-size', String(t.batchSize)], { encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').at(-1));
      rows.push({ label: `pytorch ${r.torch} (cpu, ${r.threads} threads)`, threads: r.threads, samplesPerSec: r.samples_per_sec, samplesPerCpuSec: r.samples_per_cpu_sec, losses: r.losses });
      console.log(`  done: ${rows.at(-1).label}, load ${load()}`);
    }
  }
  const threads = (n) => (n > 1 ? `${n} workers` : '1 thread');
  if (!skip.has('fused')) {
    rows.push(await flts(`flts fused, simd kernels, ${threads(workers)}`, { engine: 'fused', workers }, spec, fit, validation));
    console.log(`  done: ${rows.at(-1).label}, load ${load()}`);
  }
  if (!skip.has('fused1') && workers !== 1) {
    rows.push(await flts('flts fused, simd kernels, 1 thread', { engine: 'fused', workers: 1 }, spec, fit, validation));
    console.log(`  done: ${rows.at(-1).label}, load ${load()}`);
  }
  if (!skip.has('fused-tfjs')) {
    rows.push(await flts(`flts fused, tfjs wasm kernels, ${threads(workers)}`, { engine: 'fused', workers, kernels: 'tfjs' }, spec, fit, validation));
    console.log(`  done: ${rows.at(-1).label}, load ${load()}`);
  }
  if (!skip.has('layers')) {
    rows.push(await flts('flts wasm tfjs-layers (+matmul fix)', { engine: 'layers' }, spec, fit, validation));
    console.log(`  done: ${rows.at(-1).label}, load ${load()}`);
  }
  console.log(`load after: ${load()}`);
  const torch = rows.find((r) => r.label.startsWith('pytorch'));
  console.log(`\n${'what'.padEnd(54)} ${'samples/s'.padStart(10)} ${'samples/cpu-s'.padStart(14)} ${'vs pytorch'.padStart(11)} ${'vs 1,770'.padStart(9)}  losses per epoch`);
  for (const r of rows) {
    const ratio = torch ? `x${(r.samplesPerSec / torch.samplesPerSec).toFixed(2)}` : '-';
    console.log(`${r.label.padEnd(54)} ${r.samplesPerSec.toFixed(0).padStart(10)} ${r.samplesPerCpuSec.toFixed(0).padStart(14)} ${ratio.padStart(11)} ${`x${(r.samplesPerSec / 1770).toFixed(2)}`.padStart(9)}  ${r.losses.map((l) => l.toExponential(3)).join(' ')}`);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
