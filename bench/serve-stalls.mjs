#!/usr/bin/env node
// How long one large request holds everything else: each case is a request under the size limit that is costly to
// handle (a gRPC ModelInfer of 200k parameters, the same over HTTP, a POST /actuals of 200k rows that scores 10k
// remembered points), sent while /healthz is polled back to back. Printed per round: the request's own time, /healthz's
// median when idle and its worst while the request runs, and the longest event-loop block (perf_hooks). A request
// handled in one turn shows a worst /healthz as long as the request; one sliced over turns (loop-turns.ts) or refused
// before its costly part stays near the idle figure. The gRPC client sends bytes encoded before timing, so its own
// protobuf work is not counted against the server it shares the process with.
// Usage: npm run build && node bench/serve-stalls.mjs [rounds=3] [cases=grpc,http,actuals]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { resolveSettings } from '../dist/core/config/settings.js';
import { silentLogger } from '../dist/core/logger.js';
import { createNaiveModel } from '../dist/core/models/naive-model.js';
import { TIME_FEATURE_COLUMNS } from '../dist/core/preprocess/time-features.js';
import { buildServer } from '../dist/core/serve/build-server.js';
import { createForecastAdmission } from '../dist/core/serve/forecast-admission.js';
import { createLiveMonitor } from '../dist/core/serve/live-monitor.js';
import { createModelHolder } from '../dist/core/serve/model-holder.js';
import { startGrpcInferenceServer } from '../dist/core/serve/oip-grpc-server.js';
import { inferencePackage } from '../dist/core/serve/oip-grpc-service.js';
import { createPredictionRecorder } from '../dist/core/serve/prediction-recorder.js';
import { openServedModel } from '../dist/core/serve/served-model.js';
import { createServeMetrics } from '../dist/core/serve/serve-metrics.js';

const [roundsText = '3', casesText = 'grpc,http,actuals'] = process.argv.slice(2);
const rounds = Number(roundsText);
const cases = new Set(casesText.split(','));

const WINDOW = { inputSeqLen: 4, outputSeqLen: 2, features: ['down', 'up', ...TIME_FEATURE_COLUMNS], targets: ['down'] };
const SCALER = { method: 'MinMaxScaler', columns: WINDOW.features, offset: [10, 0, -1, -1, -1, -1, -1, -1], scale: [100, 50, 2, 2, 2, 2, 2, 2] };
const STEP_MS = 120_000;
const START_MS = Date.UTC(2018, 1, 6);
const source = {
  loadRun: async (runId) => ({ run: { runId, modelType: 'NAIVE', configHash: 'bench' }, model: createNaiveModel(WINDOW), scaler: SCALER }),
  readPointer: async () => ({ runId: 'run-a', configHash: 'bench', modelType: 'NAIVE', source: 'current.json' }),
  loadTestFrame: async () => {
    throw new Error('no stored data');
  },
};
const settings = resolveSettings({ flags: {} }).settings;
const batching = { maxBatch: 16, maxWaitMs: 0 };
const metrics = createServeMetrics({ processMetrics: false });
const holder = createModelHolder({ source, pollIntervalMs: 0, batching, metrics, logger: silentLogger });
const live = createLiveMonitor({ settings, holder, loadShadow: (runId) => openServedModel(source, runId, { batching }), replica: 'bench', logger: silentLogger });
const app = await buildServer({ holder, metrics, live });
await app.listen({ port: 0, host: '127.0.0.1' });
await holder.start();
const url = `http://127.0.0.1:${app.server.address().port}`;
const recorder = createPredictionRecorder({ metrics, logger: silentLogger, identifier: '' });
const grpcServer = await startGrpcInferenceServer(
  { holder, metrics, modelName: 'flts', inferenceLength: 0, recorder, admission: createForecastAdmission({ maxRows: 0 }) },
  { host: '127.0.0.1', port: 0, maxMessageBytes: settings.serve.bodyLimitBytes, logger: silentLogger },
);

