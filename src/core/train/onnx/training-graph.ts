import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor } from '../../models/onnx/onnx-proto.js';
import { ATTRIBUTE, floatSequence, floatTensor, INT64, ONNX_IR_VERSION, ONNX_OPSET } from '../../models/onnx/recurrent-graph.js';
import { gateCount, type NetworkLayout } from '../fused/network-parameters.js';

/** Graph inputs and outputs of one training step. */
export const STEP_NAMES = {
  /** [steps, batch, features], time-major. */
  x: 'x',
  /** [batch, outputs]. */
  y: 'y',
  /** The flat parameters (getWeights() order), [size]. */
  params: 'params',
  /** d loss / d prediction = scale x error: 2 / (batch x outputs) for the batch's mean squared error. */
  scale: 'scale',
  /** Sum of the batch's squared errors (before the update). */
  sse: 'sse',
  /** The flat gradient of the batch loss. */
  gradient: 'gradient',
} as const;

export interface TrainingGraphOptions {
  steps: number;
}

/** Nodes and constants of a graph under construction; every value gets a fresh name. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private count = 0;
  private readonly constants = new Map<string, string>();

  private fresh(prefix: string): string {
    return `${prefix}_${++this.count}`;
  }

  op(type: string, input: string[], attribute?: OnnxAttribute[]): string {
    return this.multi(type, input, 1, attribute)[0];
  }

  multi(type: string, input: string[], outputs: number, attribute?: OnnxAttribute[]): string[] {
    const output = Array.from({ length: outputs }, () => this.fresh(type.toLowerCase()));
    this.nodes.push({ name: `${output[0]}_node`, op_type: type, input, output, ...(attribute ? { attribute } : {}) });
    return output;
  }

  /** A float scalar constant (shared by value). */
  scalar(value: number): string {
    const key = `f${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const');
      this.initializers.push(floatTensor(name, [], [value]));
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int64 constant: a vector, or a scalar when `scalar` (shared by value). */
  ints(values: number[], scalar = false): string {
    const key = `i${scalar ? 's' : 'v'}${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const');
      const data = BigInt64Array.from(values, (v) => BigInt(v));
      this.initializers.push({ name, dims: scalar ? [] : [values.length], data_type: INT64, raw_data: new Uint8Array(data.buffer) });
      this.constants.set(key, name);
    }
    return name;
  }

  zeros(dims: number[]): string {
    const name = this.fresh('zeros');
    this.initializers.push(floatTensor(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1))));
    return name;
  }

  add = (a: string, b: string) => this.op('Add', [a, b]);
  sub = (a: string, b: string) => this.op('Sub', [a, b]);
  mul = (a: string, b: string) => this.op('Mul', [a, b]);
  /** 1 - a. */
  complement = (a: string) => this.op('Sub', [this.scalar(1), a]);
  /** a^T b. */
  gradMatMul = (a: string, b: string) => this.op('Gemm', [a, b], [{ name: 'transA', type: ATTRIBUTE.INT, i: 1 }]);
  /** a b^T. */
  matMulT = (a: string, b: string) => this.op('Gemm', [a, b], [{ name: 'transB', type: ATTRIBUTE.INT, i: 1 }]);
  concat = (parts: string[], axis: number) => (parts.length === 1 ? parts[0] : this.op('Concat', parts, [{ name: 'axis', type: ATTRIBUTE.INT, i: axis }]));
  reshape = (a: string, shape: number[]) => this.op('Reshape', [a, this.ints(shape)]);
  /** Columns [from, to) of a 2-D tensor (or the last axis of any). */
  columns = (a: string, from: number, to: number) => this.op('Slice', [a, this.ints([from]), this.ints([to]), this.ints([-1])]);
  split = (a: string, widths: number[]) => this.multi('Split', [a, this.ints(widths)], widths.length, [{ name: 'axis', type: ATTRIBUTE.INT, i: -1 }]);
  /**
   * Sum over the rows: [rows, width] -> [width], as a row of ones times the matrix (ONNX Runtime's ReduceSum
   * over the first axis is a strided loop, several times slower on the [steps x batch, gates] gradients).
   */
  sumRows = (a: string) => {
    const rows = this.op('Shape', [a], [{ name: 'end', type: ATTRIBUTE.INT, i: 1 }]);
    const ones = this.op('Expand', [this.ones(), this.concat([this.ints([1]), rows], 0)]);
    return this.reshape(this.op('MatMul', [ones, a]), [-1]);
  };

  /** A float constant of the given shape, element k = value(k). */
  constant(dims: number[], value: (k: number) => number): string {
    const name = this.fresh('const');
    this.initializers.push(floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, k) => value(k))));
    return name;
  }

  /** A [batch, width] tensor of `value`, batch taken from `like`'s first axis (shared by value and width). */
  filled(value: number, width: number, like: string): string {
    const key = `filled${value}x${width}`;
    let name = this.constants.get(key);
    if (!name) {
      const rows = this.op('Shape', [like], [{ name: 'end', type: ATTRIBUTE.INT, i: 1 }]);
      const one = this.fresh('const');
      this.initializers.push(floatTensor(one, [1, 1], [value]));
      name = this.op('Expand', [one, this.concat([rows, this.ints([width])], 0)]);
      this.constants.set(key, name);
    }
    return name;
  }

  /** [[1]]. */
  private ones(): string {
    let name = this.constants.get('ones');
    if (!name) {
      name = this.fresh('const');
      this.initializers.push(floatTensor(name, [1, 1], [1]));
      this.constants.set('ones', name);
    }
    return name;
  }
}

