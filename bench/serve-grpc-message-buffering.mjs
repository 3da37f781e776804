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
import { modelInferMessage, startEmptyGrpcServer, takeRoot } from './grpc-bench-server.mjs';
const args = process.argv.slice(2);
const root = takeRoot(args);
const [clientsArg = '40', mibArg = '8'] = args;
const { metrics, bodyBudget, url, stop } = await startEmptyGrpcServer(root, { requestTimeoutMs: 120_000 });

const rssMiB = () => process.memoryUsage().rss / 1024 / 1024;
const gaugeValue = async (name) => (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
const clients = Number(clientsArg);
const framed = modelInferMessage('flts', Math.floor(Number(mibArg) * 1024 * 1024) - 5);
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
await stop();
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
