#!/usr/bin/env node
// How long one large request holds everything else: each case is a request under the size limit that is costly to
// handle (a gRPC ModelInfer of 200k parameters, the same over HTTP, an HTTP infer whose tensor data nests 4M brackets
// deep, a POST /actuals of 200k rows that scores 10k remembered points), sent while /healthz is polled back to back;
// `tensor` is the legitimate counterpart, an HTTP infer of 1 MB of tensor data answered 200. The same for /predict:
// `columns` (200k columns in `data`), `pnested` (a column nested 4M brackets deep), and `predict` (35k rows, answered 200);
// `reload`, a POST /reload_latest whose body (which the route never reads) nests 4M brackets deep, and `put`, the same
// body sent with a method /predict does not take (405). `limit` (not run by default) sends each prediction route its
// largest legitimate-shaped body, rows up to the body limit, answered, then the same body refused by its schema once
// parsed: what a bound on rows would save. Printed per round: the
// request's own time, /healthz's median when idle and its worst while the request runs, and the longest event-loop
// block (perf_hooks). A request handled in one turn shows a worst /healthz as long as the request; one sliced over
// turns (loop-turns.ts) or refused before its costly part stays near the idle figure. The gRPC client sends bytes
// encoded before timing, so its own protobuf work is not counted against the server it shares the process with.
// Builds given as name=<checkout> (each with `npm run build` done) are served side by side in this one process and
// measured in turn, round by round, so each sees the same machine load; without any, this checkout's build is.
// `gtensor` and `graw` (not run by default) send a gRPC ModelInfer of rows up to the message limit, answered OK;
// `gempty` and `gints` one of the message limit's worth of the typed contents elements dearest to decode, and `hempty`
// the HTTP counterpart (the body limit's worth of empty strings), all refused once decoded.
// The model is named as `flts serve` would name it (FLTS_SERVE_MODEL_NAME).
// Usage: npm run build && node bench/serve-stalls.mjs [rounds=3] [cases=grpc,http,nested,tensor,actuals,columns,pnested,predict,reload,put|limit|gtensor,graw,gempty,gints,hempty] [name=<checkout> ...]
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { modelPath, servedModelName } from './served-model-name.mjs';

const [roundsText = '3', casesText = 'grpc,http,nested,tensor,actuals,columns,pnested,predict,reload,put', ...buildSpecs] = process.argv.slice(2);
const rounds = Number(roundsText);
const cases = new Set(casesText.split(','));
const specs = buildSpecs.length > 0 ? buildSpecs : [`this=${path.dirname(path.dirname(fileURLToPath(import.meta.url)))}`];
// Every build serves the model under the name a server started with this environment would (FLTS_SERVE_MODEL_NAME, else
// the setting's default), and the calls name it.
const modelName = await servedModelName(process.env, specs[0].split('=')[1]);

