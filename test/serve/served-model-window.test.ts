import { describe, expect, it } from 'vitest';
import { FltsError } from '../../src/core/errors.js';
import { openServedModel } from '../../src/core/serve/served-model.js';
import { naiveSource, scaledTestFrame, STEP_MS, WINDOW } from './serve-fixtures.js';

const batching = { batching: { maxBatch: 2, maxWaitMs: 0 } };

describe('serve > a served model keeps the window of its test data', () => {
  it('reads the test data once, as the model loads, and keeps only the last input window with the step of the whole frame', async () => {
    const source = naiveSource('run-a');
    // Steps of 2 min but for the last two rows (4 min): the step is the whole frame's, which the window alone would not say.
    const frame = scaledTestFrame(300);
    const time = Float64Array.from(frame.time, (ms, i) => (i >= 298 ? ms + (i - 297) * STEP_MS : ms));
    source.testFrames.set('hash-run-a', { ...frame, time });
    let reads = 0;
    const counted = { ...source, loadTestFrame: (hash: string) => (reads++, source.loadTestFrame(hash)) };
    const served = await openServedModel(counted, 'run-a', batching);
    expect(reads).toBe(1);
    const stored = await served.testWindow();
    expect(await served.testWindow()).toBe(stored);
    expect(reads).toBe(1);
    expect(stored.cadenceMs).toBe(STEP_MS);
    expect(stored.frame.time.length).toBe(WINDOW.inputSeqLen);
    expect(Array.from(stored.frame.time)).toEqual(Array.from(time.subarray(300 - WINDOW.inputSeqLen)));
    expect(Array.from(stored.frame.values.down)).toEqual(Array.from(frame.values.down.subarray(300 - WINDOW.inputSeqLen)));
    served.retire();
  });

  it('is served all the same when its test data cannot be read at the load, and reads it again at the next asking', async () => {
    const source = naiveSource('run-a');
    let reads = 0;
    const failing = { ...source, loadTestFrame: (hash: string) => (reads++ === 0 ? Promise.reject(new FltsError('FLTS_STORE_UNAVAILABLE', 'down')) : source.loadTestFrame(hash)) };
    source.testFrames.set('hash-run-a', scaledTestFrame(30));
    const served = await openServedModel(failing, 'run-a', batching);
    expect(reads).toBe(1);
    expect((await served.testWindow()).frame.time.length).toBe(WINDOW.inputSeqLen);
    expect(reads).toBe(2);
    served.retire();
  });
});
