import type * as tf from '@tensorflow/tfjs';
import type { RecurrentKind } from './recurrent-model.js';

/**
 * One recurrent layer as plain arrays, stacked so that a whole step is one multiply:
 * rows are [input (inputs rows); state (units rows); bias (1 row)], so [x_t, h, 1] x stacked = pre-activation.
 */
export interface RecurrentLayerWeights {
  kind: RecurrentKind;
  units: number;
  inputs: number;
  /** tfjs' hardSigmoid gates instead of the logistic sigmoid. */
  hardGates: boolean;
  /**
   * LSTM: [inputs + units + 1, 4 units], Keras gate order i, f, c, o.
   * GRU: [inputs + units + 1, 2 units], update and reset gates.
   * The candidate columns are doubled, because tanh(z) = 2 sigmoid(2z) - 1 lets every tanh be a sigmoid.
   */
  gates: Float32Array;
  /** GRU only: [inputs + units + 1, units], applied to [x_t, reset * h, 1]; doubled like the LSTM candidate. */
  candidate?: Float32Array;
}

/** Stacked recurrent layers and one linear dense layer: everything the forward pass needs, transferable to a thread. */
export interface RecurrentNetworkWeights {
  layers: RecurrentLayerWeights[];
  /** [units + 1, outputs]: kernel rows, then the bias row. */
  dense: Float32Array;
  outputs: number;
}

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): tf.Tensor[];
}

/** Rows [kernel; recurrent; bias] restricted to columns [from, from + width), with a factor applied. */
function stack(kernel: Float32Array, recurrent: Float32Array, bias: Float32Array, inputs: number, units: number, total: number, from: number, width: number, factor: number): Float32Array {
  const out = new Float32Array((inputs + units + 1) * width);
  const copyRow = (source: Float32Array, sourceRow: number, row: number): void => {
    for (let j = 0; j < width; j++) out[row * width + j] = source[sourceRow * total + from + j] * factor;
  };
  for (let r = 0; r < inputs; r++) copyRow(kernel, r, r);
  for (let r = 0; r < units; r++) copyRow(recurrent, r, inputs + r);
  copyRow(bias, 0, inputs + units);
  return out;
}

function layerWeights(layer: LayerLike): RecurrentLayerWeights | undefined {
  const config = layer.getConfig();
  const kind = layer.getClassName() as RecurrentKind;
  const gate = config.recurrentActivation as string;
  if (config.activation !== 'tanh' || (gate !== 'sigmoid' && gate !== 'hardSigmoid')) return undefined;
  if (config.goBackwards || config.stateful || config.useBias === false) return undefined;
  if (kind === 'GRU' && config.resetAfter) return undefined;
  const units = config.units as number;
  const [kernelTensor, recurrentTensor, biasTensor] = layer.getWeights();
  const inputs = kernelTensor.shape[0];
  const kernel = kernelTensor.dataSync() as Float32Array;
  const recurrent = recurrentTensor.dataSync() as Float32Array;
  const bias = biasTensor.dataSync() as Float32Array;
  const base = { kind, units, inputs, hardGates: gate === 'hardSigmoid' };
  if (kind === 'LSTM') {
    const gates = stack(kernel, recurrent, bias, inputs, units, 4 * units, 0, 4 * units, 1);
    const width = 4 * units;
    for (let r = 0; r < inputs + units + 1; r++) for (let j = 2 * units; j < 3 * units; j++) gates[r * width + j] *= 2;
    return { ...base, gates };
  }
  return {
    ...base,
    gates: stack(kernel, recurrent, bias, inputs, units, 3 * units, 0, 2 * units, 1),
    candidate: stack(kernel, recurrent, bias, inputs, units, 3 * units, 2 * units, units, 2),
  };
}

/** The network's weights when it is stacked LSTM/GRU layers and one linear dense layer; else undefined. */
export function extractRecurrentWeights(network: tf.LayersModel): RecurrentNetworkWeights | undefined {
  const layers = (network.layers as unknown as LayerLike[]).filter((layer) => layer.getClassName() !== 'InputLayer');
  const last = layers[layers.length - 1];
  const recurrentLayers = layers.slice(0, -1);
  if (!last || last.getClassName() !== 'Dense' || recurrentLayers.length === 0) return undefined;
  if (recurrentLayers.some((layer) => !['LSTM', 'GRU'].includes(layer.getClassName()))) return undefined;
  const denseConfig = last.getConfig();
  if (denseConfig.activation !== 'linear' || denseConfig.useBias === false) return undefined;
  const weights: RecurrentLayerWeights[] = [];
  for (const layer of recurrentLayers) {
    const extracted = layerWeights(layer);
    if (!extracted) return undefined;
    weights.push(extracted);
  }
  const [kernel, bias] = last.getWeights();
  const [units, outputs] = kernel.shape as [number, number];
  const dense = new Float32Array((units + 1) * outputs);
  dense.set(kernel.dataSync() as Float32Array);
  dense.set(bias.dataSync() as Float32Array, units * outputs);
  return { layers: weights, dense, outputs };
}
