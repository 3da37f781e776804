import * as tf from '@tensorflow/tfjs';
import { FltsError } from '../errors.js';
import type { ForecastModel, WindowSpec } from './forecast-model.js';
import { assertBatchShape, createRecurrentForecastModel, type RecurrentKind } from './recurrent-model.js';

type GateActivation = 'sigmoid' | 'hardSigmoid';

interface RecurrentCell {
  kind: RecurrentKind;
  units: number;
  gate: GateActivation;
  /** [in, gates*units] (Keras gate order), multiplied once for every time step of the batch. */
  kernel: tf.Tensor2D;
  bias: Float32Array;
  /** LSTM: [units, 4*units]; GRU: [units, 2*units] (update and reset gates). */
  recurrent: tf.Tensor2D;
  /** GRU only: [units, units], applied to reset * h. */
  candidate?: tf.Tensor2D;
}

interface InferencePlan {
  cells: RecurrentCell[];
  dense: { kernel: tf.Tensor2D; bias: tf.Tensor1D };
}

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): tf.Tensor[];
}

/** Columns [from, from + width) of a row-major [rows, columns] matrix. */
function columns(data: Float32Array, rows: number, from: number, width: number): Float32Array {
  const total = data.length / rows;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * total + from, r * total + from + width), r * width);
  return out;
}

/** Multiplies columns [from, from + width) of a row-major matrix (or bias) by `factor`, in place. */
function scaleColumns(data: Float32Array, rows: number, from: number, width: number, factor: number): Float32Array {
  const total = data.length / rows;
  for (let r = 0; r < rows; r++) for (let j = from; j < from + width; j++) data[r * total + j] *= factor;
  return data;
}

/**
 * tanh(z) = 2 sigmoid(2z) - 1, and the vectorised wasm sigmoid is ~15x faster than its scalar tanh, so the
 * candidate columns are stored doubled and every tanh becomes one sigmoid.
 */
function planCell(layer: LayerLike): RecurrentCell | undefined {
  const config = layer.getConfig();
  const kind = layer.getClassName() as RecurrentKind;
  const gate = config.recurrentActivation as string;
  if (config.activation !== 'tanh' || (gate !== 'sigmoid' && gate !== 'hardSigmoid')) return undefined;
  if (config.goBackwards || config.stateful || config.useBias === false) return undefined;
  if (kind === 'GRU' && config.resetAfter) return undefined;
  const units = config.units as number;
  const [kernel, recurrent, bias] = layer.getWeights();
  const inputs = kernel.shape[0];
  const candidateFrom = 2 * units;
  const kernelValues = scaleColumns(Float32Array.from(kernel.dataSync()), inputs, candidateFrom, units, 2);
  const biasValues = scaleColumns(Float32Array.from(bias.dataSync()), 1, candidateFrom, units, 2);
  const recurrentValues = scaleColumns(Float32Array.from(recurrent.dataSync()), units, candidateFrom, units, 2);
  const base = { kind, units, gate, kernel: tf.tensor2d(kernelValues, kernel.shape as [number, number]), bias: biasValues } as const;
  if (kind === 'LSTM') return { ...base, recurrent: tf.tensor2d(recurrentValues, [units, 4 * units]) };
  return {
    ...base,
    recurrent: tf.tensor2d(columns(recurrentValues, units, 0, 2 * units), [units, 2 * units]),
    candidate: tf.tensor2d(columns(recurrentValues, units, candidateFrom, units), [units, units]),
  };
}

/** The network as plain weights when it is stacked LSTM/GRU layers and one linear dense layer; else undefined. */
function planInference(network: tf.LayersModel): InferencePlan | undefined {
  const layers = (network.layers as unknown as LayerLike[]).filter((layer) => layer.getClassName() !== 'InputLayer');
  const last = layers[layers.length - 1];
  const recurrentLayers = layers.slice(0, -1);
  if (!last || last.getClassName() !== 'Dense' || recurrentLayers.length === 0) return undefined;
  if (recurrentLayers.some((layer) => !['LSTM', 'GRU'].includes(layer.getClassName()))) return undefined;
  const denseConfig = last.getConfig();
  if (denseConfig.activation !== 'linear' || denseConfig.useBias === false) return undefined;
  const cells: RecurrentCell[] = [];
  for (const layer of recurrentLayers) {
    const cell = planCell(layer);
    if (!cell) {
      for (const made of cells) disposeCell(made);
      return undefined;
    }
    cells.push(cell);
  }
  const [kernel, bias] = last.getWeights();
  return { cells, dense: { kernel: tf.clone(kernel) as tf.Tensor2D, bias: tf.clone(bias) as tf.Tensor1D } };
}

