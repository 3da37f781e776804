import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeFrameParquet, encodeFrameParquet } from './frame-parquet.js';

const COLUMNS = 1500;
const wide = {
  time: Float64Array.from({ length: 4 }, (_, row) => Date.UTC(2024, 0, 1) + row * 120_000),
  columns: Array.from({ length: COLUMNS }, (_, c) => `c${c}`),
  values: Object.fromEntries(Array.from({ length: COLUMNS }, (_, c) => [`c${c}`, Float64Array.from({ length: 4 }, (_, row) => (c % 10 === 1 && row === 2 ? Number.NaN : (row * 31 + c) / 8))])),
};

const scratchDirs: string[] = [];
function scratchTmpdir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-frame-parquet-test-'));
  scratchDirs.push(dir);
  return dir;
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('core > data > frame-parquet', () => {
  it('writes a wide table without handing JavaScript a chunk per footer field, and leaves no scratch file behind', () => {
    const tmp = scratchTmpdir();
    const writes = vi.spyOn(Writable.prototype, 'write');
    const bytes = encodeFrameParquet(wide, { config_hash: 'abc' }, tmp);
    // Written to memory, the same table comes to JavaScript as ~140 writes per column.
    expect(writes.mock.calls.length).toBeLessThan(COLUMNS);
    expect(readdirSync(tmp)).toEqual([]);
    const decoded = decodeFrameParquet(bytes, 'wide');
    expect(decoded.columns).toEqual(wide.columns);
    expect(Array.from(decoded.values.c11)).toEqual(Array.from(wide.values.c11));
  });

  // Before, the writer took its directory from TMPDIR itself, which no caller could set but through the environment.
  it('makes its scratch directory where the caller says, whatever TMPDIR says', () => {
    const tmp = scratchTmpdir();
    const notADirectory = path.join(scratchTmpdir(), 'file');
    writeFileSync(notADirectory, '');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = notADirectory;
    try {
      const writes = vi.spyOn(Writable.prototype, 'write');
      encodeFrameParquet(wide, { config_hash: 'abc' }, tmp);
      expect(writes.mock.calls.length).toBeLessThan(COLUMNS);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('writes the same bytes through a scratch file as polars writes to memory, without a scratch directory or where none can be made', () => {
    const metadata = { config_hash: 'abc', preprocess_config: '{"a":1}' };
    const inMemory = encodeFrameParquet(wide, metadata);
    // A scratch directory that is a file: no private directory can be made there, and the table is written to memory.
    const notADirectory = path.join(scratchTmpdir(), 'file');
    writeFileSync(notADirectory, '');
    expect(encodeFrameParquet(wide, metadata, notADirectory).equals(inMemory)).toBe(true);
    expect(encodeFrameParquet(wide, metadata, scratchTmpdir()).equals(inMemory)).toBe(true);
    expect(Array.from(decodeFrameParquet(inMemory, 'wide').values.c1)).toEqual(Array.from(wide.values.c1));
  });
});