async function startBuild(spec) {
  const [name, root] = spec.split('=');
  const load = (file) => import(path.resolve(root, 'dist/core', file));
  const [{ resolveSettings }, { silentLogger }, { createNaiveModel }, { TIME_FEATURE_COLUMNS }, { buildServer }, { createForecastAdmission }, { createLiveMonitor }, { createModelHolder }, { startGrpcInferenceServer }, { inferencePackage }, { createPredictionRecorder }, { openServedModel }, { createServeMetrics }] =
    await Promise.all(['config/settings.js', 'logger.js', 'models/naive-model.js', 'preprocess/time-features.js', 'serve/build-server.js', 'serve/forecast-admission.js', 'serve/live-monitor.js', 'serve/model-holder.js', 'serve/oip-grpc-server.js', 'serve/oip-grpc-service.js', 'serve/prediction-recorder.js', 'serve/served-model.js', 'serve/serve-metrics.js'].map(load));
  const WINDOW = { inputSeqLen: 4, outputSeqLen: 2, features: ['down', 'up', ...TIME_FEATURE_COLUMNS], targets: ['down'] };
  const SCALER = { method: 'MinMaxScaler', columns: WINDOW.features, offset: [10, 0, -1, -1, -1, -1, -1, -1], scale: [100, 50, 2, 2, 2, 2, 2, 2] };
  const source = {
    loadRun: async (runId) => ({ run: { runId, modelType: 'NAIVE', configHash: 'bench' }, model: createNaiveModel(WINDOW), scaler: SCALER }),
    readPointer: async () => ({ runId: 'run-a', configHash: 'bench', modelType: 'NAIVE', source: 'current.json' }),
    loadTestFrame: async () => {
      throw new Error('no stored data');
    },
  };
  // The actuals case's 200k rows are kept for forecasts made later whole, as they were before a series had a share of
  // its own (a build without the setting ignores it): what its scoring and keeping cost is what is measured.
  const settings = resolveSettings({ flags: { 'live.earlyActualsPointsPerSeries': 10_000_000 } }).settings;
  const batching = { maxBatch: 16, maxWaitMs: 0 };
  const metrics = createServeMetrics({ processMetrics: false });
  const holder = createModelHolder({ source, pollIntervalMs: 0, batching, metrics, logger: silentLogger });
  const live = createLiveMonitor({ settings, holder, loadShadow: (runId) => openServedModel(source, runId, { batching }), replica: 'bench', logger: silentLogger });
  const app = await buildServer({ holder, metrics, live, modelName });
  await app.listen({ port: 0, host: '127.0.0.1' });
  await holder.start();
  const recorder = createPredictionRecorder({ metrics, logger: silentLogger, identifier: '' });
  const grpcServer = await startGrpcInferenceServer(
    { holder, metrics, modelName, inferenceLength: 0, recorder, admission: createForecastAdmission({ maxRows: 0 }) },
    { host: '127.0.0.1', port: 0, maxMessageBytes: settings.serve.bodyLimitBytes, logger: silentLogger },
  );
  return {
    name,
    url: `http://127.0.0.1:${app.server.address().port}`,
    grpcPort: grpcServer.port,
    inferencePackage,
    close: async () => {
      await grpcServer.close();
      await app.close();
      await holder.stop();
      await live.stop();
    },
  };
}

const builds = [];
for (const spec of specs) builds.push(await startBuild(spec));
const label = (build, text) => (builds.length > 1 ? `${build.name.padEnd(8)} ${text}` : text);

const STEP_MS = 120_000;
const START_MS = Date.UTC(2018, 1, 6);
const rows = (from, count) => {
  const index = Array.from({ length: count }, (_, i) => from + i);
  return { ts: index.map((g) => new Date(START_MS + g * STEP_MS).toISOString().slice(0, 19).replace('T', ' ')), down: index.map((g) => Math.round((20 + Math.sin(g / 3) + (g % 50)) * 100) / 100), up: index.map((g) => 5 + (g % 3)) };
};
/** The body limit of the servers measured (the setting's default), less room for the request's other bytes. */
const resolveLimit = () => 8 * 1024 * 1024 - 1024;
const post = async (url, body) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, json: await response.json() };
};

/** Each case's figures per build, for the medians printed at the end. */
const results = new Map();

async function measure(build, text, send) {
  const healthz = async () => {
    const started = performance.now();
    await (await fetch(`${build.url}/healthz`)).text();
    return performance.now() - started;
  };
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
  const key = label(build, text);
  results.set(key, [...(results.get(key) ?? []), { took, worst, block: delay.max / 1e6 }]);
  console.log(`${key}: ${took.toFixed(0)} ms, ${answer}; /healthz idle ${median.toFixed(1)} ms, worst during ${worst.toFixed(0)} ms; longest loop block ${(delay.max / 1e6).toFixed(0)} ms`);
}

