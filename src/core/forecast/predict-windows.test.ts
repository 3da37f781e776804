import { describe, expect, it } from 'vitest';
import { countTurns } from '../loop-turns.fixture.js';
import type { ForecastModel, PredictBatch, WindowSpec } from '../models/forecast-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { chunkWindows, predictWindows } from './predict-windows.js';
import type { WindowSet } from './windows.js';

const WINDOW: WindowSpec = { inputSeqLen: 2, outputSeqLen: 1, features: ['down'], targets: ['down'] };

/** `size` windows of persistence inputs, the last value of window w being w. */
function windowSet(size: number): WindowSet {
  return { size, x: Float32Array.from({ length: size * 2 }, (_, i) => (i % 2 === 1 ? (i - 1) / 2 : 0)), y: new Float32Array(size), forecastTimes: new Float64Array(size) };
}

/** Persistence, calling `onPass` as each forward pass starts. */
function watchedModel(onPass: (size: number) => void): ForecastModel {
  const inner = createNaiveModel(WINDOW);
  return { ...inner, predict: (batch: PredictBatch) => (onPass(batch.size), inner.predict(batch)) };
}

describe('core > forecast > predict-windows', () => {
  it('lets the event loop go round, timers included, between chunks without an abort signal', async () => {
    const chunk = chunkWindows(2);
    const loop = countTurns();
    const turnAtPass: number[] = [];
    const predicted = await predictWindows(watchedModel(() => turnAtPass.push(loop.turns())), windowSet(2 * chunk + 5));
    loop.stop();
    expect(turnAtPass).toHaveLength(3);
    // The counter ticks once a round, in its check phase: two ticks between passes span a timers phase.
    expect(turnAtPass[1] - turnAtPass[0]).toBeGreaterThanOrEqual(2);
    expect(turnAtPass[2] - turnAtPass[1]).toBeGreaterThanOrEqual(2);
    expect(predicted[2 * chunk + 4]).toBe(2 * chunk + 4);
  });

  it('makes no turn before the first chunk without progress, so a one-shot call of one chunk waits for nothing', async () => {
    let queuedRan = false;
    setImmediate(() => (queuedRan = true));
    const ranAtPass: boolean[] = [];
    const predicted = await predictWindows(watchedModel(() => ranAtPass.push(queuedRan)), windowSet(3));
    expect(ranAtPass).toEqual([false]);
    expect([...predicted]).toEqual([0, 1, 2]);
  });

  it('with progress but no signal (a stage of training), turns before the first chunk too', async () => {
    let queuedRan = false;
    setImmediate(() => (queuedRan = true));
    const ranAtPass: boolean[] = [];
    const reported: number[] = [];
    const predicted = await predictWindows(watchedModel(() => ranAtPass.push(queuedRan)), windowSet(chunkWindows(2) + 3), undefined, { onChunk: (done) => reported.push(done) });
    expect(ranAtPass).toEqual([true, true]);
    expect(reported).toEqual([chunkWindows(2), chunkWindows(2) + 3]);
    expect(predicted[chunkWindows(2) + 2]).toBe(chunkWindows(2) + 2);
  });

  it("predicts at most a model's maxChunkWindows windows per pass, with the same forecasts", async () => {
    const sizes: number[] = [];
    const model = { ...watchedModel((size) => sizes.push(size)), maxChunkWindows: 2 };
    const predicted = await predictWindows(model, windowSet(5));
    expect(sizes).toEqual([2, 2, 1]);
    expect([...predicted]).toEqual([0, 1, 2, 3, 4]);
  });

  it('with a signal, turns before the first chunk too and stops once it is aborted', async () => {
    const stop = new AbortController();
    let queuedRan = false;
    setImmediate(() => (queuedRan = true));
    const ranAtPass: boolean[] = [];
    const model = watchedModel(() => {
      ranAtPass.push(queuedRan);
      setImmediate(() => stop.abort());
    });
    await expect(predictWindows(model, windowSet(2 * chunkWindows(2)), undefined, { signal: stop.signal })).rejects.toMatchObject({ code: 'FLTS_TRAIN_ABORTED' });
    expect(ranAtPass).toEqual([true]);
  });
});
