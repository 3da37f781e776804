import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVING_HEAP_FLAG, servingExecArgv, servingHeapPlan } from '../../src/core/serve/serving-heap.js';
import { startFltsProcess } from '../helpers/flts-process.js';
import { BIN, REPO_ROOT } from '../helpers/run-cli.js';
import { startServe } from '../helpers/serve-process.js';

/** A node without process.execve (before 22.15), for the process started with it. */
const NO_EXECVE = path.join(REPO_ROOT, 'test/helpers/no-execve.mjs');

/** The fields of the log lines with this msg. */
const logLines = (logs: string, msg: string): Array<Record<string, unknown>> =>
  logs
    .split('\n')
    .filter((line) => line.startsWith('{') && line.endsWith('}'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((fields) => fields.msg === msg);

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

  // Before, the bound was skipped on such a node without a word: the replica's RSS under load went past 400 MB unsaid.
  it('says in a warning line that the young generation is not bounded on a node without process.execve', async () => {
    const serve = await startServe(['--home', home], { NODE_OPTIONS: '' }, { untilStarted: true, nodeArgs: ['--import', NO_EXECVE] });
    expect(await serve.stop('SIGTERM')).toBe(0);
    const [warning] = logLines(serve.errors(), 'serving_heap_unbounded');
    expect(warning).toMatchObject({ level: 40, service: 'inference-api', flag: SERVING_HEAP_FLAG, node_version: process.version });
    expect(warning.reason).toMatch(/process\.execve: Node 22\.15 or later.*NODE_OPTIONS=--max-semi-space-size=16/);
  }, 60_000);

  it('plans the relaunch, or says why the young generation stays unbounded', () => {
    const proc = { execArgv: [], nodeOptions: undefined, canReplaceItself: true, ipc: false, nodeVersion: 'v22.14.0' };
    expect(servingHeapPlan(proc)).toEqual({ kind: 'relaunch', execArgv: [SERVING_HEAP_FLAG] });
    expect(servingHeapPlan({ ...proc, nodeOptions: '--max-semi-space-size=8' })).toEqual({ kind: 'sized' });
    expect(servingHeapPlan({ ...proc, execArgv: [SERVING_HEAP_FLAG] })).toEqual({ kind: 'sized' });
    expect(servingHeapPlan({ ...proc, canReplaceItself: false })).toMatchObject({ kind: 'unbounded', reason: expect.stringMatching(/^node v22\.14\.0 cannot replace its process/) });
    expect(servingHeapPlan({ ...proc, ipc: true })).toMatchObject({ kind: 'unbounded', reason: expect.stringMatching(/IPC channel/) });
    // Sized by the operator (or by flts bench for its cluster workers): nothing to say, whatever node it is.
    expect(servingHeapPlan({ ...proc, canReplaceItself: false, ipc: true, nodeOptions: '--max-semi-space-size=8' })).toEqual({ kind: 'sized' });
  });

  it('adds the bound to node\'s arguments unless they or NODE_OPTIONS size the young generation', () => {
    expect(servingExecArgv(['--import', 'x.mjs'], undefined)).toEqual([SERVING_HEAP_FLAG, '--import', 'x.mjs']);
    expect(servingExecArgv([], '--max-old-space-size=512')).toEqual([SERVING_HEAP_FLAG]);
    expect(servingExecArgv(['--max-semi-space-size=64'], undefined)).toEqual(['--max-semi-space-size=64']);
    expect(servingExecArgv([], ' --enable-source-maps --max_semi_space_size=4')).toEqual([]);
    expect(servingExecArgv(['--semi-space-growth-factor=1'], '')).toEqual(['--semi-space-growth-factor=1']);
  });
});

describe('daemon > its serving role bounds the young generation as flts serve does', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'flts-daemon-young-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
  const env = (name: string, nodeOptions = ''): Record<string, string> => ({ FLTS_BUS: 'fs', FLTS_HOME: path.join(dir, name), FLTS_SERVE_PORT: '0', NODE_OPTIONS: nodeOptions });

  /** The daemon's command line once its health server listens, and how it ended on SIGTERM. */
  async function daemonRun(roles: string, environment: Record<string, string>): Promise<{ args: string[]; exitCode: number | null; logs: string }> {
    const daemon = startFltsProcess(['daemon', '--roles', roles, '--port', '0'], environment);
    try {
      await daemon.waitForOutput(/^Daemon listening on \S+/m);
      const args = commandLine(daemon.child.pid as number);
      return { args, exitCode: await daemon.stop('SIGTERM'), logs: daemon.logs() };
    } finally {
      await daemon.stop('SIGKILL');
    }
  }

  // Before, the daemon's serving role ran with V8's own sizing: its new space grew to 128 MiB under /predict load.
  it.runIf(process.platform === 'linux')('runs `flts daemon` with a serving role as the same process with the bound, and stops as before', async () => {
    const run = await daemonRun('promoter,serving', env('serving'));
    expect(run.args.slice(1, 3)).toEqual([SERVING_HEAP_FLAG, BIN]);
    expect(run.args.slice(3)).toEqual(['daemon', '--roles', 'promoter,serving', '--port', '0']);
    expect(run.exitCode).toBe(0);
    expect(logLines(run.logs, 'serving_heap_unbounded')).toEqual([]);
    // Said once: the settings' warnings and the listening line come after the relaunch, not before and after it.
    expect(logLines(run.logs, 'daemon_listening')).toHaveLength(1);
  }, 60_000);

  it.runIf(process.platform === 'linux')('leaves a daemon without the serving role, and an operator\'s own sizing, as node started them', async () => {
    const trainer = await daemonRun('promoter', env('promoter'));
    expect(trainer.args[1]).toBe(BIN);
    expect(trainer.exitCode).toBe(0);
    const sized = await daemonRun('serving', env('sized', '--max-semi-space-size=8'));
    expect(sized.args).not.toContain(SERVING_HEAP_FLAG);
    expect(sized.args[1]).toBe(BIN);
    expect(logLines(sized.logs, 'serving_heap_unbounded')).toEqual([]);
  }, 90_000);

  it('warns when its serving role cannot have the bound (a node without process.execve)', async () => {
    const run = await daemonRun('serving', env('no-execve', `--import=${NO_EXECVE}`));
    expect(run.exitCode).toBe(0);
    expect(logLines(run.logs, 'serving_heap_unbounded')).toEqual([expect.objectContaining({ level: 40, service: 'flts-daemon', flag: SERVING_HEAP_FLAG })]);
  }, 60_000);
});