const rows = (from, count) => {
  const index = Array.from({ length: count }, (_, i) => from + i);
  return { ts: index.map((g) => new Date(START_MS + g * STEP_MS).toISOString().slice(0, 19).replace('T', ' ')), down: index.map((g) => Math.round((20 + Math.sin(g / 3) + (g % 50)) * 100) / 100), up: index.map((g) => 5 + (g % 3)) };
};
const post = async (path, body) => {
  const response = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, json: await response.json() };
};
const healthz = async () => {
  const started = performance.now();
  await (await fetch(`${url}/healthz`)).text();
  return performance.now() - started;
};

async function measure(label, send) {
  const idle = [];
  for (let i = 0; i < 21; i++) idle.push(await healthz());
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let done = false;
  let worst = 0;
  const polling = (async () => {
    while (!done) worst = Math.max(worst, await healthz());
  })();
  delay.enable();
  const started = performance.now();
  const answer = await send();
  const took = performance.now() - started;
  done = true;
  await polling;
  delay.disable();
  const median = idle.sort((a, b) => a - b)[10];
  console.log(`${label}: ${took.toFixed(0)} ms, ${answer}; /healthz idle ${median.toFixed(1)} ms, worst during ${worst.toFixed(0)} ms; longest loop block ${(delay.max / 1e6).toFixed(0)} ms`);
}

const data = rows(0, 16);
const names = Array.from({ length: 200_000 }, (_, i) => `p${i}`);
if (cases.has('grpc')) {
  const method = inferencePackage().GRPCInferenceService.service.ModelInfer;
  const message = method.requestSerialize({
    model_name: 'flts',
    inputs: [
      { name: 'ts', datatype: 'BYTES', shape: [16], contents: { bytes_contents: data.ts.map((text) => Buffer.from(text)) } },
      { name: 'down', datatype: 'FP64', shape: [16], contents: { fp64_contents: data.down } },
      { name: 'up', datatype: 'FP64', shape: [16], contents: { fp64_contents: data.up } },
    ],
    parameters: Object.fromEntries(names.map((name) => [name, { string_param: 'x' }])),
  });
  const RawClient = grpc.makeGenericClientConstructor({ ModelInfer: { ...method, requestSerialize: (bytes) => bytes } });
  const client = new RawClient(`127.0.0.1:${grpcServer.port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  for (let round = 0; round < rounds; round++) {
    await measure(`gRPC ModelInfer, 200k parameters (${(message.length / 1e6).toFixed(1)} MB)`, () => new Promise((resolve) => client.ModelInfer(message, (error) => resolve(error ? `${grpc.status[error.code]} ${error.details.slice(0, 80)}` : 'OK'))));
  }
  client.close();
}
if (cases.has('http')) {
  const inputs = [
    { name: 'ts', datatype: 'BYTES', shape: [16], data: data.ts },
    { name: 'down', datatype: 'FP64', shape: [16], data: data.down },
    { name: 'up', datatype: 'FP64', shape: [16], data: data.up },
  ];
  const body = JSON.stringify({ inputs, parameters: Object.fromEntries(names.map((name) => [name, 'x'])) });
  for (let round = 0; round < rounds; round++) {
    await measure(`HTTP infer, 200k parameters (${(body.length / 1e6).toFixed(1)} MB)`, async () => {
      const { status, json } = await post('/v2/models/flts/infer', body);
      return `${status} ${json.code ?? ''}`;
    });
  }
}
if (cases.has('actuals')) {
  const actuals = rows(16, 200_000);
  for (let round = 0; round < rounds; round++) {
    // 10k remembered points, each round a series of its own: one forecast of 10,000 rows from the 16 rows before the actuals.
    const identifier = `round-${round}`;
    await post('/predict', JSON.stringify({ identifier, data, inference_length: 10_000 }));
    const body = JSON.stringify({ identifier, data: { ts: actuals.ts, down: actuals.down } });
    await measure(`POST /actuals, 200k rows (${(body.length / 1e6).toFixed(1)} MB)`, async () => {
      const { status, json } = await post('/actuals', body);
      return `${status} matched ${json.matched}, ignored ${json.ignored}, rmse ${json.runs?.[0]?.rmse}`;
    });
  }
}
await grpcServer.close();
await app.close();
await holder.stop();
await live.stop();
