import type { MatrixOps } from '../../kernels/matrix-ops.js';
import type { NetworkLayout } from './network-parameters.js';
import { createGruLayer } from './gru-loops.js';
import { createLstmLayer } from './lstm-loops.js';
import type { LayerPassCache, TrainableLayer } from './trainable-layer.js';

/** The dense head on the last step's h: prediction [batch, outputs] = last [batch, units] x kernel + bias. */
function denseForward(layout: NetworkLayout, weights: Float32Array, last: Float32Array, batch: number): Float32Array {
  const { units: u, outputSize: o } = layout;
  const kernel = weights.subarray(layout.weights[3 * layout.numLayers].offset);
  const bias = weights.subarray(layout.weights[3 * layout.numLayers + 1].offset);
  const prediction = new Float32Array(batch * o);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < o; k++) {
      let sum = bias[k];
      for (let j = 0; j < u; j++) sum += last[b * u + j] * kernel[j * o + k];
      prediction[b * o + k] = sum;
    }
  }
  return prediction;
}

function runLayers(ops: MatrixOps, layout: NetworkLayout, weights: Float32Array, x: Float32Array, steps: number, batch: number): { layers: TrainableLayer[]; caches: LayerPassCache[]; last: Float32Array } {
  const create = layout.kind === 'LSTM' ? createLstmLayer : createGruLayer;
  const layers: TrainableLayer[] = [];
  const caches: LayerPassCache[] = [];
  let input = x;
  try {
    for (let index = 0; index < layout.numLayers; index++) {
      const layer = create(ops, layout, weights, index);
      layers.push(layer);
      const cache = layer.forward(input, steps, batch);
      caches.push(cache);
      input = cache.hidden;
    }
  } catch (error) {
    for (const layer of layers) layer.dispose();
    throw error;
  }
  const last = input.subarray((steps - 1) * batch * layout.units);
  return { layers, caches, last };
}

/** Predictions [batch, outputs] for a time-major input [steps * batch, features]. */
export function recurrentPredict(ops: MatrixOps, layout: NetworkLayout, weights: Float32Array, x: Float32Array, steps: number, batch: number): Float32Array {
  const { layers, last } = runLayers(ops, layout, weights, x, steps, batch);
  for (const layer of layers) layer.dispose();
  return denseForward(layout, weights, last, batch);
}

/**
 * Sum of squared errors of a batch, and the gradient of `gradScale` x that sum for every weight written into
 * `out` in the flat getWeights() order. Everything element-wise runs in plain loops; `ops` does the multiplies.
 */
export function recurrentLossAndGradients(ops: MatrixOps, layout: NetworkLayout, weights: Float32Array, x: Float32Array, y: Float32Array, steps: number, batch: number, gradScale: number, out: Float32Array): number {
  const { units: u, outputSize: o, numLayers } = layout;
  const { layers, caches, last } = runLayers(ops, layout, weights, x, steps, batch);
  try {
    const prediction = denseForward(layout, weights, last, batch);
    const kernelOffset = layout.weights[3 * numLayers].offset;
    const biasOffset = layout.weights[3 * numLayers + 1].offset;
    const kernel = weights.subarray(kernelOffset);
    let sse = 0;
    const dPrediction = new Float32Array(batch * o);
    for (let i = 0; i < prediction.length; i++) {
      const error = prediction[i] - y[i];
      sse += error * error;
      dPrediction[i] = 2 * gradScale * error;
    }
    // d loss / d h of the top layer: only its last step feeds the head.
    let outputGrad: Float32Array = new Float32Array(steps * batch * u);
    const lastGrad = outputGrad.subarray((steps - 1) * batch * u);
    for (let k = 0; k < o; k++) {
      let biasGrad = 0;
      for (let b = 0; b < batch; b++) biasGrad += dPrediction[b * o + k];
      out[biasOffset + k] = biasGrad;
    }
    for (let j = 0; j < u; j++) {
      for (let k = 0; k < o; k++) {
        let kernelGrad = 0;
        for (let b = 0; b < batch; b++) kernelGrad += last[b * u + j] * dPrediction[b * o + k];
        out[kernelOffset + j * o + k] = kernelGrad;
      }
      for (let b = 0; b < batch; b++) {
        let sum = 0;
        for (let k = 0; k < o; k++) sum += dPrediction[b * o + k] * kernel[j * o + k];
        lastGrad[b * u + j] = sum;
      }
    }
    for (let layer = numLayers - 1; layer >= 0; layer--) {
      const inputGrad = layers[layer].backward(caches[layer], outputGrad, steps, batch, out, layer > 0);
      if (inputGrad) outputGrad = inputGrad;
    }
    return sse;
  } finally {
    for (const layer of layers) layer.dispose();
  }
}
