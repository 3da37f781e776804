import type { HeldMatrix, MatrixOps } from '../../kernels/matrix-ops.js';
import type { NetworkLayout } from './network-parameters.js';
import { withoutState, zeroStateInputs } from './stacked-weights.js';
import type { LayerPassCache, TrainableLayer } from './trainable-layer.js';

/** One LSTM layer's weights prepared for a pass: held matrices for the multiplies, nothing else. */
interface LayerWeights {
  inputs: number;
  /** Offset of the layer's kernel in the flat weights; kernel, recurrent kernel and bias follow each other. */
  offset: number;
  /** [inputs + units + 1, 4 units]: kernel, recurrent kernel and bias rows, candidate columns doubled. */
  stacked: HeldMatrix;
  /** [inputs + 1, 4 units]: the kernel and bias rows of `stacked`, for the first step (zero state). */
  firstStep: HeldMatrix;
  /** [4 units, units]: the recurrent kernel transposed, for d h_{t-1} = dZ_t U^T. */
  recurrentT: HeldMatrix;
  /** [4 units, inputs]: the kernel transposed, for the input gradient of layers above the first. */
  kernelT?: HeldMatrix;
}

/** What the backward pass of one layer needs from its forward pass; all time-major (row t * batch + b). */
interface LayerCache extends LayerPassCache {
  /** Every step's [x_t, h_{t-1}, 1]: [steps * batch, inputs + units + 1]. */
  stepInputs: Float32Array;
  /** Activated gates i, f, g (= tanh of the candidate), o: [steps * batch, 4 units]. */
  gates: Float32Array;
  cells: Float32Array;
  cellTanh: Float32Array;
  hidden: Float32Array;
}

function prepareLstmLayer(ops: MatrixOps, layout: NetworkLayout, weights: Float32Array, index: number): LayerWeights {
  const u = layout.units;
  const width = 4 * u;
  const inputs = index === 0 ? layout.inputSize : u;
  const offset = layout.weights[3 * index].offset;
  const rows = inputs + u + 1;
  const stacked = weights.slice(offset, offset + rows * width);
  // tanh(z) = 2 sigmoid(2z) - 1: with the candidate columns doubled one sigmoid activates all four gates.
  for (let r = 0; r < rows; r++) for (let j = 2 * u; j < 3 * u; j++) stacked[r * width + j] *= 2;
  const kernel = weights.subarray(offset, offset + inputs * width);
  const recurrent = weights.subarray(offset + inputs * width, offset + (inputs + u) * width);
  return {
    inputs,
    offset,
    stacked: ops.hold(stacked, rows, width),
    firstStep: ops.hold(withoutState(stacked, inputs, u, width), inputs + 1, width),
    recurrentT: ops.holdTransposed(recurrent, u, width),
    kernelT: index > 0 ? ops.holdTransposed(kernel, inputs, width) : undefined,
  };
}

/**
 * One LSTM layer (Keras gate order i, f, c, o; sigmoid gates; zero initial state) over a time-major input
 * [steps * batch, inputs]. Per step: one multiply of [x_t, h_{t-1}, 1] by the stacked weights and the gate
 * sigmoid in one `ops` call, then the cell arithmetic in a plain loop.
 */
