import type { RecurrentKind } from './recurrent-forecast-model.js';

/**
 * One recurrent layer as plain arrays, stacked so that a whole step is one multiply:
 * rows are [input (inputs rows); state (units rows); bias (1 row)], so [x_t, h, 1] x stacked = pre-activation.
 */
export interface RecurrentLayerWeights {
  kind: RecurrentKind;
  units: number;
  inputs: number;
  /** tfjs' hardSigmoid gates instead of the logistic sigmoid. */
  hardGates: boolean;
  /**
   * LSTM: [inputs + units + 1, 4 units], Keras gate order i, f, c, o.
   * GRU: [inputs + units + 1, 2 units], update and reset gates.
   * The candidate columns are doubled, because tanh(z) = 2 sigmoid(2z) - 1 lets every tanh be a sigmoid.
   */
  gates: Float32Array;
  /** GRU only: [inputs + units + 1, units], applied to [x_t, reset * h, 1]; doubled like the LSTM candidate. */
  candidate?: Float32Array;
}

/** Stacked recurrent layers and one linear dense layer: everything the forward pass needs, transferable to a thread. */
export interface RecurrentNetworkWeights {
  layers: RecurrentLayerWeights[];
  /** [units + 1, outputs]: kernel rows, then the bias row. */
  dense: Float32Array;
  outputs: number;
}

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): Array<{ dataSync(): unknown; readonly shape: readonly number[] }>;
}

/**
 * One layer as the weights need it, from a live tfjs network or from the saved layers format alike: the class
 * name, the few config fields that decide the computation, and the weight arrays with the kernel's row count.
 */
export interface LayerDescription {
  className: string;
  activation?: unknown;
  recurrentActivation?: unknown;
  useBias?: unknown;
  goBackwards?: unknown;
  stateful?: unknown;
  resetAfter?: unknown;
  units?: unknown;
  /** [kernel, recurrent kernel, bias] for recurrent layers, [kernel, bias] for Dense. */
  weights: Float32Array[];
  /** Rows of the kernel (the layer's inputs). */
  kernelRows: number;
}

/** Rows [kernel; recurrent; bias] restricted to columns [from, from + width), with a factor applied. */
function stack(kernel: Float32Array, recurrent: Float32Array, bias: Float32Array, inputs: number, units: number, total: number, from: number, width: number, factor: number): Float32Array {
  const out = new Float32Array((inputs + units + 1) * width);
  const copyRow = (source: Float32Array, sourceRow: number, row: number): void => {
    for (let j = 0; j < width; j++) out[row * width + j] = source[sourceRow * total + from + j] * factor;
  };
  for (let r = 0; r < inputs; r++) copyRow(kernel, r, r);
  for (let r = 0; r < units; r++) copyRow(recurrent, r, inputs + r);
  copyRow(bias, 0, inputs + units);
  return out;
}

function layerWeights(layer: LayerDescription): RecurrentLayerWeights | undefined {
  const kind = layer.className as RecurrentKind;
  const gate = layer.recurrentActivation;
  if (layer.activation !== 'tanh' || (gate !== 'sigmoid' && gate !== 'hardSigmoid')) return undefined;
  if (layer.goBackwards || layer.stateful || layer.useBias === false) return undefined;
  if (kind === 'GRU' && layer.resetAfter) return undefined;
  const units = layer.units as number;
  const [kernel, recurrent, bias] = layer.weights;
  const inputs = layer.kernelRows;
  const total = (kind === 'LSTM' ? 4 : 3) * units;
  if (kernel?.length !== inputs * total || recurrent?.length !== units * total || bias?.length !== total) return undefined;
  const base = { kind, units, inputs, hardGates: gate === 'hardSigmoid' };
  if (kind === 'LSTM') {
    const gates = stack(kernel, recurrent, bias, inputs, units, 4 * units, 0, 4 * units, 1);
    const width = 4 * units;
    for (let r = 0; r < inputs + units + 1; r++) for (let j = 2 * units; j < 3 * units; j++) gates[r * width + j] *= 2;
    return { ...base, gates };
  }
  return {
    ...base,
    gates: stack(kernel, recurrent, bias, inputs, units, 3 * units, 0, 2 * units, 1),
    candidate: stack(kernel, recurrent, bias, inputs, units, 3 * units, 2 * units, units, 2),
  };
}

/** Stacked LSTM/GRU layers and one linear Dense layer as plain weights; undefined for any other network. */
export function recurrentWeightsFromLayers(layers: readonly LayerDescription[]): RecurrentNetworkWeights | undefined {
  const last = layers[layers.length - 1];
  const recurrentLayers = layers.slice(0, -1);
  if (!last || last.className !== 'Dense' || recurrentLayers.length === 0) return undefined;
  if (recurrentLayers.some((layer) => !['LSTM', 'GRU'].includes(layer.className))) return undefined;
  if (last.activation !== 'linear' || last.useBias === false) return undefined;
  const weights: RecurrentLayerWeights[] = [];
  for (const layer of recurrentLayers) {
    const extracted = layerWeights(layer);
    if (!extracted) return undefined;
    weights.push(extracted);
  }
  const [kernel, bias] = last.weights;
  const units = last.kernelRows;
  const outputs = last.units as number;
  if (!kernel || !bias || kernel.length !== units * outputs || bias.length !== outputs) return undefined;
  const dense = new Float32Array((units + 1) * outputs);
  dense.set(kernel);
  dense.set(bias, units * outputs);
  return { layers: weights, dense, outputs };
}