const data = rows(0, 16);
const names = Array.from({ length: 200_000 }, (_, i) => `p${i}`);
/** Each round sends the case's request to every build in turn, the first one first in even rounds and last in odd ones. */
async function eachRound(send) {
  for (let round = 0; round < rounds; round++) for (const build of round % 2 ? [...builds].reverse() : builds) await send(build, round);
}
const infer = async (build, body) => {
  const { status, json } = await post(`${build.url}${modelPath(modelName)}/infer`, body);
  return `${status} ${json.code ?? ''}${json.message ? ` ${json.message.slice(0, 70)}` : ''}`;
};
const inputs = (of) => [
  { name: 'ts', datatype: 'BYTES', shape: [of.ts.length], data: of.ts },
  { name: 'down', datatype: 'FP64', shape: [of.down.length], data: of.down },
  { name: 'up', datatype: 'FP64', shape: [of.up.length], data: of.up },
];
if (cases.has('grpc')) {
  const method = builds[0].inferencePackage().GRPCInferenceService.service.ModelInfer;
  const message = method.requestSerialize({
    model_name: modelName,
    inputs: [
      { name: 'ts', datatype: 'BYTES', shape: [16], contents: { bytes_contents: data.ts.map((text) => Buffer.from(text)) } },
      { name: 'down', datatype: 'FP64', shape: [16], contents: { fp64_contents: data.down } },
      { name: 'up', datatype: 'FP64', shape: [16], contents: { fp64_contents: data.up } },
    ],
    parameters: Object.fromEntries(names.map((name) => [name, { string_param: 'x' }])),
  });
  const RawClient = grpc.makeGenericClientConstructor({ ModelInfer: { ...method, requestSerialize: (bytes) => bytes } });
  const clients = new Map(builds.map((build) => [build, new RawClient(`127.0.0.1:${build.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 })]));
  await eachRound((build) =>
    measure(build, `gRPC ModelInfer, 200k parameters (${(message.length / 1e6).toFixed(1)} MB)`, () => new Promise((resolve) => clients.get(build).ModelInfer(message, (error) => resolve(error ? `${grpc.status[error.code]} ${error.details.slice(0, 80)}` : 'OK')))),
  );
  for (const client of clients.values()) client.close();
}
if (cases.has('gtensor') || cases.has('graw')) {
  // Legitimate and large: a ModelInfer of rows up to the message limit, as typed contents (gtensor: each timestamp a
  // bytes_contents entry) or as raw_input_contents (graw, as tritonclient sends them), answered OK.
  const method = builds[0].inferencePackage().GRPCInferenceService.service.ModelInfer;
  const count = 210_000;
  const big = rows(0, count);
  const tensors = [
    { name: 'ts', datatype: 'BYTES', shape: [count] },
    { name: 'down', datatype: 'FP64', shape: [count] },
    { name: 'up', datatype: 'FP64', shape: [count] },
  ];
  const bytesTensor = (texts) => Buffer.concat(texts.flatMap((text) => [Buffer.from(Uint32Array.of(Buffer.byteLength(text)).buffer), Buffer.from(text)]));
  const messages = [];
  if (cases.has('gtensor')) {
    const contents = [{ bytes_contents: big.ts.map((text) => Buffer.from(text)) }, { fp64_contents: big.down }, { fp64_contents: big.up }];
    messages.push(['typed contents', method.requestSerialize({ model_name: modelName, inputs: tensors.map((tensor, i) => ({ ...tensor, contents: contents[i] })) })]);
  }
  if (cases.has('graw')) {
    const raw = [bytesTensor(big.ts), Buffer.from(Float64Array.from(big.down).buffer), Buffer.from(Float64Array.from(big.up).buffer)];
    messages.push(['raw_input_contents', method.requestSerialize({ model_name: modelName, inputs: tensors, raw_input_contents: raw })]);
  }
  const RawClient = grpc.makeGenericClientConstructor({ ModelInfer: { ...method, requestSerialize: (bytes) => bytes } });
  const clients = new Map(builds.map((build) => [build, new RawClient(`127.0.0.1:${build.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 })]));
  for (const [kind, message] of messages) {
    await eachRound((build) =>
      measure(build, `gRPC ModelInfer, ${count / 1000}k rows as ${kind} (${(message.length / 1e6).toFixed(1)} MB)`, () => new Promise((resolve) => clients.get(build).ModelInfer(message, (error) => resolve(error ? `${grpc.status[error.code]} ${error.details.slice(0, 80)}` : 'OK')))),
    );
  }
  for (const client of clients.values()) client.close();
}
if (cases.has('gempty') || cases.has('gints')) {
  // Typed contents as many elements as the message limit holds, each cheap to send and dear to decode: empty
  // bytes_contents entries (2 bytes each; gempty) and packed int_contents (1 byte each; gints). Refused once decoded
  // (the elements are not the shape's), so what is measured is their decoding.
  const method = builds[0].inferencePackage().GRPCInferenceService.service.ModelInfer;
  const limit = resolveLimit();
  const messages = [];
  if (cases.has('gempty')) {
    const count = Math.floor(limit / 2) - 64;
    messages.push([`${(count / 1e6).toFixed(1)}M empty bytes_contents`, method.requestSerialize({ model_name: modelName, inputs: [{ name: 'ts', datatype: 'BYTES', shape: [1], contents: { bytes_contents: Array(count).fill(Buffer.alloc(0)) } }] })]);
  }
  if (cases.has('gints')) {
    const count = limit - 64;
    messages.push([`${(count / 1e6).toFixed(1)}M packed int_contents`, method.requestSerialize({ model_name: modelName, inputs: [{ name: 'up', datatype: 'INT32', shape: [1], contents: { int_contents: Array(count).fill(1) } }] })]);
  }
  const RawClient = grpc.makeGenericClientConstructor({ ModelInfer: { ...method, requestSerialize: (bytes) => bytes } });
  const clients = new Map(builds.map((build) => [build, new RawClient(`127.0.0.1:${build.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 })]));
  for (const [kind, message] of messages) {
    await eachRound((build) =>
      measure(build, `gRPC ModelInfer, ${kind} (${(message.length / 1e6).toFixed(1)} MB)`, () => new Promise((resolve) => clients.get(build).ModelInfer(message, (error) => resolve(error ? `${grpc.status[error.code]} ${error.details.slice(0, 80)}` : 'OK')))),
    );
  }
  for (const client of clients.values()) client.close();
}
if (cases.has('hempty')) {
  // The HTTP route's counterpart of gempty: the body limit's worth of empty strings as one tensor's data, refused once parsed.
  const count = Math.floor((resolveLimit() - 100) / 3);
  const body = `{"inputs":[{"name":"ts","datatype":"BYTES","shape":[1],"data":[${Array(count).fill('""').join(',')}]}]}`;
  await eachRound((build) => measure(build, `HTTP infer, ${(count / 1e6).toFixed(1)}M empty strings (${(body.length / 1e6).toFixed(1)} MB)`, () => infer(build, body)));
}
if (cases.has('http')) {
  const body = JSON.stringify({ inputs: inputs(data), parameters: Object.fromEntries(names.map((name) => [name, 'x'])) });
  await eachRound((build) => measure(build, `HTTP infer, 200k parameters (${(body.length / 1e6).toFixed(1)} MB)`, () => infer(build, body)));
}
if (cases.has('nested')) {
  // The size limit's worth of brackets as one tensor's data: refused for nesting deeper than its shape, once parsed.
  const depth = 4_000_000;
  const body = JSON.stringify({ inputs: inputs(data) }).replace(JSON.stringify(data.up), `${'['.repeat(depth)}1${']'.repeat(depth)}`);
  await eachRound((build) => measure(build, `HTTP infer, data nested 4M deep (${(body.length / 1e6).toFixed(1)} MB)`, () => infer(build, body)));
}
if (cases.has('tensor')) {
  // Legitimate and large: 1 MB of tensor data, each input's data as long as its shape says, answered 200.
  const body = JSON.stringify({ inputs: inputs(rows(0, 35_000)) });
  await eachRound((build) => measure(build, `HTTP infer, 35k rows of tensor data (${(body.length / 1e6).toFixed(1)} MB)`, () => infer(build, body)));
}
const predict = async (build, body) => {
  const { status, json } = await post(`${build.url}/predict`, body);
  return `${status} ${json.code ?? `${json.predictions?.length} predictions`}${json.message ? ` ${json.message.slice(0, 70)}` : ''}`;
};
if (cases.has('columns')) {
  const body = JSON.stringify({ data: { ...data, ...Object.fromEntries(names.map((name) => [name, [1]])) } });
  await eachRound((build) => measure(build, `/predict, 200k columns (${(body.length / 1e6).toFixed(1)} MB)`, () => predict(build, body)));
}
if (cases.has('pnested')) {
  const depth = 4_000_000;
  const body = JSON.stringify({ data }).replace(JSON.stringify(data.up), `${'['.repeat(depth)}1${']'.repeat(depth)}`);
  await eachRound((build) => measure(build, `/predict, a column nested 4M deep (${(body.length / 1e6).toFixed(1)} MB)`, () => predict(build, body)));
}
if (cases.has('predict')) {
  const body = JSON.stringify({ data: rows(0, 35_000), inference_length: 10 });
  await eachRound((build) => measure(build, `/predict, 35k rows (${(body.length / 1e6).toFixed(1)} MB)`, () => predict(build, body)));
}
if (cases.has('reload')) {
  // An admin route reads no body: the size limit's worth of brackets, parsed whole before the route ignored it.
  const depth = 4_000_000;
  const body = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  await eachRound((build) =>
    measure(build, `POST /reload_latest, a body nested 4M deep (${(body.length / 1e6).toFixed(1)} MB)`, async () => {
      const { status, json } = await post(`${build.url}/reload_latest`, body);
      return `${status} ${json.code ?? json.result ?? ''}${json.message ? ` ${json.message.slice(0, 70)}` : ''}`;
    }),
  );
}
if (cases.has('put')) {
  // A method /predict does not take, open to any client: answered 405 whatever the body, which was parsed first.
  const depth = 4_000_000;
  const body = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  await eachRound((build) =>
    measure(build, `PUT /predict, a body nested 4M deep (${(body.length / 1e6).toFixed(1)} MB)`, async () => {
      const response = await fetch(`${build.url}/predict`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
      const json = await response.json();
      return `${response.status} ${json.code}`;
    }),
  );
}
if (cases.has('actuals')) {
  const actuals = rows(16, 200_000);
  const body = (identifier) => JSON.stringify({ identifier, data: { ts: actuals.ts, down: actuals.down } });
  await eachRound(async (build, round) => {
    // 10k remembered points, each round a series of its own: one forecast of 10,000 rows from the 16 rows before the actuals.
    const identifier = `round-${round}`;
    await post(`${build.url}/predict`, JSON.stringify({ identifier, data, inference_length: 10_000 }));
    const text = body(identifier);
    await measure(build, `POST /actuals, 200k rows (${(text.length / 1e6).toFixed(1)} MB)`, async () => {
      const { status, json } = await post(`${build.url}/actuals`, text);
      return `${status} matched ${json.matched}, ignored ${json.ignored}, rmse ${json.runs?.[0]?.rmse}`;
    });
  });
}
if (cases.has('limit')) {
  // Whether rows want a bound of their own (they have none but the body limit): the largest legitimate-shaped body of
  // each prediction route, rows up to the limit, answered; then the same body refused by its schema once parsed
  // (inference_length 0, or an index_col of no column), what every body of that size costs anyway.
  const limit = resolveLimit();
  const fit = (make) => {
    let count = Math.floor(limit / (make(1000).length / 1000));
    while (make(count).length > limit) count = Math.floor(count * 0.99);
    return [count, make(count)];
  };
  const [predictRows, predictBody] = fit((count) => JSON.stringify({ data: rows(0, count), inference_length: 10 }));
  const [inferRows, inferBody] = fit((count) => JSON.stringify({ inputs: inputs(rows(0, count)), parameters: { inference_length: 10 } }));
  const [actualsRows, actualsBody] = fit((count) => JSON.stringify({ data: rows(0, count) }));
  const mb = (text) => `${(text.length / 1e6).toFixed(1)} MB`;
  const actuals = async (build, body) => {
    const { status, json } = await post(`${build.url}/actuals`, body);
    return `${status} ${json.code ?? `${json.rows} rows`}`;
  };
  const pairs = [
    [`/predict, ${predictRows} rows`, predictBody, predict, predictBody.replace('"inference_length":10', '"inference_length":0')],
    [`HTTP infer, ${inferRows} rows of tensor data`, inferBody, infer, inferBody.replace('"inference_length":10', '"inference_length":0')],
    [`POST /actuals, ${actualsRows} rows`, actualsBody, actuals, actualsBody.replace('{"data":', '{"index_col":"nope","data":')],
  ];
  for (const [name, body, send, refused] of pairs) {
    await eachRound((build) => measure(build, `${name} (${mb(body)}, the body limit), answered`, () => send(build, body)));
    await eachRound((build) => measure(build, `${name} (${mb(refused)}), refused by its schema once parsed`, () => send(build, refused)));
  }
}
for (const build of builds) await build.close();
if (rounds > 1) {
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  console.log(`\nmedians of ${rounds} rounds (load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, node ${process.version}):`);
  for (const [key, runs] of results) {
    console.log(`${key}: ${median(runs.map((run) => run.took)).toFixed(0)} ms; /healthz worst during ${median(runs.map((run) => run.worst)).toFixed(0)} ms; longest loop block ${median(runs.map((run) => run.block)).toFixed(0)} ms`);
  }
}
