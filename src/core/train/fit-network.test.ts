import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../errors.js';
import type { WindowSpec } from '../models/forecast-model.js';
import { buildRecurrentNetwork, type RecurrentKind } from '../models/recurrent-model.js';
import { selectBackend } from '../tf/backend.js';
import { fitNetwork, type FitNetworkOptions, type FitNetworkResult } from './fit-network.js';
import { ONNX_MAX_UNROLLED_STEPS } from './onnx/onnx-engine.js';
import { prepareWindows } from './prepare-windows.js';
import { syntheticProcessedData } from './synthetic-data.fixture.js';

const data = syntheticProcessedData(260, 40);
const spec: WindowSpec = { features: [...data.columns], targets: ['down'], inputSeqLen: 6, outputSeqLen: 1 };
const windows = prepareWindows(data, spec, 0.1);
const base: FitNetworkOptions = { runId: 'test', epochs: 3, batchSize: 32, learningRate: 0.01, earlyStopping: false, patience: 5, seed: 3, backend: 'wasm' };

async function fit(kind: RecurrentKind, options: Partial<FitNetworkOptions>): Promise<{ result: FitNetworkResult; weights: Float32Array[] }> {
  const network = buildRecurrentNetwork(kind, spec, { hiddenSize: 16, numLayers: 2 }, 1);
  const result = await fitNetwork(network, windows.fit, windows.validation, spec, { ...base, ...options });
  const weights = network.getWeights().map((w) => w.dataSync() as Float32Array);
  network.dispose();
  return { result, weights };
}

