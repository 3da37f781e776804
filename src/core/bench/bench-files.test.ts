import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import { claimBenchDir, prepareBenchDir, writeBenchFiles } from './bench-files.js';
import type { BenchReport } from './bench-types.js';

/** Each runs once, just before the next mkdir or access: what another process does between two steps of one. */
const hooks = vi.hoisted(() => ({ beforeMkdir: undefined as undefined | ((dir: string) => Promise<void>), beforeAccess: undefined as undefined | (() => Promise<void>) }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const mkdir = async (...args: Parameters<typeof actual.mkdir>) => {
    const hook = hooks.beforeMkdir;
    hooks.beforeMkdir = undefined;
    await hook?.(String(args[0]));
    return actual.mkdir(...args);
  };
  const access = async (...args: Parameters<typeof actual.access>) => {
    const hook = hooks.beforeAccess;
    hooks.beforeAccess = undefined;
    await hook?.();
    return actual.access(...args);
  };
  return { ...actual, mkdir, access, default: { ...actual, mkdir, access } };
});

const mkdtemp = scratchFolders();

describe('core > bench > prepareBenchDir', () => {
  it('makes its directory when a run started beside it removes the shared bench-results/ as it fails', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-bench-dir-'));
    const shared = path.join(root, 'bench-results');
    // The first run made bench-results/ and its own directory; the second has looked and found bench-results/.
    const removeFirst = await prepareBenchDir(path.join(shared, 'first'));
    const second = path.join(shared, 'second');
    // Then the first run fails and removes what it made, empty, before the second creates its directory in it.
    // Before, the second ended FLTS_PATH_UNUSABLE (ENOENT), exit 2, for a directory anyone could make.
    hooks.beforeMkdir = async () => removeFirst();
    const removeSecond = await prepareBenchDir(second);
    expect(hooks.beforeMkdir).toBeUndefined();
    expect(existsSync(path.join(shared, 'first'))).toBe(false);
    expect(statSync(second).isDirectory()).toBe(true);
    // Made again by the second run, bench-results/ is removed with its directory as it fails in turn.
    await removeSecond();
    expect(existsSync(shared)).toBe(false);
  });

  it('makes its directory again when a run started in the same millisecond, sharing it, removes it as it fails', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-bench-dir-'));
    const shared = path.join(root, 'bench-results', '2026-12-07T04-14-50-123Z');
    const removeFirst = await prepareBenchDir(shared);
    // The first run fails between the second's creation of the directory (found there) and its check of it.
    hooks.beforeAccess = async () => removeFirst();
    const removeSecond = await prepareBenchDir(shared);
    expect(hooks.beforeAccess).toBeUndefined();
    expect(statSync(shared).isDirectory()).toBe(true);
    await removeSecond();
    expect(existsSync(path.join(root, 'bench-results'))).toBe(false);
  });
});

describe('core > bench > claimBenchDir', () => {
  it('gives a run whose directory another run holds the next free name, and removes only its own as it fails', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'flts-bench-claim-'));
    const parent = path.join(root, 'bench-results');
    const first = await claimBenchDir(parent, '2026-12-07T04-14-50-123Z');
    const second = await claimBenchDir(parent, '2026-12-07T04-14-50-123Z');
    expect([first.dir, second.dir]).toEqual([path.join(parent, '2026-12-07T04-14-50-123Z'), path.join(parent, '2026-12-07T04-14-50-123Z-2')]);
    await second.remove();
    expect(existsSync(second.dir)).toBe(false);
    expect(statSync(first.dir).isDirectory()).toBe(true);
    await first.remove();
    expect(existsSync(parent)).toBe(false);
  });
});

describe('core > bench > writeBenchFiles', () => {
  const report: BenchReport = {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    balancer: 'external',
    target: 'http://127.0.0.1:8000',
    modelName: 'flts',
    runId: null,
    modelType: null,
    payload: { source: 'PobleSec_test.csv', origin: 'named', why: '', rowsPerRequest: 16, distinctBodies: 10, meanBytes: 2000 },
    matrix: { protocols: ['http'], replicas: [], connections: [4], durationSec: 1, baselineDurationSec: 1, warmupSec: 0 },
    machine: { cpus: 2, cpuModel: 'x', memoryGiB: 4, node: 'v24', platform: 'linux', loadAverageStart: [0], loadAverageEnd: [0] },
    cells: [],
  };

  it('of two runs writing their reports into one directory at once, refuses one with FLTS_BENCH_REPORT_EXISTS and keeps the other\'s whole', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-bench-two-'));
    const runs = ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.001Z'].map((startedAt) => ({ ...report, startedAt }));
    // Both passed the check for an earlier report before their load; before, both wrote and the later one's files stood.
    const outcomes = await Promise.allSettled(runs.map((run) => writeBenchFiles(run, dir)));
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const kept = runs[outcomes.findIndex((outcome) => outcome.status === 'fulfilled')];
    const refused = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')!.reason;
    // Written in the same order, the first file decides: the refused run placed none.
    expect(refused).toMatchObject({ code: 'FLTS_BENCH_REPORT_EXISTS', details: { path: dir, files: [path.join(dir, 'bench.csv')] } });
    expect(JSON.parse(readFileSync(path.join(dir, 'bench.json'), 'utf8')).started_at).toBe(kept.startedAt);
    expect(readFileSync(path.join(dir, 'bench.md'), 'utf8')).toContain(kept.startedAt);
    expect(readdirSync(dir).sort()).toEqual(['bench.csv', 'bench.json', 'bench.md', 'bench.svg']);
    // A third, later, is refused as well; asked to replace (--force), it does.
    await expect(writeBenchFiles({ ...report, startedAt: '2026-01-02T00:00:00.000Z' }, dir)).rejects.toMatchObject({ code: 'FLTS_BENCH_REPORT_EXISTS' });
    await writeBenchFiles({ ...report, startedAt: '2026-01-02T00:00:00.000Z' }, dir, { replace: true });
    expect(JSON.parse(readFileSync(path.join(dir, 'bench.json'), 'utf8')).started_at).toBe('2026-01-02T00:00:00.000Z');
  });

  it('ends a stop while a report file, a named pipe, waits for its reader with FLTS_BENCH_ABORTED, naming the files written and not', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-bench-pipe-'));
    const pipe = path.join(dir, 'bench.md');
    await promisify(execFile)('mkfifo', [pipe]);
    const stop = new AbortController();
    // The stop comes once the write waits: before, it ended with the signal's bare AbortError (no code), or, with no one
    // listening, the minute was waited out.
    const written = writeBenchFiles(report, dir, { signal: stop.signal, onWaitingForReader: () => stop.abort() });
    await expect(written).rejects.toMatchObject({
      code: 'FLTS_BENCH_ABORTED',
      message: `Benchmark stopped while ${pipe}, a named pipe, waited for its reader, after all 0 cells were measured: it wrote ${path.join(dir, 'bench.csv')}; not ${pipe}, ${path.join(dir, 'bench.svg')}, ${path.join(dir, 'bench.json')}.`,
      details: { measured_cells: 0, waiting_for_reader: pipe, written: [path.join(dir, 'bench.csv')], not_written: [pipe, path.join(dir, 'bench.svg'), path.join(dir, 'bench.json')] },
    });
    expect(readFileSync(path.join(dir, 'bench.csv'), 'utf8')).toContain('phase');
    expect(lstatSync(pipe).isFIFO()).toBe(true);
    expect([existsSync(path.join(dir, 'bench.svg')), existsSync(path.join(dir, 'bench.json'))]).toEqual([false, false]);
  });
});
