#!/usr/bin/env node
// Throughput of the request intake alone (headers, body read into the body budget, JSON parse, the hooks, a coded
// answer), each build side by side: POST /predict with a 1 KB JSON body to a server with no model, answered 503
// FLTS_SERVE_NO_MODEL once its body is read and parsed, so no forecast hides what the intake costs. autocannon runs in a
// child process; each round serves every build in turn (a child process per build), the builds alternating.
// --grpc: ModelInfer calls of about 1 KB instead, `--connections` calls in flight at once on one channel, with the body
// budget on, driven from this process: for model `--model` (default `other`, not served: answered NOT_FOUND as its
// message's first bytes name it; `flts`, the served name, is decoded whole and answered UNAVAILABLE: no model).
// --no-data: POST /predict without a body instead, to a server with a model (persistence, `--seq` rows of input, 8
// columns) and a stored test frame, so each answer is a forecast from the stored test window; the builds' first answers
// are compared, their predictions byte for byte, before the load.
// --rows: POST /predict with `--seq` rows of the columns that server's model reads (ts, down, up) and `--extra` columns
// more that it does not read, so each answer is a forecast from the request's rows, its columns checked against the model's.
// --oip (with --rows): the same rows as an Open Inference Protocol request, one input a column, to /v2/models/<served name>/infer,
// whose answer names the inputs the model does not take (`ignored_inputs`).
// Usage: npm run build && node bench/serve-intake.mjs --build new=. --build old=<checkout with its own build>
//          [--rounds 3] [--seconds 8] [--connections 16] [--grpc [--model flts] | --no-data [--seq 10] | --rows [--seq 10] [--extra 0] [--oip]]
import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { modelPath, servedModelName } from './served-model-name.mjs';

const { values: flags } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '16' },
    child: { type: 'string' },
    grpc: { type: 'boolean', default: false },
    model: { type: 'string', default: 'other' },
    'no-data': { type: 'boolean', default: false },
    seq: { type: 'string', default: '10' },
    rows: { type: 'boolean', default: false },
    extra: { type: 'string', default: '0' },
    oip: { type: 'boolean', default: false },
  },
});

/** The server's CPU time since it was ready, in microseconds, on stdout, then exit: per call, it is less swayed by other load than calls/s. */
let cpuAtReady;
function exitWithCpu() {
  const { user, system } = process.cpuUsage(cpuAtReady);
  process.stdout.write(`${user + system}\n`, () => process.exit(0));
}

