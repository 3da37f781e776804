#!/usr/bin/env node
// The serving thread's own work for one POST /predict, without HTTP and without a forward pass: JSON.parse of
// the body, parsing and validating the rows, the model's input window, the forecast bookkeeping, the response
// object and the prediction-log line. Two builds (each a checkout with `npm run build` done) are loaded into one
// process and run in alternating blocks, so both see the same machine load; CPU time per request is reported.
// Usage: node bench/predict-path.bench.mjs <store>/runs/<run_id> before=<checkout> after=<checkout> [rows=16]
import fs from 'node:fs';
import path from 'node:path';

const [runDir, ...rest] = process.argv.slice(2);
const specs = rest.filter((arg) => arg.includes('=') && !arg.startsWith('rows='));
const rows = Number(rest.find((arg) => arg.startsWith('rows='))?.slice(5) ?? 16);
if (!runDir || specs.length === 0) {
  console.error('Usage: node bench/predict-path.bench.mjs <store>/runs/<run_id> name=<checkout> [name=<checkout> ...] [rows=16]');
  process.exit(2);
}
const window = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')).window;
const scaler = JSON.parse(fs.readFileSync(path.join(runDir, 'scaler.json'), 'utf8'));
const dataDir = process.env.FLTS_DATA_DIR ?? '../shared/datasets';
const { buildRequestPayloads } = await import(path.resolve(specs[0].split('=')[1], 'dist/core/bench/request-payloads.js'));
const bodies = (await buildRequestPayloads(path.join(dataDir, process.env.TEST_FILE ?? 'PobleSec_test.csv'), rows, 'flts', 64)).bodies;

const builds = [];
for (const spec of specs) {
  const [name, root] = spec.split('=');
  const core = path.resolve(root, 'dist/core');
  const m = {};
  for (const file of ['forecast/feature-plan.js', 'serve/request-frame.js', 'forecast/recursive-forecast.js', 'serve/prediction-response.js', 'serve/prediction-log.js']) {
    Object.assign(m, await import(path.join(core, file)));
  }
  const plan = m.createFeaturePlan(window, scaler);
  const run = { runId: path.basename(runDir), modelType: 'LSTM', configHash: '0'.repeat(64) };
  const output = new Float32Array(window.targets.length * window.outputSeqLen);
  const predict = () => Promise.resolve(output.slice());
  const one = async (text) => {
    const body = JSON.parse(text);
    // The parser the routes run: the one over event-loop turns (only a build older than a84572c also has the single-pass one).
    const series = await (m.parseRequestSeriesInTurns ?? m.parseRequestSeries)(body.data, plan.rawColumns, window.inputSeqLen, body.index_col);
    const history = m.historyFromFrame(plan, series.frame, series.cadenceMs, false);
    const forecast = await m.forecastFromHistory(plan, history, window.outputSeqLen, predict);
    const result = { run, targets: window.targets, horizon: window.outputSeqLen, forecast, source: 'request', series, modelMs: 0 };
    const response = m.buildPredictResponse(result, '', m.newRequestId());
    return m.toLogLine(m.buildPredictionLogRecord(response, result.targets, new Date(), [])).line.length;
  };
  builds.push({ name, one, times: [] });
}

const perBlock = 5000;
for (let block = 0; block < 12; block++) {
  for (const build of builds) {
    const started = process.cpuUsage();
    for (let i = 0; i < perBlock; i++) await build.one(bodies[i % bodies.length]);
    const used = process.cpuUsage(started);
    if (block >= 2) build.times.push((used.user + used.system) / perBlock);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
console.log(`load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, node ${process.version}`);
for (const build of builds) console.log(`${build.name.padEnd(8)} ${median(build.times).toFixed(2)} us CPU per request (median of ${build.times.length} blocks of ${perBlock})`);
