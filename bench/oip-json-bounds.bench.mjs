#!/usr/bin/env node
// What the text scan of an HTTP inference body (src/core/serve/oip-json-bounds.ts) costs next to the JSON.parse it
// runs before: legitimate bodies of tensor data (timestamps and numbers, compact and indented) it passes, and bodies
// it refuses or that are worst for it (packed strings, brackets, whitespace). Medians of 9 runs each, in one process.
// The same scan holds /predict and POST /actuals bodies to their bounds (series-json-bounds.ts): their legitimate
// bodies of rows and refused ones follow. Builds given as name=<checkout> (each with `npm run build` done) are timed
// in turn on each body; a build without the series scan times the inference bodies alone.
// Usage: npm run build && node bench/oip-json-bounds.bench.mjs [name=<checkout> ...]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const specs = process.argv.length > 2 ? process.argv.slice(2) : [`this=${path.dirname(path.dirname(fileURLToPath(import.meta.url)))}`];
const builds = [];
for (const spec of specs) {
  const [name, root] = spec.split('=');
  const load = (file) => import(pathToFileURL(path.resolve(root, 'dist/core/serve', file)).href);
  const { inferBodyBoundsProblem } = await load('oip-json-bounds.js');
  const seriesBodyBoundsProblem = fs.existsSync(path.resolve(root, 'dist/core/serve/series-json-bounds.js')) ? (await load('series-json-bounds.js')).seriesBodyBoundsProblem : undefined;
  builds.push({ name, infer: inferBodyBoundsProblem, series: seriesBodyBoundsProblem });
}

const START_MS = Date.UTC(2018, 1, 6);
const STEP_MS = 120_000;
const tensorBody = (count, indent) => {
  const index = Array.from({ length: count }, (_, i) => i);
  const ts = index.map((g) => new Date(START_MS + g * STEP_MS).toISOString().slice(0, 19).replace('T', ' '));
  const down = index.map((g) => Math.round((20 + Math.sin(g / 3) + (g % 50)) * 100) / 100);
  const up = index.map((g) => 5 + (g % 3));
  const inputs = [
    { name: 'ts', datatype: 'BYTES', shape: [count], data: ts },
    { name: 'down', datatype: 'FP64', shape: [count], data: down },
    { name: 'up', datatype: 'FP64', shape: [count], data: up },
  ];
  return JSON.stringify({ inputs }, null, indent);
};
// Built flat (join), as a request body arrives after fastify's trim.
const dataOf = (items) => `{"inputs":[{"name":"d","datatype":"BYTES","shape":[1],"data":[${items.join(',')}]}]}`;
const bodies = {
  '35k rows of tensor data': tensorBody(35_000),
  '35k rows, indented': tensorBody(35_000, 2),
  '250k rows of tensor data': tensorBody(250_000),
  '200k parameters (refused)': JSON.stringify({ inputs: [], parameters: Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`p${i}`, 'x'])) }),
  '4M nested brackets (refused)': `{"inputs":[{"name":"d","datatype":"FP64","shape":[1],"data":${'['.repeat(4e6)}1${']'.repeat(4e6)}}]}`,
  '2.6M empty strings': dataOf(Array(2.6e6).fill('""')),
  '2.6M empty arrays': dataOf(Array(2.6e6).fill('[]')),
  '8M spaces': dataOf([' '.repeat(8e6)]),
};
const seriesRows = (count) => {
  const index = Array.from({ length: count }, (_, i) => i);
  return { ts: index.map((g) => new Date(START_MS + g * STEP_MS).toISOString()), down: index.map((g) => Math.round((20 + Math.sin(g / 3) + (g % 50)) * 100) / 100), up: index.map((g) => 5 + (g % 3)) };
};
const seriesBodies = {
  '/predict, 35k rows': JSON.stringify({ data: seriesRows(35_000), inference_length: 10 }),
  '/predict, 35k rows, indented': JSON.stringify({ data: seriesRows(35_000) }, null, 2),
  '/actuals, 200k rows': JSON.stringify({ identifier: 'site', data: seriesRows(200_000) }),
  '/predict, 200k columns (refused)': JSON.stringify({ data: Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`c${i}`, [1]])) }),
  '/predict, 200k fields (refused)': JSON.stringify({ data: seriesRows(16), ...Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`f${i}`, 'x'])) }),
  '/predict, 4M nested brackets (refused)': `{"data":{"ts":${'['.repeat(4e6)}1${']'.repeat(4e6)}}}`,
  // One field of an object of the client's own written 200k times: the parsed body has one, so it is passed (keys
  // counted as distinct past the bound). A field of the body itself written twice is refused at its second copy.
  '/predict, 200k fields of one name in an object of its own': `{"data":${JSON.stringify(seriesRows(16))},"meta":{${Array(200_000).fill('"f":"x"').join(',')}}}`,
  '/predict, 200k fields of one name (refused)': `{"data":${JSON.stringify(seriesRows(16))},${Array(200_000).fill('"f":"x"').join(',')}}`,
};
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
console.log(`load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, node ${process.version}`);
const cases = [...Object.entries(bodies).map(([name, body]) => [name, body, 'infer']), ...Object.entries(seriesBodies).map(([name, body]) => [name, body, 'series'])];
// Every scan compiled before the first body is timed: the first body would otherwise pay for the scan's warm-up alone.
for (const build of builds) for (const [, body, kind] of cases) build[kind]?.(body);
for (const [name, body, kind] of cases) {
  const runs = builds.filter((build) => build[kind]);
  const scan = new Map(runs.map((build) => [build, []]));
  const answers = new Map();
  const parse = [];
  for (let run = 0; run < 9; run++) {
    for (const build of run % 2 ? [...runs].reverse() : runs) {
      const started = performance.now();
      answers.set(build, build[kind](body));
      scan.get(build).push(performance.now() - started);
    }
    const started = performance.now();
    JSON.parse(body);
    parse.push(performance.now() - started);
  }
  const scans = runs.map((build) => `${builds.length > 1 ? `${build.name} ` : ''}scan ${median(scan.get(build)).toFixed(2)} ms`).join(', ');
  const answer = answers.get(runs.at(-1));
  console.log(`${name} (${(body.length / 1e6).toFixed(1)} MB): ${scans}, JSON.parse ${median(parse).toFixed(2)} ms${answer ? `; ${answer.message.slice(0, 60)}` : ''}`);
}
