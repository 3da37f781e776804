#!/usr/bin/env node
// CPU time per training step of the ONNX Runtime engine, two or more builds in one process, in interleaved rounds
// (so load changes hit every build alike): the same random windows, the same start weights, one thread each.
// Usage: node bench/train-onnx-ab.bench.mjs <dist> <dist> [...] [--model LSTM] [--units 64] [--layers 1] [--rounds 40] [--steps 30]
// (<dist> = a build's dist/ directory, e.g. a copy of this one before a change; the first is the reference.)
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
};
const kind = option('model', 'LSTM');
const units = Number(option('units', 64));
const layers = Number(option('layers', 1));
const rounds = Number(option('rounds', 40));
const perRound = Number(option('steps', 30));
const dists = args.map((d) => path.resolve(d));
const WINDOW = 10;
const FEATURES = 15;
const BATCH = 64;
const WINDOWS = 6400;

let seed = 1;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648 - 0.5;
};
const train = { x: Float32Array.from({ length: WINDOWS * WINDOW * FEATURES }, random), y: Float32Array.from({ length: WINDOWS }, () => 0.1 * random()) };
const start = Float32Array.from({ length: 1 << 20 }, () => 0.3 * random());
const order = Int32Array.from({ length: WINDOWS }, (_, i) => (i * 7919) % WINDOWS);
const builds = [];
for (const dist of dists) {
  const { createOnnxEngine } = await import(path.join(dist, 'core/train/onnx/onnx-engine.js'));
  const { networkLayout } = await import(path.join(dist, 'core/train/fused/network-parameters.js'));
  const layout = networkLayout(kind, FEATURES, units, layers, 1);
  const engine = await createOnnxEngine({ layout, steps: WINDOW, train, validation: train, validationSize: 0, learningRate: 1e-3, kernels: 'simd' }, { threads: 1 });
  engine.weights.set(start.subarray(0, layout.size));
  engine.setOrder(order);
  builds.push({ dist, engine, cpu: [], sse: 0, batch: 0 });
}
const loadBefore = os.loadavg()[0];
const batches = WINDOWS / BATCH;
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < builds.length; k++) {
    const build = builds[(k + round) % builds.length];
    const before = process.cpuUsage();
    for (let i = 0; i < perRound; i++) {
      build.sse += await build.engine.step(build.batch * BATCH, (build.batch + 1) * BATCH);
      build.batch = (build.batch + 1) % batches;
    }
    const used = process.cpuUsage(before);
    build.cpu.push((used.user + used.system) / 1000 / perRound);
  }
}
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
console.log(`${kind} ${layers} x ${units}, window ${WINDOW} x ${FEATURES}, batch ${BATCH}; ${rounds} rounds x ${perRound} steps; load ${loadBefore.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)}`);
for (const build of builds) {
  const [q25, median] = [quantile(build.cpu, 0.25), quantile(build.cpu, 0.5)];
  const ratio = (q) => (quantile(build.cpu, q) / quantile(builds[0].cpu, q)).toFixed(3);
  console.log(
    `${build.dist}: CPU per step q25 ${q25.toFixed(3)} ms, median ${median.toFixed(3)} ms (${((median * 1000) / BATCH).toFixed(2)} us per window); ` +
      `vs first q25 x${ratio(0.25)} median x${ratio(0.5)}; squared errors summed ${build.sse.toFixed(6)}`,
  );
  await build.engine.close();
}
