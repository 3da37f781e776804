#!/usr/bin/env node
// One serving forward pass, the two engines side by side in one process: flts's recurrent loop on the tfjs
// wasm backend (FLTS_SERVE_ENGINE=wasm) and ONNX Runtime on the exported graph (onnx), for the reference
// LSTM and GRU (2 x 128 units, window 10 x 17 features, horizon 1). Passes alternate between the engines so
// both see the same machine load; the median of each is reported.
// Usage: npm run build && node bench/forward.bench.mjs [passes=200] [batches=1,64]
import os from 'node:os';
import { buildRecurrentNetwork } from '../dist/core/models/recurrent-model.js';
import { extractRecurrentWeights } from '../dist/core/models/recurrent-weights.js';
import { openServingForward } from '../dist/core/models/inference-thread/serving-forward.js';
import { selectBackend } from '../dist/core/tf/backend.js';

const passes = Number(process.argv[2] ?? 200);
const batches = (process.argv[3] ?? '1,64').split(',').map(Number);
const window = { inputSeqLen: 10, outputSeqLen: 1, features: Array.from({ length: 17 }, (_, i) => `f${i}`), targets: ['f0'] };
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

await selectBackend('wasm');
console.log(`machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`${'model'.padEnd(6)} ${'batch'.padStart(5)} ${'wasm ms'.padStart(9)} ${'onnx ms'.padStart(9)} ${'onnx speed-up'.padStart(14)}`);
for (const kind of ['LSTM', 'GRU']) {
  const network = buildRecurrentNetwork(kind, window, { hiddenSize: 128, numLayers: 2 }, 42);
  const weights = extractRecurrentWeights(network);
  network.dispose();
  const engines = { wasm: await openServingForward(weights, window, 'wasm'), onnx: await openServingForward(weights, window, 'onnx') };
  for (const size of batches) {
    const windows = Float32Array.from({ length: size * 10 * 17 }, (_, i) => Math.sin(i));
    const times = { wasm: [], onnx: [] };
    for (let pass = 0; pass < passes + 10; pass++) {
      for (const name of ['wasm', 'onnx']) {
        const started = performance.now();
        await engines[name].run(windows, size);
        if (pass >= 10) times[name].push(performance.now() - started);
      }
    }
    const [wasm, onnx] = [median(times.wasm), median(times.onnx)];
    console.log(`${kind.padEnd(6)} ${String(size).padStart(5)} ${wasm.toFixed(3).padStart(9)} ${onnx.toFixed(3).padStart(9)} ${`x${(wasm / onnx).toFixed(2)}`.padStart(14)}`);
  }
  for (const engine of Object.values(engines)) engine.dispose();
}
console.log(`load after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
