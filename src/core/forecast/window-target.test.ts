import { describe, expect, it } from 'vitest';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { createRandom } from '../train/seeded-random.js';
import { toTargetForm, withTargetForm } from './target-form.js';
import { WINDOW_TARGET_FORMS, windowCentres } from './window-target.js';
import type { WindowSet } from './windows.js';

const WINDOW: WindowSpec = { inputSeqLen: 6, outputSeqLen: 2, features: ['hour', 'down', 'up'], targets: ['down', 'up'] };

function randomSet(size: number, seed: number): WindowSet {
  const random = createRandom(seed);
  const x = Float32Array.from({ length: size * 6 * 3 }, () => 5 * random() - 1);
  const y = Float32Array.from({ length: size * 2 * 2 }, () => 5 * random() - 1);
  return { size, x, y, forecastTimes: new Float64Array(size * 2) };
}

/** A network that answers each window with the outputs it was trained on: what training's windows say it should learn. */
function memorising(windowSpec: WindowSpec, learned: WindowSet): ForecastModel {
  return {
    modelType: 'GRU',
    window: windowSpec,
    async predict(batch) {
      expect(Array.from(batch.windows)).toEqual(Array.from(learned.x));
      return learned.y.slice();
    },
    dispose() {},
  };
}

describe('core > forecast > window-target', () => {
  const forms: Array<Pick<WindowSpec, 'targetForm' | 'changeWeight'>> = [...WINDOW_TARGET_FORMS.map((targetForm) => ({ targetForm })), { targetForm: 'change' }, { targetForm: 'change', changeWeight: 0.5 }];
  for (const form of forms) {
    it(`${form.targetForm}${form.changeWeight ? ` (weight ${form.changeWeight})` : ''}: a network that reproduces its training outputs forecasts the training levels (training and serving map alike)`, async () => {
      const spec = { ...WINDOW, ...form };
      const set = randomSet(7, 11);
      const learned = toTargetForm(set, spec);
      const model = withTargetForm(memorising(spec, learned));
      const forecast = await model.predict({ windows: set.x, size: set.size, forecastTimes: set.forecastTimes });
      for (let i = 0; i < set.y.length; i++) expect(forecast[i]).toBeCloseTo(set.y[i], 5);
      expect(Array.from(set.x)).toEqual(Array.from(randomSet(7, 11).x));
    });
  }

  it('change: each target is learned relative to the weighted last value (absent weight: the full last value), inputs untouched', () => {
    const set = randomSet(4, 5);
    const lastDown = (w: number) => set.x[(w * 6 + 5) * 3 + 1];
    const lastUp = (w: number) => set.x[(w * 6 + 5) * 3 + 2];
    for (const [weight, spec] of [[1, { ...WINDOW, targetForm: 'change' as const }], [0.5, { ...WINDOW, targetForm: 'change' as const, changeWeight: 0.5 }]] as const) {
      const learned = toTargetForm(set, spec);
      expect(Array.from(learned.x)).toEqual(Array.from(set.x));
      for (let w = 0; w < 4; w++) {
        for (let h = 0; h < 2; h++) {
          expect(learned.y[(w * 2 + h) * 2]).toBeCloseTo(set.y[(w * 2 + h) * 2] - weight * lastDown(w), 5);
          expect(learned.y[(w * 2 + h) * 2 + 1]).toBeCloseTo(set.y[(w * 2 + h) * 2 + 1] - weight * lastUp(w), 5);
        }
      }
    }
  });

  it('window: the target inputs lose the window mean, the other features and the level forecast are untouched', () => {
    const spec = { ...WINDOW, targetForm: 'window' as const };
    const set = randomSet(3, 2);
    const learned = toTargetForm(set, spec);
    for (let w = 0; w < 3; w++) {
      let sum = 0;
      for (let s = 0; s < 6; s++) {
        sum += learned.x[(w * 6 + s) * 3 + 1];
        expect(learned.x[(w * 6 + s) * 3]).toBe(set.x[(w * 6 + s) * 3]);
      }
      expect(sum / 6).toBeCloseTo(0, 5);
    }
  });

  it('window-median centres on the median (the mean of the middle two of an even window), window on the mean', () => {
    const spec: WindowSpec = { inputSeqLen: 4, outputSeqLen: 1, features: ['down'], targets: ['down'] };
    const windows = Float32Array.from([1, 9, 2, 4, 3, 3, 3, 3]);
    expect(Array.from(windowCentres(windows, 2, spec, 'window-median'))).toEqual([3, 3]);
    expect(Array.from(windowCentres(windows, 2, spec, 'window'))).toEqual([4, 3]);
    expect(Array.from(windowCentres(Float32Array.from([5, -1, 7]), 1, { ...spec, inputSeqLen: 3 }, 'window-median'))).toEqual([5]);
  });
});
