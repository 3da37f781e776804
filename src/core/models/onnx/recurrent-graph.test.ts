import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { withTargetForm } from '../../forecast/target-form.js';
import { selectBackend } from '../../tf/backend.js';
import type { WindowSpec } from '../forecast-model.js';
import { createRecurrentInferenceModel } from '../recurrent-inference.js';
import { buildRecurrentNetwork, type RecurrentKind } from '../recurrent-model.js';
import { extractRecurrentWeights } from '../recurrent-weights.js';
import { createRandom } from '../../train/seeded-random.js';
import { createOnnxForward } from './onnx-forward.js';
import { decodeOnnxModel, encodeOnnxModel } from './onnx-proto.js';
import { buildRecurrentGraph, ONNX_NAMES, ONNX_OPSET } from './recurrent-graph.js';
import { keepOnnxTelemetryOff } from './runtime-telemetry.js';
import { withTargetFloors } from '../target-floors.js';

// These checks create sessions on plain ONNX Runtime, as a user of an exported graph would: telemetry off as flts keeps it.
keepOnnxTelemetryOff();

const WINDOW: WindowSpec = { inputSeqLen: 12, outputSeqLen: 3, features: ['a', 'b', 'c', 'd'], targets: ['b', 'd'] };
const SCALING = { featureOffset: [10, -3, 0.5, 200], featureScale: [2, 0.25, 1, 40], targetOffset: [-3, 200], targetScale: [0.25, 40] };

function scaledWindows(size: number, seed: number): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: size * WINDOW.inputSeqLen * WINDOW.features.length }, () => 4 * random() - 2);
}