function disposeCell(cell: RecurrentCell): void {
  tf.dispose([cell.kernel, cell.recurrent, ...(cell.candidate ? [cell.candidate] : [])]);
}

/** x [rows, k] times a weight matrix, read back: the only work done by tfjs (XNNPACK on wasm). */
function multiply(x: Float32Array, rows: number, weights: tf.Tensor2D, bias?: Float32Array): Float32Array {
  const input = tf.tensor2d(x, [rows, x.length / rows]);
  const product = tf.matMul(input, weights);
  const out = product.dataSync() as Float32Array;
  tf.dispose([input, product]);
  if (bias) {
    const width = bias.length;
    for (let row = 0; row < out.length; row += width) for (let j = 0; j < width; j++) out[row + j] += bias[j];
  }
  return out;
}

/** Logistic sigmoid of every value, in place, by the vectorised tfjs kernel. */
function sigmoidInPlace(values: Float32Array): Float32Array {
  const input = tf.tensor1d(values);
  const output = tf.sigmoid(input);
  values.set(output.dataSync() as Float32Array);
  tf.dispose([input, output]);
  return values;
}

// tfjs hardSigmoid: clip(0.2 z + 0.5, 0, 1).
const hardSigmoid = (z: number): number => Math.min(1, Math.max(0, 0.2 * z + 0.5));

/** [batch, steps, width] -> [steps, batch, width], so each step's rows are contiguous. */
function timeMajor(values: Float32Array, batch: number, steps: number): Float32Array {
  const width = values.length / batch / steps;
  const out = new Float32Array(values.length);
  for (let b = 0; b < batch; b++) for (let t = 0; t < steps; t++) out.set(values.subarray((b * steps + t) * width, (b * steps + t + 1) * width), (t * batch + b) * width);
  return out;
}

/** z = projected step + h U, for one step of the batch (h U skipped at t = 0, where h is zero). */
function preActivation(projected: Float32Array, t: number, batch: number, width: number, h: Float32Array, recurrent: tf.Tensor2D, first: boolean): Float32Array {
  const offset = t * batch * width;
  if (first) return projected.subarray(offset, offset + batch * width);
  const z = multiply(h, batch, recurrent);
  for (let i = 0; i < z.length; i++) z[i] += projected[offset + i];
  return z;
}

/**
 * One layer over a batch: `input` is time-major [steps, batch, in]; returns every step's h time-major
 * [steps, batch, units] when `returnSequences`, else the last h [batch, units]. Matrix multiplies and
 * sigmoids run in tfjs, the cheap gate arithmetic in plain loops.
 */