/** One recurrent layer's forward values the backward pass reads, plus its output sequence. */
interface LayerForward {
  /** h_t of every step, [batch, units] each. */
  hidden: string[];
  /** The output sequence, the next layer's input. */
  sequence: Sequence;
  /**
   * The layer's weight gradient as parts whose flattened concatenation is its kernel, recurrent kernel and bias
   * in getWeights() order, and d loss / d input of every step ([batch, inputs] each) when asked for.
   */
  backward(dHidden: Array<string | undefined>): { weights: string[]; dInput?: string[] };
}

/** A layer's weights, each sliced out of the flat parameters on first use. */
interface LayerWeights {
  kernel: string;
  recurrent: string;
  bias: string;
  /** Kernel, recurrent kernel and bias stacked as one [inputs + units + 1, gates] matrix (contiguous in the flat vector). */
  stacked: string;
  /** The layer's input width. */
  inputs: number;
}

/** A sequence as [steps x batch, width] time-major rows or as its steps' [batch, width] blocks, each made on first use. */
class Sequence {
  private rowsName?: string;
  private stepNames?: string[];

  constructor(
    private readonly g: GraphBuilder,
    private readonly count: number,
    from: { rows: string } | { steps: string[] },
  ) {
    if ('rows' in from) this.rowsName = from.rows;
    else this.stepNames = from.steps;
  }

  rows(): string {
    this.rowsName ??= this.g.concat(this.stepNames as string[], 0);
    return this.rowsName;
  }

  steps(): string[] {
    this.stepNames ??= perStep(this.g, this.rowsName as string, this.count);
    return this.stepNames;
  }
}

/** Sum of the defined terms (undefined = zero); at least one must be defined. */
function sumOf(g: GraphBuilder, terms: Array<string | undefined>): string {
  const defined = terms.filter((t): t is string => t !== undefined);
  return defined.slice(1).reduce((sum, t) => g.add(sum, t), defined[0]);
}

/** The steps' row blocks of a [steps x batch, width] matrix, [batch, width] each (one Split). */
function perStep(g: GraphBuilder, rows: string, steps: number): string[] {
  return steps > 1 ? g.multi('Split', [rows], steps, [{ name: 'axis', type: ATTRIBUTE.INT, i: 0 }]) : [rows];
}

/**
 * LSTM layer (Keras gate order i, f, c, o; sigmoid gates, tanh candidate and cell; zero initial state), as in
 * `fused/lstm-loops.ts`. Each step's z is one Gemm of [x_t, h_{t-1}, 1] by the stacked [kernel; recurrent; bias]
 * (the three are contiguous in the flat parameters), with the candidate's columns doubled so that one Sigmoid,
 * which ONNX Runtime fuses into the Gemm, gives all four gates (tanh(z) = 2 sigma(2 z) - 1). The weight gradient
 * is the sum over steps of [x_t, h_{t-1}, 1]^T dz_t, accumulated step by step in the Gemms' addend, and comes out
 * as the flat [kernel; recurrent; bias] directly. Measured slower or no faster, on one ONNX Runtime thread:
 * projecting all steps' inputs in one Gemm and taking the weight gradient as one Gemm over all steps (splitting
 * the projection, concatenating the steps' dz and h_{t-1} and broadcasting the bias each copied the
 * [steps x batch, 4 units] matrices); batching the gate derivatives over all steps (those intermediates leave the
 * cache); and precomputing each step's derivative factors as [batch, 4 units] tensors in the forward pass so the
 * backward step is ~6 nodes instead of ~20 (281 nodes instead of 337, 1-2 % more CPU): a node's cost here is
 * mostly the data it touches, not its dispatch, and the wide factors touch more.
 */
