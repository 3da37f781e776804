// Idle keep-alive connections against the connection cap of `flts serve`:
//   npm run build && node bench/serve-idle-cap.mjs [held=1024] [maxConnections=1024] [keepAliveMs=72000] [--root <checkout>]
// Holds <held> idle keep-alive connections (each answered one GET /healthz) on a server capped at maxConnections,
// then times a new client's GET /healthz on a fresh connection, retrying every 100 ms until answered (limit 90 s).
// `--root` loads another built checkout (its dist/), to compare two builds side by side in one run.
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const root = path.resolve(rootAt >= 0 ? args.splice(rootAt, 2)[1] : path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const [heldArg = '1024', capArg, keepAliveArg] = args;
const { buildServer } = await import(`${root}/dist/core/serve/build-server.js`);
const { createModelHolder } = await import(`${root}/dist/core/serve/model-holder.js`);
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const source = { readPointer: async () => undefined, loadRun: async () => { throw new Error('none'); } };
const holder = createModelHolder({ source, pollIntervalMs: 0, batching: { maxBatch: 1, maxWaitMs: 0 }, logger: silent });
const cap = Number(capArg ?? 1024);
const app = await buildServer({ holder, limits: { maxConnections: cap, keepAliveTimeoutMs: Number(keepAliveArg ?? 72_000) } });
await app.listen({ host: '127.0.0.1', port: 0 });
const port = app.server.address().port;

/** One GET /healthz on `socket`: resolves with the status line, or '' if the connection closes first. */
function healthz(socket) {
  return new Promise((resolve) => {
    let text = '';
    const done = () => { socket.off('data', onData); socket.off('close', done); resolve(text.split('\r\n')[0]); };
    const onData = (chunk) => { text += chunk; if (text.includes('\r\n\r\n') && text.endsWith('}')) done(); };
    socket.on('data', onData); socket.once('close', done); socket.on('error', () => {});
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  });
}
const connect = () => new Promise((resolve, reject) => { const s = net.connect(port, '127.0.0.1', () => resolve(s)); s.once('error', reject); });

// One answered request first, so no run times the first request of the process.
const warm = await connect();
await healthz(warm);
warm.destroy();
await new Promise((r) => setTimeout(r, 50));
const held = [];
for (let i = 0; i < Number(heldArg); i++) {
  const socket = await connect();
  held.push(socket);
  if (!(await healthz(socket)).includes('200')) throw new Error(`held connection ${i} not answered`);
}
const started = performance.now();
let attempts = 0;
let status = '';
while (performance.now() - started < 90_000) {
  attempts++;
  const socket = await connect().catch(() => undefined);
  status = socket ? await healthz(socket) : '';
  socket?.destroy();
  if (status.includes('200')) break;
  await new Promise((r) => setTimeout(r, 100));
}
const ms = performance.now() - started;
const stillOpen = held.filter((s) => !s.destroyed && !s.readableEnded).length;
console.log(JSON.stringify({ root, held: held.length, cap, answered: status.includes('200'), ms: Math.round(ms * 10) / 10, attempts, heldStillOpen: stillOpen }));
held.forEach((s) => s.destroy());
await app.close();
