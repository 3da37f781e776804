#!/usr/bin/env node
// What one publish to the embedded bus costs, alone and with others at once in the same process (a daemon's roles, a
// burst of dead letters): `--count` messages (~250 bytes, shaped as a training claim) published by `concurrency`
// callers at a time, each awaiting its own publish before the next. Every build given runs each case `--reps` times,
// builds alternating so both see the same load; the table shows the median ms per publish and checks that each log
// holds every message once, in the order each caller published them.
// `--base <dir>` is a second checkout with its own `npm run build` (e.g. main's), shown as "before".
// Usage: npm run build && node bench/fs-bus-publish.mjs [--count 400] [--concurrency 1,8,32] [--reps 5] [--dir <parent>] [--base /tmp/main-copy] [--json]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fsBusBuilds } from './fs-bus-builds.mjs';

const { values: flags } = parseArgs({
  options: {
    count: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '1,8,32' },
    reps: { type: 'string', default: '5' },
    dir: { type: 'string', default: os.tmpdir() },
    base: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const builds = await fsBusBuilds(flags.base);
const count = Number(flags.count);
const reps = Number(flags.reps);
const topic = 'training-data';
const value = (caller, index) => JSON.stringify({ bucket: 'processed-data', object: `PobleSec/c${caller}/v${index}/train.csv`, size: 123456, config_hash: 'f'.repeat(64), identifier: '' });

/** Whether the log holds every message once, each caller's in its order. */
function intact(root, concurrency) {
  const lines = readFileSync(path.join(root, 'topics', `${topic}.log`), 'utf8').trim().split('\n').map((line) => JSON.parse(JSON.parse(line).value).object);
  if (lines.length !== count) return false;
  const next = new Array(concurrency).fill(0);
  return lines.every((object) => {
    const [, caller, index] = /c(\d+)\/v(\d+)/.exec(object).map(Number);
    return index === next[caller]++;
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const scratch = mkdtempSync(path.join(flags.dir, 'flts-bench-fs-bus-publish-'));
const rows = [];
try {
  for (const concurrency of flags.concurrency.split(',').map(Number)) {
    const times = builds.map(() => []);
    const ok = builds.map(() => true);
    for (let rep = 0; rep < reps; rep += 1) {
      for (const [index, build] of builds.entries()) {
        const root = mkdtempSync(path.join(scratch, 'bus-'));
        const bus = build.createFsBus({ root });
        const started = process.hrtime.bigint();
        await Promise.all(Array.from({ length: concurrency }, async (_, caller) => {
          for (let sent = caller; sent < count; sent += concurrency) await bus.publish(topic, { key: 'train-claim', value: value(caller, Math.floor(sent / concurrency)) });
        }));
        times[index].push(Number(process.hrtime.bigint() - started) / 1e6 / count);
        await bus.close();
        ok[index] &&= intact(root, concurrency);
        rmSync(root, { recursive: true, force: true });
      }
    }
    for (const [index, build] of builds.entries()) rows.push({ concurrency, build: build.label, msPerPublish: +median(times[index]).toFixed(3), maxMsPerPublish: +Math.max(...times[index]).toFixed(3), everyMessageInOrder: ok[index] });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (flags.json) console.log(JSON.stringify(rows, null, 2));
else console.table(rows);