if (flags.child) {
  const dist = path.join(flags.child, 'dist/core');
  const { buildServer } = await import(path.join(dist, 'serve/build-server.js'));
  const { createModelHolder } = await import(path.join(dist, 'serve/model-holder.js'));
  const { createServeMetrics } = await import(path.join(dist, 'serve/serve-metrics.js'));
  const { silentLogger } = await import(path.join(dist, 'logger.js'));
  const nothing = () => Promise.reject(new Error('no run'));
  const served = flags['no-data'] || flags.rows;
  const source = served ? await servedSource(dist, Number(flags.seq)) : { loadRun: nothing, loadTestFrame: nothing, readPointer: async () => undefined };
  const metrics = createServeMetrics({ processMetrics: false });
  const holder = createModelHolder({ source, pollIntervalMs: 0, batching: { maxBatch: 16, maxWaitMs: 0 }, metrics, logger: silentLogger });
  if (served) await holder.start();
  if (flags.grpc) {
    const { startGrpcInferenceServer } = await import(path.join(dist, 'serve/oip-grpc-server.js'));
    const { createPredictionRecorder } = await import(path.join(dist, 'serve/prediction-recorder.js'));
    const { createForecastAdmission } = await import(path.join(dist, 'serve/forecast-admission.js'));
    const { createMeteredBodyBudget } = await import(path.join(dist, 'serve/body-budget.js'));
    const bodyBudget = createMeteredBodyBudget(null, 8 * 1024 * 1024, metrics);
    const context = { holder, metrics, bodyBudget, modelName: 'flts', inferenceLength: 0, recorder: createPredictionRecorder({ metrics, logger: silentLogger, identifier: '' }), admission: createForecastAdmission({ maxRows: 0 }) };
    const server = await startGrpcInferenceServer(context, { host: '127.0.0.1', port: 0, maxMessageBytes: 8 * 1024 * 1024, logger: silentLogger });
    cpuAtReady = process.cpuUsage();
    process.stdout.write(`${server.port}\n`);
    process.stdin.resume();
    process.stdin.once('end', () => void server.close(0).then(() => exitWithCpu()));
  } else {
    const app = await buildServer({ holder, metrics });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cpuAtReady = process.cpuUsage();
    process.stdout.write(`${app.server.address().port}\n`);
    process.stdin.resume();
    process.stdin.once('end', () => void app.close().then(() => exitWithCpu()));
  }
} else {
  const here = import.meta.dirname;
  const builds = (flags.build ?? [`current=${path.resolve(here, '..')}`]).map((spec) => {
    const [label, dir] = spec.split(/=(.*)/s);
    return { label, dir: path.resolve(dir) };
  });
  const autocannonBin = path.join(path.dirname(createRequire(import.meta.url).resolve('autocannon/package.json')), 'autocannon.js');
  const columns = Array.from({ length: 8 }, (_, c) => `c${c}`);
  const data = { ts: Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(2018, 1, 5, 0, 10 * i)).toISOString()) };
  for (const name of columns) data[name] = Array.from({ length: 12 }, (_, i) => Math.round(Math.sin(i + name.length) * 1000) / 10);
  const rows = flags.rows ? servedRows(Number(flags.seq), Number(flags.extra)) : undefined;
  const body = JSON.stringify(flags.oip ? oipRequest(rows) : { data: rows ?? data });
  // The servers are built with the default settings: the model name is the setting's default.
  const oipInfer = `${modelPath(await servedModelName({}))}/infer`;
  const url = (port) => `http://127.0.0.1:${port}${flags.oip ? oipInfer : '/predict'}`;
  const served = flags['no-data'] || flags.rows;
  const childFlags = flags['no-data'] ? ['--no-data', '--seq', flags.seq] : flags.rows ? ['--rows', '--seq', flags.seq] : [];
  const results = Object.fromEntries(builds.map(({ label }) => [label, []]));
  const predictions = {};
  const cpuPerCall = Object.fromEntries(builds.map(({ label }) => [label, []]));
  /** Ends the server child and reads the CPU time it reports as it exits. */
  const serverCpu = async (server) => {
    let text = '';
    server.stdout.on('data', (chunk) => (text += chunk));
    server.stdin.end();
    await new Promise((resolve) => server.once('exit', resolve));
    return Number(text.trim().split('\n').pop());
  };
  for (let round = 1; round <= Number(flags.rounds); round++) {
    for (const { label, dir } of builds) {
      const server = spawn(process.execPath, [import.meta.filename, '--child', dir, ...(flags.grpc ? ['--grpc'] : []), ...childFlags], { stdio: ['pipe', 'pipe', 'inherit'] });
      const port = await new Promise((resolve) => server.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim()))));
      if (served && round === 1) {
        const sentRows = flags.rows ? { headers: { 'content-type': 'application/json' }, body } : {};
        const answer = await (await fetch(url(port), { method: 'POST', ...sentRows })).json();
        const forecast = flags.oip ? answer.outputs : answer.predictions;
        if (!forecast) throw new Error(`${label}: POST ${url(port)} ${flags.rows ? 'with rows' : 'without data'} answered ${JSON.stringify(answer)}`);
        predictions[label] = JSON.stringify(forecast);
        if (predictions[label] !== predictions[builds[0].label]) throw new Error(`${label} forecasts otherwise than ${builds[0].label}: ${predictions[label]} vs ${predictions[builds[0].label]}`);
      }
      if (flags.grpc) {
        const run = await grpcLoad(dir, port, body);
        const cpu = await serverCpu(server);
        const calls = Object.values(run.statuses).reduce((a, b) => a + b, 0);
        results[label].push(run.perSecond);
        cpuPerCall[label].push(cpu / calls);
        console.log(`round ${round} ${label}: ${run.perSecond.toFixed(0)} calls/s, server CPU ${(cpu / calls).toFixed(1)} us/call, ${JSON.stringify(run.statuses)}`);
        continue;
      }
      const sent = flags['no-data'] ? [] : ['-H', 'content-type=application/json', '-b', body];
      const args = [autocannonBin, '-c', flags.connections, '-d', flags.seconds, '-m', 'POST', ...sent, '--json', url(port)];
      const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
      const run = JSON.parse(stdout);
      const cpu = await serverCpu(server);
      cpuPerCall[label].push(cpu / run.requests.total);
      const statuses = Object.entries(run.statusCodeStats ?? {}).map(([code, { count }]) => `${code}:${count}`).join(' ');
      results[label].push(run.requests.average);
      console.log(`round ${round} ${label}: ${run.requests.average.toFixed(0)} req/s, server CPU ${(cpu / run.requests.total).toFixed(1)} us/request, p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms, errors ${run.errors}, ${statuses}, ${flags['no-data'] ? `no body, input window ${flags.seq} rows` : `body ${body.length} B${flags.rows ? `, ${flags.seq} rows, ${flags.extra} columns not read${flags.oip ? ', as inference protocol inputs' : ''}` : ''}`}`);
    }
  }
  /** `--connections` ModelInfer calls kept in flight for `--seconds`, from this process. */
  async function grpcLoad(dir, port, text) {
    const { createInferenceClient } = await import(path.join(dir, 'dist/core/serve/oip-grpc-service.js'));
    const client = createInferenceClient(`127.0.0.1:${port}`);
    const raw = Buffer.from(text);
    const request = { model_name: flags.model, inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], contents: {} }], raw_input_contents: [raw] };
    const statuses = {};
    let calls = 0;
    const until = performance.now() + Number(flags.seconds) * 1000;
    const worker = async () => {
      while (performance.now() < until) {
        const code = await new Promise((resolve) => client.ModelInfer(request, (error) => resolve(error ? error.code : 0)));
        statuses[code] = (statuses[code] ?? 0) + 1;
        calls++;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: Number(flags.connections) }, worker));
    const perSecond = calls / ((performance.now() - started) / 1000);
    client.close();
    return { perSecond, statuses };
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  if (served) console.log(`predictions identical across builds: ${new Set(Object.values(predictions)).size === 1}`);
  for (const { label } of builds) console.log(`${label}: median ${median(results[label]).toFixed(0)} per s, server CPU median ${median(cpuPerCall[label]).toFixed(1)} us per call, over ${results[label].length} rounds`);
}

