import { describe, expect, it, vi } from 'vitest';
import * as recursive from '../../src/core/forecast/recursive-forecast.js';
import { forecastWith } from '../../src/core/serve/run-prediction.js';
import { openServedModel } from '../../src/core/serve/served-model.js';
import { naiveSource, scaledTestFrame, START_MS } from './serve-fixtures.js';

vi.mock('../../src/core/forecast/recursive-forecast.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/core/forecast/recursive-forecast.js')>();
  return { ...original, historyFromFrame: vi.fn(original.historyFromFrame) };
});

const batching = { batching: { maxBatch: 2, maxWaitMs: 0 } };
/** How many model inputs were made of a stored (already scaled) test window. */
const storedInputsMade = () => vi.mocked(recursive.historyFromFrame).mock.calls.filter(([, , , scaled]) => scaled).length;
const asPlain = (result: Awaited<ReturnType<typeof forecastWith>>) => ({ time: Array.from(result.forecast.time), values: result.forecast.values.map((column) => Array.from(column)) });

describe('serve > a forecast without data starts from its served model\'s stored window, made into a model input once', () => {
  it('makes the input once per loaded model and answers every forecast alike; a model loaded after it makes its own', async () => {
    const source = naiveSource('run-a', 'run-b');
    source.testFrames.set('hash-run-a', scaledTestFrame(30));
    // run-b's test data ends a day later: its forecasts say which window they started from.
    source.testFrames.set('hash-run-b', scaledTestFrame(30, START_MS + 86_400_000));
    const runA = await openServedModel(source, 'run-a', batching);
    const before = storedInputsMade();
    const first = asPlain(await forecastWith(runA, {}, 3));
    const second = asPlain(await forecastWith(runA, { inferenceLength: 3 }, 0));
    expect(second).toEqual(first);
    // Before, each forecast made the model input again.
    expect(storedInputsMade() - before).toBe(1);

    const runB = await openServedModel(source, 'run-b', batching);
    const fromB = asPlain(await forecastWith(runB, {}, 3));
    expect(storedInputsMade() - before).toBe(2);
    expect(fromB.time[0]).toBe(first.time[0] + 86_400_000);
    expect(asPlain(await forecastWith(runA, {}, 3))).toEqual(first);
    expect(storedInputsMade() - before).toBe(2);
    runA.retire();
    runB.retire();
  });

  it('answers each forecast FLTS_DATA_NOT_PROCESSED while the stored window lacks a feature of the run, as before', async () => {
    const source = naiveSource('run-a');
    const frame = scaledTestFrame(30);
    const { up: _dropped, ...values } = frame.values;
    source.testFrames.set('hash-run-a', { ...frame, columns: frame.columns.filter((column) => column !== 'up'), values });
    const served = await openServedModel(source, 'run-a', batching);
    for (let i = 0; i < 2; i++) await expect(forecastWith(served, {}, 2)).rejects.toMatchObject({ code: 'FLTS_DATA_NOT_PROCESSED', message: expect.stringContaining('lacks the run\'s features: up') });
    served.retire();
  });
});
