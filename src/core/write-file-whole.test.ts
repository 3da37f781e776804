import { execFile, spawn } from 'node:child_process';
import { constants, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toFltsError } from './errors.js';
import { replaceFile, writeFileWhole } from './write-file-whole.js';

const SIZE = 64 * 1024 * 1024;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flts-write-whole-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('core > writeFileWhole', () => {
  it('a writer killed as soon as it touches the directory leaves the previous file, never part of the new one', async () => {
    const target = path.join(dir, 'forecasts.csv');
    writeFileSync(target, 'previous\n');
    const built = pathToFileURL(path.resolve(__dirname, '../../dist/core/write-file-whole.js')).href;
    const script = `import { writeFileWhole } from ${JSON.stringify(built)}; await writeFileWhole(process.argv[1], Buffer.alloc(${SIZE}, 120));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, target], { stdio: 'ignore' });
    const watcher = watch(dir, () => child.kill('SIGKILL'));
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    watcher.close();
    expect(exit).toBe('SIGKILL');
    const left = readFileSync(target);
    expect(left.length === SIZE || left.toString() === 'previous\n').toBe(true);
  });

  it('replaces the file and leaves no temporary file behind', async () => {
    const target = path.join(dir, 'out.parquet');
    await writeFileWhole(target, 'one');
    await writeFileWhole(target, 'two');
    expect(readFileSync(target, 'utf8')).toBe('two');
    await expect(writeFileWhole(path.join(dir, 'missing', 'x.csv'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readFileSync(target, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['out.parquet']);
  });

  it('through a symbolic link replaces the file it names and keeps the link, also when that file does not exist yet', async () => {
    const model = path.join(dir, 'model-v2.onnx');
    writeFileSync(model, 'old');
    const link = path.join(dir, 'current.onnx');
    symlinkSync('model-v2.onnx', link);
    await writeFileWhole(link, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(model, 'utf8')).toBe('new');

    const dangling = path.join(dir, 'next.onnx');
    symlinkSync(path.join(dir, 'made-by-the-write.onnx'), dangling);
    await writeFileWhole(dangling, 'first');
    expect(readlinkSync(dangling)).toBe(path.join(dir, 'made-by-the-write.onnx'));
    expect(readFileSync(path.join(dir, 'made-by-the-write.onnx'), 'utf8')).toBe('first');
  });

  it('writes into a pipe named as the output (as /dev/stdout is) instead of putting a regular file in its place', async () => {
    const fifo = path.join(dir, 'pipe');
    await promisify(execFile)('mkfifo', [fifo]);
    // Opened without waiting for a writer, so nothing blocks whichever way the write goes.
    const reader = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await writeFileWhole(fifo, 'forecast bytes');
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      const buffer = Buffer.alloc(64);
      const { bytesRead } = await reader.read(buffer, 0, buffer.length).catch(() => ({ bytesRead: 0 }));
      expect(buffer.subarray(0, bytesRead).toString()).toBe('forecast bytes');
    } finally {
      await reader.close();
    }
    expect(readdirSync(dir)).toEqual(['pipe']);
  });

  it('refuses a pipe that no process comes to read within its wait, where the open waited for a reader for good', async () => {
    // Before, `flts predict --out <fifo>` with no reader hung in open(), and SIGTERM did not end it: the exit waited
    // for the thread-pool thread stuck in that open.
    const fifo = path.join(dir, 'pipe');
    await promisify(execFile)('mkfifo', [fifo]);
    const told: [string, number][] = [];
    const error = toFltsError(await writeFileWhole(fifo, 'forecast bytes', { pipeReaderWaitMs: 200, onWaitingForReader: (file, waitMs) => told.push([file, waitMs]) }).then(() => undefined, (failure: unknown) => failure));
    expect(error).toMatchObject({ code: 'FLTS_PATH_UNUSABLE', details: { path: fifo, errno: 'ENXIO' } });
    expect(error.message).toBe(`Cannot open ${fifo}: a pipe or socket that no process reads (ENXIO).`);
    // Once, naming the file and the wait, which a command says to its user.
    expect(told).toEqual([[fifo, 200]]);
  });

  it('ends the wait for a pipe\'s reader when its signal aborts, with the signal\'s reason, nothing written', async () => {
    const fifo = path.join(dir, 'pipe');
    await promisify(execFile)('mkfifo', [fifo]);
    const stop = new AbortController();
    const reason = new Error('stopped by SIGINT');
    // Aborted as the wait begins: the wait's minute is not waited out.
    const failure = await writeFileWhole(fifo, 'forecast bytes', { onWaitingForReader: () => stop.abort(reason), signal: stop.signal }).then(() => undefined, (error: unknown) => error);
    expect(failure).toBe(reason);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('waits for a reader of a pipe that comes after the write began (flts predict --out p & cat p)', async () => {
    const fifo = path.join(dir, 'pipe');
    await promisify(execFile)('mkfifo', [fifo]);
    let reader: Socket | undefined;
    const chunks: Buffer[] = [];
    let read: Promise<void> = Promise.resolve();
    // The reader opens only once the write has found none and waits for one.
    await writeFileWhole(fifo, 'forecast bytes', {
      onWaitingForReader: () => {
        reader = new Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
        read = new Promise<void>((resolve) => reader!.on('data', (chunk: Buffer) => chunks.push(chunk)).on('close', () => resolve()));
      },
    });
    await read;
    expect(reader).toBeDefined();
    expect(Buffer.concat(chunks).toString()).toBe('forecast bytes');
  });

  it('writes more than a pipe holds at its reader\'s pace, and names a reader that left before the end', async () => {
    const fifo = path.join(dir, 'pipe');
    await promisify(execFile)('mkfifo', [fifo]);
    // Far more than a pipe's buffer (64 KiB), so the writer must wait for room: a non-blocking write would fail (EAGAIN).
    const body = Buffer.alloc(8 * 1024 * 1024, 120);
    const reader = new Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    const chunks: Buffer[] = [];
    // Closed, not only ended: a reader still open would drain the next write too.
    const read = new Promise<void>((resolve) => reader.on('data', (chunk: Buffer) => chunks.push(chunk)).on('close', () => resolve()));
    await writeFileWhole(fifo, body);
    await read;
    expect(Buffer.concat(chunks).equals(body)).toBe(true);

    // A reader that closes after its first chunk: the write fails, coded, where it was FLTS_INTERNAL (EPIPE).
    const leaving = new Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    leaving.once('data', () => leaving.destroy());
    const error = toFltsError(await writeFileWhole(fifo, body).then(() => undefined, (failure: unknown) => failure));
    expect(error).toMatchObject({ code: 'FLTS_PATH_UNUSABLE', details: { path: fifo, errno: 'EPIPE' } });
  });

  it('names the file in a failure Node reports without a path (a full disk fails the write on a descriptor)', async () => {
    const target = path.join(dir, 'model.onnx');
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const failure = await replaceFile(target, () => Promise.reject(full)).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ENOSPC', path: target });
    expect(toFltsError(failure)).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', details: { path: target } });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an empty output name with FLTS_PATH_UNUSABLE before touching the disk', async () => {
    await expect(writeFileWhole('', 'x')).rejects.toMatchObject({ code: 'FLTS_PATH_UNUSABLE', message: expect.stringContaining('needs a name') });
  });
});
