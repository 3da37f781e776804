#!/usr/bin/env node
// What the text scan of an HTTP inference body (src/core/serve/oip-json-bounds.ts) costs next to the JSON.parse it
// runs before: legitimate bodies of tensor data (timestamps and numbers, compact and indented) it passes, and bodies
// it refuses or that are worst for it (packed strings, brackets, whitespace). Medians of 9 runs each, in one process.
// Usage: npm run build && node bench/oip-json-bounds.bench.mjs
import fs from 'node:fs';
import { inferBodyBoundsProblem } from '../dist/core/serve/oip-json-bounds.js';

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
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
console.log(`load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, node ${process.version}`);
// Both compiled before the first body is timed: the first body would otherwise pay for the scan's warm-up alone.
for (const body of Object.values(bodies)) inferBodyBoundsProblem(body);
for (const [name, body] of Object.entries(bodies)) {
  const scan = [];
  const parse = [];
  let answer;
  for (let run = 0; run < 9; run++) {
    let started = performance.now();
    answer = inferBodyBoundsProblem(body);
    scan.push(performance.now() - started);
    started = performance.now();
    JSON.parse(body);
    parse.push(performance.now() - started);
  }
  console.log(`${name} (${(body.length / 1e6).toFixed(1)} MB): scan ${median(scan).toFixed(2)} ms, JSON.parse ${median(parse).toFixed(2)} ms${answer ? `; ${answer.message.slice(0, 60)}` : ''}`);
}
