import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatchInference } from '../../src/core/batch/run-batch-inference.js';
import type { FltsError } from '../../src/core/errors.js';
import { createTrainedHome, DATASETS, type TrainedHome } from '../helpers/poblesec-slice.js';

/** The first `rows` rows of the raw test file, with `down` set to `value` from row `from` on. */
function rawRowsWithDown(rows: number, from: number, value: string): string {
  const [header, ...lines] = readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').split('\n');
  const down = header.split(',').indexOf('down');
  const body = lines.slice(0, rows).map((line, row) => (row < from ? line : line.split(',').map((cell, c) => (c === down ? value : cell)).join(',')));
  return `${[header, ...body].join('\n')}\n`;
}

describe('batch > degenerate input data', () => {
  let trained: TrainedHome;

  beforeAll(async () => {
    trained = await createTrainedHome('flts-batch-degenerate-', ['NAIVE']);
  }, 60_000);
  afterAll(() => trained?.remove());

  it('refuses, coded and before anything is logged, data whose values overflow the model instead of a SUCCESS scored on the rows left', async () => {
    const { home, store, settings } = trained;
    // 1e300 bytes is finite in the file and beyond float32 once scaled: persistence forecasts Infinity.
    const data = path.join(home, 'enormous.csv');
    writeFileSync(data, rawRowsWithDown(30, 20, '1e300'));
    const refused = await runBatchInference(settings, { store }, { data, outFile: path.join(home, 'out.csv') }).catch((error: FltsError) => error);
    expect(refused).toMatchObject({ code: 'FLTS_FORECAST_NOT_FINITE', kind: 'input', details: { target: 'down' } });
    expect((refused as FltsError).message).toMatch(/window ending 2018-02-28T/);
    expect(await store.list(settings.store.buckets.inferenceLogs).catch(() => [])).toEqual([]);

    // The same rows with values the model computes are forecast, every cell a number.
    const plain = path.join(home, 'plain.csv');
    writeFileSync(plain, rawRowsWithDown(30, 30, ''));
    const result = await runBatchInference(settings, { store }, { data: plain });
    expect(result.status).toBe('written');
    expect(result.metrics.rmse).toBeGreaterThan(0);
  }, 60_000);

  it('refuses a file of one row in one line that counts it as one', async () => {
    const { home, store, settings } = trained;
    const data = path.join(home, 'one-row.csv');
    writeFileSync(data, rawRowsWithDown(1, 1, ''));
    await expect(runBatchInference(settings, { store }, { data })).rejects.toMatchObject({
      code: 'FLTS_MODEL_TOO_FEW_ROWS',
      message: `${data} has 1 row; the model needs at least 10 (its input window).`,
    });
  });
});
