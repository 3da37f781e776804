import * as tf from '@tensorflow/tfjs';
import type { NetworkLayout } from './network-parameters.js';

/** One LSTM layer's weights prepared for a pass: tensors for the multiplies, nothing else. */
interface LayerTensors {
  inputs: number;
  /** Offset of the layer's kernel in the flat weights; kernel, recurrent kernel and bias follow each other. */
  offset: number;
  /** [inputs + units + 1, 4 units]: kernel, recurrent kernel and bias rows, candidate columns doubled. */
  stacked: tf.Tensor2D;
  /** [4 units, units]: the recurrent kernel transposed, for d h_{t-1} = dZ_t U^T. */
  recurrentT: tf.Tensor2D;
  /** [4 units, inputs]: the kernel transposed, for the input gradient of layers above the first. */
  kernelT?: tf.Tensor2D;
}

/** What the backward pass of one layer needs from its forward pass; all time-major (row t * batch + b). */
interface LayerCache {
  /** Every step's [x_t, h_{t-1}, 1]: [steps * batch, inputs + units + 1]. */
  stepInputs: Float32Array;
  /** Activated gates i, f, g (= tanh of the candidate), o: [steps * batch, 4 units]. */
  gates: Float32Array;
  cells: Float32Array;
  cellTanh: Float32Array;
  hidden: Float32Array;
}

/** [rows, columns] -> [columns, rows]. */
function transposed(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c];
  return out;
}

/** a [rows, k] x b, read back; the multiplies are the only work left to tfjs (XNNPACK on wasm). */
function multiply(a: Float32Array, rows: number, b: tf.Tensor2D): Float32Array {
  const x = tf.tensor2d(a, [rows, a.length / rows]);
  const product = tf.matMul(x, b);
  try {
    return product.dataSync() as Float32Array;
  } finally {
    tf.dispose([x, product]);
  }
}

/** a^T x b for a [rows, m] and b [rows, n]: the weight gradient over every step and sample at once. */
function multiplyTransposedA(a: Float32Array, rows: number, b: Float32Array): Float32Array {
  // Disposed by hand: tf.tidy would walk every element of the returned array looking for tensors.
  const left = tf.tensor2d(a, [rows, a.length / rows]);
  const leftT = tf.transpose(left);
  const right = tf.tensor2d(b, [rows, b.length / rows]);
  const product = tf.matMul(leftT, right);
  try {
    return product.dataSync() as Float32Array;
  } finally {
    tf.dispose([left, leftT, right, product]);
  }
}

export function prepareLstmLayers(layout: NetworkLayout, weights: Float32Array): LayerTensors[] {
  const u = layout.units;
  const width = 4 * u;
  return Array.from({ length: layout.numLayers }, (_, layer) => {
    const inputs = layer === 0 ? layout.inputSize : u;
    const offset = layout.weights[3 * layer].offset;
    const rows = inputs + u + 1;
    const stacked = weights.slice(offset, offset + rows * width);
    // tanh(z) = 2 sigmoid(2z) - 1: with the candidate columns doubled one sigmoid activates all four gates.
    for (let r = 0; r < rows; r++) for (let j = 2 * u; j < 3 * u; j++) stacked[r * width + j] *= 2;
    const kernel = weights.subarray(offset, offset + inputs * width);
    const recurrent = weights.subarray(offset + inputs * width, offset + (inputs + u) * width);
    return {
      inputs,
      offset,
      stacked: tf.tensor2d(stacked, [rows, width]),
      recurrentT: tf.tensor2d(transposed(recurrent, u, width), [width, u]),
      kernelT: layer > 0 ? tf.tensor2d(transposed(kernel, inputs, width), [width, inputs]) : undefined,
    };
  });
}

export function disposeLstmLayers(layers: LayerTensors[]): void {
  for (const layer of layers) tf.dispose([layer.stacked, layer.recurrentT, ...(layer.kernelT ? [layer.kernelT] : [])]);
}

/**
 * One LSTM layer (Keras gate order i, f, c, o; sigmoid gates; zero initial state) over a time-major input
 * [steps * batch, inputs]. Per step: one multiply of [x_t, h_{t-1}, 1] by the stacked weights and the gate
 * sigmoid in tfjs, then the cell arithmetic in a plain loop.
 */
