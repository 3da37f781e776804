import { changeWeightOf, targetColumns, type TargetForm, type WindowSpec } from '../forecast-model.js';
import type { RecurrentLayerWeights, RecurrentNetworkWeights } from '../recurrent-weights.js';
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './onnx-proto.js';

/** ONNX IR version 8 with opset 17 (ONNX 1.12): read by every ONNX Runtime since 1.12, Triton and KServe. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

export const FLOAT = 1;
export const INT64 = 7;
export const ATTRIBUTE = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** Graph input and output names. */
export const ONNX_NAMES = {
  /** [batch, window, features] in original units (the export, with the scaler folded in). */
  input: 'input',
  /** [batch, window, features] on the scaled (processed) scale. */
  scaledInput: 'input_scaled',
  /** [batch, horizon, targets] in original units. */
  forecast: 'forecast',
  /** [batch, horizon, targets] on the scaled scale, what flts's models return. */
  scaledForecast: 'forecast_scaled',
} as const;

/** Affine scaling folded into the graph: scaled = (x - offset) / scale per feature, x = scaled * scale + offset per target. */
export interface GraphScaling {
  featureOffset: ArrayLike<number>;
  featureScale: ArrayLike<number>;
  targetOffset: ArrayLike<number>;
  targetScale: ArrayLike<number>;
}

