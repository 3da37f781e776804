import { beforeAll, describe, expect, it } from 'vitest';
import type { WindowSpec } from '../../models/forecast-model.js';
import { buildRecurrentNetwork } from '../../models/recurrent-model.js';
import { selectBackend } from '../../tf/backend.js';
import { randomArray } from '../../data/seeded-random.fixture.js';
import type { EngineInit } from '../fused/gradient-engine.js';
import { fusedLayoutOf, readParameters } from '../fused/network-parameters.js';
import { createOnnxEngine } from '../onnx/onnx-engine.js';
import { createOffThreadOnnxEngine } from './off-thread-engine.js';

const spec: WindowSpec = { features: ['a', 'b', 'c'], targets: ['a'], inputSeqLen: 4, outputSeqLen: 1 };
const SIZE = 23;
const BATCH = 4;

describe('core > train > parallel > off-thread-engine', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('steps a range of batches on the engine thread exactly as the same engine steps them one by one on this thread', async () => {
    const network = buildRecurrentNetwork('LSTM', spec, { hiddenSize: 6, numLayers: 1 }, 3);
    const layout = fusedLayoutOf(network)!;
    const data = { x: randomArray(SIZE * spec.inputSeqLen * spec.features.length, 41), y: randomArray(SIZE, 42) };
    const init: EngineInit = { layout, steps: spec.inputSeqLen, train: data, validation: data, validationSize: SIZE, learningRate: 1e-2, kernels: 'simd' };
    const here = await createOnnxEngine(init, { threads: 1 });
    const away = await createOffThreadOnnxEngine(init, { threads: 1 });
    try {
      const start = readParameters(network, layout);
      here.weights.set(start);
      away.weights.set(start);
      for (let epoch = 0; epoch < 2; epoch++) {
        const order = Int32Array.from({ length: SIZE }, (_, i) => (i * 5 + epoch) % SIZE);
        here.setOrder(order);
        away.setOrder(order);
        // Six batches, the last of 3 windows; the engine thread may answer with fewer than were asked for.
        const expected: number[] = [];
        for (let from = 0; from < SIZE; from += BATCH) expected.push(await here.step(from, Math.min(SIZE, from + BATCH)));
        const got: number[] = [];
        while (got.length < expected.length) {
          const done = await away.steps!(got.length * BATCH, SIZE, BATCH);
          expect(done.length).toBeGreaterThan(0);
          got.push(...done);
        }
        expect(got).toEqual(expected);
        expect(Array.from(away.weights)).toEqual(Array.from(here.weights));
      }
      expect(await away.validationSse()).toBe(await here.validationSse());
    } finally {
      await here.close();
      await away.close();
      network.dispose();
    }
  });
});
