/**
 * Exponential moving average of a network's flat weights over the optimisation steps, bias-corrected so
 * the first steps are not pulled towards zero. Averaging the last few hundred steps of Adam smooths out the
 * noise of single batches (Polyak averaging).
 */
export interface WeightAverage {
  add(weights: Float32Array): void;
  value(): Float32Array;
}

export function createWeightAverage(decay: number, size: number): WeightAverage {
  const sum = new Float64Array(size);
  const out = new Float32Array(size);
  let weight = 0;
  return {
    add(weights) {
      for (let i = 0; i < size; i++) sum[i] = decay * sum[i] + (1 - decay) * weights[i];
      weight = decay * weight + (1 - decay);
    },
    value() {
      for (let i = 0; i < size; i++) out[i] = sum[i] / weight;
      return out;
    },
  };
}
