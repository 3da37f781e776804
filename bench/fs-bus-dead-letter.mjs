#!/usr/bin/env node
// What the embedded bus's look for a dead letter written before a kill costs as its DLQ grows. Case "killed": a
// group's message was dead-lettered by a process killed before it committed it, and other groups then wrote `size` MiB
// of letters to the same DLQ. Case "absent": the DLQ holds `size` MiB of other groups' letters only, as when nothing
// was killed (the look walks all of it). A fresh bus resumes the group: its handler fails for good, the bus looks
// through the DLQ for the letter, writes it when it is not there, and commits the message. The table shows the median
// ms from subscribe to that commit, and how many letters of the group the DLQ holds after it (killed: 1 = found, 2 =
// written again; absent: 1).
// `--base <dir>` is a second checkout with its own `npm run build` (e.g. main's), shown as "before".
// Usage: npm run build && node bench/fs-bus-dead-letter.mjs [--sizes 1,16,256] [--reps 5] [--base /tmp/main-copy] [--json]
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fsBusBuilds } from './fs-bus-builds.mjs';

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,16,256' },
    reps: { type: 'string', default: '5' },
    base: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const builds = await fsBusBuilds(flags.base);
const reps = Number(flags.reps);
const group = 'train-gru';
const id = `training-data/0/0/${group}`;
const dlq = 'DLQ-model-training';

const line = (record) => `${JSON.stringify(record)}\n`;
/**
 * A root as the kill leaves it: the message uncommitted (its offset file written before the letter), the letter
 * (killed only), then `mib` MiB of other groups' letters.
 */
function killedRoot(dir, mib, killed) {
  mkdirSync(path.join(dir, 'topics'), { recursive: true });
  mkdirSync(path.join(dir, 'groups', group), { recursive: true });
  writeFileSync(path.join(dir, 'topics', 'training-data.log'), line({ key: 'train-claim', value: '{"bucket": "processed-data"}', timestamp: Date.now() }));
  writeFileSync(path.join(dir, 'groups', group, 'training-data.offset'), '0\n');
  const since = statSync(path.join(dir, 'groups', group, 'training-data.offset')).mtimeMs;
  const log = path.join(dir, 'topics', `${dlq}.log`);
  writeFileSync(log, killed ? line({ key: null, value: '{}', headers: { 'flts-dead-letter-id': id }, timestamp: Math.ceil(since) + 1 }) : '');
  const pad = 'x'.repeat(1_000);
  const block = Array.from({ length: 1024 }, (_, index) => line({ key: null, value: JSON.stringify({ pad }), headers: { 'flts-dead-letter-id': `training-data/0/${index}/train-lstm` }, timestamp: Date.now() })).join('');
  for (let written = 0; written < mib; written += 1) appendFileSync(log, block);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-fs-bus-dead-letter-'));
const rows = [];
try {
  for (const mib of flags.sizes.split(',').map(Number)) for (const killed of [true, false]) {
    const dir = path.join(scratch, `bus-${mib}`);
    const times = builds.map(() => []);
    const copies = builds.map(() => new Set());
    for (let rep = 0; rep < reps; rep += 1) {
      for (const [index, build] of builds.entries()) {
        rmSync(dir, { recursive: true, force: true });
        killedRoot(dir, mib, killed);
        const bus = build.createFsBus({ root: dir, pollIntervalMs: 5, retry: { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 } });
        const started = process.hrtime.bigint();
        let committed;
        const done = new Promise((resolve) => (committed = resolve));
        await bus.subscribe({ group, topics: ['training-data'], dlq: { topic: dlq, role: 'trainer' } }, async () => {
          setImmediate(async function poll() {
            if ((await bus.lag(group, ['training-data']))[0].committedOffset === 1) committed();
            else setTimeout(poll, 1);
          });
          throw new Error('fails for good');
        });
        await done;
        times[index].push(Number(process.hrtime.bigint() - started) / 1e6);
        await bus.close();
        copies[index].add(readFileSync(path.join(dir, 'topics', `${dlq}.log`), 'utf8').split('\n').filter((text) => text.includes(`"${id}"`)).length);
      }
    }
    for (const [index, build] of builds.entries()) rows.push({ dlqMiB: mib, letter: killed ? 'killed' : 'absent', build: build.label, medianMs: +median(times[index]).toFixed(1), maxMs: +Math.max(...times[index]).toFixed(1), lettersOfTheGroup: [...copies[index]].join('/') });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (flags.json) console.log(JSON.stringify(rows, null, 2));
else console.table(rows);