/** `seq` rows of the columns servedSource's run reads, in original units, and `extra` columns it does not read. */
function servedRows(seq, extra) {
  const rows = { ts: Array.from({ length: seq }, (_, i) => new Date(Date.UTC(2018, 1, 6) + i * 120_000).toISOString()) };
  rows.down = Array.from({ length: seq }, (_, i) => 10 + ((i * 7) % 50));
  rows.up = Array.from({ length: seq }, (_, i) => 50 - ((i * 3) % 40));
  for (let c = 0; c < extra; c++) rows[`extra_${c}`] = rows.up;
  return rows;
}

/** `rows` as an inference request: one input a column, the times as BYTES text. */
function oipRequest(rows) {
  const inputs = Object.entries(rows).map(([name, values]) => ({ name, datatype: name === 'ts' ? 'BYTES' : 'FP64', shape: [values.length], data: values }));
  return { inputs };
}

/**
 * A registry of one promoted persistence run over `seq` rows of 8 columns (2 series and the time features) and a stored
 * test frame of 2 × seq rows, scaled as preprocessing stores it: what POST /predict without data forecasts from.
 */
async function servedSource(dist, seq) {
  const { createNaiveModel } = await import(path.join(dist, 'models/naive-model.js'));
  const { TIME_FEATURE_COLUMNS, timeFeatureValues } = await import(path.join(dist, 'preprocess/time-features.js'));
  const features = ['down', 'up', ...TIME_FEATURE_COLUMNS];
  const window = { inputSeqLen: seq, outputSeqLen: 2, features, targets: ['down'] };
  const scaler = { method: 'MinMaxScaler', columns: features, offset: features.map((_, f) => (f < 2 ? 0 : -1)), scale: features.map((_, f) => (f < 2 ? 100 : 2)) };
  const rows = 2 * seq;
  const time = Float64Array.from({ length: rows }, (_, i) => Date.UTC(2018, 1, 6) + i * 120_000);
  const values = { down: Float64Array.from(time, (_, i) => 0.1 + ((i * 7) % 50) / 100), up: Float64Array.from(time, (_, i) => 0.5 - ((i * 3) % 40) / 100) };
  TIME_FEATURE_COLUMNS.forEach((column, t) => (values[column] = Float64Array.from(time, (ms) => (timeFeatureValues(ms)[t] + 1) / 2)));
  const frame = { time, columns: features, values };
  return {
    loadRun: async (runId) => ({ run: { runId, modelType: 'NAIVE', configHash: 'bench' }, model: createNaiveModel(window), scaler }),
    readPointer: async () => ({ runId: 'run-a', configHash: 'bench', modelType: 'NAIVE', source: 'current.json' }),
    loadTestFrame: async () => frame,
  };
}
