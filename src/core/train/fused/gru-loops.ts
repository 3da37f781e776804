import type { MatrixOps } from '../../kernels/matrix-ops.js';
import type { NetworkLayout } from './network-parameters.js';
import { columnsOf, withoutState, zeroStateInputs } from './stacked-weights.js';
import type { TrainableLayer } from './trainable-layer.js';

/** What the backward pass of one GRU layer needs from its forward pass; all time-major (row t * batch + b). */
interface GruCache {
  /** Every step's [x_t, h_{t-1}, 1]: the update/reset gate multiply's input. */
  stepInputs: Float32Array;
  /** Every step's [x_t, r_t * h_{t-1}, 1]: the candidate multiply's input. */
  candidateInputs: Float32Array;
  /** Update and reset gates z, r: [steps * batch, 2 units]. */
  gates: Float32Array;
  /** Candidate state hh: [steps * batch, units]. */
  candidate: Float32Array;
  hidden: Float32Array;
}

/**
 * One tfjs-layers GRU layer (reset applied before the recurrent multiply, Keras gate order z, r, h; sigmoid
 * gates, tanh candidate; zero initial state) for the fused training path. Per step: one multiply of
 * [x_t, h_{t-1}, 1] for the update and reset gates and one of [x_t, r h_{t-1}, 1] for the candidate (its
 * columns doubled: tanh(a) = 2 sigmoid(2a) - 1), sigmoids in the same `ops` calls, the rest in plain loops.
 */