/** Largest |a - b| relative to the largest |b|: the forecast's own scale, so values near zero do not blow up. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  let size = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    size = Math.max(size, Math.abs(expected[i]));
  }
  return worst / size;
}

const batchOf = (windows: Float32Array, size: number) => ({ windows, size, forecastTimes: new Float64Array(size * WINDOW.outputSeqLen) });

describe('core > onnx > recurrent-graph', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`${kind}: ONNX Runtime runs the exported graph to flts's forecasts (relative error <= 1e-5), scaler folded in`, async () => {
      const network = buildRecurrentNetwork(kind, WINDOW, { hiddenSize: 16, numLayers: 2 }, 5);
      const weights = extractRecurrentWeights(network)!;
      const bytes = encodeOnnxModel(buildRecurrentGraph(weights, WINDOW, { scaling: SCALING, metadata: { run_id: 'r1' } }));
      const session = await ort.InferenceSession.create(bytes);
      const size = 37;
      const scaled = scaledWindows(size, 3);
      const raw = Float32Array.from(scaled, (v, i) => v * SCALING.featureScale[i % 4] + SCALING.featureOffset[i % 4]);
      const outputs = await session.run({ [ONNX_NAMES.input]: new ort.Tensor('float32', raw, [size, WINDOW.inputSeqLen, 4]) });
      const flts = createRecurrentInferenceModel(kind, WINDOW, network);
      const expected = await flts.predict(batchOf(scaled, size));
      const tfjs = tf.tidy(() => (network.predict(tf.tensor3d(scaled, [size, WINDOW.inputSeqLen, 4])) as tf.Tensor).dataSync());
      try {
        const scaledForecast = outputs[ONNX_NAMES.scaledForecast];
        expect(scaledForecast.dims).toEqual([size, WINDOW.outputSeqLen, 2]);
        expect(relativeError(scaledForecast.data as Float32Array, expected)).toBeLessThanOrEqual(1e-5);
        expect(relativeError(scaledForecast.data as Float32Array, tfjs)).toBeLessThanOrEqual(1e-5);
        const unscaled = Float64Array.from(expected, (v, i) => v * SCALING.targetScale[i % 2] + SCALING.targetOffset[i % 2]);
        expect(relativeError(outputs[ONNX_NAMES.forecast].data as Float32Array, unscaled)).toBeLessThanOrEqual(1e-5);
      } finally {
        flts.dispose();
        await session.release();
      }
    });
  }

  const forms: Array<Pick<WindowSpec, 'targetForm' | 'changeWeight'>> = [{ targetForm: 'change' }, { targetForm: 'change', changeWeight: 0.5 }, { targetForm: 'window' }, { targetForm: 'window-median' }];
  for (const { targetForm: form, changeWeight } of forms) {
    for (const seq of [12, 7]) {
      it(`target form ${form}${changeWeight ? ` (weight ${changeWeight})` : ''}, window ${seq}: the graph maps inputs and outputs as flts's forecasts do (relative error <= 1e-5)`, async () => {
        const spec: WindowSpec = { ...WINDOW, inputSeqLen: seq, targetForm: form, ...(changeWeight ? { changeWeight } : {}) };
        const network = buildRecurrentNetwork('GRU', spec, { hiddenSize: 8, numLayers: 1 }, 6);
        const bytes = encodeOnnxModel(buildRecurrentGraph(extractRecurrentWeights(network)!, spec, { scaling: SCALING, targetForm: form! }));
        const session = await ort.InferenceSession.create(bytes);
        const size = 13;
        const random = createRandom(seq);
        // An offset per window, so the forms' centres differ from window to window.
        const scaled = Float32Array.from({ length: size * seq * 4 }, (_, i) => 2 * random() - 1 + Math.floor(i / (seq * 4)) * 0.4);
        const raw = Float32Array.from(scaled, (v, i) => v * SCALING.featureScale[i % 4] + SCALING.featureOffset[i % 4]);
        const outputs = await session.run({ [ONNX_NAMES.input]: new ort.Tensor('float32', raw, [size, seq, 4]) });
        const flts = withTargetForm(createRecurrentInferenceModel('GRU', spec, network));
        const bare = createRecurrentInferenceModel('GRU', spec, network);
        try {
          const expected = await flts.predict({ windows: scaled, size, forecastTimes: new Float64Array(size * spec.outputSeqLen) });
          expect(relativeError(outputs[ONNX_NAMES.scaledForecast].data as Float32Array, expected)).toBeLessThanOrEqual(1e-5);
          const unscaled = Float64Array.from(expected, (v, i) => v * SCALING.targetScale[i % 2] + SCALING.targetOffset[i % 2]);
          expect(relativeError(outputs[ONNX_NAMES.forecast].data as Float32Array, unscaled)).toBeLessThanOrEqual(1e-5);
          // The form changes the forecast: a graph of the bare network would not pass.
          expect(relativeError(await bare.predict({ windows: scaled, size, forecastTimes: new Float64Array(size * spec.outputSeqLen) }), expected)).toBeGreaterThan(1e-3);
        } finally {
          flts.dispose();
          await session.release();
        }
      });
    }
  }

  it('raises the forecast to the floors of the targets that have one, as flts does, and leaves the others', async () => {
    const spec: WindowSpec = { ...WINDOW, targetForm: 'change', changeWeight: 0.5, targetFloors: { b: 0.1 } };
    const network = buildRecurrentNetwork('GRU', spec, { hiddenSize: 8, numLayers: 1 }, 6);
    const bytes = encodeOnnxModel(buildRecurrentGraph(extractRecurrentWeights(network)!, spec, { scaling: SCALING, targetForm: 'change', targetFloors: spec.targetFloors }));
    const session = await ort.InferenceSession.create(bytes);
    const size = 29;
    const scaled = scaledWindows(size, 8);
    const raw = Float32Array.from(scaled, (v, i) => v * SCALING.featureScale[i % 4] + SCALING.featureOffset[i % 4]);
    const outputs = await session.run({ [ONNX_NAMES.input]: new ort.Tensor('float32', raw, [size, spec.inputSeqLen, 4]) });
    const flts = withTargetFloors(withTargetForm(createRecurrentInferenceModel('GRU', spec, network)));
    try {
      const expected = await flts.predict({ windows: scaled, size, forecastTimes: new Float64Array(size * spec.outputSeqLen) });
      const graph = outputs[ONNX_NAMES.scaledForecast].data as Float32Array;
      expect(relativeError(graph, expected)).toBeLessThanOrEqual(1e-5);
      const b = Array.from(graph).filter((_, i) => i % 2 === 0);
      const d = Array.from(graph).filter((_, i) => i % 2 === 1);
      expect(b.filter((value) => value === Math.fround(0.1)).length).toBeGreaterThan(0);
      expect(Math.min(...b)).toBeGreaterThanOrEqual(Math.fround(0.1));
      expect(Math.min(...d)).toBeLessThan(0.1);
    } finally {
      flts.dispose();
      await session.release();
    }
  });

  it('writes a standard ModelProto: opset, ONNX LSTM/GRU nodes, the dense head and the metadata', () => {
    const lstm = buildRecurrentNetwork('LSTM', WINDOW, { hiddenSize: 4, numLayers: 1 }, 1);
    const gru = buildRecurrentNetwork('GRU', WINDOW, { hiddenSize: 4, numLayers: 2 }, 1);
    const decode = (network: tf.LayersModel) => decodeOnnxModel(encodeOnnxModel(buildRecurrentGraph(extractRecurrentWeights(network)!, WINDOW, { metadata: { run_id: 'abc', window: '{}' } }))) as {
      ir_version: number;
      opset_import: Array<{ version: number }>;
      graph: { node: Array<{ op_type: string; attribute: Array<{ name: string; i?: number }> }>; input: Array<{ name: string }>; output: Array<{ name: string }> };
      metadata_props: Array<{ key: string; value: string }>;
    };
    const model = decode(lstm);
    expect(model.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(model.graph.node.map((n) => n.op_type)).toEqual(['Transpose', 'LSTM', 'Squeeze', 'Gemm', 'Reshape']);
    expect(model.graph.input.map((i) => i.name)).toEqual([ONNX_NAMES.scaledInput]);
    expect(model.metadata_props).toEqual([{ key: 'run_id', value: 'abc' }, { key: 'window', value: '{}' }]);
    const gruNodes = decode(gru).graph.node.filter((n) => n.op_type === 'GRU');
    expect(gruNodes).toHaveLength(2);
    for (const n of gruNodes) expect(n.attribute.find((a) => a.name === 'linear_before_reset')).toMatchObject({ i: 0 });
    lstm.dispose();
    gru.dispose();
  });

  for (const kind of ['LSTM', 'GRU'] as const) {
    it(`${kind} with tfjs's hardSigmoid gates exports as ONNX HardSigmoid and matches`, async () => {
      const model = tf.sequential();
      model.add(tf.layers[kind === 'LSTM' ? 'lstm' : 'gru']({ units: 6, recurrentActivation: 'hardSigmoid', inputShape: [WINDOW.inputSeqLen, 4] }));
      model.add(tf.layers.dense({ units: 6 }));
      const weights = extractRecurrentWeights(model)!;
      expect(weights.layers[0].hardGates).toBe(true);
      const forward = await createOnnxForward(weights, WINDOW);
      const windows = scaledWindows(5, 9);
      const expected = tf.tidy(() => (model.predict(tf.tensor3d(windows, [5, WINDOW.inputSeqLen, 4])) as tf.Tensor).dataSync());
      expect(relativeError(await forward.run(windows, 5), expected)).toBeLessThanOrEqual(1e-5);
      await forward.dispose();
      model.dispose();
    });
  }
});
