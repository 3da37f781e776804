import * as tf from '@tensorflow/tfjs';
import { multiply, multiplySigmoid, sigmoid } from '../tf/host-ops.js';
import type { RecurrentLayerWeights, RecurrentNetworkWeights } from './recurrent-weights.js';

/** A forward pass over a batch of windows: [size, steps, inputs] in, [size, outputs] out. */
export interface RecurrentForward {
  run(windows: Float32Array, size: number, steps: number): Float32Array;
  dispose(): void;
}

interface LayerTensors {
  weights: RecurrentLayerWeights;
  gates: tf.Tensor2D;
  candidate?: tf.Tensor2D;
}

// tfjs hardSigmoid: clip(0.2 z + 0.5, 0, 1).
const hardSigmoid = (z: number): number => Math.min(1, Math.max(0, 0.2 * z + 0.5));

/** Writes x_t of every window (row b of `input` [size, steps, inputs] at step t) and a trailing 1 into a step buffer. */
function fillInputs(step: Float32Array, input: Float32Array, size: number, steps: number, inputs: number, width: number, t: number): void {
  for (let b = 0; b < size; b++) {
    const from = (b * steps + t) * inputs;
    step.set(input.subarray(from, from + inputs), b * width);
    step[b * width + width - 1] = 1;
  }
}

function lstmLayer(layer: LayerTensors, input: Float32Array, size: number, steps: number, sequence: Float32Array | undefined): Float32Array {
  const { units: u, inputs, hardGates } = layer.weights;
  const width = inputs + u + 1;
  const step = new Float32Array(size * width);
  const c = new Float32Array(size * u);
  const doubled = new Float32Array(size * u);
  const h = new Float32Array(size * u);
  for (let t = 0; t < steps; t++) {
    fillInputs(step, input, size, steps, inputs, width, t);
    const { activated: s, raw: z } = multiplySigmoid(step, size, layer.gates, hardGates);
    // Gates: the sigmoid columns of s, or hardSigmoid of the raw product (clipped in place of s).
    if (z) {
      for (let b = 0; b < size; b++) {
        const row = b * 4 * u;
        for (let j = 0; j < 2 * u; j++) s[row + j] = hardSigmoid(z[row + j]);
        for (let j = 3 * u; j < 4 * u; j++) s[row + j] = hardSigmoid(z[row + j]);
      }
    }
    for (let b = 0; b < size; b++) {
      const row = b * 4 * u;
      const k = b * u;
      for (let j = 0; j < u; j++) {
        const cell = s[row + u + j] * c[k + j] + s[row + j] * (2 * s[row + 2 * u + j] - 1);
        c[k + j] = cell;
        doubled[k + j] = 2 * cell;
      }
    }
    // tanh(c) = 2 sigmoid(2c) - 1: `doubled` holds 2c.
    const halfTanh = sigmoid(doubled);
    for (let b = 0; b < size; b++) {
      const row = b * 4 * u + 3 * u;
      const k = b * u;
      const into = b * width + inputs;
      for (let j = 0; j < u; j++) {
        const value = s[row + j] * (2 * halfTanh[k + j] - 1);
        h[k + j] = value;
        step[into + j] = value;
      }
      sequence?.set(h.subarray(k, k + u), (b * steps + t) * u);
    }
  }
  return h;
}

function gruLayer(layer: LayerTensors, input: Float32Array, size: number, steps: number, sequence: Float32Array | undefined): Float32Array {
  const { units: u, inputs, hardGates } = layer.weights;
  const width = inputs + u + 1;
  const step = new Float32Array(size * width);
  const resetStep = new Float32Array(size * width);
  const h = new Float32Array(size * u);
  for (let t = 0; t < steps; t++) {
    fillInputs(step, input, size, steps, inputs, width, t);
    fillInputs(resetStep, input, size, steps, inputs, width, t);
    const { activated, raw } = multiplySigmoid(step, size, layer.gates, hardGates);
    const gate = raw ?? activated;
    for (let b = 0; b < size; b++) {
      const row = b * 2 * u + u;
      const into = b * width + inputs;
      for (let j = 0; j < u; j++) resetStep[into + j] = (raw ? hardSigmoid(gate[row + j]) : gate[row + j]) * h[b * u + j];
    }
    const candidate = multiplySigmoid(resetStep, size, layer.candidate as tf.Tensor2D, false).activated;
    for (let b = 0; b < size; b++) {
      const row = b * 2 * u;
      const k = b * u;
      const into = b * width + inputs;
      for (let j = 0; j < u; j++) {
        const update = raw ? hardSigmoid(gate[row + j]) : gate[row + j];
        const value = update * h[k + j] + (1 - update) * (2 * candidate[k + j] - 1);
        h[k + j] = value;
        step[into + j] = value;
      }
      sequence?.set(h.subarray(k, k + u), (b * steps + t) * u);
    }
  }
  return h;
}

/**
 * The forward pass of stacked LSTM/GRU layers and a dense output, computed step by step for the whole batch:
 * one multiply of [x_t, h, 1] by the stacked weights per step and layer (bias included, no separate input
 * projection or add), the gate sigmoids in the same tfjs call, and the cheap gate arithmetic in plain loops.
 * Weight tensors live as long as the forward; every other tensor is freed inside `run`.
 */
export function createRecurrentForward(weights: RecurrentNetworkWeights): RecurrentForward {
  const layers: LayerTensors[] = weights.layers.map((layer) => {
    const rows = layer.inputs + layer.units + 1;
    return {
      weights: layer,
      gates: tf.tensor2d(layer.gates, [rows, layer.gates.length / rows]),
      candidate: layer.candidate ? tf.tensor2d(layer.candidate, [rows, layer.units]) : undefined,
    };
  });
  const lastUnits = weights.layers[weights.layers.length - 1].units;
  const dense = tf.tensor2d(weights.dense, [lastUnits + 1, weights.outputs]);
  return {
    run(windows, size, steps) {
      let values = windows;
      layers.forEach((layer, index) => {
        const sequence = index < layers.length - 1 ? new Float32Array(size * steps * layer.weights.units) : undefined;
        const last = (layer.weights.kind === 'LSTM' ? lstmLayer : gruLayer)(layer, values, size, steps, sequence);
        values = sequence ?? last;
      });
      const withBias = new Float32Array(size * (lastUnits + 1));
      for (let b = 0; b < size; b++) {
        withBias.set(values.subarray(b * lastUnits, (b + 1) * lastUnits), b * (lastUnits + 1));
        withBias[b * (lastUnits + 1) + lastUnits] = 1;
      }
      return multiply(withBias, size, dense);
    },
    dispose() {
      for (const layer of layers) tf.dispose([layer.gates, ...(layer.candidate ? [layer.candidate] : [])]);
      dense.dispose();
    },
  };
}