function lstmLayer(g: GraphBuilder, w: LayerWeights, input: Sequence, units: number, steps: number, needInputGrad: boolean): LayerForward {
  const u = units;
  const inputs = input.steps();
  // The candidate's columns doubled: one Sigmoid gives sigma(2 z) there, and tanh(z) = 2 sigma(2 z) - 1.
  const scaled = g.mul(w.stacked, g.constant([1, 4 * u], (j) => (j >= 2 * u && j < 3 * u ? 2 : 1)));
  // h_{-1} = 0: the first step's z is x_0 W + b alone.
  const [firstKernel, , firstBias] = g.multi('Split', [scaled, g.ints([w.inputs, u, 1])], 3, [{ name: 'axis', type: ATTRIBUTE.INT, i: 0 }]);
  const hidden: string[] = [];
  const stepInputs: string[] = [];
  const cache: Array<{ i: string; f: string; c: string; o: string; ic: string; fc?: string; cellTanh: string; cell: string }> = [];
  for (let t = 0; t < steps; t++) {
    const ones = g.filled(1, 1, inputs[t]);
    const stepInput = g.concat([inputs[t], t === 0 ? g.filled(0, u, inputs[t]) : hidden[t - 1], ones], 1);
    const z = t === 0 ? g.op('Gemm', [inputs[0], firstKernel, firstBias]) : g.op('Gemm', [stepInput, scaled]);
    const [i, f, sc, o] = g.split(g.op('Sigmoid', [z]), [u, u, u, u]);
    const c = g.sub(g.mul(sc, g.scalar(2)), g.scalar(1));
    const ic = g.mul(i, c);
    const fc = t === 0 ? undefined : g.mul(f, cache[t - 1].cell);
    const cell = fc ? g.add(fc, ic) : ic;
    const cellTanh = g.op('Tanh', [cell]);
    hidden.push(g.mul(o, cellTanh));
    stepInputs.push(stepInput);
    cache.push({ i, f, c, o, ic, fc, cellTanh, cell });
  }
  return {
    hidden,
    sequence: new Sequence(g, steps, { steps: hidden }),
    backward(dHidden) {
      let dh = dHidden[steps - 1] as string;
      let dcNext: string | undefined;
      let gradient: string | undefined;
      const dInput: string[] = [];
      for (let t = steps - 1; t >= 0; t--) {
        const { i, f, c, o, ic, fc, cellTanh } = cache[t];
        const h = hidden[t];
        // With the forward's products i c, f c_{t-1} and h = o tanh(cell): o (1 - tanh^2) = o - h tanh,
        // i (1 - c^2) = i - (i c) c, and each sigmoid derivative's product one multiply shorter.
        const dc = sumOf(g, [dcNext, g.mul(dh, g.sub(o, g.mul(h, cellTanh)))]);
        const di = g.mul(g.mul(dc, ic), g.complement(i));
        const df = fc ? g.mul(g.mul(dc, fc), g.complement(f)) : g.filled(0, u, dc);
        const dcandidate = g.mul(dc, g.sub(i, g.mul(ic, c)));
        const dout = g.mul(g.mul(dh, h), g.complement(o));
        const dz = g.concat([di, df, dcandidate, dout], 1);
        gradient = g.op('Gemm', gradient ? [stepInputs[t], dz, gradient] : [stepInputs[t], dz], [{ name: 'transA', type: ATTRIBUTE.INT, i: 1 }]);
        if (needInputGrad) dInput[t] = g.matMulT(dz, w.kernel);
        if (t === 0) break;
        dcNext = g.mul(dc, f);
        // dh_{t-1} = dz_t U^T (+ the layer above's gradient, as the Gemm's addend).
        const above = dHidden[t - 1];
        dh = g.op('Gemm', above ? [dz, w.recurrent, above] : [dz, w.recurrent], [{ name: 'transB', type: ATTRIBUTE.INT, i: 1 }]);
      }
      return { weights: [gradient as string], dInput: needInputGrad ? dInput : undefined };
    },
  };
}

