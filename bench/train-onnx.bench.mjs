#!/usr/bin/env node
// The ONNX Runtime training step on its own: session set-up time against the unrolled length (steps x layers),
// and the time of one step (64 windows) with 1 thread, 2 spinning threads and 2 sleeping threads, wall and CPU.
// Usage: npm run build && node bench/train-onnx.bench.mjs [kind=LSTM] [units=128] [unrolls=10x2,24x2,48x2,96x2]
import * as ort from 'onnxruntime-node';
import os from 'node:os';
import { encodeOnnxModel } from '../dist/core/models/onnx/onnx-proto.js';
import { networkLayout } from '../dist/core/train/fused/network-parameters.js';
import { buildTrainingGraph } from '../dist/core/train/onnx/training-graph.js';
import { keepOnnxTelemetryOff } from '../dist/core/models/onnx/runtime-telemetry.js';

keepOnnxTelemetryOff();

const kind = process.argv[2] ?? 'LSTM';
const units = Number(process.argv[3] ?? 128);
const unrolls = (process.argv[4] ?? '10x2,24x2,48x2,96x2').split(',').map((u) => u.split('x').map(Number));
const FEATURES = 17;
const BATCH = 64;
const RUNS = 10;

function timed(run) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  return run().then(() => {
    const used = process.cpuUsage(cpu);
    return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
  });
}

const sessionOptions = (threads, spinning) => ({ executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } } });
const variants = { '1 thread': [1, false], '2 threads, spinning': [2, true], '2 threads, sleeping': [2, false] };

console.log(`machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${kind} ${units} units, ${FEATURES} features, batch ${BATCH}`);
for (const [steps, layers] of unrolls) {
  const layout = networkLayout(kind, FEATURES, units, layers, 1);
  const bytes = encodeOnnxModel(buildTrainingGraph(layout, { steps }));
  const random = () => Math.random() - 0.5;
  const feeds = {
    x: new ort.Tensor('float32', Float32Array.from({ length: steps * BATCH * FEATURES }, random), [steps, BATCH, FEATURES]),
    y: new ort.Tensor('float32', Float32Array.from({ length: BATCH }, random), [BATCH, 1]),
    params: new ort.Tensor('float32', Float32Array.from({ length: layout.size }, () => 0.1 * random()), [layout.size]),
    scale: new ort.Tensor('float32', Float32Array.of(2 / BATCH), []),
  };
  const sessions = {};
  for (const [name, [threads, spinning]] of Object.entries(variants)) {
    let session;
    const setup = await timed(async () => {
      session = await ort.InferenceSession.create(bytes, sessionOptions(threads, spinning));
    });
    await session.run(feeds);
    sessions[name] = { session, setup, steps: [] };
  }
  // Interleaved rounds, so load changes hit every variant alike.
  for (let round = 0; round < 3; round++) {
    for (const entry of Object.values(sessions)) {
      entry.steps.push(
        await timed(async () => {
          for (let i = 0; i < RUNS; i++) await entry.session.run(feeds);
        }),
      );
    }
  }
  for (const [name, { session, setup, steps: rounds }] of Object.entries(sessions)) {
    const best = rounds.reduce((a, b) => (b.wall < a.wall ? b : a));
    console.log(
      `${String(steps).padStart(4)} steps x ${layers} layers (${bytes.length} bytes) ${name.padEnd(20)} set-up ${setup.wall.toFixed(0).padStart(6)} ms wall ${setup.cpu.toFixed(0).padStart(6)} ms cpu; ` +
        `step ${(best.wall / RUNS).toFixed(2).padStart(7)} ms wall ${(best.cpu / RUNS).toFixed(2).padStart(7)} ms cpu (best of 3 x ${RUNS})`,
    );
    await session.release();
  }
}
