import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import { buildRequestPayloads } from './request-payloads.js';

const mkdtemp = scratchFolders();

async function csvWithGaps(rows: number, emptyAt: readonly number[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-payloads-'));
  const lines = ['time,down,up'];
  for (let r = 0; r < rows; r++) {
    const time = `2024-01-01 ${String(Math.floor((r * 2) / 60)).padStart(2, '0')}:${String((r * 2) % 60).padStart(2, '0')}:00`;
    lines.push(`${time},${100 + r},${emptyAt.includes(r) ? '' : 5 + r}`);
  }
  const file = path.join(dir, 'data_test.csv');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

type Body = { data: Record<string, Array<string | number | null>> };

describe('core > bench > request payloads', () => {
  it('cuts bodies only from slices without an empty cell, which a server would refuse with 400', async () => {
    const file = await csvWithGaps(60, [10, 33]);
    for (const layout of ['spread', 'consecutive'] as const) {
      const payloads = await buildRequestPayloads(file, 8, 'flts', 64, layout);
      const bodies = payloads.bodies.map((body) => JSON.parse(body) as Body);
      expect(bodies.length).toBeGreaterThan(0);
      for (const body of bodies) expect(body.data.up.every((value) => typeof value === 'number')).toBe(true);
      for (const body of payloads.oipBodies.map((b) => JSON.parse(b) as { inputs: Array<{ data: unknown[] }> })) {
        for (const input of body.inputs) expect(input.data).not.toContain(null);
      }
    }
  });

  it('spreads bodies over the whole file when it has no gaps, first and last slice included', async () => {
    const file = await csvWithGaps(40, []);
    const payloads = await buildRequestPayloads(file, 8, 'flts', 4, 'spread');
    const firstDown = payloads.bodies.map((body) => (JSON.parse(body) as Body).data.down[0]);
    expect(firstDown).toEqual([100, 110, 121, 132]);
  });

  it('refuses a file with no complete slice, or too few rows, naming it and what to do', async () => {
    const file = await csvWithGaps(12, [3, 7]);
    await expect(buildRequestPayloads(file, 6, 'flts')).rejects.toMatchObject({ code: 'FLTS_DATA_EMPTY', message: expect.stringMatching(/no 6 consecutive rows without an empty cell/), hint: expect.stringContaining('--payload-rows') });
    // Before, "--payload-rows N needs at least that many" with the catalogue's hint of sampling and cleaning, which bench does not do.
    await expect(buildRequestPayloads(file, 1_000_000, 'flts')).rejects.toMatchObject({
      code: 'FLTS_DATA_EMPTY',
      message: `${file} has 12 rows, fewer than the 1000000 rows of one request body (--payload-rows).`,
      hint: expect.stringMatching(/^Ask for fewer rows per request \(--payload-rows/),
    });
  });

  it('refuses a payload file larger than the limit it is given (FLTS_DATA_MAX_INPUT_BYTES)', async () => {
    const file = await csvWithGaps(40, []);
    await expect(buildRequestPayloads(file, 8, 'flts', 4, 'spread', 100)).rejects.toMatchObject({ code: 'FLTS_DATA_TOO_LARGE' });
  });

  it('refuses rows per request whose body a server would refuse as too large (413), before cutting the others', async () => {
    const file = await csvWithGaps(40, []);
    const refused = buildRequestPayloads(file, 30, 'flts', 64, 'spread', undefined, { maxBodyBytes: 1024 });
    // Before, every body was cut and bench went on to a run of 413 answers; with long bodies it ran out of memory first.
    await expect(refused).rejects.toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'payload-rows', value: 30, body_limit_bytes: 1024 }, hint: expect.stringContaining('FLTS_SERVE_BODY_LIMIT_BYTES') });
    const { details } = (await refused.catch((error: unknown) => error)) as { details: { body_bytes: number; rows_that_fit: number } };
    expect(details.body_bytes).toBeGreaterThan(1024);
    // The rows that fit are said as about so many: bodies of that many rows do fit.
    const fitting = await buildRequestPayloads(file, details.rows_that_fit, 'flts', 64, 'spread', undefined, { maxBodyBytes: 1024 });
    expect(Math.max(...fitting.bodies.map((body) => Buffer.byteLength(body)))).toBeLessThanOrEqual(1024);
  });

  it('cuts fewer distinct bodies when they would take more than their budget together', async () => {
    const file = await csvWithGaps(40, []);
    const all = await buildRequestPayloads(file, 8, 'flts', 16, 'spread');
    const bytes = Math.max(...all.oipBodies.map((body) => Buffer.byteLength(body)));
    const budgeted = await buildRequestPayloads(file, 8, 'flts', 16, 'spread', undefined, { bytesBudget: 4 * bytes });
    expect([all.bodies.length, budgeted.bodies.length, budgeted.oipBodies.length, budgeted.grpcRequests.length]).toEqual([16, 4, 4, 4]);
    // Still spread over the whole file, first and last slice included.
    const firstDown = (payloads: typeof all) => payloads.bodies.map((body) => (JSON.parse(body) as Body).data.down[0]);
    expect(firstDown(budgeted)).toEqual([100, 110, 121, 132]);
    expect(firstDown(all)[0]).toBe(100);
  });
});
