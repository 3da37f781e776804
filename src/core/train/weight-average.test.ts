import { describe, expect, it } from 'vitest';
import { createWeightAverage } from './weight-average.js';

describe('core > train > weight-average', () => {
  it('is not pulled towards zero by its start: a constant is its own average from the first step', () => {
    const average = createWeightAverage(0.99, 2);
    average.add(Float32Array.of(3, -2));
    expect(Array.from(average.value())).toEqual([3, -2]);
    average.add(Float32Array.of(3, -2));
    expect(Array.from(average.value()).map((v) => Number(v.toFixed(5)))).toEqual([3, -2]);
  });

  it('weights recent steps more, by the decay', () => {
    const average = createWeightAverage(0.5, 1);
    average.add(Float32Array.of(0));
    average.add(Float32Array.of(1));
    // (0.5 * 0.5 * 0 + 0.5 * 1) / (0.5 * 0.5 + 0.5)
    expect(average.value()[0]).toBeCloseTo(2 / 3, 6);
  });
});