export function lstmLayerForward(layer: LayerTensors, units: number, input: Float32Array, steps: number, batch: number): LayerCache {
  const u = units;
  const inputs = layer.inputs;
  const width = inputs + u + 1;
  const rows = steps * batch;
  const stepInputs = new Float32Array(rows * width);
  const gates = new Float32Array(rows * 4 * u);
  const cells = new Float32Array(rows * u);
  const cellTanh = new Float32Array(rows * u);
  const hidden = new Float32Array(rows * u);
  const doubledCells = new Float32Array(batch * u);
  for (let t = 0; t < steps; t++) {
    const first = t * batch;
    for (let b = 0; b < batch; b++) {
      const row = (first + b) * width;
      stepInputs.set(input.subarray((first + b) * inputs, (first + b + 1) * inputs), row);
      if (t > 0) stepInputs.set(hidden.subarray((first - batch + b) * u, (first - batch + b + 1) * u), row + inputs);
      stepInputs[row + width - 1] = 1;
    }
    const x = tf.tensor2d(stepInputs.subarray(first * width, (first + batch) * width), [batch, width]);
    const z = tf.matMul(x, layer.stacked);
    const activated = tf.sigmoid(z);
    const s = activated.dataSync() as Float32Array;
    tf.dispose([x, z, activated]);
    for (let b = 0; b < batch; b++) {
      const row = b * 4 * u;
      const gate = (first + b) * 4 * u;
      const cell = (first + b) * u;
      const previous = cell - batch * u;
      for (let j = 0; j < u; j++) {
        const i = s[row + j];
        const f = s[row + u + j];
        const g = 2 * s[row + 2 * u + j] - 1;
        const c = f * (t > 0 ? cells[previous + j] : 0) + i * g;
        gates[gate + j] = i;
        gates[gate + u + j] = f;
        gates[gate + 2 * u + j] = g;
        gates[gate + 3 * u + j] = s[row + 3 * u + j];
        cells[cell + j] = c;
        doubledCells[b * u + j] = 2 * c;
      }
    }
    // tanh(c) = 2 sigmoid(2c) - 1 in one vectorised call: Math.tanh costs ~40 ns a value.
    const doubled = tf.tensor1d(doubledCells);
    const sigmoidOfDoubled = tf.sigmoid(doubled);
    const half = sigmoidOfDoubled.dataSync() as Float32Array;
    tf.dispose([doubled, sigmoidOfDoubled]);
    for (let b = 0; b < batch; b++) {
      const gate = (first + b) * 4 * u + 3 * u;
      const cell = (first + b) * u;
      for (let j = 0; j < u; j++) {
        const tc = 2 * half[b * u + j] - 1;
        cellTanh[cell + j] = tc;
        hidden[cell + j] = gates[gate + j] * tc;
      }
    }
  }
  return { stepInputs, gates, cells, cellTanh, hidden };
}

/**
 * Backpropagation through time for one layer. `outputGrad` is d loss / d h_t from above for every step
 * ([steps * batch, units], time-major). The kernel, recurrent kernel and bias gradients come out of one
 * multiply, [x_t, h_{t-1}, 1]^T dZ over all steps, in exactly their flat order, and are written to `out`.
 * Returns d loss / d input when `needInputGrad`.
 */
export function lstmLayerBackward(layer: LayerTensors, units: number, cache: LayerCache, outputGrad: Float32Array, steps: number, batch: number, out: Float32Array, needInputGrad: boolean): Float32Array | undefined {
  const u = units;
  const { gates, cells, cellTanh } = cache;
  const dz = new Float32Array(steps * batch * 4 * u);
  let dhRecurrent: Float32Array = new Float32Array(batch * u);
  const dcNext = new Float32Array(batch * u);
  for (let t = steps - 1; t >= 0; t--) {
    const first = t * batch;
    for (let b = 0; b < batch; b++) {
      const gate = (first + b) * 4 * u;
      const cell = (first + b) * u;
      const previous = cell - batch * u;
      const k = b * u;
      for (let j = 0; j < u; j++) {
        const i = gates[gate + j];
        const f = gates[gate + u + j];
        const g = gates[gate + 2 * u + j];
        const o = gates[gate + 3 * u + j];
        const tc = cellTanh[cell + j];
        const dh = dhRecurrent[k + j] + outputGrad[cell + j];
        const dc = dcNext[k + j] + dh * o * (1 - tc * tc);
        const cPrevious = t > 0 ? cells[previous + j] : 0;
        dz[gate + j] = dc * g * i * (1 - i);
        dz[gate + u + j] = dc * cPrevious * f * (1 - f);
        dz[gate + 2 * u + j] = dc * i * (1 - g * g);
        dz[gate + 3 * u + j] = dh * tc * o * (1 - o);
        dcNext[k + j] = dc * f;
      }
    }
    if (t > 0) dhRecurrent = multiply(dz.subarray(first * 4 * u, (first + batch) * 4 * u), batch, layer.recurrentT);
  }
  out.set(multiplyTransposedA(cache.stepInputs, steps * batch, dz), layer.offset);
  return needInputGrad && layer.kernelT ? multiply(dz, steps * batch, layer.kernelT) : undefined;
}
