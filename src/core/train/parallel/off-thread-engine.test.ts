import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { WindowSpec } from '../../models/forecast-model.js';
import { buildRecurrentNetwork } from '../../models/recurrent-model.js';
import { selectBackend } from '../../tf/backend.js';
import { randomArray } from '../../data/seeded-random.fixture.js';
import type { EngineInit } from '../fused/gradient-engine.js';
import { fusedLayoutOf, readParameters } from '../fused/network-parameters.js';
import { createOnnxEngine } from '../onnx/onnx-engine.js';
import { createOffThreadOnnxEngine } from './off-thread-engine.js';

// Tests may put another engine thread in place of the built one.
const script = vi.hoisted(() => ({ override: undefined as URL | undefined }));
vi.mock('./shared-training-data.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./shared-training-data.js')>();
  return { ...actual, trainingWorkerScript: (...args: Parameters<typeof actual.trainingWorkerScript>) => script.override ?? actual.trainingWorkerScript(...args) };
});

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

  it('rejects a reply of the wrong type with FLTS_INTERNAL instead of answering with a made-up loss', async () => {
    const network = buildRecurrentNetwork('LSTM', spec, { hiddenSize: 2, numLayers: 1 }, 3);
    const layout = fusedLayoutOf(network)!;
    network.dispose();
    const data = { x: randomArray(SIZE * spec.inputSeqLen * spec.features.length, 41), y: randomArray(SIZE, 42) };
    // An engine thread that answers every step request with the reply of the other kind.
    const mismatched = `import { parentPort } from 'node:worker_threads';
      parentPort.on('message', (m) => parentPort.postMessage(m.type === 'step' ? { type: 'results', sse: [1] } : m.type === 'close' ? { type: 'closed' } : { type: 'result', sse: 1 }));
      parentPort.postMessage({ type: 'ready' });`;
    script.override = new URL(`data:text/javascript,${encodeURIComponent(mismatched)}`);
    try {
      const engine = await createOffThreadOnnxEngine({ layout, steps: spec.inputSeqLen, train: data, validation: data, validationSize: SIZE, learningRate: 1e-2, kernels: 'simd' }, { threads: 1 });
      try {
        await expect(engine.step(0, BATCH)).rejects.toMatchObject({ code: 'FLTS_INTERNAL', message: expect.stringContaining(`'step' request with 'results'`) });
        await expect(engine.steps!(0, SIZE, BATCH)).rejects.toMatchObject({ code: 'FLTS_INTERNAL', message: expect.stringContaining(`'steps' request with 'result'`) });
        expect(await engine.validationSse()).toBe(1);
      } finally {
        await engine.close();
      }
    } finally {
      script.override = undefined;
    }
  });
});
