import * as tf from '@tensorflow/tfjs';
import { lstmBackward, lstmForward, type LayerGradients } from './lstm-layer.js';
import { gruBackward, gruForward } from './gru-layer.js';
import type { NetworkLayout } from './network-parameters.js';

interface LayerPass {
  /** h_t for every step, time-major. */
  hidden: tf.Tensor2D[];
  backward(outputGrad: (t: number) => tf.Tensor2D | undefined, needInputGrad: boolean): LayerGradients;
}

function runLayer(layout: NetworkLayout, input: tf.Tensor2D, weights: tf.Tensor[], steps: number, batch: number): LayerPass {
  const [kernel, recurrent, bias] = weights as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
  if (layout.kind === 'LSTM') {
    const cache = lstmForward(input, kernel, recurrent, bias, steps, batch);
    return { hidden: cache.hidden, backward: (grad, need) => lstmBackward(cache, grad, need) };
  }
  const cache = gruForward(input, kernel, recurrent, bias, steps, batch);
  return { hidden: cache.hidden, backward: (grad, need) => gruBackward(cache, grad, need) };
}

function forward(layout: NetworkLayout, params: tf.Tensor[], x: tf.Tensor2D, steps: number, batch: number): { passes: LayerPass[]; last: tf.Tensor2D; prediction: tf.Tensor2D } {
  const passes: LayerPass[] = [];
  let input = x;
  for (let layer = 0; layer < layout.numLayers; layer++) {
    const pass = runLayer(layout, input, params.slice(3 * layer, 3 * layer + 3), steps, batch);
    passes.push(pass);
    if (layer < layout.numLayers - 1) input = tf.concat(pass.hidden, 0) as tf.Tensor2D;
  }
  const last = passes[passes.length - 1].hidden[steps - 1];
  const [denseKernel, denseBias] = params.slice(3 * layout.numLayers) as [tf.Tensor2D, tf.Tensor1D];
  return { passes, last, prediction: tf.add(tf.matMul(last, denseKernel), denseBias) as tf.Tensor2D };
}

/** The network's output for a time-major input [steps * batch, features] (call inside tf.tidy). */
export function fusedPredict(layout: NetworkLayout, params: tf.Tensor[], x: tf.Tensor2D, steps: number, batch: number): tf.Tensor2D {
  return forward(layout, params, x, steps, batch).prediction;
}

/**
 * Sum of squared errors of a batch and the gradients of `gradScale` x that sum for every weight, in
 * getWeights() order; gradScale = 1 / (full batch size x outputs) gives the MSE gradient, and shards of one
 * batch can then simply be added. Call inside tf.tidy.
 */
export function fusedLossAndGradients(layout: NetworkLayout, params: tf.Tensor[], x: tf.Tensor2D, y: tf.Tensor2D, steps: number, batch: number, gradScale: number): { sse: tf.Scalar; grads: tf.Tensor[] } {
  const { passes, last, prediction } = forward(layout, params, x, steps, batch);
  const error = tf.sub(prediction, y) as tf.Tensor2D;
  const sse = tf.sum(tf.square(error)) as tf.Scalar;
  const dPrediction = tf.mul(error, 2 * gradScale) as tf.Tensor2D;
  const denseKernel = params[3 * layout.numLayers] as tf.Tensor2D;
  const grads: tf.Tensor[] = new Array(params.length);
  grads[3 * layout.numLayers] = tf.matMul(tf.transpose(last), dPrediction);
  grads[3 * layout.numLayers + 1] = tf.sum(dPrediction, 0);
  const dLast = tf.matMul(dPrediction, tf.transpose(denseKernel)) as tf.Tensor2D;
  let outputGrad: (t: number) => tf.Tensor2D | undefined = (t) => (t === steps - 1 ? dLast : undefined);
  for (let layer = layout.numLayers - 1; layer >= 0; layer--) {
    const g = passes[layer].backward(outputGrad, layer > 0);
    grads[3 * layer] = g.kernel;
    grads[3 * layer + 1] = g.recurrent;
    grads[3 * layer + 2] = g.bias;
    if (g.input) {
      const dInput = g.input;
      outputGrad = (t) => tf.slice(dInput, [t * batch, 0], [batch, dInput.shape[1]]);
    }
  }
  return { sse, grads };
}
