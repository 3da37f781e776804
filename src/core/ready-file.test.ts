import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from './logger.js';
import { currentPidNamespace, processStartOf } from './proc-stat.js';
import { writeReadyFile, type ReadyFileWriter } from './ready-file.js';

/** /proc/<pid>/stat paths read as a /proc mounted with hidepid hides them: a process of another user. */
const hiddenStats = vi.hoisted(() => new Set<string>());
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((file: Parameters<typeof fs.readFileSync>[0], ...rest: unknown[]) => {
    if (typeof file === 'string' && hiddenStats.has(file)) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
    return (fs.readFileSync as (...args: unknown[]) => unknown)(file, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

let dir: string;
/** The pid of a process that has ended. */
let endedPid: number;
beforeAll(async () => {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  endedPid = child.pid!;
});
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flts-ready-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function warnings(): { logger: Logger; seen: string[] } {
  const seen: string[] = [];
  const logger = { info: () => {}, warn: (_fields: object, msg: string) => void seen.push(msg), error: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;
  return { logger, seen };
}

/** The writer fields of process `pid` as a ready file records them. */
function writerFields(pid: number, token: string): ReadyFileWriter {
  const started = processStartOf(pid);
  const namespace = currentPidNamespace();
  return { pid, ...(started ? { process_start: started } : {}), ...(namespace ? { pid_namespace: namespace } : {}), token };
}

function thisProcess(): Omit<ReadyFileWriter, 'token'> {
  const { token: _token, ...fields } = writerFields(process.pid, '');
  return fields;
}

const SERVE = { command: 'serve' as const, url: 'http://0.0.0.0:8000', health_url: 'http://0.0.0.0:8000/healthz' };
const OTHER = { command: 'daemon' as const, url: 'http://0.0.0.0:9100', health_url: 'http://0.0.0.0:9100/healthz' };

describe('core > ready-file', () => {
  it('writes where the server listens, leaves no temporary file beside it, and removes it', () => {
    const file = path.join(dir, 'ready.json');
    const { logger, seen } = warnings();
    const ready = writeReadyFile(file, { command: 'serve', url: 'http://0.0.0.0:8000', health_url: 'http://0.0.0.0:8000/healthz' }, logger);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ command: 'serve', url: 'http://0.0.0.0:8000', health_url: 'http://0.0.0.0:8000/healthz', ...thisProcess(), token: expect.any(String) });
    expect(readdirSync(dir)).toEqual(['ready.json']);
    ready.remove();
    expect(existsSync(file)).toBe(false);
    expect(seen).toEqual([]);
  });

  it('serves on without a file it cannot write, saying so once', () => {
    const { logger, seen } = warnings();
    const ready = writeReadyFile(path.join(dir, 'missing-folder', 'ready.json'), { command: 'daemon', url: 'http://127.0.0.1:9100', health_url: 'http://127.0.0.1:9100/healthz' }, logger);
    ready.remove();
    expect(seen).toEqual(['ready_file_unwritable']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes only the file it wrote: one another process has written since stays', () => {
    const file = path.join(dir, 'ready.json');
    const { logger, seen } = warnings();
    const ready = writeReadyFile(file, SERVE, logger);
    const other = `${JSON.stringify({ ...OTHER, ...writerFields(process.ppid, 'other') })}\n`;
    writeFileSync(file, other);
    ready.remove();
    expect(readFileSync(file, 'utf8')).toBe(other);
    expect(seen).toEqual([]);
  });

  it.each([
    ['a config file', '{\n  "serve": { "port": 8000 }\n}\n'],
    ['a CSV', 'timestamp,value\n2024-01-01T00:00:00Z,1.5\n'],
    ['an empty file', ''],
    ['a cut-off ready file', '{"command":"serve","url":"http://0.0.0.0:8000"'],
    ['JSON null', 'null'],
    ['a JSON array', '[1]'],
    ['a JSON object of other fields', '{"command":"serve"}\n'],
    ['bytes that are no text', '\u0000\u0001garbage'],
  ])('leaves %s at the path byte for byte, writing no file of its own and saying why', (_case, contents) => {
    const file = path.join(dir, 'ready.json');
    writeFileSync(file, contents);
    const { logger, seen } = warnings();
    const ready = writeReadyFile(file, SERVE, logger);
    expect(readFileSync(file, 'utf8')).toBe(contents);
    ready.remove();
    expect(readFileSync(file, 'utf8')).toBe(contents);
    expect(seen).toEqual(['ready_file_foreign']);
    expect(readdirSync(dir)).toEqual(['ready.json']);
  });

  it('leaves a symlink, a FIFO and a directory at the path as they were, and names what it found', async () => {
    const target = path.join(dir, 'precious.txt');
    writeFileSync(target, 'not for flts');
    const link = path.join(dir, 'link.json');
    symlinkSync(target, link);
    const fifo = path.join(dir, 'fifo.json');
    await promisify(execFile)('mkfifo', [fifo]);
    const folder = path.join(dir, 'folder.json');
    mkdirSync(folder);
    const reasons: unknown[] = [];
    const logger = { warn: (fields: { reason?: string }, msg: string) => void reasons.push([msg, fields.reason]) } as unknown as Logger;
    for (const file of [link, fifo, folder]) writeReadyFile(file, SERVE, logger).remove();
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(lstatSync(folder).isDirectory()).toBe(true);
    expect(readdirSync(folder)).toEqual([]);
    expect(readFileSync(target, 'utf8')).toBe('not for flts');
    expect(readdirSync(dir).sort()).toEqual(['fifo.json', 'folder.json', 'link.json', 'precious.txt']);
    expect(reasons).toEqual([
      ['ready_file_foreign', 'a symbolic link'],
      ['ready_file_foreign', expect.stringContaining('not a regular file')],
      ['ready_file_foreign', expect.stringContaining('not a regular file')],
    ]);
  });

  it('leaves the file of a live process alone, saying so, and its removal leaves it too', () => {
    const file = path.join(dir, 'ready.json');
    const live = `${JSON.stringify({ ...OTHER, ...writerFields(process.ppid, 'live') })}\n`;
    writeFileSync(file, live);
    const { logger, seen } = warnings();
    const ready = writeReadyFile(file, SERVE, logger);
    expect(readFileSync(file, 'utf8')).toBe(live);
    expect(seen).toEqual(['ready_file_taken']);
    ready.remove();
    expect(readFileSync(file, 'utf8')).toBe(live);
    expect(readdirSync(dir)).toEqual(['ready.json']);
  });

  it('leaves the file of a live process whose /proc entry it cannot read (hidepid) alone', () => {
    const file = path.join(dir, 'ready.json');
    const live = `${JSON.stringify({ ...OTHER, ...writerFields(process.ppid, 'hidden') })}\n`;
    writeFileSync(file, live);
    hiddenStats.add(`/proc/${process.ppid}/stat`);
    try {
      const { logger, seen } = warnings();
      // Before, a start time it could not read counted as another one's: the live holder's file was replaced.
      writeReadyFile(file, SERVE, logger).remove();
      expect(readFileSync(file, 'utf8')).toBe(live);
      expect(seen).toEqual(['ready_file_taken']);
    } finally {
      hiddenStats.clear();
    }
  });

  it.each([
    ['an ended process', () => writerFields(endedPid, 'ended')],
    ['an earlier process of its pid (pid 1 of a container restarted after a SIGKILL)', () => ({ ...writerFields(process.pid, 'earlier'), process_start: 'an-earlier-boot:1' })],
    ['an earlier process of a live pid', () => ({ ...writerFields(process.ppid, 'reused'), process_start: 'an-earlier-boot:1' })],
    ['another pid namespace (an earlier run of the container)', () => ({ ...writerFields(process.ppid, 'elsewhere'), pid_namespace: '1' })],
    ['an older flts, which recorded no writer', () => ({})],
  ])('replaces the file left by %s', (_case, holder) => {
    const file = path.join(dir, 'ready.json');
    writeFileSync(file, `${JSON.stringify({ ...OTHER, ...holder() })}\n`);
    const { logger, seen } = warnings();
    const ready = writeReadyFile(file, SERVE, logger);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ ...SERVE, ...thisProcess() });
    expect(readdirSync(dir)).toEqual(['ready.json']);
    ready.remove();
    expect(existsSync(file)).toBe(false);
    expect(seen).toEqual([]);
  });
});
