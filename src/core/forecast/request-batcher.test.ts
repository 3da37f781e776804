import { describe, expect, it } from 'vitest';
import type { ForecastModel, PredictBatch, WindowSpec } from '../models/forecast-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createRequestBatcher } from './request-batcher.js';

const WINDOW: WindowSpec = { inputSeqLen: 2, outputSeqLen: 1, features: ['down'], targets: ['down'] };

/** Persistence, recording the size of every forward pass. */
function recordingModel(): { model: ForecastModel; sizes: number[] } {
  const inner = createNaiveModel(WINDOW);
  const sizes: number[] = [];
  return { model: { ...inner, predict: (batch: PredictBatch) => (sizes.push(batch.size), inner.predict(batch)) }, sizes };
}

const window = (last: number): Float32Array => Float32Array.from([0, last]);

describe('core > forecast > request-batcher', () => {
  it('runs concurrent requests as one forward pass and hands each caller its own rows', async () => {
    const { model, sizes } = recordingModel();
    const batcher = createRequestBatcher(model, { maxBatch: 64, maxWaitMs: 0 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.predict(window(i), new Float64Array(1), 1)));
    expect(sizes).toEqual([10]);
    expect(results.map((r) => r[0])).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(batcher.queued).toBe(0);
  });

  it("asks a model with predictSteps for other step counts in a pass of their own, and refuses them for a model without", async () => {
    const { model, sizes } = recordingModel();
    const stepCalls: number[] = [];
    const multiStep: ForecastModel = { ...model, predictSteps: async (batch, steps) => (stepCalls.push(steps), Float32Array.from({ length: batch.size * steps }, (_, i) => i)) };
    const batcher = createRequestBatcher(multiStep, { maxBatch: 64, maxWaitMs: 0 });
    const [single, stepped] = await Promise.all([batcher.predict(window(7), new Float64Array(1), 1), batcher.predict(window(7), new Float64Array(5), 1, undefined, 5)]);
    expect([...single]).toEqual([7]);
    expect([...stepped]).toEqual([0, 1, 2, 3, 4]);
    expect(sizes).toEqual([1]);
    expect(stepCalls).toEqual([5]);
    await expect(createRequestBatcher(model, { maxBatch: 64, maxWaitMs: 0 }).predict(window(7), new Float64Array(5), 1, undefined, 5)).rejects.toMatchObject({ code: 'FLTS_REQUEST_INVALID' });
  });

  it('never exceeds maxBatch windows per pass, including multi-window requests', async () => {
    const { model, sizes } = recordingModel();
    const batcher = createRequestBatcher(model, { maxBatch: 4, maxWaitMs: 1 });
    const two = Float32Array.from([0, 100, 0, 101]);
    const results = await Promise.all([
      batcher.predict(two, new Float64Array(2), 2),
      ...Array.from({ length: 7 }, (_, i) => batcher.predict(window(i), new Float64Array(1), 1)),
    ]);
    expect(sizes.every((size) => size <= 4)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(9);
    expect([...results[0]]).toEqual([100, 101]);
    expect(results.slice(1).map((r) => r[0])).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('rejects every request of a failed pass and keeps serving later ones', async () => {
    let fail = true;
    const inner = createNaiveModel(WINDOW);
    const model: ForecastModel = {
      ...inner,
      predict: async (batch) => {
        if (fail) throw new Error('forward pass failed');
        return inner.predict(batch);
      },
    };
    const batcher = createRequestBatcher(model, { maxBatch: 8, maxWaitMs: 0 });
    const failed = await Promise.allSettled([batcher.predict(window(1), new Float64Array(1), 1), batcher.predict(window(2), new Float64Array(1), 1)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect((await batcher.predict(window(3), new Float64Array(1), 1))[0]).toBe(3);
  });

  it('keeps up to model.concurrentPasses passes outstanding and hands later arrivals to the next free one', async () => {
    const inner = createNaiveModel(WINDOW);
    const pending: Array<() => void> = [];
    const sizes: number[] = [];
    const model: ForecastModel = {
      ...inner,
      concurrentPasses: 2,
      predict: (batch) => {
        sizes.push(batch.size);
        return new Promise((resolve) => pending.push(() => resolve(inner.predict(batch))));
      },
    };
    const batcher = createRequestBatcher(model, { maxBatch: 64, maxWaitMs: 0 });
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    const results: Array<Promise<Float32Array>> = [];
    for (let wave = 0; wave < 3; wave++) {
      results.push(...[0, 1].map((i) => batcher.predict(window(10 * wave + i), new Float64Array(1), 1)));
      await nextTurn();
    }
    // Two passes are out; the third wave waits for one of them.
    expect(sizes).toEqual([2, 2]);
    pending.shift()?.();
    await nextTurn();
    await nextTurn();
    expect(sizes).toEqual([2, 2, 2]);
    while (pending.length > 0) {
      pending.shift()?.();
      await nextTurn();
    }
    expect((await Promise.all(results)).map((r) => r[0])).toEqual([0, 1, 10, 11, 20, 21]);
    expect(batcher.queued).toBe(0);
  });

  it("hands each caller that asks for them its own windows' spreads from the merged pass", async () => {
    const sizes: number[] = [];
    // Reports each window's last value as its spread.
    const model: ForecastModel = {
      ...createNaiveModel(WINDOW),
      predict: async (batch) => {
        sizes.push(batch.size);
        for (let w = 0; w < batch.size; w++) if (batch.spreads) batch.spreads[w] = batch.windows[w * 2 + 1];
        return new Float32Array(batch.size);
      },
    };
    const batcher = createRequestBatcher(model, { maxBatch: 64, maxWaitMs: 0 });
    const first = new Float64Array(2);
    const third = new Float64Array(1);
    await Promise.all([batcher.predict(Float32Array.from([0, 7, 0, 8]), new Float64Array(2), 2, first), batcher.predict(window(9), new Float64Array(1), 1), batcher.predict(window(10), new Float64Array(1), 1, third)]);
    expect(sizes).toEqual([4]);
    expect([[...first], [...third]]).toEqual([[7, 8], [10]]);
  });

  it('says since when the oldest forward pass under way runs, passes of another horizon included, and nothing once they returned', async () => {
    const inner = createNaiveModel(WINDOW);
    const gates: Array<() => void> = [];
    const held = <T>(value: () => T | Promise<T>): Promise<T> => new Promise<void>((resolve) => gates.push(resolve)).then(value);
    const model: ForecastModel = { ...inner, predict: (batch) => held(() => inner.predict(batch)), predictSteps: (batch, steps) => held(() => new Float32Array(batch.size * steps)) };
    let clock = 100;
    const batcher = createRequestBatcher(model, { maxBatch: 1, maxWaitMs: 0, now: () => clock });
    expect(batcher.runningSince).toBeUndefined();
    const stepped = batcher.predict(window(1), new Float64Array(3), 1, undefined, 3);
    clock = 200;
    const batched = batcher.predict(window(2), new Float64Array(1), 1);
    // Both passes began at once: the batched one as its batch filled, the other of its own.
    expect(gates).toHaveLength(2);
    expect(batcher.runningSince).toBe(100);
    gates[0]();
    await stepped;
    expect(batcher.runningSince).toBe(200);
    gates[1]();
    await batched;
    expect(batcher.runningSince).toBeUndefined();
  });
});
