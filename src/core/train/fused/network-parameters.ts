import * as tf from '@tensorflow/tfjs';
import { FltsError } from '../../errors.js';
import type { RecurrentKind } from '../../models/recurrent-model.js';

/**
 * The trainable weights of a stacked LSTM/GRU + dense network as one flat Float32Array, in the order and
 * layout of `LayersModel.getWeights()` (per recurrent layer: kernel [in, gates*units], recurrent_kernel
 * [units, gates*units], bias [gates*units]; then dense kernel [units, out] and bias [out]). The fused
 * training path updates this vector and writes it back, so the saved tfjs model format is unchanged.
 */
export interface NetworkLayout {
  kind: RecurrentKind;
  inputSize: number;
  units: number;
  numLayers: number;
  outputSize: number;
  /** Shape and offset of each weight in the flat vector, in getWeights() order. */
  weights: { shape: number[]; offset: number; size: number }[];
  /** Total number of parameters. */
  size: number;
}

export function gateCount(kind: RecurrentKind): number {
  return kind === 'LSTM' ? 4 : 3;
}

export function networkLayout(kind: RecurrentKind, inputSize: number, units: number, numLayers: number, outputSize: number): NetworkLayout {
  const gates = gateCount(kind) * units;
  const shapes: number[][] = [];
  for (let layer = 0; layer < numLayers; layer++) shapes.push([layer === 0 ? inputSize : units, gates], [units, gates], [gates]);
  shapes.push([units, outputSize], [outputSize]);
  let offset = 0;
  const weights = shapes.map((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const entry = { shape, offset, size };
    offset += size;
    return entry;
  });
  return { kind, inputSize, units, numLayers, outputSize, weights, size: offset };
}

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
}

/**
 * The layout of a network built by `buildRecurrentNetwork`, or undefined when a layer uses options the
 * fused path does not implement (the caller then trains with tfjs-layers).
 */
export function fusedLayoutOf(network: tf.LayersModel): NetworkLayout | undefined {
  const layers = network.layers as unknown as LayerLike[];
  const recurrent = layers.slice(0, -1);
  const dense = layers.at(-1);
  if (recurrent.length === 0 || !dense || dense.getClassName() !== 'Dense') return undefined;
  const kind = recurrent[0].getClassName();
  if (kind !== 'LSTM' && kind !== 'GRU') return undefined;
  let units = 0;
  for (const [index, layer] of recurrent.entries()) {
    const config = layer.getConfig();
    if (layer.getClassName() !== kind || config.activation !== 'tanh' || config.recurrentActivation !== 'sigmoid') return undefined;
    if (config.goBackwards || config.stateful || config.useBias === false || config.resetAfter) return undefined;
    if (Number(config.dropout ?? 0) !== 0 || Number(config.recurrentDropout ?? 0) !== 0) return undefined;
    if (Boolean(config.returnSequences) !== index < recurrent.length - 1) return undefined;
    if (index > 0 && config.units !== units) return undefined;
    units = config.units as number;
  }
  const denseConfig = dense.getConfig();
  if ((denseConfig.activation ?? 'linear') !== 'linear' || denseConfig.useBias === false) return undefined;
  const inputShape = network.inputs[0].shape;
  const layout = networkLayout(kind, inputShape[inputShape.length - 1] as number, units, recurrent.length, denseConfig.units as number);
  const actual = network.getWeights().map((w) => w.shape.join('x'));
  return actual.join(',') === layout.weights.map((w) => w.shape.join('x')).join(',') ? layout : undefined;
}

export function readParameters(network: tf.LayersModel, layout: NetworkLayout): Float32Array {
  const out = new Float32Array(layout.size);
  network.getWeights().forEach((weight, i) => out.set(weight.dataSync() as Float32Array, layout.weights[i].offset));
  return out;
}

export function writeParameters(network: tf.LayersModel, layout: NetworkLayout, flat: Float32Array): void {
  if (flat.length !== layout.size) throw new FltsError('FLTS_TRAIN_FAILED', `Expected ${layout.size} parameters, got ${flat.length}.`);
  const tensors = layout.weights.map((w) => tf.tensor(flat.slice(w.offset, w.offset + w.size), w.shape));
  try {
    network.setWeights(tensors);
  } finally {
    tensors.forEach((t) => t.dispose());
  }
}
