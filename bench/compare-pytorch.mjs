#!/usr/bin/env node
// Side by side on this machine, same windows, same network configuration: PyTorch on CPU, flts on ONNX Runtime,
// flts fused on the wasm backend with gradient worker threads, and flts with tfjs-layers. Each trains `batches` batches
// per epoch for `epochs` epochs, the first epoch being a warm-up. PyTorch runs from a venv (its setup: "PyTorch install"
// in bench/results-training.md).
// The configuration is what `flts train` would use: the settings resolved from the environment like the CLI
// (FLTS_PROFILE, HIDDEN_SIZE, ...), or with --configs each named profile in turn (default,reference: flts's
// measured defaults and the reference's 2 x 128, Adam 1e-4), each against PyTorch with the same network.
// Usage: npm run build && node bench/compare-pytorch.mjs [batches=100] [epochs=3] [models=LSTM] [workers=2] [--configs default,reference]
// Env: FLTS_TORCH_PYTHON (default ~/.cache/flts-bench/torch-venv/bin/python), FLTS_COMPARE_SKIP=layers,fused1,onnx1,...
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { modelWindow } from '../dist/core/train/fit-model.js';
import { sliceWindows } from '../dist/core/forecast/windows.js';
import { fitNetwork } from '../dist/core/train/fit-network.js';
import { ONNX_MAX_UNROLLED_STEPS } from '../dist/core/train/onnx/onnx-engine.js';
import { simdKernelsVariant } from '../dist/core/kernels/simd-module.js';

const args = process.argv.slice(2);
const configsAt = args.indexOf('--configs');
const configs = configsAt >= 0 ? (args[configsAt + 1] ?? '').split(',').filter(Boolean) : [undefined];
const positional = configsAt >= 0 ? [...args.slice(0, configsAt), ...args.slice(configsAt + 2)] : args;
const batches = Number(positional[0] ?? 100);
const epochs = Number(positional[1] ?? 3);
const kinds = (positional[2] ?? 'LSTM').split(',');
const workers = Number(positional[3] ?? 2);
const skip = new Set((process.env.FLTS_COMPARE_SKIP ?? '').split(',').filter(Boolean));
const python = process.env.FLTS_TORCH_PYTHON ?? path.join(os.homedir(), '.cache/flts-bench/torch-venv/bin/python');
const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const datasets = path.resolve(here, '../../shared/datasets');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-compare-'));
const store = createFsStore(path.join(home, 'store'));
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** The settings `flts train` resolves: the environment like the CLI, and a named profile over it when --configs names one. */
function settingsFor(profile) {
  const flags = { home, 'data.trainFile': path.join(datasets, 'PobleSec.csv'), 'data.testFile': path.join(datasets, 'PobleSec_test.csv'), ...(profile ? { profile } : {}) };
  return resolveSettings({ flags, env: process.env }).settings;
}

// What `flts train` runs with these settings: under auto the ONNX Runtime engine unless the window unrolls too far
// (then the fused engine on the SIMD kernels); with training.workers = 0 one ONNX Runtime thread, or one
// gradient worker per core (at most 2) on the fused engine.
const defaultEngine = (t, spec) => (t.engine === 'auto' ? (spec.inputSeqLen * t.numLayers <= ONNX_MAX_UNROLLED_STEPS ? 'onnx' : 'fused') : t.engine);
const autoWorkers = (engine) => (engine === 'onnx' ? 1 : Math.min(os.availableParallelism(), 2));
const isDefault = (t, spec, options) => options.engine === defaultEngine(t, spec) && (options.kernels ?? 'simd') === 'simd' && options.workers === (t.workers === 0 ? autoWorkers(options.engine) : t.workers);

async function flts(label, options, kind, settings, spec, fit, validation) {
  const t = settings.training;
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
  // A row whose engine could not run (ONNX Runtime missing) says which one did.
  const ran = result.engine === options.engine ? label : `${label} (ran ${result.engine})`;
  return { label: isDefault(t, spec, options) ? `${ran} (default)` : ran, threads: result.threads, samplesPerSec: (fit.size * measured.length) / seconds, samplesPerCpuSec: (fit.size * epochs) / ((cpu.user + cpu.system) / 1e6), losses: result.history.map((e) => e.loss) };
}

