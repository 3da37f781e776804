#!/usr/bin/env node
// What one hostile MLflow search-runs answer costs the process that reads it: a page of --runs runs (100 000 by
// default, about 19 MB) where flts asked for at most 1000, served by a node:http server on 127.0.0.1 in this
// process. Each measurement is a fresh child that calls searchRuns of a build's MLflow client once and reports the
// longest event-loop stall during the call (perf_hooks monitorEventLoopDelay), its wall and CPU time, its peak
// resident set (VmHWM) and how the call ended. Several builds given with --dist are measured alternately, round by round, so a noisy machine
// weighs on each alike. With --param-kb, each run carries a param of that many kB (text with escapes and non-ASCII
// characters): `--runs 1000 --param-kb 27` is a page as large as asked for and near the body limit, about 27 MB,
// which a client reads whole. With --trailing-comma the page ends `,]}`: not JSON, as a garbled answer is, so the
// call ends with reason not_json once the page was read.
// Usage: npm run build && node bench/tracking-page-cost.mjs [--dist dist] [--dist /other/build/dist] [--rounds 5] [--runs 100000] [--param-kb 0] [--trailing-comma]
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const valuesOf = (name) => args.flatMap((arg, i) => (args[i - 1] === name ? [arg] : []));
const option = (name, fallback) => valuesOf(name)[0] ?? fallback;

const peakRssMb = () => Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024);

if (args[0] === '--child') {
  const [, dist, uri] = args;
  const { createMlflowClient } = await import(pathToFileURL(path.join(dist, 'core/tracking/mlflow-client.js')).href);
  const tracking = { uri, experiments: { neural: 'Default', statistical: 'NonML' }, timeoutMs: 30_000, retries: 0, backoffMs: 0, alias: 'champion', registeredModel: '', token: '', username: '', password: '', maxResponseMb: 32 };
  const client = createMlflowClient(tracking);
  // A first call loads undici, so the measured one costs the answer alone.
  await client.searchExperiments();
  const idleMb = peakRssMb();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let outcome;
  try {
    outcome = `ok ${(await client.searchRuns({ experimentIds: ['1'] })).length} runs`;
  } catch (error) {
    outcome = `${error.code ?? error.name} ${error.details?.reason ?? ''}`.trim();
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  // The sampling timer records a stall once the loop turns again, so one more turn before stopping it.
  await new Promise((resolve) => setTimeout(resolve, 50));
  delay.disable();
  console.log(JSON.stringify({ outcome, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), maxStallMs: Math.round(delay.max / 1e6), idleMb, peakMb: peakRssMb() }));
  process.exit(0);
}

const dists = (valuesOf('--dist').length ? valuesOf('--dist') : ['dist']).map((dist) => path.resolve(dist));
const rounds = Number(option('--rounds', '5'));
const runCount = Number(option('--runs', '100000'));
const paramKb = Number(option('--param-kb', '0'));
// 16 characters, 20 bytes of JSON: two escaped quotes and a three-byte character among them.
const note = paramKb > 0 ? 'say "hi" € done.'.repeat(Math.ceil((paramKb * 1024) / 20)) : undefined;
const runs = Array.from({ length: runCount }, (_, i) => ({
  info: { run_id: `r${i}`, experiment_id: '1', status: 'FINISHED', start_time: String(i) },
  data: { params: [{ key: 'config_hash', value: 'h' }, ...(note ? [{ key: 'note', value: `${i} ${note}` }] : [])], metrics: [{ key: 'test_rmse', value: i, timestamp: 0, step: 0 }] },
}));
const pageText = JSON.stringify({ runs });
const page = Buffer.from(args.includes('--trailing-comma') ? `${pageText.slice(0, -2)},]}` : pageText);
const experiments = JSON.stringify({ experiments: [{ experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' }] });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(req.url.endsWith('/runs/search') ? page : experiments));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const uri = `http://127.0.0.1:${server.address().port}`;
console.log(`page: ${runCount} runs, ${(page.length / 2 ** 20).toFixed(1)} MB; ${rounds} rounds over ${dists.length} build(s)`);

const measure = (dist) =>
  new Promise((resolve, reject) =>
    execFile(process.execPath, [import.meta.filename, '--child', dist, uri], { maxBuffer: 1 << 20 }, (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout.trim().split('\n').at(-1))))),
  );

const results = new Map(dists.map((dist) => [dist, []]));
for (let round = 1; round <= rounds; round += 1) {
  for (const dist of dists) {
    const result = await measure(dist);
    results.get(dist).push(result);
    console.log(`round ${round} ${dist}: ${JSON.stringify(result)}`);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
// On a shared machine the wall times take in the time other processes held the cores; the CPU time of the call does not.
console.log('\nmedians (max event-loop stall during the call, peak RSS, call time, CPU time of the call):');
for (const [dist, list] of results) {
  const [first] = results.values();
  const ratio = (key) => (median(list.map((r) => r[key])) / Math.max(1, median(first.map((r) => r[key])))).toFixed(2);
  const ratios = list === first ? '' : ` (x${ratio('maxStallMs')} stall, x${ratio('ms')} call, x${ratio('cpuMs')} cpu of the first build)`;
  console.log(`${dist}: stall ${median(list.map((r) => r.maxStallMs))} ms, peak ${median(list.map((r) => r.peakMb))} MB (idle ${median(list.map((r) => r.idleMb))} MB), call ${median(list.map((r) => r.ms))} ms, cpu ${median(list.map((r) => r.cpuMs))} ms, ${list[0].outcome}${ratios}`);
}
server.close();