/**
 * tfjs-layers GRU layer (reset applied before the recurrent multiply, Keras gate order z, r, h; sigmoid gates,
 * tanh candidate; zero initial state), as in `fused/gru-loops.ts`.
 */
function gruLayer(g: GraphBuilder, w: LayerWeights, sequence: Sequence, units: number, steps: number, needInputGrad: boolean): LayerForward {
  const u = units;
  const input = sequence.rows();
  const projected = perStep(g, g.op('Gemm', [input, w.kernel, w.bias]), steps);
  const recurrentGates = g.columns(w.recurrent, 0, 2 * u);
  const recurrentCandidate = g.columns(w.recurrent, 2 * u, 3 * u);
  const hidden: string[] = [];
  const cache: Array<{ z: string; r: string; candidate: string; resetHidden?: string }> = [];
  for (let t = 0; t < steps; t++) {
    const [gatesInput, candidateInput] = g.split(projected[t], [2 * u, u]);
    if (t === 0) {
      const [z, r] = g.split(g.op('Sigmoid', [gatesInput]), [u, u]);
      const candidate = g.op('Tanh', [candidateInput]);
      hidden.push(g.mul(g.complement(z), candidate));
      cache.push({ z, r, candidate });
      continue;
    }
    const previous = hidden[t - 1];
    const [z, r] = g.split(g.op('Sigmoid', [g.add(gatesInput, g.op('MatMul', [previous, recurrentGates]))]), [u, u]);
    const resetHidden = g.mul(r, previous);
    const candidate = g.op('Tanh', [g.add(candidateInput, g.op('MatMul', [resetHidden, recurrentCandidate]))]);
    hidden.push(g.add(g.mul(z, previous), g.mul(g.complement(z), candidate)));
    cache.push({ z, r, candidate, resetHidden });
  }
  return {
    hidden,
    sequence: new Sequence(g, steps, { steps: hidden }),
    backward(dHidden) {
      const dGates: string[] = [];
      const dCandidates: string[] = [];
      let dhRecurrent: string | undefined;
      for (let t = steps - 1; t >= 0; t--) {
        const { z, r, candidate } = cache[t];
        const grad = sumOf(g, [dHidden[t], dhRecurrent]);
        const dCandidate = g.mul(grad, g.mul(g.complement(z), g.complement(g.mul(candidate, candidate))));
        const zDerivative = g.mul(z, g.complement(z));
        if (t === 0) {
          const dz = g.mul(grad, g.mul(g.op('Neg', [candidate]), zDerivative));
          dGates[t] = g.concat([dz, g.mul(dz, g.scalar(0))], 1);
          dCandidates[t] = dCandidate;
          break;
        }
        const previous = hidden[t - 1];
        const dz = g.mul(grad, g.mul(g.sub(previous, candidate), zDerivative));
        const dResetHidden = g.matMulT(dCandidate, recurrentCandidate);
        const dr = g.mul(dResetHidden, g.mul(previous, g.mul(r, g.complement(r))));
        dGates[t] = g.concat([dz, dr], 1);
        dCandidates[t] = dCandidate;
        dhRecurrent = g.add(g.add(g.mul(grad, z), g.mul(dResetHidden, r)), g.matMulT(dGates[t], recurrentGates));
      }
      const dProjected = g.concat(
        dGates.map((d, t) => g.concat([d, dCandidates[t]], 1)),
        0,
      );
      let recurrent: string;
      if (steps > 1) {
        const previous = g.concat(hidden.slice(0, -1), 0);
        const resetPrevious = g.concat(cache.slice(1).map((c) => c.resetHidden as string), 0);
        const gatesPart = g.gradMatMul(previous, g.concat(dGates.slice(1), 0));
        const candidatePart = g.gradMatMul(resetPrevious, g.concat(dCandidates.slice(1), 0));
        recurrent = g.concat([gatesPart, candidatePart], 1);
      } else recurrent = g.zeros([u, 3 * u]);
      return {
        weights: [g.gradMatMul(input, dProjected), recurrent, g.sumRows(dProjected)],
        dInput: needInputGrad ? perStep(g, g.matMulT(dProjected, w.kernel), steps) : undefined,
      };
    },
  };
}

