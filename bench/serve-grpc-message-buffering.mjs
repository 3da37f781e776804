// What the gRPC port of `flts serve` holds of ModelInfer messages still arriving, against the body budget
// (serve.maxBodyBytesInFlight) that bounds HTTP bodies while they arrive:
//   npm run build && node bench/serve-grpc-message-buffering.mjs [clients=40] [messageMiB=8] [--root <checkout>]
// <clients> HTTP/2 connections each open a ModelInfer call and send all of a message of <messageMiB> (a raw tensor of
// zeros) but its last byte, as a slow or hostile client would; once every client has sent that much (or 60 s passed),
// the server's RSS is read, then the last bytes are sent and each call's status collected. Reported: RSS at rest, with
// the messages held, the body bytes in flight the budget counted meanwhile, and the statuses. The server runs in this
// process, with the body limit and budget at their defaults (8 MiB, 64 MiB). `--root` loads another built checkout
// (its dist/), to compare two builds side by side.
import http2 from 'node:http2';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const root = path.resolve(rootAt >= 0 ? args.splice(rootAt, 2)[1] : path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const [clientsArg = '40', mibArg = '8'] = args;
const { startGrpcInferenceServer } = await import(`${root}/dist/core/serve/oip-grpc-server.js`);
const { createModelHolder } = await import(`${root}/dist/core/serve/model-holder.js`);
const { createServeMetrics } = await import(`${root}/dist/core/serve/serve-metrics.js`);
const { createPredictionRecorder } = await import(`${root}/dist/core/serve/prediction-recorder.js`);
const { createForecastAdmission } = await import(`${root}/dist/core/serve/forecast-admission.js`);
const { createMeteredBodyBudget } = await import(`${root}/dist/core/serve/body-budget.js`);
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const source = { readPointer: async () => undefined, loadRun: async () => { throw new Error('none'); } };
const holder = createModelHolder({ source, pollIntervalMs: 0, batching: { maxBatch: 1, maxWaitMs: 0 }, logger: silent });
const metrics = createServeMetrics({ processMetrics: false });
const bodyLimit = 8 * 1024 * 1024;
const bodyBudget = createMeteredBodyBudget(null, bodyLimit, metrics);
const context = { holder, metrics, bodyBudget, modelName: 'flts', inferenceLength: 0, recorder: createPredictionRecorder({ metrics, logger: silent, identifier: '' }), admission: createForecastAdmission({ maxRows: 0 }) };
const server = await startGrpcInferenceServer(context, { host: '127.0.0.1', port: 0, maxMessageBytes: bodyLimit, requestTimeoutMs: 120_000, logger: silent });
const url = `http://127.0.0.1:${server.port}`;

/** varint of a protobuf length. */
function varint(value) {
  const bytes = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

/** A ModelInferRequest of `size` bytes at most: model_name "flts" (field 1) and one raw_input_contents (field 7) of zeros. */
function modelInferMessage(size) {
  const name = Buffer.from([0x0a, 4, ...Buffer.from('flts')]);
  const rawLength = size - name.length - 1 - 4;
  const message = Buffer.concat([name, Buffer.from([0x3a]), varint(rawLength), Buffer.alloc(rawLength)]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  return Buffer.concat([frame, message]);
}

const rssMiB = () => process.memoryUsage().rss / 1024 / 1024;
const gaugeValue = async (name) => (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
const clients = Number(clientsArg);
const framed = modelInferMessage(Math.floor(Number(mibArg) * 1024 * 1024) - 5);
globalThis.gc?.();
const atRest = rssMiB();
let peakBudget = 0;
const sampler = setInterval(async () => (peakBudget = Math.max(peakBudget, await gaugeValue('flts_request_body_bytes_in_flight'))), 20);
let peakRss = atRest;
const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB())), 20);

const calls = [];
for (let i = 0; i < clients; i++) {
  const session = http2.connect(url);
  session.on('error', () => {});
  const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
  const status = new Promise((resolve) => {
    stream.on('trailers', (trailers) => resolve(`${trailers['grpc-status']} ${String(trailers['flts-code'] ?? '')}`.trim()));
    stream.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(`${headers['grpc-status']} ${String(headers['flts-code'] ?? '')}`.trim()));
    stream.on('error', (error) => resolve(`error ${error.code}`));
    stream.on('close', () => resolve('closed'));
  });
  stream.resume();
  // All but the last byte; `sent` once the server's flow control took them (or refused the call).
  const sent = new Promise((resolve) => {
    const ok = stream.write(framed.subarray(0, framed.length - 1));
    if (ok) resolve();
    else stream.once('drain', resolve);
    status.then(resolve);
  });
  calls.push({ session, stream, status, sent });
}
const deadline = new Promise((resolve) => setTimeout(resolve, 60_000).unref());
await Promise.race([Promise.all(calls.map(({ sent }) => sent)), deadline]);
// Node's HTTP/2 client hands the bytes on to the socket as the server's windows open: a moment for the last of them.
await new Promise((resolve) => setTimeout(resolve, 500));
const held = rssMiB();
const heldBudget = await gaugeValue('flts_request_body_bytes_in_flight');
for (const { stream } of calls) if (!stream.destroyed) stream.end(framed.subarray(framed.length - 1));
const statuses = await Promise.all(calls.map(({ status }) => status));
clearInterval(sampler);
clearInterval(rssSampler);
for (const { session } of calls) session.destroy();
await server.close(1000);
await holder.stop();
const counts = {};
for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
console.log(JSON.stringify({
  root,
  clients,
  messageMiB: framed.length / 1024 / 1024,
  rssAtRestMiB: Math.round(atRest),
  rssWithMessagesHeldMiB: Math.round(held),
  peakRssMiB: Math.round(peakRss),
  bodyBytesInFlightWhileHeldMiB: Math.round(heldBudget / 1024 / 1024),
  peakBodyBytesInFlightMiB: Math.round(peakBudget / 1024 / 1024),
  budgetMiB: bodyBudget.maxBytes / 1024 / 1024,
  statuses: counts,
}));
