import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileWhole } from './write-file-whole.js';

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
});