function lstmLayerForward(ops: MatrixOps, layer: LayerWeights, units: number, input: Float32Array, steps: number, batch: number): LayerCache {
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
    const s =
      t === 0
        ? ops.multiplySigmoid(zeroStateInputs(input, inputs, batch), batch, layer.firstStep)
        : ops.multiplySigmoid(stepInputs.subarray(first * width, (first + batch) * width), batch, layer.stacked);
    for (let b = 0; b < batch; b++) {
      const row = b * 4 * u;
      const gate = (first + b) * 4 * u;
      const cell = (first + b) * u;
      const previous = cell - batch * u;
      const doubledRow = b * u;
      // Gates as activated; the candidate block is then turned from sigmoid(2z) into tanh(z) in place.
      gates.set(s.subarray(row, row + 4 * u), gate);
      for (let j = gate + 2 * u; j < gate + 3 * u; j++) gates[j] = 2 * gates[j] - 1;
      if (t === 0) {
        for (let j = 0; j < u; j++) {
          const c = gates[gate + j] * gates[gate + 2 * u + j];
          cells[cell + j] = c;
          doubledCells[doubledRow + j] = 2 * c;
        }
      } else {
        for (let j = 0; j < u; j++) {
          const c = gates[gate + u + j] * cells[previous + j] + gates[gate + j] * gates[gate + 2 * u + j];
          cells[cell + j] = c;
          doubledCells[doubledRow + j] = 2 * c;
        }
      }
    }
    // tanh(c) = 2 sigmoid(2c) - 1.
    const half = ops.sigmoid(doubledCells);
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
function lstmLayerBackward(ops: MatrixOps, layer: LayerWeights, units: number, cache: LayerCache, outputGrad: Float32Array, steps: number, batch: number, out: Float32Array, needInputGrad: boolean): Float32Array | undefined {
  const u = units;
  const { gates, cells, cellTanh } = cache;
  const dz = new Float32Array(steps * batch * 4 * u);
  let dhRecurrent: Float32Array = new Float32Array(batch * u);
  const dcNext = new Float32Array(batch * u);
  const zeroCells = new Float32Array(batch * u);
  for (let t = steps - 1; t >= 0; t--) {
    const first = t * batch;
    for (let b = 0; b < batch; b++) {
      const gate = (first + b) * 4 * u;
      const cell = (first + b) * u;
      const k = b * u;
      // c_{t-1}: the previous step's cells, or the zero initial state.
      const previousCells = t > 0 ? cells : zeroCells;
      const previous = t > 0 ? cell - batch * u : k;
      for (let j = 0; j < u; j++) {
        const i = gates[gate + j];
        const f = gates[gate + u + j];
        const g = gates[gate + 2 * u + j];
        const o = gates[gate + 3 * u + j];
        const tc = cellTanh[cell + j];
        const dh = dhRecurrent[k + j] + outputGrad[cell + j];
        const dc = dcNext[k + j] + dh * o * (1 - tc * tc);
        const cPrevious = previousCells[previous + j];
        dz[gate + j] = dc * g * i * (1 - i);
        dz[gate + u + j] = dc * cPrevious * f * (1 - f);
        dz[gate + 2 * u + j] = dc * i * (1 - g * g);
        dz[gate + 3 * u + j] = dh * tc * o * (1 - o);
        dcNext[k + j] = dc * f;
      }
    }
    if (t > 0) dhRecurrent = ops.multiply(dz.subarray(first * 4 * u, (first + batch) * 4 * u), batch, layer.recurrentT);
  }
  out.set(ops.multiplyTransposedA(cache.stepInputs, steps * batch, dz), layer.offset);
  return needInputGrad && layer.kernelT ? ops.multiply(dz, steps * batch, layer.kernelT) : undefined;
}

/** One LSTM layer of the fused training path: sigmoid gates, Keras gate order i, f, c, o, zero initial state. */
export function createLstmLayer(ops: MatrixOps, layout: NetworkLayout, weights: Float32Array, index: number): TrainableLayer {
  const layer = prepareLstmLayer(ops, layout, weights, index);
  return {
    forward: (input, steps, batch) => lstmLayerForward(ops, layer, layout.units, input, steps, batch),
    backward: (cache, outputGrad, steps, batch, out, needInputGrad) => lstmLayerBackward(ops, layer, layout.units, cache as LayerCache, outputGrad, steps, batch, out, needInputGrad),
    dispose: () => ops.release([layer.stacked, layer.firstStep, layer.recurrentT, ...(layer.kernelT ? [layer.kernelT] : [])]),
  };
}
