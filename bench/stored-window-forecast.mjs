#!/usr/bin/env node
// The serving thread's work for one forecast without data (POST /predict with no body, and the shadow forecast it
// starts in a probation), without HTTP: `forecastWith` on a served persistence model over `seq` rows of 8 columns
// whose stored test frame is in memory, so what a build does per request besides the forward pass shows. Every build
// (a checkout with its own `npm run build`) is loaded into this process and they take turns block by block, so all
// see the same machine load; their forecasts are compared bit for bit first.
// Usage: npm run build && node bench/stored-window-forecast.mjs --build after=. --build before=<checkout>
//          [--seq 10] [--rounds 7] [--calls 20000]
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: { build: { type: 'string', multiple: true }, seq: { type: 'string', default: '10' }, rounds: { type: 'string', default: '7' }, calls: { type: 'string', default: '20000' } },
});
const seq = Number(flags.seq);
const calls = Number(flags.calls);
const specs = flags.build ?? [`current=${path.resolve(import.meta.dirname, '..')}`];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const builds = [];
for (const spec of specs) {
  const [label, root] = spec.split(/=(.*)/s);
  const load = (file) => import(path.resolve(root, 'dist/core', file));
  const [{ createNaiveModel }, { TIME_FEATURE_COLUMNS, timeFeatureValues }, { openServedModel }, { forecastWith }] = await Promise.all(
    ['models/naive-model.js', 'preprocess/time-features.js', 'serve/served-model.js', 'serve/run-prediction.js'].map(load),
  );
  const features = ['down', 'up', ...TIME_FEATURE_COLUMNS];
  const window = { inputSeqLen: seq, outputSeqLen: 2, features, targets: ['down'] };
  const scaler = { method: 'MinMaxScaler', columns: features, offset: features.map((_, f) => (f < 2 ? 0 : -1)), scale: features.map((_, f) => (f < 2 ? 100 : 2)) };
  const time = Float64Array.from({ length: 2 * seq }, (_, i) => Date.UTC(2018, 1, 6) + i * 120_000);
  const values = { down: Float64Array.from(time, (_, i) => 0.1 + ((i * 7) % 50) / 100), up: Float64Array.from(time, (_, i) => 0.5 - ((i * 3) % 40) / 100) };
  TIME_FEATURE_COLUMNS.forEach((column, t) => (values[column] = Float64Array.from(time, (ms) => (timeFeatureValues(ms)[t] + 1) / 2)));
  const source = {
    loadRun: async (runId) => ({ run: { runId, modelType: 'NAIVE', configHash: 'bench' }, model: createNaiveModel(window), scaler }),
    loadTestFrame: async () => ({ time, columns: features, values }),
  };
  const served = await openServedModel(source, 'run-a', { batching: { maxBatch: 16, maxWaitMs: 0 } });
  builds.push({ label, forecast: () => forecastWith(served, {}, 0), served, perCall: [], cpuPerCall: [] });
}

const bits = (result) => Buffer.concat([result.forecast.time, ...result.forecast.values].map((array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength))).toString('hex');
const answers = await Promise.all(builds.map(async (build) => bits(await build.forecast())));
console.log(`forecasts identical bit for bit across builds: ${answers.every((answer) => answer === answers[0])}`);

for (let round = 0; round <= Number(flags.rounds); round++) {
  for (const build of round % 2 ? [...builds].reverse() : builds) {
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < calls; i++) await build.forecast();
    const wall = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    // Round 0 warms each build up and is not counted.
    if (round > 0) {
      build.perCall.push((wall * 1000) / calls);
      build.cpuPerCall.push((cpu.user + cpu.system) / calls);
    }
  }
}
for (const build of builds) {
  console.log(`${build.label}: median ${median(build.perCall).toFixed(2)} us per forecast (wall), ${median(build.cpuPerCall).toFixed(2)} us CPU, over ${build.perCall.length} rounds of ${calls}, input window ${seq} rows`);
  build.served.retire();
}