/**
 * One training step of a stacked LSTM/GRU + dense network as an ONNX graph: forward over the window (the
 * input projection of all steps in one MatMul per layer), the dense head, the squared error, backpropagation
 * through time (weight gradients as one multiply over all steps). The parameters go in and the gradient comes
 * out as flat vectors in getWeights() order, so the caller applies the fused path's SIMD Adam to it as the
 * fused engine does.
 */
export function buildTrainingGraph(layout: NetworkLayout, options: TrainingGraphOptions): OnnxModel {
  const { steps } = options;
  const g = new GraphBuilder();
  const { units: u, outputSize: outputs, numLayers, kind } = layout;
  const gates = gateCount(kind) * u;
  const slice = (from: number, to: number, shape: number[]) => g.reshape(g.op('Slice', [STEP_NAMES.params, g.ints([from]), g.ints([to]), g.ints([0])]), shape);
  const weight = (index: number): string => {
    const { offset, size, shape } = layout.weights[index];
    return slice(offset, offset + size, shape);
  };
  /** A layer's weights, sliced when first read (each layer type reads only some of them). */
  const layerWeights = (index: number): LayerWeights => {
    const made = new Map<string, string>();
    const once = (key: string, make: () => string) => made.get(key) ?? made.set(key, make()).get(key)!;
    const [kernel, , bias] = layout.weights.slice(3 * index, 3 * index + 3);
    return {
      get kernel() {
        return once('kernel', () => weight(3 * index));
      },
      get recurrent() {
        return once('recurrent', () => weight(3 * index + 1));
      },
      get bias() {
        return once('bias', () => weight(3 * index + 2));
      },
      get stacked() {
        return once('stacked', () => slice(kernel.offset, bias.offset + bias.size, [-1, bias.size]));
      },
      inputs: kernel.shape[0],
    };
  };
  const layerOf = kind === 'LSTM' ? lstmLayer : gruLayer;
  const layers: LayerForward[] = [];
  // Time-major rows [steps x batch, features]: the steps' row blocks are contiguous.
  let input = new Sequence(g, steps, { rows: g.reshape(STEP_NAMES.x, [-1, layout.inputSize]) });
  for (let index = 0; index < numLayers; index++) {
    const layer = layerOf(g, layerWeights(index), input, u, steps, index > 0);
    layers.push(layer);
    input = layer.sequence;
  }
  const denseKernel = weight(3 * numLayers);
  const denseBias = weight(3 * numLayers + 1);
  const last = layers[numLayers - 1].hidden[steps - 1];
  const error = g.sub(g.op('Gemm', [last, denseKernel, denseBias]), STEP_NAMES.y);
  g.nodes.push({ name: 'sse_node', op_type: 'ReduceSum', input: [g.mul(error, error)], output: [STEP_NAMES.sse], attribute: [{ name: 'keepdims', type: ATTRIBUTE.INT, i: 0 }] });
  const dPrediction = g.mul(error, STEP_NAMES.scale);
  const gradients: string[] = [g.gradMatMul(last, dPrediction), g.sumRows(dPrediction)];
  let dHidden: Array<string | undefined> = Array.from({ length: steps }, (_, t) => (t === steps - 1 ? g.matMulT(dPrediction, denseKernel) : undefined));
  for (let index = numLayers - 1; index >= 0; index--) {
    const { weights, dInput } = layers[index].backward(dHidden);
    gradients.unshift(...weights);
    if (dInput) dHidden = dInput;
  }
  const gradient = g.concat(
    gradients.map((grad) => g.reshape(grad, [-1])),
    0,
  );
  const flat = [layout.size];
  const inputs = [floatSequence(STEP_NAMES.x, [steps, 'batch', layout.inputSize]), floatSequence(STEP_NAMES.y, ['batch', outputs]), floatSequence(STEP_NAMES.params, flat), floatSequence(STEP_NAMES.scale, [])];
  g.nodes.push({ name: 'gradient_node', op_type: 'Identity', input: [gradient], output: [STEP_NAMES.gradient] });
  const graphOutputs = [floatSequence(STEP_NAMES.sse, []), floatSequence(STEP_NAMES.gradient, flat)];
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'flts',
    producer_version: '',
    graph: { name: `flts_train_${kind.toLowerCase()}`, node: g.nodes, initializer: g.initializers, input: inputs, output: graphOutputs },
    metadata_props: [],
  };
}