/** One configuration and model type: PyTorch and every flts variant on the same windows, with the same network shape. */
async function compare(settings, kind) {
  const t = settings.training;
  await runPreprocess(settings, { store });
  const data = await loadProcessedData(store, settings);
  // The window `flts train` gives this model type under these settings (features, targets, target form).
  const spec = modelWindow(kind, data, settings);
  const windows = prepareWindows(data, spec, t.validationSplit);
  const fit = sliceWindows(windows.fit, 0, Math.min(windows.fit.size, batches > 0 ? batches * t.batchSize : windows.fit.size), spec);
  const validation = sliceWindows(windows.validation, 0, 1, spec);
  const dump = mkdtempSync(path.join(home, 'windows-'));
  writeFileSync(path.join(dump, 'x.f32'), Buffer.from(fit.x.buffer, fit.x.byteOffset, fit.x.byteLength));
  writeFileSync(path.join(dump, 'y.f32'), Buffer.from(fit.y.buffer, fit.y.byteOffset, fit.y.byteLength));
  writeFileSync(path.join(dump, 'meta.json'), JSON.stringify({ size: fit.size, inputSeqLen: spec.inputSeqLen, features: spec.features.length, outputs: spec.outputSeqLen * spec.targets.length }));
  const config = `${settings.profile} ${kind} ${t.numLayers}x${t.hiddenSize}`;
  console.log(
    `config ${config}: ${kind} ${t.numLayers} x ${t.hiddenSize} units, window ${spec.inputSeqLen} x ${spec.features.length} -> ${spec.outputSeqLen} x ${spec.targets.length}` +
      `${spec.targetForm === 'change' ? ' (changes)' : ''}, batch ${t.batchSize}, Adam ${t.learningRate}, MSE; ${fit.size} windows x ${epochs} epochs (first = warm-up)`,
  );
  const rows = [];
  const add = (row) => {
    rows.push({ config, ...row });
    console.log(`  done: ${config}, ${row.label}, load ${load()}`);
  };
  if (!skip.has('pytorch')) {
    if (!existsSync(python)) console.log(`pytorch: skipped, no interpreter at ${python} (see bench/results-training.md for the venv setup)`);
    else {
      const torchArgs = ['--windows', dump, '--epochs', String(epochs), '--batches', '0', '--model', kind, '--hidden', String(t.hiddenSize), '--layers', String(t.numLayers), '--lr', String(t.learningRate), '--batch-size', String(t.batchSize)];
      const out = execFileSync(python, [path.join(here, 'pytorch_train.py'), ...torchArgs], { encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').at(-1));
      add({ label: `pytorch ${r.torch} (cpu, ${r.threads} threads)`, threads: r.threads, samplesPerSec: r.samples_per_sec, samplesPerCpuSec: r.samples_per_cpu_sec, losses: r.losses });
    }
  }
  const threads = (n) => (n > 1 ? `${n} workers` : '1 thread');
  const variants = [
    ['fused', `flts fused, simd kernels, ${threads(workers)}`, { engine: 'fused', workers }, true],
    ['fused1', 'flts fused, simd kernels, 1 thread', { engine: 'fused', workers: 1 }, workers !== 1],
    ['onnx', `flts onnx runtime, ${workers > 1 ? `${workers} threads` : '1 thread'}`, { engine: 'onnx', workers }, true],
    ['onnx1', 'flts onnx runtime, 1 thread', { engine: 'onnx', workers: 1 }, workers !== 1],
    ['fused-tfjs', `flts fused, tfjs wasm kernels, ${threads(workers)}`, { engine: 'fused', workers, kernels: 'tfjs' }, true],
    ['layers', 'flts wasm tfjs-layers (+matmul fix)', { engine: 'layers' }, true],
  ];
  for (const [name, label, options, wanted] of variants) {
    if (wanted && !skip.has(name)) add(await flts(label, options, kind, settings, spec, fit, validation));
  }
  return rows;
}

try {
  const cpus = os.cpus();
  console.log(`machine: ${cpus[0]?.model ?? '?'} x${cpus.length} (${os.availableParallelism()} usable), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.arch()}, node ${process.version}, tfjs ${tf.version.tfjs}`);
  console.log(`load before: ${load()}; flts SIMD kernels: ${await simdKernelsVariant()} (relaxed = fused multiply-adds)`);
  const rows = [];
  for (const profile of configs) {
    const settings = settingsFor(profile);
    for (const kind of kinds) rows.push(...(await compare(settings, kind)));
  }
  console.log(`load after: ${load()}`);
  const width = Math.max(...rows.map((r) => r.label.length));
  const configWidth = Math.max(...rows.map((r) => r.config.length), 'config'.length);
  console.log(`\n${'config'.padEnd(configWidth)}  ${'what'.padEnd(width)} ${'samples/s'.padStart(10)} ${'samples/cpu-s'.padStart(14)} ${'vs pytorch'.padStart(11)}  losses per epoch`);
  for (const r of rows) {
    const torch = rows.find((candidate) => candidate.config === r.config && candidate.label.startsWith('pytorch'));
    const ratio = torch ? `x${(r.samplesPerSec / torch.samplesPerSec).toFixed(2)}` : '-';
    console.log(`${r.config.padEnd(configWidth)}  ${r.label.padEnd(width)} ${r.samplesPerSec.toFixed(0).padStart(10)} ${r.samplesPerCpuSec.toFixed(0).padStart(14)} ${ratio.padStart(11)}  ${r.losses.map((l) => l.toExponential(3)).join(' ')}`);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
