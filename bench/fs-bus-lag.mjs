#!/usr/bin/env node
// What the embedded bus's lag() costs as its topic grows: the daemon's health port asks it on every /readyz and
// /metrics (one call per subscription for /metrics). For each size, a topic log of that many messages (records shaped
// as the bus writes them, ~250 bytes each) is written once, then every build given calls lag() `--reps` times on it,
// the builds alternating call by call on the same log so both see the same load; between calls one message is
// published, as a busy topic gets them. The table shows the median and the max ms per call, and checks that every
// build reports the same end offsets.
// `--base <dir>` is a second checkout with its own `npm run build` (e.g. main's), shown as "before".
// Usage: npm run build && node bench/fs-bus-lag.mjs [--sizes 1000,100000,1000000] [--reps 20] [--base /tmp/main-copy] [--json]
import { appendFileSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fsBusBuilds } from './fs-bus-builds.mjs';

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,100000,1000000' },
    reps: { type: 'string', default: '20' },
    base: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const builds = await fsBusBuilds(flags.base);
const reps = Number(flags.reps);
const topic = 'training-data';
const group = 'trainer-gru';

function record(index) {
  const value = JSON.stringify({ bucket: 'processed-data', object: `PobleSec/v${index}/train.csv`, size: 123456 + index, config_hash: 'f'.repeat(64), identifier: '' });
  return `${JSON.stringify({ key: 'train-claim', value, headers: { 'content-type': 'application/json' }, timestamp: 1_700_000_000_000 + index })}\n`;
}

/** A log of `size` messages, written in blocks; a committed offset half way. */
function writeTopic(root, size) {
  mkdirSync(path.join(root, 'topics'), { recursive: true });
  const fd = openSync(path.join(root, 'topics', `${topic}.log`), 'w');
  for (let start = 0; start < size; start += 10_000) {
    let block = '';
    for (let index = start; index < Math.min(size, start + 10_000); index += 1) block += record(index);
    writeSync(fd, block);
  }
  closeSync(fd);
  mkdirSync(path.join(root, 'groups', group), { recursive: true });
  appendFileSync(path.join(root, 'groups', group, `${topic}.offset`), `${Math.floor(size / 2)}\n`);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-fs-bus-lag-'));
const rows = [];
try {
  for (const size of flags.sizes.split(',').map(Number)) {
    const root = path.join(scratch, `bus-${size}`);
    writeTopic(root, size);
    // One bus per build, kept for the whole size as the daemon keeps its own; the first call of each is its first look.
    const buses = builds.map((build) => build.createFsBus({ root }));
    const times = builds.map(() => ({ first: 0, rest: [] }));
    const ends = builds.map(() => new Set());
    for (let rep = 0; rep <= reps; rep += 1) {
      for (const [index, bus] of buses.entries()) {
        const started = process.hrtime.bigint();
        const [partition] = await bus.lag(group, [topic]);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (rep === 0) times[index].first = ms;
        else times[index].rest.push(ms);
        ends[index].add(`${rep}:${partition.endOffset}:${partition.lag}`);
      }
      await buses[0].publish(topic, { key: 'train-claim', value: JSON.parse(record(size + rep)).value });
    }
    for (const bus of buses) await bus.close();
    const same = ends.every((set) => [...set].join() === [...ends[0]].join());
    for (const [index, build] of builds.entries()) {
      rows.push({ size, build: build.label, firstMs: +times[index].first.toFixed(2), medianMs: +median(times[index].rest).toFixed(3), maxMs: +Math.max(...times[index].rest).toFixed(3), sameResults: same });
    }
    rmSync(root, { recursive: true, force: true });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

if (flags.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log(`lag() on one topic, ${reps} calls per build after a first, one publish between calls (node ${process.version})`);
  console.log('| messages | build | first ms | median ms | max ms | same results |');
  console.log('|---:|---|---:|---:|---:|---|');
  for (const row of rows) console.log(`| ${row.size} | ${row.build} | ${row.firstMs} | ${row.medianMs} | ${row.maxMs} | ${row.sameResults} |`);
  const byBuild = (size, label) => rows.find((row) => row.size === size && row.build === label);
  if (flags.base) for (const size of new Set(rows.map((row) => row.size))) console.log(`${size} messages: before/after median ${(byBuild(size, 'before').medianMs / byBuild(size, 'after').medianMs).toFixed(1)}x`);
}
if (rows.some((row) => !row.sameResults)) process.exitCode = 1;
