import { describe, expect, it } from 'vitest';
import { withTargetForm } from '../forecast/target-form.js';
import { withPredict, type ForecastModel, type WindowSpec } from './forecast-model.js';
import { createNaiveModel } from './naive-model.js';

const WINDOW: WindowSpec = { features: ['down'], targets: ['down'], inputSeqLen: 2, outputSeqLen: 1 };
const BATCH = { windows: Float32Array.of(1, 2), size: 1, forecastTimes: new Float64Array(3) };

/** A model forecasting any number of steps from one fit, as MSTL does: step k is 10 + k. */
function steppingModel(window: WindowSpec): ForecastModel {
  return { ...createNaiveModel(window), predictSteps: async (_batch, steps) => Float32Array.from({ length: steps }, (_, k) => 10 + k) };
}

describe('core > models > forecast-model', () => {
  it('withPredict keeps a wrapped predictSteps and refuses to drop one it was not given', async () => {
    const inner = steppingModel(WINDOW);
    expect(() => withPredict(inner, (batch) => inner.predict(batch))).toThrow(/drop predictSteps/);
    // A wrapper of a network of another target form would have switched a stepping model to recursive steps.
    expect(() => withTargetForm(steppingModel({ ...WINDOW, targetForm: 'change' }))).toThrow(/drop predictSteps/);

    const doubled = withPredict(
      inner,
      async (batch) => (await inner.predict(batch)).map((v) => 2 * v),
      async (batch, steps) => (await inner.predictSteps!(batch, steps)).map((v) => 2 * v),
    );
    expect(Array.from(await doubled.predictSteps!(BATCH, 3))).toEqual([20, 22, 24]);
    expect(Array.from(await doubled.predict(BATCH))).toEqual([4]);

    const plain = createNaiveModel(WINDOW);
    expect(withPredict(plain, (batch) => plain.predict(batch)).predictSteps).toBeUndefined();
  });
});
