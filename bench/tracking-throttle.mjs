// How the MLflow client waits on a throttling or slow tracking server: a proxy answering 429 with Retry-After: 2
// twice, one asking for 600 s, and a listing whose pages each take 150 ms and never end.
//   npm run build && node bench/tracking-throttle.mjs [<dist dir of another build>]
// The server is a local node:http one on 127.0.0.1 standing in for the network path, not for MLflow. On a build
// without the listing bounds (before the page cap and the listing deadline) the last case never ends.
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const dist = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
const { createMlflowClient } = await import(`${dist}/core/tracking/index.js`);
const { resolveSettings } = await import(`${dist}/core/config/settings.js`);
async function withServer(handler, body) {
  const server = createServer(handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try { return await body(`http://127.0.0.1:${server.address().port}`); } finally { server.closeAllConnections(); server.close(); }
}
const client = (uri, t, r, b) => createMlflowClient(resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': t, 'tracking.retries': r, 'tracking.backoffMs': b } }).settings.tracking);
const rate = (wait) => async () => {
  const times = []; let started;
  const out = await withServer((req, res) => { times.push(Date.now() - started); req.resume().on('end', () => res.writeHead(times.length < 3 ? 429 : 200, { 'retry-after': wait, 'content-type': 'application/json' }).end('{"runs":[]}')); },
    async (uri) => { started = Date.now(); try { await client(uri, 5000, 3, 100).searchRuns({ experimentIds: ['1'] }); return 'ok'; } catch (e) { return `${e.code} ${e.details.reason ?? ''} ${e.details.retryAfterMs ?? ''}`; } });
  console.log(`429 Retry-After: ${wait}: ${out}; request times ms ${times.join(',')}; total ${Date.now() - started} ms`);
};
await rate('2')();
await rate('600')();
let pages = 0; let started;
const out = await withServer((req, res) => { pages += 1; setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ runs: [], next_page_token: `t${pages}` })), 150); },
  async (uri) => { started = Date.now(); try { await client(uri, 1000, 0, 0).searchRuns({ experimentIds: ['1'] }); return 'ok'; } catch (e) { return `${e.code} ${e.details.reason}`; } });
console.log(`pages answered in 150 ms, timeout 1000 ms, retries 0: ${out}; ${pages} pages in ${Date.now() - started} ms`);
