#!/usr/bin/env node
// The daemon's health port under abuse while its roles work: an embedded daemon (FLTS_BUS=fs, trainer and promoter,
// NAIVE and a one-epoch LSTM) is started, its port abused for a while, and a preprocess publishes a claim 5 s in; the
// roles must still train and promote. Modes: `baseline` (probes alone), `noise` (800 connections dripping a header
// byte a second, 10 connections pipelining 300 /metrics without reading, refused heads back to back), `hammer` (30
// clients asking /metrics and /readyz back to back), `abuse` (both), `cap` (1,100 dripping connections, past
// serve.maxConnections). Printed: the claim's time to promotion, the daemon's peak RSS, a /healthz probe a second (as
// an orchestrator's: timed, 5 s timeout) and /readyz beside it, what the abuse was answered, and the daemon's own
// flts_daemon_http_* series at the end. The abusing client shares the machine: compare modes run side by side.
// Usage: npm run build && node bench/health-port-abuse.mjs <mode> [seconds=60] [port=19230]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const here = import.meta.dirname;
const BIN = path.resolve(here, '../bin/run.js');
const DATASETS = path.resolve(here, '../../shared/datasets');
const [mode = 'abuse', seconds = '60', portText = '19230'] = process.argv.slice(2);
const port = Number(portText);
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-health-abuse-'));
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FLTS_'))),
  FLTS_HOME: home,
  FLTS_STORE: 'fs',
  FLTS_BUS: 'fs',
  SAMPLE_TRAIN_ROWS: '300',
  SAMPLE_TEST_ROWS: '100',
  EPOCHS: '1',
  HIDDEN_SIZE: '8',
  NUM_LAYERS: '1',
  EXPECTED_MODEL_TYPES: 'NAIVE,LSTM',
  FLTS_TRAINER_MODELS: 'NAIVE,LSTM',
  FLTS_LOG_LEVEL: 'info',
};
const base = `http://127.0.0.1:${port}`;
const end = Date.now() + Number(seconds) * 1000;
const live = () => Date.now() < end;
const stats = { dripOpened: 0, dripAnswered408: 0, pipelinedConnections: 0, hammered: 0, hammerFailed: 0, notReadyBodies: [], refusedHeads: {}, probes: [], readyz: {} };
const sockets = new Set();

function open(onConnect) {
  const socket = net.connect({ host: '127.0.0.1', port }, () => onConnect(socket));
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket)).on('error', () => {});
  return socket;
}
function drip() {
  if (!live()) return;
  stats.dripOpened++;
  const head = `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(10_000)}`;
  let sent = 0;
  let text = '';
  let timer;
  const socket = open(() => (timer = setInterval(() => socket.writable && sent < head.length && socket.write(head[sent++]), 1000)));
  socket.on('data', (chunk) => (text += chunk));
  socket.on('close', () => {
    clearInterval(timer);
    if (text.startsWith('HTTP/1.1 408')) stats.dripAnswered408++;
    setTimeout(drip, 50);
  });
}
function pipeline() {
  if (!live()) return;
  stats.pipelinedConnections++;
  const socket = open(() => socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(300)));
  socket.pause();
  socket.on('close', () => setTimeout(pipeline, 200));
}
async function hammer() {
  while (live()) {
    try {
      const response = await fetch(`${base}/${Math.random() < 0.5 ? 'metrics' : 'readyz'}`, { signal: AbortSignal.timeout(20_000) });
      const body = await response.text();
      stats.hammered++;
      if (response.status !== 200) stats.notReadyBodies.push(body.slice(0, 200));
    } catch {
      stats.hammerFailed++;
      await sleep(200);
    }
  }
}
const HEADS = [
  'hello\r\n\r\n',
  'GET /healthz\r\n\r\n',
  'CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n',
  `GET / HTTP/1.1\r\nHost: x\r\nX: ${'b'.repeat(20_000)}\r\n\r\n`,
  'GET /healthz HTTP/1.1\r\nExpect: x\r\nHost: x\r\n\r\n',
  'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\nabc',
];
async function refusedHeads() {
  for (let sent = 0; live(); sent++) {
    const status = await new Promise((resolve) => {
      let text = '';
      const socket = open(() => socket.write(HEADS[sent % HEADS.length]));
      socket.on('data', (chunk) => ((text += chunk), text.includes('\r\n\r\n') && socket.destroy()));
      socket.on('close', () => resolve(text.slice(9, 12) || 'closed'));
      setTimeout(() => socket.destroy(), 15_000);
    });
    stats.refusedHeads[status] = (stats.refusedHeads[status] ?? 0) + 1;
  }
}
async function probe() {
  while (live()) {
    const started = Date.now();
    let status;
    try {
      const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000), headers: { connection: 'close' } });
      status = response.status;
      await response.arrayBuffer();
    } catch (error) {
      status = error.name;
    }
    stats.probes.push([Date.now() - started, status]);
    try {
      const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000), headers: { connection: 'close' } });
      await response.arrayBuffer();
      stats.readyz[response.status] = (stats.readyz[response.status] ?? 0) + 1;
    } catch (error) {
      stats.readyz[error.name] = (stats.readyz[error.name] ?? 0) + 1;
    }
    await sleep(1000);
  }
}
function run(args, options = {}) {
  return spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...options });
}
const promotedPointer = () => path.join(home, 'store', 'model-promotion', 'current.json');

