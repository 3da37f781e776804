#!/usr/bin/env node
// A stop under load: `flts serve` (embedded store, a NAIVE run trained on a slice of PobleSec) with `--clients` loops
// of POST /predict on keep-alive connections, SIGTERM once they have run for `--warm-ms`, and what the requests sent
// after the signal came to: answered (200), refused coded (503 with an FLTS_* code, by code), refused uncoded (a 503
// without one, fastify's own), another status, or reset (the connection closed under the request; on a new connection
// or on one kept alive). A loop ends at its
// first refused connection (the server no longer listens: a load balancer sends the next request elsewhere).
// `--second-ms N` sends a second SIGTERM N ms after the first (the cut of the requests in flight). `--grpc` runs the
// loops on the gRPC port instead (serve.grpcPort = --port + 1): each loop one HTTP/2 connection of unary ServerLive
// calls, as a gRPC channel, a new connection once the server sent GOAWAY or closed it; a call is answered (status 0),
// refused coded (a status with flts-code), refused unprocessed (REFUSED_STREAM: a gRPC client sends it again on a new
// connection, so the loop does), or reset (its stream or connection closed under it, unanswered).
// `--grpc-new-connections` opens a connection for each call (clients connecting as the stop comes).
// Each build (a checkout with its own `npm run build`) trains in a home of its own, and runs `--rounds` stops.
// Usage: npm run build && node bench/serve-stop-load.mjs --build new=. [--build old=<checkout>] [--port 19000]
//          [--clients 400] [--warm-ms 2000] [--rounds 3] [--second-ms 50] [--grpc [--grpc-new-connections]]
//          [--data /work/shared/datasets]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    port: { type: 'string', default: '19000' },
    clients: { type: 'string', default: '400' },
    'warm-ms': { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    'second-ms': { type: 'string' },
    grpc: { type: 'boolean', default: false },
    'grpc-new-connections': { type: 'boolean', default: false },
    data: { type: 'string', default: path.resolve(import.meta.dirname, '../../shared/datasets') },
  },
});
const builds = (flags.build ?? ['new=.']).map((spec) => {
  const [name, dir] = spec.includes('=') ? spec.split('=') : [spec, spec];
  return { name, dir: path.resolve(dir) };
});
const port = Number(flags.port);
const clients = Number(flags.clients);

function envFor(home) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? os.tmpdir(),
    FLTS_HOME: home,
    FLTS_DATA_DIR: flags.data,
    TRAIN_FILE: 'PobleSec.csv',
    TEST_FILE: 'PobleSec_test.csv',
    SAMPLE_TRAIN_ROWS: '400',
    SAMPLE_TEST_ROWS: '150',
    MODEL_TYPE: 'NAIVE',
    FLTS_LOG_LEVEL: 'warn',
    ...(flags.grpc ? { FLTS_SERVE_GRPC_PORT: String(port + 1) } : {}),
  };
}

async function trainedHome(build) {
  const home = mkdtempSync(path.join(os.tmpdir(), `flts-stop-load-${build.name}-`));
  const run = (...args) => promisify(execFile)(process.execPath, [path.join(build.dir, 'bin/run.js'), ...args], { env: envFor(home) });
  await run('preprocess');
  await run('train');
  await run('promote', '--best', '--force');
  return home;
}

/** Starts `flts serve` and resolves once /readyz answers 200. */
async function startServe(build, home) {
  const child = spawn(process.execPath, [path.join(build.dir, 'bin/run.js'), 'serve', '--port', String(port), '--host', '127.0.0.1'], { env: envFor(home), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr })));
  for (let i = 0; i < 300; i++) {
    const status = await new Promise((resolve) => http.get({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => (res.resume(), resolve(res.statusCode))).on('error', () => resolve(0)));
    if (status === 200) return { child, exited };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`flts serve did not become ready:\n${stderr}`);
}

function predict(agent) {
  return new Promise((resolve) => {
    const request = http.request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': 2 } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        let code;
        try {
          code = JSON.parse(body).code;
        } catch {}
        resolve({ status: res.statusCode, code });
      });
      res.on('error', () => resolve({ error: 'reset', reused: request.reusedSocket }));
    });
    // A reset on a kept-alive connection (reused) or on a new one (in the listener's backlog, or accepted with its
    // request not yet read, as the listener closed).
    request.on('error', (error) => resolve({ error: error.code === 'ECONNREFUSED' ? 'refused' : 'reset', reused: request.reusedSocket }));
    request.end('{}');
  });
}

