#!/usr/bin/env node
// Hostile messages on every topic a daemon (every role) consumes, over the embedded fs bus. The contract: each one is
// handled or set aside to its role's DLQ with a coded reason (never FLTS_INTERNAL), every consumer group reaches the
// end of its topics, the daemon keeps running and still answers /healthz, and it does not retry a message in a loop.
// Usage: npm run build && node bench/fuzz-daemon.mjs [--timeout 180000] [--keep]
// Exit 1 on any failure; prints DLQ counts by code.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFsBus } from '../dist/core/bus/fs-bus.js';

const here = import.meta.dirname;
const BIN = path.resolve(here, '../bin/run.js');
const DATASETS = path.resolve(here, '../../shared/datasets');
const args = process.argv.slice(2);
const timeoutMs = Number(args.includes('--timeout') ? args[args.indexOf('--timeout') + 1] : '180000');
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-fuzz-daemon-'));
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FLTS_'))),
  FLTS_BUS: 'fs',
  FLTS_HOME: home,
  FLTS_DATA_DIR: DATASETS,
  FLTS_BUS_RETRY_BACKOFF_MS: '20',
  FLTS_BUS_RETRY_MAX_BACKOFF_MS: '100',
  EXPECTED_MODEL_TYPES: 'NAIVE',
  FLTS_TRAINER_MODELS: 'NAIVE',
};
const failures = [];
const fail = (why) => (failures.push(why), console.log(`FAIL ${why}`));

function runCli(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')}: exit ${code}\n${err}`))));
  });
}

// Real data and a real run, so messages that name them reach past the decoders.
await runCli(['preprocess', '--train', 'PobleSec.csv', '--test', 'PobleSec_test.csv', '--sample-train-rows', '400', '--sample-test-rows', '150']);
await runCli(['train', '--model', 'NAIVE']);
const runsDir = path.join(home, 'store', 'runs');
const runId = readdirSync(runsDir).find((name) => existsSync(path.join(runsDir, name, 'run.json')));
const run = JSON.parse(readFileSync(path.join(runsDir, runId, 'run.json'), 'utf8'));
const configHash = run.config_hash;
console.log(`home ${home}, run ${runId}, config_hash ${configHash}`);

