import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../tf/backend.js';
import type { WindowSpec } from '../forecast-model.js';
import { createRecurrentInferenceModel } from '../recurrent-inference.js';
import { buildRecurrentNetwork, type RecurrentKind } from '../recurrent-model.js';
import { extractRecurrentWeights } from '../recurrent-weights.js';
import { createInlineServingModel } from './serving-forward.js';
import { createThreadedRecurrentModel } from './threaded-recurrent-model.js';

const WINDOW: WindowSpec = { inputSeqLen: 5, outputSeqLen: 2, features: ['a', 'b', 'c'], targets: ['a', 'c'] };

function windows(size: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: size * WINDOW.inputSeqLen * WINDOW.features.length }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state / 2 ** 31) * 4 - 2;
  });
}

const nativeBackendInstalled = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

const batch = (size: number, seed: number) => ({ windows: windows(size, seed), size, forecastTimes: new Float64Array(size * WINDOW.outputSeqLen) });

describe('core > models > inference-thread', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`${kind}: a worker thread predicts exactly what the same forward pass gives in this thread, for concurrent batches`, async () => {
      const network = buildRecurrentNetwork(kind, WINDOW, { hiddenSize: 10, numLayers: 2 }, 17);
      const weights = extractRecurrentWeights(network);
      expect(weights).toBeDefined();
      const threaded = await createThreadedRecurrentModel(kind, WINDOW, weights!, 'wasm');
      const inline = createRecurrentInferenceModel(kind, WINDOW, network);
      try {
        const batches = [batch(1, 1), batch(7, 2), batch(33, 3)];
        const fromThread = await Promise.all(batches.map((b) => threaded.predict(b)));
        for (const [k, b] of batches.entries()) {
          expect(fromThread[k].length).toBe(b.size * WINDOW.outputSeqLen * WINDOW.targets.length);
          expect(Array.from(fromThread[k])).toEqual(Array.from(await inline.predict(b)));
        }
        // The caller's windows are copied, not transferred away.
        expect(batches[2].windows.length).toBe(33 * 15);
      } finally {
        threaded.dispose();
        inline.dispose();
      }
    });
  }

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`${kind}: on the ONNX Runtime engine the thread predicts the wasm forward pass's numbers (relative error <= 1e-5)`, async () => {
      const network = buildRecurrentNetwork(kind, WINDOW, { hiddenSize: 12, numLayers: 2 }, 23);
      const threaded = await createThreadedRecurrentModel(kind, WINDOW, extractRecurrentWeights(network)!, 'wasm', { engine: 'onnx' });
      const inline = createRecurrentInferenceModel(kind, WINDOW, network);
      try {
        expect([threaded.engine, threaded.engineNote]).toEqual(['onnx', undefined]);
        const batches = [batch(1, 4), batch(64, 5), batch(9, 6)];
        const fromThread = await Promise.all(batches.map((b) => threaded.predict(b)));
        for (const [k, b] of batches.entries()) {
          const expected = await inline.predict(b);
          const scale = Math.max(...expected.map(Math.abs));
          const worst = Math.max(...fromThread[k].map((v, i) => Math.abs(v - expected[i])));
          expect(fromThread[k].length).toBe(expected.length);
          expect(worst / scale).toBeLessThanOrEqual(1e-5);
        }
      } finally {
        threaded.dispose();
        inline.dispose();
      }
    });
  }

  it('without a thread (FLTS_SERVE_INFERENCE_THREAD=false) the ONNX Runtime engine runs on the calling thread with the same numbers', async () => {
    const network = buildRecurrentNetwork('LSTM', WINDOW, { hiddenSize: 10, numLayers: 2 }, 31);
    const onnx = await createInlineServingModel('LSTM', WINDOW, extractRecurrentWeights(network)!, 'auto');
    const wasm = createRecurrentInferenceModel('LSTM', WINDOW, network);
    try {
      expect(onnx.engine).toBe('onnx');
      const b = batch(17, 12);
      const expected = await wasm.predict(b);
      const actual = await onnx.predict(b);
      const scale = Math.max(...expected.map(Math.abs));
      expect(Math.max(...actual.map((v, i) => Math.abs(v - expected[i]))) / scale).toBeLessThanOrEqual(1e-5);
    } finally {
      onnx.dispose();
      wasm.dispose();
    }
  });

  it('auto falls back to the wasm engine, and says why, when ONNX Runtime cannot be loaded; onnx refuses to start', async () => {
    const network = buildRecurrentNetwork('GRU', WINDOW, { hiddenSize: 6, numLayers: 1 }, 8);
    const weights = extractRecurrentWeights(network)!;
    const engineOptions = { onnxRuntimeModule: 'onnxruntime-node-not-installed' };
    const fallback = await createThreadedRecurrentModel('GRU', WINDOW, weights, 'wasm', { engine: 'auto', engineOptions });
    const inline = createRecurrentInferenceModel('GRU', WINDOW, network);
    try {
      expect(fallback.engine).toBe('wasm');
      expect(fallback.engineNote).toMatch(/ONNX Runtime is not available.*onnxruntime-node-not-installed/);
      const b = batch(5, 11);
      expect(Array.from(await fallback.predict(b))).toEqual(Array.from(await inline.predict(b)));
    } finally {
      fallback.dispose();
      inline.dispose();
    }
    await expect(createThreadedRecurrentModel('GRU', WINDOW, weights, 'wasm', { engine: 'onnx', engineOptions })).rejects.toMatchObject({ code: 'FLTS_SERVE_ENGINE_UNAVAILABLE' });
  });

  it('rejects bad shapes with FLTS_REQUEST_INVALID and any prediction after dispose', async () => {
    const network = buildRecurrentNetwork('LSTM', WINDOW, { hiddenSize: 4, numLayers: 1 }, 3);
    const model = await createThreadedRecurrentModel('LSTM', WINDOW, extractRecurrentWeights(network)!, 'wasm');
    network.dispose();
    await expect(model.predict({ windows: new Float32Array(4), size: 1, forecastTimes: new Float64Array(2) })).rejects.toMatchObject({ code: 'FLTS_REQUEST_INVALID' });
    model.dispose();
    await expect(model.predict(batch(1, 1))).rejects.toMatchObject({ code: 'FLTS_MODEL_NOT_FITTED' });
  });

  it.skipIf(nativeBackendInstalled)('fails to start with FLTS_SERVE_INFERENCE_FAILED and the cause when the thread cannot get its backend', async () => {
    const network = buildRecurrentNetwork('GRU', WINDOW, { hiddenSize: 4, numLayers: 1 }, 3);
    const weights = extractRecurrentWeights(network)!;
    network.dispose();
    await expect(createThreadedRecurrentModel('GRU', WINDOW, weights, 'node')).rejects.toMatchObject({ code: 'FLTS_SERVE_INFERENCE_FAILED', message: expect.stringMatching(/could not start: .*node/i) });
  });
});
