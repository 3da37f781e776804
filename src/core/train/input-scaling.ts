import * as tf from '@tensorflow/tfjs';
import { FltsError } from '../errors.js';
import { withPredict, type ForecastModel, type WindowSpec } from '../models/forecast-model.js';
import type { WindowSet } from '../forecast/windows.js';

/**
 * Per input feature, the affine map a network is trained on: input = (processed - offset) / scale. With
 * `training.inputScaling` = standard the offset and scale are each feature's mean and standard deviation over
 * the windows the network fits on, so every input column reaches the network with unit spread whatever the
 * preprocessing scaler left it at (a min-max scaled burst-dominated column sits within a few hundredths of
 * zero); the targets the network outputs keep the processed scale.
 */
export interface InputAffine {
  readonly offset: Float64Array;
  readonly scale: Float64Array;
}

/** Each feature's mean and standard deviation over every step of every window (scale 1 where a feature is constant). */
export function fitInputStandardisation(set: WindowSet, window: WindowSpec): InputAffine {
  const nf = window.features.length;
  const steps = set.size * window.inputSeqLen;
  const offset = new Float64Array(nf);
  const scale = new Float64Array(nf).fill(1);
  if (steps === 0) return { offset, scale };
  for (let s = 0; s < steps; s++) for (let f = 0; f < nf; f++) offset[f] += set.x[s * nf + f];
  for (let f = 0; f < nf; f++) offset[f] /= steps;
  const squares = new Float64Array(nf);
  for (let s = 0; s < steps; s++) for (let f = 0; f < nf; f++) squares[f] += (set.x[s * nf + f] - offset[f]) ** 2;
  for (let f = 0; f < nf; f++) {
    const sd = Math.sqrt(squares[f] / steps);
    // A spread within float32 rounding of nothing is a constant column: centred, never divided.
    scale[f] = sd > 1e-6 ? sd : 1;
  }
  return { offset, scale };
}

function mapInputs(windows: ArrayLike<number>, nf: number, affine: InputAffine): Float32Array {
  const out = new Float32Array(windows.length);
  for (let i = 0; i < windows.length; i++) {
    const f = i % nf;
    out[i] = (windows[i] - affine.offset[f]) / affine.scale[f];
  }
  return out;
}

/** The same windows with every input mapped by `affine`; targets unchanged. */
export function standardiseInputs(set: WindowSet, window: WindowSpec, affine: InputAffine): WindowSet {
  return { ...set, x: mapInputs(set.x, window.features.length, affine) };
}

/** A model trained on mapped inputs, answering windows on the processed scale (used before the map is folded in). */
export function withInputAffine(inner: ForecastModel, affine: InputAffine): ForecastModel {
  const nf = inner.window.features.length;
  return withPredict(inner, (batch) => inner.predict({ ...batch, windows: mapInputs(batch.windows, nf, affine) }));
}

/**
 * Folds the input map into the first recurrent layer, so the saved network reads processed-scale windows like
 * every other network and serving, batch, backtests and the ONNX export need nothing more: the layer computes
 * x' W + b with x' = (x - offset) / scale, which is x (W / scale) + (b - (offset / scale) W).
 */
export function foldInputAffine(network: tf.LayersModel, affine: InputAffine): void {
  const layer = network.layers[0];
  const weights = layer.getWeights();
  const [kernel, recurrent, bias] = weights;
  const nf = affine.offset.length;
  if (weights.length !== 3 || kernel.shape.length !== 2 || kernel.shape[0] !== nf || bias.shape.length !== 1 || bias.shape[0] !== kernel.shape[1]) {
    throw new FltsError('FLTS_INTERNAL', `Cannot fold the input scaling into layer "${layer.name}" (weights ${weights.map((w) => `[${w.shape.join(', ')}]`).join(', ')}, ${nf} inputs).`);
  }
  const columns = kernel.shape[1];
  const k = kernel.dataSync();
  const b = bias.dataSync();
  const folded = new Float32Array(k.length);
  const shifted = Float64Array.from(b);
  for (let f = 0; f < nf; f++) {
    for (let j = 0; j < columns; j++) {
      const w = k[f * columns + j] / affine.scale[f];
      folded[f * columns + j] = w;
      shifted[j] -= affine.offset[f] * w;
    }
  }
  // setWeights copies the values into the layer's variables; the tensors made here are released after.
  const newKernel = tf.tensor2d(folded, [nf, columns]);
  const newBias = tf.tensor1d(Float32Array.from(shifted));
  try {
    layer.setWeights([newKernel, recurrent, newBias]);
  } finally {
    newKernel.dispose();
    newBias.dispose();
  }
}