function runLayer(cell: RecurrentCell, input: Float32Array, batch: number, steps: number, returnSequences: boolean): Float32Array {
  const u = cell.units;
  const width = (cell.kind === 'LSTM' ? 4 : 3) * u;
  const hard = cell.gate === 'hardSigmoid';
  const projected = multiply(input, batch * steps, cell.kernel, cell.bias);
  const sequence = returnSequences ? new Float32Array(steps * batch * u) : undefined;
  let h = new Float32Array(batch * u);
  const c = new Float32Array(batch * u);
  const doubled = new Float32Array(batch * u);
  for (let t = 0; t < steps; t++) {
    const next = new Float32Array(batch * u);
    if (cell.kind === 'LSTM') {
      const z = preActivation(projected, t, batch, width, h, cell.recurrent, t === 0);
      const s = sigmoidInPlace(z.slice());
      for (let b = 0; b < batch; b++) {
        const row = b * width;
        for (let j = 0; j < u; j++) {
          const i = hard ? hardSigmoid(z[row + j]) : s[row + j];
          const f = hard ? hardSigmoid(z[row + u + j]) : s[row + u + j];
          const k = b * u + j;
          c[k] = f * c[k] + i * (2 * s[row + 2 * u + j] - 1);
          doubled[k] = 2 * c[k];
        }
      }
      const tanhC = sigmoidInPlace(doubled.slice());
      for (let b = 0; b < batch; b++) {
        const row = b * width + 3 * u;
        for (let j = 0; j < u; j++) {
          const k = b * u + j;
          next[k] = (hard ? hardSigmoid(z[row + j]) : s[row + j]) * (2 * tanhC[k] - 1);
        }
      }
    } else {
      const inner = t > 0 ? multiply(h, batch, cell.recurrent) : undefined;
      const zr = new Float32Array(batch * 2 * u);
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < 2 * u; j++) zr[b * 2 * u + j] = projected[(t * batch + b) * width + j] + (inner ? inner[b * 2 * u + j] : 0);
      }
      if (!hard) sigmoidInPlace(zr);
      const resetH = new Float32Array(batch * u);
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < u; j++) {
          const k = b * u + j;
          const r = zr[b * 2 * u + u + j];
          resetH[k] = (hard ? hardSigmoid(r) : r) * h[k];
        }
      }
      const candidateIn = t > 0 ? multiply(resetH, batch, cell.candidate as tf.Tensor2D) : undefined;
      const candidate = new Float32Array(batch * u);
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < u; j++) candidate[b * u + j] = projected[(t * batch + b) * width + 2 * u + j] + (candidateIn ? candidateIn[b * u + j] : 0);
      }
      sigmoidInPlace(candidate);
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < u; j++) {
          const k = b * u + j;
          const update = hard ? hardSigmoid(zr[b * 2 * u + j]) : zr[b * 2 * u + j];
          next[k] = update * h[k] + (1 - update) * (2 * candidate[k] - 1);
        }
      }
    }
    h = next;
    sequence?.set(h, t * batch * u);
  }
  return sequence ?? h;
}

function forward(plan: InferencePlan, window: WindowSpec, windows: Float32Array, size: number): Float32Array {
  let values = timeMajor(windows, size, window.inputSeqLen);
  plan.cells.forEach((cell, index) => {
    values = runLayer(cell, values, size, window.inputSeqLen, index < plan.cells.length - 1);
  });
  return multiply(values, size, plan.dense.kernel, plan.dense.bias.dataSync() as Float32Array);
}

/**
 * Serving form of a fitted LSTM/GRU network: the same numbers as `network.predict` (within float rounding),
 * computed for the whole batch in one pass. Per layer, the input projection of every time step is one
 * multiply; per step, h U is one plain (never transposed) multiply and each tanh is one vectorised sigmoid;
 * the cheap gate arithmetic runs in plain loops. Every tensor is freed inside the call, so the tensor count
 * stays flat. Networks of another shape fall back to `network.predict`.
 */
export function createRecurrentInferenceModel(kind: RecurrentKind, window: WindowSpec, network: tf.LayersModel): ForecastModel {
  const plan = planInference(network);
  const fallback = createRecurrentForecastModel(kind, window, network);
  if (!plan) return fallback;
  let disposed = false;
  return {
    modelType: kind,
    window,
    async predict(batch) {
      if (disposed) throw new FltsError('FLTS_MODEL_NOT_FITTED', `The ${kind} model was disposed.`);
      assertBatchShape(batch, window);
      if (batch.size === 0) return new Float32Array(0);
      return forward(plan, window, batch.windows, batch.size);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const cell of plan.cells) disposeCell(cell);
      tf.dispose([plan.dense.kernel, plan.dense.bias]);
      fallback.dispose();
    },
  };
}

/** Whether `createRecurrentInferenceModel` uses the fast path for this network (tests and benchmarks). */
export function hasRecurrentFastPath(network: tf.LayersModel, window: WindowSpec): boolean {
  const plan = planInference(network);
  if (!plan) return false;
  for (const cell of plan.cells) disposeCell(cell);
  tf.dispose([plan.dense.kernel, plan.dense.bias]);
  return true;
}
