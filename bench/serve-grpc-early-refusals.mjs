// What a ModelInfer call the gRPC port of `flts serve` refuses costs before its refusal:
//   npm run build && node bench/serve-grpc-early-refusals.mjs [unknown|dribble] [--root <checkout>]
// unknown [calls=20] [messageMiB=8] [id-first]: calls for a model not served (model_name "other"), each sending all of a
// message of <messageMiB> (a raw tensor of zeros) at once, one connection each; `id-first` puts an id and a parameter
// before the name, as some clients order the fields. Reported: the bytes the clients got to write to
// their sockets before their streams closed, and the time to each call's status.
// dribble [bytesPerSec=100]: one call sending its message at <bytesPerSec>, as a slow or hostile client would, with the
// serve.* defaults (a least rate of 240 bytes/s over 5 s windows, a request timeout of 30 s). Reported: how long it held
// its call until its status, and the status.
// The server runs in this process; `--root` loads another built checkout (its dist/), to compare two builds side by side.
import http2 from 'node:http2';
import { modelInferMessage, startEmptyGrpcServer, takeRoot } from './grpc-bench-server.mjs';
const args = process.argv.slice(2);
const root = takeRoot(args);
const [mode = 'unknown', ...rest] = args;
const { url, stop } = await startEmptyGrpcServer(root);

/** Opens a ModelInfer call on a connection of its own; `status` resolves with its status and flts code, or how it closed. */
function open() {
  const session = http2.connect(url);
  session.on('error', () => {});
  const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
  const started = performance.now();
  const status = new Promise((resolve) => {
    const answer = (text) => resolve({ text, ms: performance.now() - started });
    stream.on('trailers', (trailers) => answer(`${trailers['grpc-status']} ${String(trailers['flts-code'] ?? '')}`.trim()));
    stream.on('response', (headers) => headers['grpc-status'] !== undefined && answer(`${headers['grpc-status']} ${String(headers['flts-code'] ?? '')}`.trim()));
    stream.on('error', (error) => answer(`error ${error.code}`));
    stream.on('close', () => answer('closed'));
  });
  const closed = new Promise((resolve) => stream.on('close', resolve));
  stream.on('error', () => {});
  stream.resume();
  return { session, stream, status, closed };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const counts = (texts) => texts.reduce((all, text) => ({ ...all, [text]: (all[text] ?? 0) + 1 }), {});
let result;
if (mode === 'unknown') {
  const [callsArg = '20', mibArg = '8', order = 'name-first'] = rest;
  const framed = modelInferMessage('other', Math.floor(Number(mibArg) * 1024 * 1024) - 5, { idFirst: order === 'id-first' });
  const calls = Array.from({ length: Number(callsArg) }, open);
  for (const { stream } of calls) stream.end(framed);
  const statuses = await Promise.all(calls.map(({ status }) => status));
  await Promise.all(calls.map(({ closed }) => closed));
  // What each client's socket wrote: the HTTP/2 frames of its call, the message's DATA frames the most of them.
  const written = calls.map(({ session }) => session.socket.bytesWritten);
  for (const { session } of calls) session.destroy();
  result = {
    calls: calls.length,
    order,
    messageMiB: framed.length / 1024 / 1024,
    clientBytesWrittenMedianKiB: Math.round(median(written) / 1024),
    clientBytesWrittenTotalMiB: Math.round(written.reduce((a, b) => a + b, 0) / 1024 / 1024),
    statusMsMedian: Math.round(median(statuses.map(({ ms }) => ms))),
    statuses: counts(statuses.map(({ text }) => text)),
  };
} else if (mode === 'dribble') {
  const [rateArg = '100'] = rest;
  const framed = modelInferMessage('flts', 64 * 1024);
  const call = open();
  let sent = 0;
  const step = Math.max(1, Math.round(Number(rateArg) / 10));
  const dribble = setInterval(() => {
    if (call.stream.closed || sent >= framed.length) return clearInterval(dribble);
    call.stream.write(framed.subarray(sent, sent + step));
    sent += step;
  }, 100);
  const status = await call.status;
  clearInterval(dribble);
  call.session.destroy();
  result = { bytesPerSec: Number(rateArg), heldMs: Math.round(status.ms), bytesSent: sent, status: status.text };
} else throw new Error(`unknown mode ${mode}: unknown or dribble`);
await stop();
console.log(JSON.stringify({ root, mode, ...result }));
