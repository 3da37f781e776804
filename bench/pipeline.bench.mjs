#!/usr/bin/env node
// The whole pipeline on the full PobleSec data through the `flts` binary, as a user runs it, stage by stage:
// preprocess, train LSTM + GRU + PROPHET with the default settings (10 epochs, 2 x 128 units, window 10,
// batch 64), eval on the held-out test file, promote the best run, and serve it until /readyz answers 200
// and a first /predict succeeds. Prints one row per stage and the total.
// Usage: npm run build && node bench/pipeline.bench.mjs [models=LSTM,GRU,PROPHET]
// Env: passed through to every command (e.g. FLTS_TRAIN_WORKERS=0 for one gradient worker per core, EPOCHS).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const bin = path.resolve(here, '../bin/run.js');
const datasets = path.resolve(here, '../../shared/datasets');
const models = process.argv[2] ?? 'LSTM,GRU,PROPHET';
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-pipeline-'));
const port = 18000 + Math.floor(Math.random() * 2000);

function flts(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args, '--home', home, '--json'], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`flts ${args.join(' ')} failed: ${stderr || error.message}`));
      resolve(JSON.parse(stdout).result);
    });
  });
}

async function untilReady(url, child) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/readyz`).then((response) => response.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const stages = [];
async function stage(name, work) {
  const started = performance.now();
  const detail = await work();
  stages.push({ name, seconds: (performance.now() - started) / 1000, detail });
  console.error(`done: ${name} (${stages.at(-1).seconds.toFixed(1)} s) ${detail ?? ''}`);
}

let server;
try {
  const load = os.loadavg().map((v) => v.toFixed(2)).join(' ');
  await stage('preprocess', async () => {
    const result = await flts(['preprocess', '--train', path.join(datasets, 'PobleSec.csv'), '--test', path.join(datasets, 'PobleSec_test.csv')]);
    return `config_hash ${result.configHash.slice(0, 12)}`;
  });
  await stage(`train ${models}`, async () => {
    const result = await flts(['train', '--model', models]);
    return result.runs.map((run) => `${run.model_type} ${run.status} ${(run.timings.duration_ms / 1000).toFixed(1)} s${run.timings.samples_per_sec ? ` (${run.timings.samples_per_sec.toFixed(0)} samples/s, ${run.backend})` : ''}`).join(', ');
  });
  await stage('eval', async () => {
    const result = await flts(['eval']);
    return result.rows.map((row) => `${row.model_type} R2 ${row.r2.toFixed(3)} RMSE ${row.rmse.toPrecision(4)} (scaled)`).join(', ');
  });
  await stage('promote --best', async () => {
    const result = await flts(['promote', '--best', '--reason', 'pipeline benchmark']);
    return `${result.record.model_type} ${result.record.run_id}`;
  });
  await stage('serve until ready, first /predict', async () => {
    server = spawn(process.execPath, [bin, 'serve', '--home', home, '--port', String(port), '--log-level', 'silent'], { stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}`;
    await untilReady(url, server);
    const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const body = await response.json();
    if (body.status !== 'SUCCESS') throw new Error(`first /predict failed: ${JSON.stringify(body)}`);
    return `${body.model_type}, forecast ${JSON.stringify(body.predictions[0])}`;
  });
  const total = stages.reduce((sum, s) => sum + s.seconds, 0);
  console.log(`machine: ${os.cpus()[0].model.trim()} x${os.cpus().length}, node ${process.version}, load ${load} -> ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log(`env: ${Object.entries(process.env).filter(([k]) => k.startsWith('FLTS_') || ['EPOCHS', 'MODEL_TYPE'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ') || '(defaults)'}`);
  console.log('| stage | seconds | result |\n|---|---|---|');
  for (const s of stages) console.log(`| ${s.name} | ${s.seconds.toFixed(1)} | ${s.detail ?? ''} |`);
  console.log(`| **total** | **${total.toFixed(1)}** | |`);
} finally {
  if (server && server.exitCode === null) {
    // The server flushes its prediction log on the way out; remove the home only after it has exited.
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGINT');
    await exited;
  }
  rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}
