import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { WindowSpec } from '../models/forecast-model.js';
import { buildRecurrentNetwork, createRecurrentForecastModel } from '../models/recurrent-model.js';
import type { WindowSet } from '../forecast/windows.js';
import { fitInputStandardisation, foldInputAffine, standardiseInputs, withInputAffine } from './input-scaling.js';

const spec: WindowSpec = { features: ['down', 'up', 'flag'], targets: ['down'], inputSeqLen: 4, outputSeqLen: 1 };

/** Windows whose columns sit at very different levels and spreads, as min-max scaled traffic columns do. */
function windows(size: number): WindowSet {
  const x = new Float32Array(size * spec.inputSeqLen * spec.features.length);
  for (let s = 0; s < size * spec.inputSeqLen; s++) {
    x[s * 3] = 0.05 + 0.04 * Math.sin(s / 3);
    x[s * 3 + 1] = 0.6 + 0.2 * Math.cos(s / 5);
    x[s * 3 + 2] = 1; // constant
  }
  return { size, x, y: new Float32Array(size), forecastTimes: new Float64Array(size) };
}

async function predict(network: tf.LayersModel, set: WindowSet, wrap: (m: ReturnType<typeof createRecurrentForecastModel>) => ReturnType<typeof createRecurrentForecastModel> = (m) => m): Promise<Float32Array> {
  return wrap(createRecurrentForecastModel('GRU', spec, network)).predict({ windows: set.x, size: set.size, forecastTimes: set.forecastTimes });
}

describe('core > train > input-scaling', () => {
  it('standardises every input column over the fit windows; a constant column is centred, never divided', () => {
    const set = windows(50);
    const affine = fitInputStandardisation(set, spec);
    const mapped = standardiseInputs(set, spec, affine);
    const steps = set.size * spec.inputSeqLen;
    for (const f of [0, 1]) {
      let mean = 0;
      let squares = 0;
      for (let s = 0; s < steps; s++) mean += mapped.x[s * 3 + f] / steps;
      for (let s = 0; s < steps; s++) squares += (mapped.x[s * 3 + f] - mean) ** 2 / steps;
      expect(mean).toBeCloseTo(0, 5);
      expect(Math.sqrt(squares)).toBeCloseTo(1, 4);
    }
    expect(affine.offset[2]).toBeCloseTo(1, 6);
    expect(affine.scale[2]).toBe(1);
    expect(mapped.x[2]).toBeCloseTo(0, 6);
    // targets untouched, the source windows too
    expect(mapped.y).toBe(set.y);
    expect(set.x[0]).toBeCloseTo(0.05, 6);
  });

  for (const kind of ['GRU', 'LSTM'] as const) {
    it(`${kind}: folding the map into the first layer answers processed windows as the network on mapped inputs does`, async () => {
      const set = windows(20);
      const affine = fitInputStandardisation(set, spec);
      const network = buildRecurrentNetwork(kind, spec, { hiddenSize: 6, numLayers: 2 }, 7);
      try {
        const onMapped = await predict(network, set, (m) => withInputAffine(m, affine));
        const unmapped = await predict(network, set);
        const before = tf.memory().numTensors;
        foldInputAffine(network, affine);
        expect(tf.memory().numTensors).toBe(before);
        const folded = await predict(network, set);
        // The map matters for these inputs, and the folded network reproduces it to float32 rounding.
        expect(Math.max(...onMapped.map((v, i) => Math.abs(v - unmapped[i])))).toBeGreaterThan(1e-3);
        folded.forEach((v, i) => expect(Math.abs(v - onMapped[i])).toBeLessThan(1e-5));
      } finally {
        network.dispose();
      }
    });
  }
});
