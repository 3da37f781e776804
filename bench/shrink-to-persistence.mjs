#!/usr/bin/env node
// How much a network's forecast would gain from being shrunk towards persistence by a factor fitted on the
// validation tail: forecast = last + k (network - last), k in [0, 1] by least squares on the tail windows (the
// windows that chose the network's epoch). For each LSTM/GRU run of a home, prints k, the factor the test
// windows themselves would pick, and the % lower RMSE than persistence (first target, first step) on the tail
// and on the test windows without and with k ("Shrinking towards persistence" in bench/results-quality.md).
// Usage: npm run build && node bench/shrink-to-persistence.mjs <home> [TARGETS=..., as the home was trained]
import { dist, forEachNetworkRun } from './home-networks.mjs';

const { predictWindows } = await import(`${dist}/forecast/predict-windows.js`);

const [home, targets] = process.argv.slice(2);
if (!home) throw new Error('Usage: node bench/shrink-to-persistence.mjs <home> [targets]');

/** Per window: the network's step from the last value (d) and the actual's (r), scaled units. */
async function steps(model, set, window) {
  const predicted = await predictWindows(model, set);
  const width = window.features.length;
  const last = window.features.indexOf(window.targets[0]);
  const yWidth = window.outputSeqLen * window.targets.length;
  return Array.from({ length: set.size }, (_, i) => {
    const from = set.x[(i * window.inputSeqLen + window.inputSeqLen - 1) * width + last];
    return { d: predicted[i * yWidth] - from, r: set.y[i * yWidth] - from };
  });
}
const bestFactor = (rows) => rows.reduce((s, { d, r }) => s + d * r, 0) / rows.reduce((s, { d }) => s + d * d, 0);
const mse = (rows, k) => rows.reduce((s, { d, r }) => s + (r - k * d) ** 2, 0) / rows.length;
const gain = (rows, k) => (100 * (1 - Math.sqrt(mse(rows, k) / mse(rows, 0)))).toFixed(2);

await forEachNetworkRun(home, targets, async ({ record, model, windows }) => {
  const tail = await steps(model, windows.validation, record.window);
  const test = await steps(model, windows.test, record.window);
  const k = Math.min(1, Math.max(0, bestFactor(tail)));
  console.log(`${record.model_type} ${record.run_id} (seed ${record.seed}): k ${k.toFixed(3)} (the test's own ${bestFactor(test).toFixed(3)}); vs persistence, tail ${gain(tail, 1)} -> ${gain(tail, k)} %, test ${gain(test, 1)} -> ${gain(test, k)} %`);
});