const daemon = run(['daemon', '--roles', 'trainer,promoter', '--port', String(port)]);
let daemonLog = '';
daemon.stderr.on('data', (chunk) => (daemonLog += chunk));
daemon.stdout.resume();
try {
  for (let tries = 0; ; tries++) {
    if (tries > 200) throw new Error(`the daemon did not get ready: ${daemonLog}`);
    if ((await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200) break;
    await sleep(300);
  }
  const work = [probe()];
  if (mode === 'noise' || mode === 'abuse') {
    for (let i = 0; i < 800; i++) setTimeout(drip, i * 5);
    for (let i = 0; i < 10; i++) pipeline();
    work.push(refusedHeads(), refusedHeads());
  }
  if (mode === 'hammer' || mode === 'abuse') for (let i = 0; i < 30; i++) work.push(hammer());
  if (mode === 'cap') for (let i = 0; i < 1100; i++) setTimeout(drip, i * 3);
  await sleep(5000);
  const preprocess = run(['preprocess', '--dataset', 'PobleSec', '--train', path.join(DATASETS, 'PobleSec.csv'), '--test', path.join(DATASETS, 'PobleSec_test.csv')]);
  preprocess.stdout.resume();
  preprocess.stderr.resume();
  await new Promise((resolve) => preprocess.on('close', resolve));
  const published = Date.now();
  let promotedAfterMs;
  while (Date.now() - published < 300_000) {
    if (existsSync(promotedPointer())) {
      promotedAfterMs = Date.now() - published;
      break;
    }
    await sleep(100);
  }
  await Promise.all(work);
  for (const socket of sockets) socket.destroy();
  const latencies = stats.probes.map(([ms]) => ms).sort((a, b) => a - b);
  const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))?.[1]);
  const metrics = (await (await fetch(`${base}/metrics`)).text()).split('\n').filter((line) => line.startsWith('flts_daemon_http'));
  const { probes, notReadyBodies, ...rest } = stats;
  console.log(
    JSON.stringify(
      {
        mode,
        seconds: Number(seconds),
        promotedAfterMs: promotedAfterMs ?? 'not promoted',
        peakRssKb,
        healthz: { probes: probes.length, failed: probes.filter(([, status]) => status !== 200).length, p50: latencies[Math.floor(latencies.length / 2)], p95: latencies[Math.floor(latencies.length * 0.95)], max: latencies.at(-1) },
        ...rest,
        notReady: notReadyBodies.length,
        firstNotReady: notReadyBodies[0],
        metrics,
      },
      null,
      1,
    ),
  );
  if (promotedAfterMs === undefined) process.exitCode = 1;
} finally {
  daemon.kill('SIGTERM');
  await new Promise((resolve) => daemon.once('close', resolve));
  rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}