const HUGE = 'x'.repeat(2_000_000);
/** What each field is replaced by: wrong types, empty, paths, NUL, control characters, huge, unknown ids. */
const FIELD_VALUES = [null, 0, -1, 1e308, true, [], {}, [1, 2], { a: 1 }, '', ' ', '../../../../etc/passwd', '..', '/', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', HUGE, 'deadbeef', '0'.repeat(64), 'LSTM', 'naive', '%2e%2e%2f'];
const TEMPLATES = {
  'training-data': { key: 'train-claim', body: { bucket: 'processed-data', object: `${configHash}/train.parquet`, size: 1, v: 1, config_hash: configHash, identifier: '' } },
  'inference-data': { key: 'inference-claim', body: { bucket: 'processed-data', object: `${configHash}/test.parquet`, object_key: `${configHash}/test.parquet`, size: 1, operation: 'post: test data', v: 1, config_hash: configHash, identifier: '' } },
  'model-training': { key: 'trained-NAIVE', body: { operation: 'Trained: NAIVE', status: 'SUCCESS', experiment: 'NonML', run_name: 'NAIVE', config_hash: configHash, run_id: runId } },
  'model-selected': { key: 'promotion', body: { identifier: '', config_hash: configHash, run_id: runId, model_type: 'NAIVE', experiment: 'NonML', model_uri: `runs:/${runId}/NAIVE`, rmse: 0.1 } },
};
const RAW = ['', ' ', 'not json', '{', '}', 'null', 'true', '0', '"text"', '[]', '[{}]', '{}', '{"a":NaN}', '\u0000', `{"x":"${HUGE}"}`, '['.repeat(200_000), '{"a":'.repeat(50_000), '\ufeff{}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', `{"status":${'['.repeat(20_000)}${']'.repeat(20_000)}}`];

function messagesFor(topic) {
  const { key, body } = TEMPLATES[topic];
  const out = RAW.map((value) => ({ key, value }));
  for (const field of Object.keys(body)) {
    const { [field]: _, ...without } = body;
    out.push({ key, value: JSON.stringify(without) });
    for (const value of FIELD_VALUES) out.push({ key, value: JSON.stringify({ ...body, [field]: value }) });
  }
  for (const odd of [null, '', 'x'.repeat(10_000), 'trained-../../x', 'failed-', 'a\u0000b']) out.push({ key: odd, value: JSON.stringify(body) });
  return out;
}

const daemon = spawn(process.execPath, [BIN, 'daemon', '--roles', 'trainer,promoter,serving,batch', '--port', '0', '--json'], { env: { ...env, FLTS_SERVE_PORT: '0', FLTS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
let log = '';
let exited;
daemon.stderr.on('data', (chunk) => (log += chunk));
daemon.stdout.on('data', (chunk) => (log += chunk));
daemon.on('exit', (code, signal) => (exited = { code, signal }));
const started = Date.now();
const waitFor = async (check, ms, what) => {
  while (!check()) {
    if (exited) throw new Error(`the daemon exited (${JSON.stringify(exited)}) while waiting for ${what}\n${log.slice(-4000)}`);
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

const bus = createFsBus({ root: path.join(home, 'bus') });
const groupsDir = path.join(home, 'bus', 'groups');
const topicsDir = path.join(home, 'bus', 'topics');
const lines = (topic) => (existsSync(path.join(topicsDir, `${topic}.log`)) ? readFileSync(path.join(topicsDir, `${topic}.log`), 'utf8').split('\n').filter(Boolean).length : 0);
const committed = () => {
  const out = [];
  if (!existsSync(groupsDir)) return out;
  for (const group of readdirSync(groupsDir))
    for (const file of readdirSync(path.join(groupsDir, group)).filter((name) => name.endsWith('.offset')))
      out.push({ group: decodeURIComponent(group), topic: file.slice(0, -'.offset'.length), offset: Number(readFileSync(path.join(groupsDir, group, file), 'utf8')) });
  return out;
};

try {
  await waitFor(() => /daemon_listening/.test(log), 60_000, 'the daemon to start');
  let published = 0;
  for (const topic of Object.keys(TEMPLATES)) {
    for (const message of messagesFor(topic)) {
      await bus.publish(topic, message);
      published++;
    }
  }
  // A valid promotion last: the serving role must still act on good messages after the hostile ones.
  await bus.publish('model-selected', { key: 'promotion', value: JSON.stringify(TEMPLATES['model-selected'].body) });
  console.log(`published ${published + 1} messages`);
  const consumed = ['training-data', 'inference-data', 'model-training', 'model-selected'];
  await waitFor(
    () => {
      const offsets = committed().filter((entry) => consumed.includes(entry.topic));
      return offsets.length >= 4 && offsets.every((entry) => entry.offset >= lines(entry.topic));
    },
    timeoutMs,
    `every group to reach the end of its topics (${JSON.stringify(committed())})`,
  );
  console.log(`every group caught up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${committed().map((entry) => `${entry.group}/${entry.topic}@${entry.offset}`).join(', ')}`);
} catch (error) {
  fail(error.message);
}

if (exited) fail(`the daemon exited: ${JSON.stringify(exited)}`);
const url = /"url":"(http:\/\/[^"]+)"/.exec(log)?.[1];
if (url && !exited) {
  const health = await fetch(`${url}/healthz`).then((response) => response.status, (error) => String(error));
  if (health !== 200) fail(`/healthz answered ${health}`);
}
const codes = new Map();
for (const file of existsSync(topicsDir) ? readdirSync(topicsDir).filter((name) => name.startsWith('DLQ-')) : []) {
  for (const line of readFileSync(path.join(topicsDir, file), 'utf8').split('\n').filter(Boolean)) {
    const envelope = JSON.parse(JSON.parse(line).value);
    const code = /^(FLTS_[A-Z_]+):/.exec(envelope.error)?.[1] ?? 'uncoded';
    const key = `${file.slice(0, -4)} ${code}`;
    codes.set(key, (codes.get(key) ?? 0) + 1);
    if (code === 'uncoded' || code === 'FLTS_INTERNAL') fail(`${file}: ${code} dead letter: ${envelope.error.slice(0, 300)} (payload ${JSON.stringify(envelope.payload).slice(0, 200)})`);
  }
}
for (const [key, count] of [...codes].sort()) console.log(`${key}  ${count}`);
const retries = (log.match(/bus_handler_retry/g) ?? []).length;
const outages = (log.match(/bus_handler_outage_retry/g) ?? []).length;
console.log(`retries ${retries}, outage retries ${outages}`);
if (outages > 50) fail(`${outages} outage retries: a message is retried as if the store were down`);
for (const line of log.split('\n').filter((text) => /uncaught|unhandled|FLTS_INTERNAL/i.test(text)).slice(0, 10)) fail(`daemon log: ${line.slice(0, 400)}`);
if (!exited) daemon.kill('SIGTERM');
await new Promise((resolve) => (exited ? resolve() : daemon.once('exit', resolve)));
await bus.close();
if (args.includes('--keep')) console.log(`kept ${home}`);
else rmSync(home, { recursive: true, force: true });
console.log(`${failures.length} failures`);
process.exitCode = failures.length ? 1 : 0;
