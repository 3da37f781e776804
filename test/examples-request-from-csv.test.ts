import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/run-cli.js';

const run = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'examples/request-from-csv.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'flts-request-from-csv-'));

describe('examples > request-from-csv.mjs', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sends an empty cell as null, not as a 0 the file does not hold', async () => {
    const file = path.join(dir, 'rows.csv');
    writeFileSync(file, 'time,down,up\n2024-01-08 04:14:00,41378272.0,800064.0\n2024-01-08 04:16:00,41378273.0,\n');
    const { stdout } = await run(process.execPath, [SCRIPT, file, '2']);
    expect(JSON.parse(stdout)).toEqual({ index_col: 'time', data: { time: ['2024-01-08 04:14:00', '2024-01-08 04:16:00'], down: [41378272, 41378273], up: [800064, null] } });
  });

  it('says how to call it when no file is given', async () => {
    const failed = await run(process.execPath, [SCRIPT]).then(() => undefined, (error: { code: number; stderr: string }) => error);
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toBe('usage: node examples/request-from-csv.mjs <file.csv> [rows, default 12]\n');
  });

  it('refuses a row count that is not a whole number of at least 1, and a file it cannot read, in one line each', async () => {
    // Before: '0' or 'x' sent every line, the header as a data row among them, and a missing file printed a stack.
    const file = path.join(dir, 'two.csv');
    writeFileSync(file, 'time,down\n2024-01-08 04:14:00,1\n2024-01-08 04:16:00,2\n');
    for (const rows of ['0', 'x', '-3', '1.5']) {
      const failed = await run(process.execPath, [SCRIPT, file, rows]).then(() => undefined, (error: { code: number; stderr: string }) => error);
      expect(failed?.code).toBe(2);
      expect(failed?.stderr).toContain(`rows must be a whole number of at least 1, not "${rows}"`);
    }
    const missing = await run(process.execPath, [SCRIPT, path.join(dir, 'absent.csv')]).then(() => undefined, (error: { code: number; stderr: string }) => error);
    expect(missing?.code).toBe(2);
    expect(missing?.stderr).toBe(`cannot read ${path.join(dir, 'absent.csv')}: ENOENT\n`);
    const { stdout } = await run(process.execPath, [SCRIPT, file, '5']);
    expect(JSON.parse(stdout).data).toEqual({ time: ['2024-01-08 04:14:00', '2024-01-08 04:16:00'], down: [1, 2] });
  });
});
