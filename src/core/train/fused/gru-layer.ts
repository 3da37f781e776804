import * as tf from '@tensorflow/tfjs';
import { biasGradient, block, blockScale, constants, stepRows, weightGradient } from './gate-math.js';
import type { LayerGradients } from './lstm-layer.js';

export interface GruCache {
  steps: number;
  batch: number;
  units: number;
  input: tf.Tensor2D;
  kernelT: tf.Tensor2D;
  /** Transposed update/reset and candidate parts of the recurrent kernel. */
  gatesT: tf.Tensor2D;
  candidateT: tf.Tensor2D;
  /** Update and reset gates per step, [batch, 2 units]. */
  gates: tf.Tensor2D[];
  /** Candidate state per step. */
  candidate: tf.Tensor2D[];
  /** r_t * h_{t-1} per step (steps >= 1). */
  resetHidden: tf.Tensor2D[];
  hidden: tf.Tensor2D[];
}

/**
 * One tfjs-layers GRU layer (reset before the recurrent multiply, Keras gate order z, r, h; sigmoid gates,
 * tanh candidate; zero initial state) on a time-major input [steps * batch, in].
 */
export function gruForward(input: tf.Tensor2D, kernel: tf.Tensor2D, recurrent: tf.Tensor2D, bias: tf.Tensor1D, steps: number, batch: number): GruCache {
  const units = recurrent.shape[0];
  const k = constants();
  // Doubled candidate columns: its tanh becomes 2 sigmoid(2a) - 1.
  const scale = blockScale(3, units, 2, 2);
  const projected = tf.fused.matMul({ a: input, b: tf.mul(kernel, scale) as tf.Tensor2D, bias: tf.mul(bias, scale) }) as tf.Tensor2D;
  const gatesRecurrent = tf.slice(recurrent, [0, 0], [units, 2 * units]) as tf.Tensor2D;
  const candidateRecurrent = tf.slice(recurrent, [0, 2 * units], [units, units]) as tf.Tensor2D;
  const candidateScaled = tf.mul(candidateRecurrent, k.two) as tf.Tensor2D;
  const cache: GruCache = {
    steps,
    batch,
    units,
    input,
    kernelT: tf.transpose(kernel),
    gatesT: tf.transpose(gatesRecurrent),
    candidateT: tf.transpose(candidateRecurrent),
    gates: [],
    candidate: [],
    resetHidden: [],
    hidden: [],
  };
  for (let t = 0; t < steps; t++) {
    const xp = stepRows(projected, t, batch);
    const xGates = tf.slice(xp, [0, 0], [batch, 2 * units]);
    const xCandidate = tf.slice(xp, [0, 2 * units], [batch, units]);
    const previous = cache.hidden[t - 1];
    const zr = tf.sigmoid(previous ? tf.add(xGates, tf.matMul(previous, gatesRecurrent)) : xGates) as tf.Tensor2D;
    const z = block(zr, 0, units);
    let candidateInput: tf.Tensor = xCandidate;
    if (previous) {
      const rh = tf.mul(block(zr, 1, units), previous) as tf.Tensor2D;
      cache.resetHidden.push(rh);
      candidateInput = tf.add(xCandidate, tf.matMul(rh, candidateScaled));
    }
    const hh = tf.sub(tf.mul(tf.sigmoid(candidateInput), k.two), k.one) as tf.Tensor2D;
    cache.gates.push(zr);
    cache.candidate.push(hh);
    // h = z h_{t-1} + (1 - z) hh = hh + z (h_{t-1} - hh)
    cache.hidden.push(tf.add(hh, tf.mul(z, previous ? tf.sub(previous, hh) : tf.neg(hh))) as tf.Tensor2D);
  }
  return cache;
}

export function gruBackward(cache: GruCache, outputGrad: (t: number) => tf.Tensor2D | undefined, needInputGrad: boolean): LayerGradients {
  const { steps, batch, units } = cache;
  const zero = tf.zeros([batch, units]) as tf.Tensor2D;
  const k = constants();
  const gates = tf.concat(cache.gates, 0) as tf.Tensor2D;
  const candidate = tf.concat(cache.candidate, 0) as tf.Tensor2D;
  const previous = tf.concat([zero, ...cache.hidden.slice(0, -1)], 0) as tf.Tensor2D;
  const z = block(gates, 0, units);
  const r = block(gates, 1, units);
  const gatesDerivative = tf.mul(gates, tf.sub(k.one, gates)) as tf.Tensor2D;
  // d loss / d (candidate pre-activation) = dh (1 - z) (1 - hh^2); d loss / dz = dh (h_{t-1} - hh).
  const toCandidate = tf.mul(tf.sub(k.one, z), tf.sub(k.one, tf.square(candidate))) as tf.Tensor2D;
  const toUpdate = tf.sub(previous, candidate) as tf.Tensor2D;
  const dGates: tf.Tensor2D[] = new Array(steps);
  const dCandidate: tf.Tensor2D[] = new Array(steps);
  let dh: tf.Tensor2D | undefined;
  for (let t = steps - 1; t >= 0; t--) {
    const external = outputGrad(t);
    const h = dh && external ? tf.add(dh, external) : (dh ?? external ?? zero);
    dCandidate[t] = tf.mul(h, stepRows(toCandidate, t, batch)) as tf.Tensor2D;
    const dz = tf.mul(h, stepRows(toUpdate, t, batch));
    if (t === 0) {
      dGates[t] = tf.mul(tf.concat([dz, zero], 1), stepRows(gatesDerivative, t, batch)) as tf.Tensor2D;
      break;
    }
    const dResetHidden = tf.matMul(dCandidate[t], cache.candidateT);
    const dr = tf.mul(dResetHidden, cache.hidden[t - 1]);
    dGates[t] = tf.mul(tf.concat([dz, dr], 1), stepRows(gatesDerivative, t, batch)) as tf.Tensor2D;
    dh = tf.addN([tf.mul(h, stepRows(z as tf.Tensor2D, t, batch)), tf.mul(dResetHidden, stepRows(r as tf.Tensor2D, t, batch)), tf.matMul(dGates[t], cache.gatesT)]) as tf.Tensor2D;
  }
  const dGatesAll = tf.concat(dGates, 0) as tf.Tensor2D;
  const dCandidateAll = tf.concat(dCandidate, 0) as tf.Tensor2D;
  const dProjected = tf.concat([dGatesAll, dCandidateAll], 1) as tf.Tensor2D;
  // r_t * h_{t-1} for every step (zero at t = 0).
  const resetHidden = tf.concat([zero, ...cache.resetHidden], 0) as tf.Tensor2D;
  const recurrent = tf.concat([weightGradient(previous, dGatesAll), weightGradient(resetHidden, dCandidateAll)], 1) as tf.Tensor2D;
  return {
    kernel: weightGradient(cache.input, dProjected),
    recurrent,
    bias: biasGradient(dProjected),
    input: needInputGrad ? (tf.matMul(dProjected, cache.kernelT) as tf.Tensor2D) : undefined,
  };
}