/** A gRPC client's connection: an HTTP/2 session, replaced once the server sent GOAWAY or closed it. */
function grpcChannel() {
  let session;
  return {
    session() {
      // --grpc-new-connections: a connection a call, so clients are connecting as the stop comes (its accept queue).
      if (flags['grpc-new-connections'] && session && !session.closed) session.close();
      if (!session || session.closed || session.destroyed) {
        const opened = http2.connect(`http://127.0.0.1:${port + 1}`);
        opened.on('error', (error) => (opened.failedWith = error.code));
        opened.once('close', () => (opened.ended = true));
        session = opened;
        // A GOAWAY: the next call goes on a new connection, as a gRPC client's does.
        opened.on('goaway', () => opened.close());
      }
      return session;
    },
    destroy: () => session?.destroy(),
  };
}

/** One unary ServerLive call: `{ status, code }` when answered, `{ error }` otherwise. */
function serverLive(channel) {
  return new Promise((resolve) => {
    const session = channel.session();
    const fresh = !session.connecting ? false : true;
    let stream;
    try {
      stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers' });
    } catch {
      return resolve({ error: 'reset', reused: !fresh });
    }
    let done = false;
    const finish = (outcome) => {
      if (done) return;
      done = true;
      resolve(outcome);
    };
    const statusOf = (headers) => {
      if (headers['grpc-status'] !== undefined) finish({ status: Number(headers['grpc-status']), code: headers['flts-code'] });
    };
    stream.on('response', statusOf);
    stream.on('trailers', statusOf);
    stream.on('error', () => {});
    stream.on('close', () => {
      if (done) return;
      if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) return finish({ error: 'unprocessed' });
      // A connection the kernel refused (nothing was sent), known once the session has closed with its error.
      const classify = () => finish({ error: session.failedWith === 'ECONNREFUSED' ? 'refused' : 'reset', reused: !fresh });
      if (session.ended) classify();
      else session.once('close', classify);
    });
    stream.resume();
    stream.end(Buffer.alloc(5));
  });
}

async function round(build, home) {
  const { child, exited } = await startServe(build, home);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const channels = [];
  let signalled = false;
  const after = { answered: 0, coded503: {}, uncoded503: 0, otherStatus: {}, resetNew: 0, resetReused: 0, ...(flags.grpc ? { unprocessed: 0 } : {}) };
  let before = 0;
  const loop = async () => {
    const channel = flags.grpc ? grpcChannel() : undefined;
    if (channel) channels.push(channel);
    for (;;) {
      const sentAfterSignal = signalled;
      const outcome = channel ? await serverLive(channel) : await predict(agent);
      if (outcome.error === 'refused') return;
      if (outcome.error === 'unprocessed') {
        if (sentAfterSignal || signalled) after.unprocessed++;
        continue;
      }
      if (!sentAfterSignal && !signalled) {
        before++;
        continue;
      }
      // In flight as the signal came, or sent after it.
      if (outcome.error) after[outcome.reused ? 'resetReused' : 'resetNew']++;
      else if (outcome.status === (channel ? 0 : 200)) after.answered++;
      else if (outcome.status === (channel ? 14 : 503) && outcome.code) after.coded503[outcome.code] = (after.coded503[outcome.code] ?? 0) + 1;
      else if (outcome.status === (channel ? 14 : 503)) after.uncoded503++;
      else after.otherStatus[outcome.status] = (after.otherStatus[outcome.status] ?? 0) + 1;
      // A loop whose connection was refused or reset after the signal goes on until the server no longer listens.
    }
  };
  const loops = Array.from({ length: clients }, loop);
  await new Promise((resolve) => setTimeout(resolve, Number(flags['warm-ms'])));
  signalled = true;
  child.kill('SIGTERM');
  if (flags['second-ms'] !== undefined) setTimeout(() => child.kill('SIGTERM'), Number(flags['second-ms']));
  await Promise.all(loops);
  const { code, stderr } = await exited;
  agent.destroy();
  for (const channel of channels) channel.destroy();
  const stopped = stderr.split('\n').filter((line) => /serve_stop|grpc_stop/.test(line)).map((line) => line.slice(0, 300));
  return { before, ...after, exitCode: code, stopLines: stopped };
}

for (const build of builds) {
  const home = await trainedHome(build);
  try {
    for (let i = 1; i <= Number(flags.rounds); i++) console.log(`${build.name} round ${i}: ${JSON.stringify(await round(build, home))}`);
  } finally {
    rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}
