import { describe, expect, it } from 'vitest';
import { createNaiveModel } from './naive-model.js';

describe('core > models > naive-model', () => {
  it('repeats the last observed value of each target over the horizon', async () => {
    const model = createNaiveModel({ inputSeqLen: 2, outputSeqLen: 3, features: ['x', 'a', 'b'], targets: ['b', 'a'] });
    // two windows of 2 rows x 3 features
    const windows = Float32Array.from([0, 1, 2, 0, 3, 4, 0, 5, 6, 0, 7, 8]);
    const out = await model.predict({ windows, size: 2, forecastTimes: new Float64Array(6) });
    expect(Array.from(out)).toEqual([4, 3, 4, 3, 4, 3, 8, 7, 8, 7, 8, 7]);
  });

  it('rejects a batch of the wrong size and a target that is not an input', async () => {
    const model = createNaiveModel({ inputSeqLen: 2, outputSeqLen: 1, features: ['a'], targets: ['a'] });
    await expect(model.predict({ windows: new Float32Array(3), size: 2, forecastTimes: new Float64Array(2) })).rejects.toThrow(/Expected 2 windows/);
    expect(() => createNaiveModel({ inputSeqLen: 2, outputSeqLen: 1, features: ['a'], targets: ['z'] })).toThrow(/"z"/);
  });
});