export function createGruLayer(ops: MatrixOps, layout: NetworkLayout, weights: Float32Array, index: number): TrainableLayer {
  const u = layout.units;
  const inputs = index === 0 ? layout.inputSize : u;
  const width = inputs + u + 1;
  const offset = layout.weights[3 * index].offset;
  // The layer's kernel, recurrent kernel and bias are consecutive rows of 3u columns in the flat weights.
  const layerWeights = weights.subarray(offset, offset + width * 3 * u);
  const gatesStacked = columnsOf(layerWeights, width, 3 * u, 0, 2 * u);
  const candidateStacked = columnsOf(layerWeights, width, 3 * u, 2 * u, u, 2);
  const gatesWeights = ops.hold(gatesStacked, width, 2 * u);
  const gatesFirst = ops.hold(withoutState(gatesStacked, inputs, u, 2 * u), inputs + 1, 2 * u);
  const candidateWeights = ops.hold(candidateStacked, width, u);
  const candidateFirst = ops.hold(withoutState(candidateStacked, inputs, u, u), inputs + 1, u);
  // Unscaled, transposed: U_zr^T [2u, u] and U_h^T [u, u] for the state gradient, W^T [3u, in] for the input's.
  const recurrent = weights.subarray(offset + inputs * 3 * u, offset + (inputs + u) * 3 * u);
  const gatesRecurrentT = ops.holdTransposed(columnsOf(recurrent, u, 3 * u, 0, 2 * u), u, 2 * u);
  const candidateRecurrentT = ops.holdTransposed(columnsOf(recurrent, u, 3 * u, 2 * u, u), u, u);
  const kernelT = index > 0 ? ops.holdTransposed(weights.subarray(offset, offset + inputs * 3 * u), inputs, 3 * u) : undefined;

  return {
    forward(input, steps, batch) {
      const rows = steps * batch;
      const stepInputs = new Float32Array(rows * width);
      const candidateInputs = new Float32Array(rows * width);
      const gates = new Float32Array(rows * 2 * u);
      const candidate = new Float32Array(rows * u);
      const hidden = new Float32Array(rows * u);
      const firstInputs = zeroStateInputs(input, inputs, batch);
      for (let t = 0; t < steps; t++) {
        const first = t * batch;
        for (let b = 0; b < batch; b++) {
          const row = (first + b) * width;
          const x = input.subarray((first + b) * inputs, (first + b + 1) * inputs);
          stepInputs.set(x, row);
          candidateInputs.set(x, row);
          if (t > 0) stepInputs.set(hidden.subarray((first - batch + b) * u, (first - batch + b + 1) * u), row + inputs);
          stepInputs[row + width - 1] = 1;
          candidateInputs[row + width - 1] = 1;
        }
        const stepRows = (matrix: Float32Array) => matrix.subarray(first * width, (first + batch) * width);
        const zr = t === 0 ? ops.multiplySigmoid(firstInputs, batch, gatesFirst) : ops.multiplySigmoid(stepRows(stepInputs), batch, gatesWeights);
        gates.set(zr, first * 2 * u);
        if (t > 0) {
          for (let b = 0; b < batch; b++) {
            const into = (first + b) * width + inputs;
            const previous = (first - batch + b) * u;
            for (let j = 0; j < u; j++) candidateInputs[into + j] = zr[b * 2 * u + u + j] * hidden[previous + j];
          }
        }
        const half = t === 0 ? ops.multiplySigmoid(firstInputs, batch, candidateFirst) : ops.multiplySigmoid(stepRows(candidateInputs), batch, candidateWeights);
        for (let b = 0; b < batch; b++) {
          const cell = (first + b) * u;
          const previous = cell - batch * u;
          for (let j = 0; j < u; j++) {
            const z = zr[b * 2 * u + j];
            const hh = 2 * half[b * u + j] - 1;
            candidate[cell + j] = hh;
            hidden[cell + j] = t > 0 ? z * hidden[previous + j] + (1 - z) * hh : (1 - z) * hh;
          }
        }
      }
      return { stepInputs, candidateInputs, gates, candidate, hidden } satisfies GruCache;
    },

    backward(passCache, outputGrad, steps, batch, out, needInputGrad) {
      const { stepInputs, candidateInputs, gates, candidate, hidden } = passCache as GruCache;
      const rows = steps * batch;
      const dGates = new Float32Array(rows * 2 * u);
      const dCandidate = new Float32Array(rows * u);
      let dhRecurrent: Float32Array = new Float32Array(batch * u);
      for (let t = steps - 1; t >= 0; t--) {
        const first = t * batch;
        const dh = new Float32Array(batch * u);
        for (let b = 0; b < batch; b++) {
          const cell = (first + b) * u;
          const gate = (first + b) * 2 * u;
          const previous = cell - batch * u;
          for (let j = 0; j < u; j++) {
            const k = b * u + j;
            const z = gates[gate + j];
            const hh = candidate[cell + j];
            const grad = dhRecurrent[k] + outputGrad[cell + j];
            dh[k] = grad;
            dCandidate[cell + j] = grad * (1 - z) * (1 - hh * hh);
            dGates[gate + j] = grad * ((t > 0 ? hidden[previous + j] : 0) - hh) * z * (1 - z);
          }
        }
        if (t === 0) break;
        // d (r h_{t-1}) = dA_h U_h^T, then the reset gate and the state's three paths back to h_{t-1}.
        const dResetHidden = ops.multiply(dCandidate.subarray(first * u, (first + batch) * u), batch, candidateRecurrentT);
        for (let b = 0; b < batch; b++) {
          const gate = (first + b) * 2 * u;
          const previous = (first - batch + b) * u;
          for (let j = 0; j < u; j++) {
            const r = gates[gate + u + j];
            dGates[gate + u + j] = dResetHidden[b * u + j] * hidden[previous + j] * r * (1 - r);
          }
        }
        const throughGates = ops.multiply(dGates.subarray(first * 2 * u, (first + batch) * 2 * u), batch, gatesRecurrentT);
        const next = new Float32Array(batch * u);
        for (let b = 0; b < batch; b++) {
          const gate = (first + b) * 2 * u;
          for (let j = 0; j < u; j++) {
            const k = b * u + j;
            next[k] = dh[k] * gates[gate + j] + dResetHidden[k] * gates[gate + u + j] + throughGates[k];
          }
        }
        dhRecurrent = next;
      }
      // [x_t, h_{t-1}, 1]^T dG and [x_t, r h_{t-1}, 1]^T dA_h: kernel, recurrent kernel and bias rows of each block.
      const gatesGrad = ops.multiplyTransposedA(stepInputs, rows, dGates);
      const candidateGrad = ops.multiplyTransposedA(candidateInputs, rows, dCandidate);
      for (let r = 0; r < width; r++) {
        out.set(gatesGrad.subarray(r * 2 * u, (r + 1) * 2 * u), offset + r * 3 * u);
        out.set(candidateGrad.subarray(r * u, (r + 1) * u), offset + r * 3 * u + 2 * u);
      }
      if (!needInputGrad || !kernelT) return undefined;
      const dProjected = new Float32Array(rows * 3 * u);
      for (let row = 0; row < rows; row++) {
        dProjected.set(dGates.subarray(row * 2 * u, (row + 1) * 2 * u), row * 3 * u);
        dProjected.set(dCandidate.subarray(row * u, (row + 1) * u), row * 3 * u + 2 * u);
      }
      return ops.multiply(dProjected, rows, kernelT);
    },

    dispose() {
      ops.release([gatesWeights, gatesFirst, candidateWeights, candidateFirst, gatesRecurrentT, candidateRecurrentT, ...(kernelT ? [kernelT] : [])]);
    },
  };
}
