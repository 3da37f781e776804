import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVING_HEAP_FLAG, servingExecArgv } from '../../src/core/serve/serving-heap.js';
import { BIN } from '../helpers/run-cli.js';
import { startServe } from '../helpers/serve-process.js';

/** The arguments the process runs with now, as the kernel has them (after any exec). */
const commandLine = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

describe('serve > a replica bounds its young generation', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(path.join(tmpdir(), 'flts-serve-young-'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  // Before, node sized the new space by the machine: 128 MiB under /predict load on a large host, and a replica's
  // RSS went past the 400 MB bound (bench/results-serving.md).
  it.runIf(process.platform === 'linux')('`flts serve` runs as the same process with the bound, and stops as before', async () => {
    const serve = await startServe(['--home', home], { NODE_OPTIONS: '' }, { untilStarted: true });
    const args = commandLine(serve.pid);
    expect(await serve.stop('SIGTERM')).toBe(0);
    expect(args.slice(1, 3)).toEqual([SERVING_HEAP_FLAG, BIN]);
    expect(args.slice(3)).toEqual(['serve', '--port', '0', '--home', home]);
    expect(serve.output()).toMatch(/No run is promoted yet[\s\S]*Stopped/);
  }, 60_000);

  it.runIf(process.platform === 'linux')('keeps a young generation the operator sized in NODE_OPTIONS', async () => {
    const serve = await startServe(['--home', home], { NODE_OPTIONS: '--max-semi-space-size=8' }, { untilStarted: true });
    const args = commandLine(serve.pid);
    expect(await serve.stop('SIGTERM')).toBe(0);
    expect(args).not.toContain(SERVING_HEAP_FLAG);
    expect(args[1]).toBe(BIN);
  }, 60_000);

  it('adds the bound to node\'s arguments unless they or NODE_OPTIONS size the young generation', () => {
    expect(servingExecArgv(['--import', 'x.mjs'], undefined)).toEqual([SERVING_HEAP_FLAG, '--import', 'x.mjs']);
    expect(servingExecArgv([], '--max-old-space-size=512')).toEqual([SERVING_HEAP_FLAG]);
    expect(servingExecArgv(['--max-semi-space-size=64'], undefined)).toEqual(['--max-semi-space-size=64']);
    expect(servingExecArgv([], ' --enable-source-maps --max_semi_space_size=4')).toEqual([]);
    expect(servingExecArgv(['--semi-space-growth-factor=1'], '')).toEqual(['--semi-space-growth-factor=1']);
  });
});