/**
 * The network's weights when it is stacked LSTM/GRU layers and one linear dense layer; else undefined. The network
 * (a tf.LayersModel) is typed by the member read: the library's declarations reach this module, and TensorFlow.js's
 * own type files do not type-check under a consumer's `strict` without skipLibCheck.
 */
export function extractRecurrentWeights(network: { readonly layers: readonly object[] }): RecurrentNetworkWeights | undefined {
  const layers = (network.layers as unknown as LayerLike[]).filter((layer) => layer.getClassName() !== 'InputLayer');
  return recurrentWeightsFromLayers(
    layers.map((layer) => {
      const config = layer.getConfig();
      const tensors = layer.getWeights();
      return {
        className: layer.getClassName(),
        activation: config.activation,
        recurrentActivation: config.recurrentActivation,
        useBias: config.useBias,
        goBackwards: config.goBackwards,
        stateful: config.stateful,
        resetAfter: config.resetAfter,
        units: config.units,
        weights: tensors.map((tensor) => tensor.dataSync() as Float32Array),
        kernelRows: tensors[0]?.shape[0] ?? 0,
      };
    }),
  );
}

/** The parts of a saved tfjs layers model (model.json) that the weights are read from. */
export interface SavedLayersModel {
  modelTopology?: unknown;
  weightsManifest?: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype?: string; quantization?: unknown }> }>;
}

const isSize = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * What makes a saved weights manifest unreadable, or undefined: every group lists its files and its weights, and
 * every weight has a name and a shape of sizes. A shape edited to negative, fractional or text sizes would
 * otherwise size a read (or fail deep inside tfjs) before anything compares it with the weight bytes.
 */
export function weightsManifestProblem(manifest: unknown): string | undefined {
  if (!Array.isArray(manifest) || manifest.length === 0) return 'has no weightsManifest';
  for (const group of manifest as unknown[]) {
    const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !paths.every((name) => typeof name === 'string')) return 'has a weights group without a list of files';
    if (!Array.isArray(weights)) return 'has a weights group without a list of weights';
    for (const spec of weights as unknown[]) {
      const { name, shape, dtype } = (spec ?? {}) as { name?: unknown; shape?: unknown; dtype?: unknown };
      if (typeof name !== 'string' || (dtype !== undefined && typeof dtype !== 'string')) return 'lists a weight without a name or dtype';
      if (!Array.isArray(shape) || !shape.every(isSize)) return `lists weight ${JSON.stringify(name)} without a shape of non-negative integer sizes`;
    }
  }
  return undefined;
}

interface SavedLayerConfig {
  class_name?: string;
  config?: Record<string, unknown>;
}

// The saved format writes activation names in snake case.
const SAVED_ACTIVATIONS: Record<string, string> = { hard_sigmoid: 'hardSigmoid' };
const savedActivation = (name: unknown): unknown => (typeof name === 'string' ? (SAVED_ACTIVATIONS[name] ?? name) : name);

/**
 * The weights of a saved LSTM/GRU network read straight from its model.json and weight bytes, without tfjs:
 * the same arrays `extractRecurrentWeights` takes from the loaded network. Undefined for anything but a
 * Sequential of float32 LSTM/GRU layers and one Dense layer (such a network loads through tfjs instead).
 */
export function recurrentWeightsFromSaved(model: SavedLayersModel, weightData: Uint8Array): RecurrentNetworkWeights | undefined {
  const topology = model.modelTopology as SavedLayerConfig | undefined;
  const config = topology?.config as { layers?: SavedLayerConfig[] } | SavedLayerConfig[] | undefined;
  const layers = Array.isArray(config) ? config : config?.layers;
  if (topology?.class_name !== 'Sequential' || !Array.isArray(layers)) return undefined;
  const arrays = new Map<string, { values: Float32Array; shape: number[] }>();
  let offset = 0;
  for (const spec of (model.weightsManifest ?? []).flatMap((group) => group.weights)) {
    if ((spec.dtype ?? 'float32') !== 'float32' || spec.quantization) return undefined;
    const count = spec.shape.reduce((product, size) => product * size, 1);
    const end = offset + 4 * count;
    if (end > weightData.byteLength) return undefined;
    // A copy: the bytes need not be 4-byte aligned (and a Buffer's slice would share its pool).
    const bytes = new Uint8Array(end - offset);
    bytes.set(weightData.subarray(offset, end));
    arrays.set(spec.name, { values: new Float32Array(bytes.buffer), shape: spec.shape });
    offset = end;
  }
  const described: LayerDescription[] = [];
  for (const layer of layers) {
    const className = layer.class_name ?? '';
    if (className === 'InputLayer') continue;
    const layerConfig = layer.config ?? {};
    const name = String(layerConfig.name);
    const names = className === 'Dense' ? ['kernel', 'bias'] : ['kernel', 'recurrent_kernel', 'bias'];
    const found = names.map((weight) => arrays.get(`${name}/${weight}`));
    if (found.some((array) => !array)) return undefined;
    described.push({
      className,
      activation: savedActivation(layerConfig.activation),
      recurrentActivation: savedActivation(layerConfig.recurrent_activation),
      useBias: layerConfig.use_bias,
      goBackwards: layerConfig.go_backwards,
      stateful: layerConfig.stateful,
      resetAfter: layerConfig.reset_after,
      units: layerConfig.units,
      weights: found.map((array) => array!.values),
      kernelRows: found[0]!.shape[0],
    });
  }
  return recurrentWeightsFromLayers(described);
}
