// Idle HTTP/2 connections against the connection cap of the gRPC port of `flts serve`:
//   npm run build && node bench/serve-grpc-idle-cap.mjs [held=1024] [maxConnections=1024] [keepAliveMs=72000] [--root <checkout>]
// Holds <held> idle HTTP/2 connections (each answered one ServerLive call) on a gRPC port capped at maxConnections,
// then times a new client's ServerLive on a fresh connection, retrying every 100 ms until answered (limit 90 s).
// `--root` loads another built checkout (its dist/), to compare two builds side by side in one run.
import http2 from 'node:http2';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const root = path.resolve(rootAt >= 0 ? args.splice(rootAt, 2)[1] : path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const [heldArg = '1024', capArg, keepAliveArg] = args;
const { startGrpcInferenceServer } = await import(`${root}/dist/core/serve/oip-grpc-server.js`);
const { createModelHolder } = await import(`${root}/dist/core/serve/model-holder.js`);
const { createServeMetrics } = await import(`${root}/dist/core/serve/serve-metrics.js`);
const { createPredictionRecorder } = await import(`${root}/dist/core/serve/prediction-recorder.js`);
const { createForecastAdmission } = await import(`${root}/dist/core/serve/forecast-admission.js`);
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const source = { readPointer: async () => undefined, loadRun: async () => { throw new Error('none'); } };
const holder = createModelHolder({ source, pollIntervalMs: 0, batching: { maxBatch: 1, maxWaitMs: 0 }, logger: silent });
const metrics = createServeMetrics({ processMetrics: false });
const context = { holder, metrics, modelName: 'flts', inferenceLength: 0, recorder: createPredictionRecorder({ metrics, logger: silent, identifier: '' }), admission: createForecastAdmission({ maxRows: 0 }) };
const cap = Number(capArg ?? 1024);
const server = await startGrpcInferenceServer(context, { host: '127.0.0.1', port: 0, maxMessageBytes: 64 * 1024, maxConnections: cap, keepAliveTimeoutMs: Number(keepAliveArg ?? 72_000), logger: silent });
const url = `http://127.0.0.1:${server.port}`;
const EMPTY_MESSAGE = Buffer.alloc(5);

/** One ServerLive call on `session`: resolves with its grpc-status, or '' if the connection fails or closes first. */
function serverLive(session) {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
    stream.on('error', () => resolve(''));
    stream.on('close', () => resolve(''));
    stream.resume();
    stream.end(EMPTY_MESSAGE);
  });
}
const connect = () => {
  const session = http2.connect(url);
  session.on('error', () => {});
  return session;
};

// One answered call first, so no run times the first call of the process.
const warm = connect();
await serverLive(warm);
warm.destroy();
await new Promise((r) => setTimeout(r, 50));
const held = [];
for (let i = 0; i < Number(heldArg); i++) {
  const session = connect();
  held.push(session);
  if ((await serverLive(session)) !== '0') throw new Error(`held connection ${i} not answered`);
}
const started = performance.now();
let attempts = 0;
let status = '';
while (performance.now() - started < 90_000) {
  attempts++;
  const session = connect();
  status = await serverLive(session);
  session.destroy();
  if (status === '0') break;
  await new Promise((r) => setTimeout(r, 100));
}
const ms = performance.now() - started;
const stillOpen = held.filter((s) => !s.closed && !s.destroyed).length;
console.log(JSON.stringify({ root, held: held.length, cap, answered: status === '0', ms: Math.round(ms * 10) / 10, attempts, heldStillOpen: stillOpen }));
held.forEach((s) => s.destroy());
await server.close(0);