export interface RecurrentGraphOptions {
  /** With scaling, the graph takes original units and returns both forecasts; without, it is scaled in and out. */
  scaling?: GraphScaling;
  /**
   * What the network learned (`WindowSpec.targetForm`): for another form than the level the graph maps its
   * inputs to that form and its outputs back to levels, as flts's forecasts do. Default `level`: the graph is
   * the bare network (what serving runs inside that mapping).
   */
  targetForm?: TargetForm;
  /**
   * `WindowSpec.targetFloors`: the scaled forecast is raised to each target's floor (ONNX Max), as flts's
   * forecasts are. Default none: the graph is the bare network.
   */
  targetFloors?: Readonly<Record<string, number>>;
  /** ModelProto.metadata_props. */
  metadata?: Record<string, string>;
  producerVersion?: string;
  docString?: string;
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): OnnxTensor {
  const data = Float32Array.from(values);
  return { name, dims, data_type: FLOAT, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function int64Tensor(name: string, values: number[]): OnnxTensor {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return { name, dims: [values.length], data_type: INT64, raw_data: new Uint8Array(data.buffer) };
}

export function floatSequence(name: string, dims: Array<number | string>): OnnxValueInfo {
  return { name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } };
}

/**
 * ONNX gate blocks from flts's stacked layer weights (rows [input; state; bias], columns in Keras gate order,
 * candidate columns doubled). ONNX wants W [gates * units, inputs], R [gates * units, units] and
 * B [2 * gates * units] = [input bias; recurrent bias]; Keras has one bias, which goes to the input half.
 * `blocks` lists, in ONNX gate order, the stacked matrix, its column block and the factor undoing the doubling.
 */
function gateTensors(layer: RecurrentLayerWeights, prefix: string, blocks: Array<{ matrix: Float32Array; block: number; factor: number }>): OnnxTensor[] {
  const { inputs, units } = layer;
  const gates = blocks.length;
  const w = new Float32Array(gates * units * inputs);
  const r = new Float32Array(gates * units * units);
  const b = new Float32Array(2 * gates * units);
  blocks.forEach(({ matrix, block, factor }, g) => {
    const width = matrix.length / (inputs + units + 1);
    for (let j = 0; j < units; j++) {
      const column = block * units + j;
      const row = g * units + j;
      for (let k = 0; k < inputs; k++) w[row * inputs + k] = matrix[k * width + column] * factor;
      for (let k = 0; k < units; k++) r[row * units + k] = matrix[(inputs + k) * width + column] * factor;
      b[row] = matrix[(inputs + units) * width + column] * factor;
    }
  });
  return [floatTensor(`${prefix}_W`, [1, gates * units, inputs], w), floatTensor(`${prefix}_R`, [1, gates * units, units], r), floatTensor(`${prefix}_B`, [1, 2 * gates * units], b)];
}

/**
 * ONNX LSTM gates are i, o, f, c; Keras's are i, f, c, o. ONNX GRU gates are z, r, h like Keras's, and
 * tfjs's GRU applies the reset gate to the state before its recurrent multiply, which is ONNX's default
 * (linear_before_reset = 0); the Keras reset_after variant (linear_before_reset = 1) is never extracted.
 */
function layerTensors(layer: RecurrentLayerWeights, prefix: string): OnnxTensor[] {
  if (layer.kind === 'LSTM') {
    const block = (kerasGate: number) => ({ matrix: layer.gates, block: kerasGate, factor: kerasGate === 2 ? 0.5 : 1 });
    return gateTensors(layer, prefix, [block(0), block(3), block(1), block(2)]);
  }
  const candidate = layer.candidate as Float32Array;
  return gateTensors(layer, prefix, [
    { matrix: layer.gates, block: 0, factor: 1 },
    { matrix: layer.gates, block: 1, factor: 1 },
    { matrix: candidate, block: 0, factor: 0.5 },
  ]);
}

function recurrentAttributes(layer: RecurrentLayerWeights): OnnxAttribute[] {
  const attributes: OnnxAttribute[] = [{ name: 'hidden_size', type: ATTRIBUTE.INT, i: layer.units }];
  const gate = layer.hardGates ? 'HardSigmoid' : 'Sigmoid';
  const activations = layer.kind === 'LSTM' ? [gate, 'Tanh', 'Tanh'] : [gate, 'Tanh'];
  attributes.push({ name: 'activations', type: ATTRIBUTE.STRINGS, strings: activations.map(text) });
  if (layer.hardGates) {
    // tfjs's hardSigmoid is clip(0.2 z + 0.5, 0, 1), ONNX's HardSigmoid with alpha 0.2, beta 0.5.
    attributes.push({ name: 'activation_alpha', type: ATTRIBUTE.FLOATS, floats: [0.2] }, { name: 'activation_beta', type: ATTRIBUTE.FLOATS, floats: [0.5] });
  }
  if (layer.kind === 'GRU') attributes.push({ name: 'linear_before_reset', type: ATTRIBUTE.INT, i: 0 });
  return attributes;
}

/**
 * The nodes mapping the scaled input [batch, window, features] to a target form other than the level: the
 * network's input, and per window and target [batch, 1, targets] the centre the network's outputs are
 * shifted back by. `change`: the centre is the last row times the window's change weight and the input
 * stays as it is; window forms: the centre is the window's mean (or median), taken off each target input
 * column.
 */
function targetFormNodes(
  form: Exclude<TargetForm, 'level'>,
  scaled: string,
  window: WindowSpec,
  node: (op: string, input: string[], output: string, attribute?: OnnxAttribute[]) => string,
  nodes: OnnxNode[],
  initializers: OnnxTensor[],
): { input: string; centre: string } {
  const columns = targetColumns(window);
  const gather = (input: string, indices: string, axis: number, output: string) => node('Gather', [input, indices], output, [{ name: 'axis', type: ATTRIBUTE.INT, i: axis }]);
  const reduceMean = (input: string, output: string) =>
    node('ReduceMean', [input], output, [
      { name: 'axes', type: ATTRIBUTE.INTS, ints: [1] },
      { name: 'keepdims', type: ATTRIBUTE.INT, i: 1 },
    ]);
  initializers.push(int64Tensor('target_columns', columns));
  const seq = window.inputSeqLen;
  if (form === 'change') {
    initializers.push(int64Tensor('last_row', [seq - 1]));
    const weight = changeWeightOf(window);
    const last = gather(gather(scaled, 'last_row', 1, 'last_values'), 'target_columns', 2, weight === 1 ? 'window_centre' : 'window_last');
    if (weight === 1) return { input: scaled, centre: last };
    initializers.push(floatTensor('change_weight', [1], new Float32Array([weight])));
    return { input: scaled, centre: node('Mul', [last, 'change_weight'], 'window_centre') };
  }
  let centre: string;
  if (form === 'window-median') {
    // The median from the k largest values per column: the k-th for an odd window, the mean of the (k-1)-th and k-th for an even one.
    const k = (seq >> 1) + 1;
    initializers.push(int64Tensor('median_k', [k]), int64Tensor('median_rows', seq % 2 === 1 ? [k - 1] : [k - 2, k - 1]));
    nodes.push({
      name: 'window_largest_TopK',
      op_type: 'TopK',
      input: [scaled, 'median_k'],
      output: ['window_largest', 'window_largest_rows'],
      attribute: [
        { name: 'axis', type: ATTRIBUTE.INT, i: 1 },
        { name: 'largest', type: ATTRIBUTE.INT, i: 1 },
        { name: 'sorted', type: ATTRIBUTE.INT, i: 1 },
      ],
    });
    centre = reduceMean(gather('window_largest', 'median_rows', 1, 'window_middle'), 'window_centre_all');
  } else {
    centre = reduceMean(scaled, 'window_centre_all');
  }
  const mask = new Float32Array(window.features.length);
  for (const column of columns) mask[column] = 1;
  initializers.push(floatTensor('target_mask', [window.features.length], mask));
  const input = node('Sub', [scaled, node('Mul', [centre, 'target_mask'], 'window_centre_masked')], 'window_centred');
  return { input, centre: gather(centre, 'target_columns', 2, 'window_centre') };
}

/**
 * A stacked LSTM/GRU network with its dense head as a standard ONNX graph: the input transposed to
 * [time, batch, features], one ONNX LSTM/GRU node per layer (a layer's full sequence feeds the next, the last
 * layer's final state the head), Gemm for the dense layer, and the output reshaped to [batch, horizon, targets].
 * With `scaling`, Sub/Div scale the input and Mul/Add give the forecast in original units as well.
 */
export function buildRecurrentGraph(weights: RecurrentNetworkWeights, window: WindowSpec, options: RecurrentGraphOptions = {}): OnnxModel {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const node = (op: string, input: string[], output: string, attribute?: OnnxAttribute[]): string => {
    nodes.push({ name: `${output}_${op}`, op_type: op, input, output: [output], ...(attribute ? { attribute } : {}) });
    return output;
  };
  const features = window.features.length;
  const targets = window.targets.length;
  const { scaling } = options;
  let values: string = scaling ? ONNX_NAMES.input : ONNX_NAMES.scaledInput;
  if (scaling) {
    initializers.push(floatTensor('feature_offset', [features], scaling.featureOffset), floatTensor('feature_scale', [features], scaling.featureScale));
    values = node('Div', [node('Sub', [values, 'feature_offset'], 'centred'), 'feature_scale'], 'scaled');
  }
  const form = options.targetForm ?? 'level';
  const mapped = form === 'level' ? undefined : targetFormNodes(form, values, window, node, nodes, initializers);
  if (mapped) values = mapped.input;
  values = node('Transpose', [values], 'time_major', [{ name: 'perm', type: ATTRIBUTE.INTS, ints: [1, 0, 2] }]);
  initializers.push(int64Tensor('axis_0', [0]));
  if (weights.layers.length > 1) initializers.push(int64Tensor('axis_1', [1]));
  weights.layers.forEach((layer, index) => {
    const prefix = `layer${index}`;
    initializers.push(...layerTensors(layer, prefix));
    const last = index === weights.layers.length - 1;
    const outputs = [`${prefix}_Y`, `${prefix}_Y_h`, ...(layer.kind === 'LSTM' ? [`${prefix}_Y_c`] : [])];
    nodes.push({ name: `${prefix}_${layer.kind}`, op_type: layer.kind, input: [values, `${prefix}_W`, `${prefix}_R`, `${prefix}_B`], output: outputs, attribute: recurrentAttributes(layer) });
    // Y is [time, directions, batch, units], Y_h [directions, batch, units]; one direction is squeezed out.
    values = last ? node('Squeeze', [`${prefix}_Y_h`, 'axis_0'], 'state') : node('Squeeze', [`${prefix}_Y`, 'axis_1'], `${prefix}_sequence`);
  });
  const units = weights.layers[weights.layers.length - 1].units;
  initializers.push(
    floatTensor('dense_kernel', [units, weights.outputs], weights.dense.subarray(0, units * weights.outputs)),
    floatTensor('dense_bias', [weights.outputs], weights.dense.subarray(units * weights.outputs)),
    int64Tensor('forecast_shape', [-1, window.outputSeqLen, targets]),
  );
  const dense = node('Gemm', [values, 'dense_kernel', 'dense_bias'], 'dense');
  const floors = options.targetFloors ?? {};
  const floored = window.targets.some((target) => floors[target] !== undefined);
  const levels = floored ? 'forecast_unfloored' : ONNX_NAMES.scaledForecast;
  if (mapped) {
    node('Add', [node('Reshape', [dense, 'forecast_shape'], 'forecast_relative'), mapped.centre], levels);
  } else {
    node('Reshape', [dense, 'forecast_shape'], levels);
  }
  if (floored) {
    // A target without a floor gets float32's lowest value, which Max never picks.
    initializers.push(floatTensor('target_floor', [targets], window.targets.map((target) => floors[target] ?? -3.4028234663852886e38)));
    node('Max', [levels, 'target_floor'], ONNX_NAMES.scaledForecast);
  }
  const graphOutputs = [floatSequence(ONNX_NAMES.scaledForecast, ['batch', window.outputSeqLen, targets])];
  if (scaling) {
    initializers.push(floatTensor('target_scale', [targets], scaling.targetScale), floatTensor('target_offset', [targets], scaling.targetOffset));
    node('Add', [node('Mul', [ONNX_NAMES.scaledForecast, 'target_scale'], 'forecast_rescaled'), 'target_offset'], ONNX_NAMES.forecast);
    graphOutputs.unshift(floatSequence(ONNX_NAMES.forecast, ['batch', window.outputSeqLen, targets]));
  }
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'flts',
    producer_version: options.producerVersion ?? '',
    ...(options.docString ? { doc_string: options.docString } : {}),
    graph: {
      name: `flts_${weights.layers.map((l) => l.kind.toLowerCase()).join('_')}`,
      node: nodes,
      initializer: initializers,
      input: [floatSequence(scaling ? ONNX_NAMES.input : ONNX_NAMES.scaledInput, ['batch', window.inputSeqLen, features])],
      output: graphOutputs,
    },
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}
