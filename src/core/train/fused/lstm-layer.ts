import * as tf from '@tensorflow/tfjs';
import { biasGradient, block, blockScale, constants, stepRows, tanhViaSigmoid, weightGradient } from './gate-math.js';

/** What the backward pass of one LSTM layer needs from its forward pass. */
export interface LstmCache {
  steps: number;
  batch: number;
  units: number;
  input: tf.Tensor2D;
  /** Transposed weights, used by the backward pass (plain multiplies only). */
  kernelT: tf.Tensor2D;
  recurrentT: tf.Tensor2D;
  /** Sigmoid of the pre-activations with the candidate block doubled: [steps * batch, 4 * units]. */
  gates: tf.Tensor2D;
  /** c_t and tanh(c_t) per step. */
  cells: tf.Tensor2D[];
  cellTanh: tf.Tensor2D[];
  hidden: tf.Tensor2D[];
}

/**
 * One tfjs-layers LSTM layer (Keras gate order i, f, c, o; sigmoid gates, tanh candidate and output; zero
 * initial state) on a time-major input [steps * batch, in]. The input projection of every step is one
 * multiply; each step then costs one [batch, units] x [units, 4 units] multiply and a few element-wise ops.
 */
export function lstmForward(input: tf.Tensor2D, kernel: tf.Tensor2D, recurrent: tf.Tensor2D, bias: tf.Tensor1D, steps: number, batch: number): LstmCache {
  const units = recurrent.shape[0];
  const k = constants();
  // Doubling the candidate columns turns its tanh into the same sigmoid as the gates: one op per step.
  const scale = blockScale(4, units, 2, 2);
  const projected = tf.fused.matMul({ a: input, b: tf.mul(kernel, scale) as tf.Tensor2D, bias: tf.mul(bias, scale) }) as tf.Tensor2D;
  const recurrentScaled = tf.mul(recurrent, scale) as tf.Tensor2D;
  const gates: tf.Tensor2D[] = [];
  const cells: tf.Tensor2D[] = [];
  const cellTanh: tf.Tensor2D[] = [];
  const hidden: tf.Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    const xp = stepRows(projected, t, batch);
    const z = t === 0 ? xp : tf.add(xp, tf.matMul(hidden[t - 1], recurrentScaled));
    const s = tf.sigmoid(z) as tf.Tensor2D;
    const i = block(s, 0, units);
    const g = tf.sub(tf.mul(block(s, 2, units), k.two), k.one);
    const ig = tf.mul(i, g);
    const c = (t === 0 ? ig : tf.add(tf.mul(block(s, 1, units), cells[t - 1]), ig)) as tf.Tensor2D;
    const tc = tanhViaSigmoid(c, k) as tf.Tensor2D;
    gates.push(s);
    cells.push(c);
    cellTanh.push(tc);
    hidden.push(tf.mul(block(s, 3, units), tc) as tf.Tensor2D);
  }
  return { steps, batch, units, input, kernelT: tf.transpose(kernel), recurrentT: tf.transpose(recurrent), gates: tf.concat(gates, 0), cells, cellTanh, hidden };
}

export interface LayerGradients {
  kernel: tf.Tensor2D;
  recurrent: tf.Tensor2D;
  bias: tf.Tensor1D;
  /** d loss / d input, [steps * batch, in]; only when asked (a lower layer needs it). */
  input?: tf.Tensor2D;
}

/**
 * Backpropagation through time. `outputGrad(t)` is d loss / d h_t coming from above (undefined = zero).
 * Per step only the recurrent chain runs; the weight gradients are three multiplies over all steps.
 */
export function lstmBackward(cache: LstmCache, outputGrad: (t: number) => tf.Tensor2D | undefined, needInputGrad: boolean): LayerGradients {
  const { steps, batch, units, gates } = cache;
  const zero = tf.zeros([batch, units]) as tf.Tensor2D;
  const k = constants();
  // d activation / d pre-activation for every step at once: s(1-s), and 4 s(1-s) = 1 - g^2 for the candidate.
  const derivative = tf.mul(tf.mul(gates, tf.sub(k.one, gates)), blockScale(4, units, 2, 4));
  const i = block(gates, 0, units);
  const f = block(gates, 1, units);
  const g = tf.sub(tf.mul(block(gates, 2, units), k.two), k.one);
  const o = block(gates, 3, units);
  const previousCells = tf.concat([zero, ...cache.cells.slice(0, -1)], 0);
  const cellTanh = tf.concat(cache.cellTanh, 0) as tf.Tensor2D;
  // dZ = [dc, dc, dc, dh] * multiplier, with multiplier = [g, c_{t-1}, i, tanh c] * derivative.
  const multiplier = tf.mul(tf.concat([g, previousCells, i, cellTanh], 1), derivative) as tf.Tensor2D;
  const outputToCell = tf.mul(o, tf.sub(k.one, tf.square(cellTanh))) as tf.Tensor2D;
  const dz: tf.Tensor2D[] = new Array(steps);
  let dh: tf.Tensor2D | undefined;
  let dc: tf.Tensor2D | undefined;
  for (let t = steps - 1; t >= 0; t--) {
    const external = outputGrad(t);
    const h = dh && external ? tf.add(dh, external) : (dh ?? external ?? zero);
    const fromH = tf.mul(h, stepRows(outputToCell, t, batch));
    const c = (dc ? tf.add(dc, fromH) : fromH) as tf.Tensor2D;
    dz[t] = tf.mul(tf.concat([c, c, c, h], 1), stepRows(multiplier, t, batch)) as tf.Tensor2D;
    if (t > 0) {
      dh = tf.matMul(dz[t], cache.recurrentT) as tf.Tensor2D;
      dc = tf.mul(c, stepRows(f as tf.Tensor2D, t, batch)) as tf.Tensor2D;
    }
  }
  const dzAll = tf.concat(dz, 0) as tf.Tensor2D;
  // h_{t-1} for every step (zero at t = 0), so the recurrent gradient is one multiply.
  const previousHidden = tf.concat([zero, ...cache.hidden.slice(0, -1)], 0) as tf.Tensor2D;
  return {
    kernel: weightGradient(cache.input, dzAll),
    recurrent: weightGradient(previousHidden, dzAll),
    bias: biasGradient(dzAll),
    input: needInputGrad ? (tf.matMul(dzAll, cache.kernelT) as tf.Tensor2D) : undefined,
  };
}
