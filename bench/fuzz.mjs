#!/usr/bin/env node
// The long fuzz run: thousands of generated hostile requests (bench/fuzz-requests.mjs, the same generators as
// the bounded suite in npm test) against a running `flts serve`. Fails (exit 1) on any 5xx, a request with no
// answer within 30 s, or a valid /predict that is not served afterwards. Prints counts by status.
// Usage: flts serve --port 8000 &   node bench/fuzz.mjs http://127.0.0.1:8000 [runs=5000] [seed=random]
// The served run must take the raw PobleSec columns (a model trained on PobleSec), for the valid requests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { request } from 'undici';
import { hostileRequest, sendHostileRequest } from './fuzz-requests.mjs';
import { servedModelName } from './served-model-name.mjs';

const [url = 'http://127.0.0.1:8000', runsText = '5000', seedText] = process.argv.slice(2);
const runs = Number(runsText);
const seed = seedText === undefined ? Date.now() % 2 ** 31 : Number(seedText);
const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
// The model the server answers for: the Open Inference Protocol cases call it by that name (FLTS_SERVE_MODEL_NAME here
// as for the server, else the setting's default).
const modelName = await servedModelName();
const [header, ...lines] = readFileSync(path.resolve(here, '../../shared/datasets/PobleSec_test.csv'), 'utf8').trim().split('\n');
const names = header.split(',');
const data = Object.fromEntries(names.map((name, c) => [name, lines.slice(0, 16).map((line) => (c === 0 ? line.split(',')[c] : Number(line.split(',')[c])))]));
const valid = JSON.stringify({ data });

const statuses = new Map();
let served = 0;
const started = Date.now();

async function validIsServed() {
  const response = await request(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: valid, headersTimeout: 30_000 });
  await response.body.text();
  return response.statusCode === 200;
}

if (!(await validIsServed())) {
  console.error(`${url}/predict does not answer a valid PobleSec request with 200; serve a run trained on PobleSec.`);
  process.exit(2);
}

await fc.assert(
  fc.asyncProperty(hostileRequest, async (generated) => {
    const status = await sendHostileRequest(generated, url, request, modelName);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status >= 500) throw new Error(`HTTP ${status} for ${generated.method} ${generated.path}: ${String(generated.body).slice(0, 300)}`);
    if (!(await validIsServed())) throw new Error(`a valid /predict was not served after ${generated.method} ${generated.path}`);
    served++;
  }),
  { seed, numRuns: runs, endOnFailure: true },
).catch((error) => {
  console.error(String(error.message ?? error).slice(0, 4000));
  console.error(`seed ${seed}: rerun with node bench/fuzz.mjs ${url} ${runs} ${seed}`);
  process.exitCode = 1;
});

const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count}`).join(', ');
console.log(`${served} generated requests answered below 500 in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed}); by status: ${byStatus}`);