const relative = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('core > train > fit-network', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`${kind}: the fused path follows the tfjs-layers loss curve`, async () => {
      const layers = await fit(kind, { engine: 'layers' });
      const fused = await fit(kind, { engine: 'fused', workers: 1 });
      expect(layers.result.engine).toBe('layers');
      expect(fused.result.engine).toBe('fused');
      expect(fused.result.history).toHaveLength(3);
      // The loss must actually move, or equal curves would prove nothing.
      expect(layers.result.history[2].loss).toBeLessThan(layers.result.history[0].loss);
      fused.result.history.forEach((epoch, i) => {
        expect(relative(epoch.loss, layers.result.history[i].loss)).toBeLessThan(1e-3);
        expect(relative(epoch.val_loss, layers.result.history[i].val_loss)).toBeLessThan(1e-3);
      });
      expect(fused.result.bestEpoch).toBe(layers.result.bestEpoch);
    });
  }

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`${kind}: the onnx engine gives the fused path's losses per epoch, best epoch and weights`, async () => {
      const options = { epochs: 4, earlyStopping: true, patience: 1 };
      const fused = await fit(kind, { ...options, engine: 'fused', workers: 1 });
      const events: string[] = [];
      const onnx = await fit(kind, { ...options, engine: 'onnx', workers: 1, onEvent: (event) => events.push(event.type) });
      expect(onnx.result.engine).toBe('onnx');
      expect(onnx.result.history.length).toBe(fused.result.history.length);
      expect(fused.result.history.at(-1)!.loss).toBeLessThan(fused.result.history[0].loss);
      onnx.result.history.forEach((epoch, i) => {
        expect(relative(epoch.loss, fused.result.history[i].loss)).toBeLessThan(1e-4);
        expect(relative(epoch.val_loss, fused.result.history[i].val_loss)).toBeLessThan(1e-4);
      });
      expect(onnx.result.bestEpoch).toBe(fused.result.bestEpoch);
      expect(onnx.result.stoppedEarly).toBe(fused.result.stoppedEarly);
      onnx.weights.forEach((w, i) => expect(Math.max(...Array.from(w, (v, j) => Math.abs(v - fused.weights[i][j])))).toBeLessThan(1e-4));
      expect(events.filter((type) => type === 'train.epoch_end')).toHaveLength(onnx.result.history.length);
      expect(events).toContain('train.batch_end');
    });
  }

  it('the onnx engine falls back to the fused one, with a log line, where ONNX Runtime does not load', async () => {
    const logs: string[] = [];
    const { result } = await fit('GRU', {
      engine: 'onnx',
      workers: 1,
      epochs: 1,
      onnxRuntimeModule: 'onnxruntime-node-missing',
      onEvent: (event) => {
        if (event.type === 'log') logs.push(event.message);
      },
    });
    expect(result.engine).toBe('fused');
    expect(result.history).toHaveLength(1);
    expect(logs).toEqual([expect.stringContaining('training on the fused engine instead')]);
  });

  it('auto trains on the onnx engine, and on the fused one where the window is unrolled too far for the graph', async () => {
    const auto = await fit('LSTM', { epochs: 1, cores: 2 });
    expect(auto.result.engine).toBe('onnx');
    // One intra-op thread unless the caller asks for more; the fused engine still takes a worker per core.
    expect(auto.result.threads).toBe(1);
    expect((await fit('LSTM', { epochs: 1, cores: 2, workers: 2 })).result.threads).toBe(2);
    expect((await fit('LSTM', { epochs: 1, cores: 2, engine: 'fused' })).result.threads).toBe(2);
    const longSpec: WindowSpec = { ...spec, inputSeqLen: Math.floor(ONNX_MAX_UNROLLED_STEPS / 2) + 1 };
    const longWindows = prepareWindows(data, longSpec, 0.1);
    for (const engine of ['auto', 'onnx'] as const) {
      const logs: string[] = [];
      const network = buildRecurrentNetwork('GRU', longSpec, { hiddenSize: 4, numLayers: 2 }, 1);
      const result = await fitNetwork(network, longWindows.fit, longWindows.validation, longSpec, { ...base, epochs: 1, engine, workers: 1, onEvent: (event) => event.type === 'log' && logs.push(event.message) });
      network.dispose();
      expect(result.engine).toBe('fused');
      expect(logs).toHaveLength(engine === 'onnx' ? 1 : 0);
    }
  });

  it.each(['fused', 'onnx'] as const)('two %s threads give the one-thread result within float tolerance, and the same bits on every run', async (engine) => {
    const one = await fit('LSTM', { engine, workers: 1 });
    const two = await fit('LSTM', { engine, workers: 2 });
    const again = await fit('LSTM', { engine, workers: 2 });
    expect(two.result.engine).toBe(engine);
    expect(two.result.threads).toBe(2);
    two.result.history.forEach((epoch, i) => expect(relative(epoch.loss, one.result.history[i].loss)).toBeLessThan(1e-4));
    two.weights.forEach((w, i) => {
      const diff = Math.max(...Array.from(w, (v, j) => Math.abs(v - one.weights[i][j])));
      expect(diff).toBeLessThan(1e-4);
      expect(Array.from(again.weights[i])).toEqual(Array.from(w));
    });
  });

  for (const engine of ['fused', 'layers'] as const) {
    it(`${engine}: averaged weights count in an epoch only where they validate better, and the restored weights are the best epoch's`, async () => {
      const options = { engine, workers: 1, epochs: 4, learningRate: 0.05 };
      const plain = await fit('GRU', options);
      const network = buildRecurrentNetwork('GRU', spec, { hiddenSize: 16, numLayers: 2 }, 1);
      const averaged = await fitNetwork(network, windows.fit, windows.validation, spec, { ...base, ...options, weightAverage: 0.9 });
      // Averaging does not change the steps: the training loss follows the plain run's.
      averaged.history.forEach((epoch, i) => expect(relative(epoch.loss, plain.result.history[i].loss)).toBeLessThan(1e-4));
      averaged.history.forEach((epoch, i) => expect(epoch.val_loss).toBeLessThanOrEqual(plain.result.history[i].val_loss * (1 + 1e-6)));
      // At a large learning rate the average of the last steps must beat the last step somewhere, or the test proves nothing.
      expect(averaged.history.some((epoch, i) => epoch.val_loss < plain.result.history[i].val_loss * 0.999)).toBe(true);
      const width = spec.outputSeqLen * spec.targets.length;
      const predicted = (network.predict(tf.tensor3d(windows.validation.x, [windows.validation.size, spec.inputSeqLen, spec.features.length])) as tf.Tensor).dataSync();
      const mse = Array.from(predicted).reduce((sum, p, i) => sum + (p - windows.validation.y[i]) ** 2, 0) / (windows.validation.size * width);
      expect(relative(mse, averaged.bestValLoss)).toBeLessThan(1e-4);
      network.dispose();
    });
  }

  for (const engine of ['fused', 'layers'] as const) {
    it(`${engine}: restoreBest false keeps the last epoch's weights, the default the best epoch's`, async () => {
      // Negated validation targets make the validation loss rise as the fit improves, so the best epoch is an early one.
      const adverse = { ...windows.validation, y: windows.validation.y.map((v) => -v) };
      const width = spec.outputSeqLen * spec.targets.length;
      const validationMse = (network: tf.LayersModel): number => {
        const predicted = tf.tidy(() => (network.predict(tf.tensor3d(adverse.x, [adverse.size, spec.inputSeqLen, spec.features.length])) as tf.Tensor).dataSync());
        return Array.from(predicted).reduce((sum, p, i) => sum + (p - adverse.y[i]) ** 2, 0) / (adverse.size * width);
      };
      const options = { ...base, engine, workers: 1, epochs: 4 };
      const results = [];
      for (const restoreBest of [true, false]) {
        const network = buildRecurrentNetwork('GRU', spec, { hiddenSize: 16, numLayers: 2 }, 1);
        const result = await fitNetwork(network, windows.fit, adverse, spec, { ...options, restoreBest });
        results.push({ result, mse: validationMse(network) });
        network.dispose();
      }
      const [best, last] = results;
      expect(best.result.bestEpoch).toBeLessThan(4);
      expect(last.result.history.map((epoch) => epoch.loss)).toEqual(best.result.history.map((epoch) => epoch.loss));
      expect(relative(best.mse, best.result.history[best.result.bestEpoch - 1].val_loss)).toBeLessThan(1e-4);
      expect(relative(last.mse, last.result.history[3].val_loss)).toBeLessThan(1e-4);
      expect(last.mse).toBeGreaterThan(best.mse);
    });
  }

  for (const engine of ['fused', 'onnx', 'layers'] as const) {
    it(`${engine}: weights broken by the epoch's one step are refused as diverged, not kept with a NaN validation loss`, async () => {
      // One step per epoch: its training loss is measured before the step, so only the validation loss shows the damage.
      const broken = fit('LSTM', { engine, workers: 1, epochs: 1, batchSize: windows.fit.size, learningRate: 1e300 });
      await expect(broken).rejects.toMatchObject({ code: 'FLTS_TRAIN_DIVERGED', message: expect.stringMatching(/^Validation loss became NaN after epoch 1/) });
    });
  }

  it('leaves no tensors behind on either path', async () => {
    const before = tf.memory().numTensors;
    await fit('GRU', { engine: 'fused', workers: 1, epochs: 2 });
    await fit('GRU', { engine: 'layers', epochs: 2 });
    await fit('GRU', { engine: 'layers', epochs: 2, weightAverage: 0.9 });
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const engine of ['layers', 'fused', 'onnx'] as const) {
    it(`${engine}: a learning rate that makes the loss NaN is a coded usage error (exit 2), not an internal failure`, async () => {
      const failure = await fit('GRU', { engine, workers: 1, epochs: 2, learningRate: 1e23 }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'FLTS_TRAIN_DIVERGED' });
      expect(exitCodeFor(failure)).toBe(2);
    });
  }

  it('refuses to force the fused path onto a network it does not implement', async () => {
    const network = tf.sequential({ layers: [tf.layers.lstm({ units: 4, inputShape: [6, spec.features.length] }), tf.layers.dense({ units: 1 })] });
    await expect(fitNetwork(network, windows.fit, windows.validation, spec, { ...base, engine: 'fused' })).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    network.dispose();
  });
});
