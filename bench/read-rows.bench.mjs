#!/usr/bin/env node
// Memory of reading a tall CSV, per row: what data.maxInputRows (FLTS_DATA_MAX_INPUT_ROWS) bounds. For each shape
// and row count a file is written to a temporary directory and read by readTable of the build given, in a child
// process of its own, which prints its peak RSS; the table lists it with the file's size and the bytes of memory per
// row. Shapes: `series` (a time and one value, the shortest real row), `poblesec` (the 12 columns of the reference
// data, times 2 min apart), `empty` (",\n": rows of empty cells) and `blank` (blank lines under a header).
// The files are read with no bound on rows, or with the bound given last (`default`: the build's own default), to
// show what a refused file costs.
// Usage: npm run build && node bench/read-rows.bench.mjs [counts, e.g. 1e6,5e6,1e7] [shapes, e.g. series,empty,blank] [build root] [row bound | default]
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const counts = (process.argv[2] ?? '1e6,5e6,1e7').split(',').map(Number);
const shapes = (process.argv[3] ?? 'series,empty,blank').split(',');
const build = path.resolve(process.argv[4] ?? root);
const bound = process.argv[5] ?? 'none';
const limits = bound === 'default' ? {} : { maxRows: bound === 'none' ? Number.MAX_SAFE_INTEGER : Number(bound) };

const t0 = Date.UTC(2018, 1, 5, 23, 40);
const stamp = (row) => new Date(t0 + row * 120_000).toISOString().slice(0, 19).replace('T', ' ');
const SHAPES = {
  series: { header: 'time,v', row: (i) => `${stamp(i)},${(i % 997) / 8}` },
  poblesec: {
    header: 'time,down,up,rnti_count,mcs_down,mcs_down_var,mcs_up,mcs_up_var,rb_down,rb_down_var,rb_up,rb_up_var',
    row: (i) => `${stamp(i)},109934672.0,1166592.0,${6490 + (i % 97)},15.223577306301943,88.73297459175963,16.210585585585584,59.66238738738738,0.019055593220338982,4.5624052728606196e-08,0.0003738135593220339,2.1758305084745762e-08`,
  },
  empty: { header: 'time,v', row: () => ',' },
  blank: { header: 'time,v', row: () => '' },
};

async function writeFile(file, shape, rows) {
  const out = createWriteStream(file);
  const write = (text) => (out.write(text) ? undefined : new Promise((resolve) => out.once('drain', resolve)));
  await write(`${shape.header}\n`);
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    chunk += `${shape.row(i)}\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())));
}

// The child reads the file as preprocess does and prints its peak RSS (KiB on Linux).
const child = `
const { readTable } = await import(${JSON.stringify(path.join(build, 'dist/core/data/read-table.js'))});
let outcome;
try {
  const read = await readTable(process.argv[1], 2 ** 31 - 1, ${JSON.stringify(limits)});
  outcome = 'read ' + read.frame.time.length + ' rows';
} catch (error) {
  outcome = error.code ?? error.message;
}
console.log(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, outcome }));
`;

const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-read-rows-'));
const cpus = os.cpus();
console.log(`machine: ${os.platform()} ${cpus[0]?.model ?? '?'} x${cpus.length}, node ${process.version}, build ${build}, row bound ${bound}`);
console.log('| shape | rows | file MB | peak RSS MB | RSS bytes/row | outcome |');
console.log('|---|---:|---:|---:|---:|---|');
try {
  for (const name of shapes) {
    for (const rows of counts) {
      const file = path.join(dir, `${name}-${rows}.csv`);
      await writeFile(file, SHAPES[name], rows);
      const { size } = await stat(file);
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', child, file], { maxBuffer: 1 << 20 });
      const { maxRssKiB, outcome } = JSON.parse(stdout.trim().split('\n').at(-1));
      const rss = maxRssKiB * 1024;
      console.log(`| ${name} | ${rows} | ${(size / 1e6).toFixed(0)} | ${(rss / 1e6).toFixed(0)} | ${(rss / rows).toFixed(0)} | ${outcome} |`);
      await rm(file);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
