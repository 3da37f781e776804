import * as tf from '@tensorflow/tfjs';
import { FltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import { ignoreEvents } from '../events.js';
import type { WindowSpec } from '../models/forecast-model.js';
import type { WindowSet } from '../forecast/windows.js';
import { createRandom, shuffledIndices } from './seeded-random.js';
import type { BackendChoice } from '../tf/backend.js';
import { fitFused } from './fit-fused.js';
import { assertKeepableWeights } from './keepable-weights.js';
import { createMatrixOps, type MatrixOpsChoice } from '../kernels/create-ops.js';
import { createLocalEngine, type EngineInit, type GradientEngine } from './fused/gradient-engine.js';
import { createOnnxEngine, ONNX_MAX_UNROLLED_STEPS } from './onnx/onnx-engine.js';
import { fusedLayoutOf } from './fused/network-parameters.js';
import { createWorkerPoolEngine } from './parallel/worker-pool-engine.js';
import { createOffThreadOnnxEngine } from './parallel/off-thread-engine.js';

export const TRAIN_ENGINES = ['auto', 'fused', 'onnx', 'layers'] as const;
export type TrainEngineChoice = (typeof TRAIN_ENGINES)[number];

export interface FitNetworkOptions {
  runId: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  earlyStopping: boolean;
  patience: number;
  seed: number;
  /**
   * Decay of an exponential moving average of the weights over the steps (0 or undefined = none). Each epoch
   * the average competes with the current weights on the validation tail: the lower one counts for
   * early stopping and best-epoch restore.
   */
  weightAverage?: number;
  /**
   * Restore the weights of the epoch with the lowest validation loss at the end (default). false keeps the
   * last epoch's weights: a refit for a fixed number of epochs, whose validation windows are in its training data.
   */
  restoreBest?: boolean;
  signal?: AbortSignal;
  onEvent?: EventSink;
  /**
   * fused = hand-written LSTM/GRU forward and backward (one input multiply for all steps, weight gradients
   * as single multiplies over all steps), optionally on worker threads; onnx = the same step (forward,
   * backward and Adam) as one ONNX Runtime graph run per batch, falling back to fused where ONNX Runtime
   * does not load; layers = tfjs-layers' own training step. auto = onnx whenever the network is one the
   * fused path implements and its window is unrolled at most ONNX_MAX_UNROLLED_STEPS times, else fused
   * (measured in bench/results-training.md), else layers.
   */
  engine?: TrainEngineChoice;
  /** The module to load ONNX Runtime from (tests name a missing one to see the fallback). */
  onnxRuntimeModule?: string;
  /**
   * Run the onnx engine's session on a worker thread of its own, leaving this thread free between steps (other
   * models training side by side); the same steps and results as in this thread.
   */
  offThread?: boolean;
  /**
   * Gradient threads for the fused path, or ONNX Runtime's intra-op threads on the onnx engine; 0 or undefined =
   * auto (fused: one per usable CPU, at most 2; onnx: 1).
   */
  workers?: number;
  /** Backend the worker threads select (the main thread's choice). */
  backend?: BackendChoice;
  /**
   * Matrix kernels of the fused path: flts's WebAssembly SIMD kernels (default), or the tfjs backend's
   * (kept to compare the two; on wasm they repack every new right-hand matrix).
   */
  kernels?: MatrixOpsChoice;
  /** CPUs this process may keep busy (usableCpus: the cores, or the container's CPU limit), for the auto worker count; defaults to 1. */
  cores?: number;
  /** Told which engine trains, once it is chosen and before the first epoch (an onnx choice may fall back). */
  onEngine?: (engine: TrainingEngineUsed) => void;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  val_loss: number;
  duration_ms: number;
  samples_per_sec: number;
}

export interface FitNetworkResult {
  history: EpochRecord[];
  /** 1-based epoch whose weights the network holds after fitting (lowest validation loss). */
  bestEpoch: number;
  bestValLoss: number;
  stoppedEarly: boolean;
  fitMs: number;
  samplesPerSec: number;
  engine: 'fused' | 'onnx' | 'layers';
  /** Threads that computed gradients. */
  threads: number;
}

const EVAL_CHUNK = 1024;
/** Batch losses are read back this many times per epoch at most: every read is a sync point. */
const LOSS_READS_PER_EPOCH = 50;

function aborted(signal?: AbortSignal): boolean {
  return signal?.aborted === true;
}

/** Mean squared error of the network over a window set, read back once. */
async function meanSquaredError(network: tf.LayersModel, set: WindowSet, spec: WindowSpec): Promise<number> {
  const width = spec.outputSeqLen * spec.targets.length;
  let total: tf.Tensor = tf.scalar(0);
  for (let from = 0; from < set.size; from += EVAL_CHUNK) {
    const to = Math.min(set.size, from + EVAL_CHUNK);
    const next = tf.tidy(() => {
      const x = tf.tensor3d(set.x.subarray(from * spec.inputSeqLen * spec.features.length, to * spec.inputSeqLen * spec.features.length), [to - from, spec.inputSeqLen, spec.features.length]);
      const y = tf.tensor2d(set.y.subarray(from * width, to * width), [to - from, width]);
      return total.add(tf.sub(network.predict(x) as tf.Tensor, y).square().sum());
    });
    total.dispose();
    total = next;
  }
  const value = (await total.data())[0];
  total.dispose();
  return value / (set.size * width);
}

/** The engine that trained a network and its threads. */
export interface TrainingEngineUsed {
  engine: 'fused' | 'onnx' | 'layers';
  threads: number;
}

/**
 * Mini-batch Adam on MSE with a seeded shuffle, validation on a chronological tail, early stopping with
 * patience, and the best epoch's weights restored at the end. Loss values stay on the backend and are read
 * back a few times per epoch only.
 */
export async function fitNetwork(network: tf.LayersModel, train: WindowSet, validation: WindowSet, spec: WindowSpec, options: FitNetworkOptions): Promise<FitNetworkResult> {
  const engine = options.engine ?? 'auto';
  const layout = engine === 'layers' ? undefined : fusedLayoutOf(network);
  if ((engine === 'fused' || engine === 'onnx') && !layout) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `training.engine = "${engine}" supports stacked LSTM/GRU layers with sigmoid gates followed by one linear dense layer; use "layers" or "auto".`);
  }
  if (!layout) {
    options.onEngine?.({ engine: 'layers', threads: 1 });
    return fitWithLayers(network, train, validation, spec, options);
  }
  // Shards below ~16 windows make the multiplies too small to gain from a second thread.
  const auto = Math.max(1, Math.min(2, options.cores ?? 1, Math.floor(options.batchSize / 16)));
  const threads = Math.max(1, options.workers || auto);
  // A batch step on ONNX Runtime is hundreds of small ops: a second intra-op thread costs more in hand-offs than
  // it gains in the multiplies (1 thread was faster for every measured configuration, bench/results-training.md).
  const onnxThreads = Math.max(1, options.workers || 1);
  const init = { layout, steps: spec.inputSeqLen, train, validation, validationSize: validation.size, learningRate: options.learningRate, kernels: options.kernels ?? 'simd' };
  const gradients: GradientEngine =
    (engine === 'onnx' || engine === 'auto' ? await onnxOrFallback(init, onnxThreads, options) : undefined) ??
    (threads > 1 ? await createWorkerPoolEngine(init, threads, options.backend ?? 'auto') : await createLocalEngine(init, await createMatrixOps(init.kernels)));
  options.onEngine?.({ engine: gradients.name, threads: gradients.threads });
  try {
    return await fitFused(network, layout, gradients, train, validation, spec, options);
  } finally {
    await gradients.close();
  }
}

/**
 * The ONNX Runtime engine with `threads` intra-op threads, or undefined when the window is unrolled
 * too far for it (logged when onnx was asked for) or ONNX Runtime does not load (logged).
 */
async function onnxOrFallback(init: EngineInit, threads: number, options: FitNetworkOptions): Promise<GradientEngine | undefined> {
  const emit = options.onEvent ?? ignoreEvents;
  const unrolled = init.steps * init.layout.numLayers;
  if (unrolled > ONNX_MAX_UNROLLED_STEPS) {
    if (options.engine === 'onnx') emit({ type: 'log', level: 'warn', message: `Training engine onnx unrolls at most ${ONNX_MAX_UNROLLED_STEPS} layer steps (this network: ${init.steps} steps x ${init.layout.numLayers} layers); training on the fused engine instead.` });
    return undefined;
  }
  try {
    const engineOptions = { threads, runtimeModule: options.onnxRuntimeModule };
    return await (options.offThread ? createOffThreadOnnxEngine(init, engineOptions) : createOnnxEngine(init, engineOptions));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    emit({ type: 'log', level: 'warn', message: `Training engine onnx is unavailable, training on the fused engine instead: ${reason}` });
    return undefined;
  }
}

/** tfjs-layers' own training step (any network): the reference point for the fused path. */
async function fitWithLayers(network: tf.LayersModel, train: WindowSet, validation: WindowSet, spec: WindowSpec, options: FitNetworkOptions): Promise<FitNetworkResult> {
  const emit = options.onEvent ?? ignoreEvents;
  const width = spec.outputSeqLen * spec.targets.length;
  const xs = tf.tensor3d(train.x, [train.size, spec.inputSeqLen, spec.features.length]);
  const ys = tf.tensor2d(train.y, [train.size, width]);
  const optimizer = tf.train.adam(options.learningRate);
  const variables = network.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const random = createRandom(options.seed);
  const batches = Math.ceil(train.size / options.batchSize);
  const readEvery = Math.max(1, Math.floor(batches / LOSS_READS_PER_EPOCH));
  const history: EpochRecord[] = [];
  let best: { epoch: number; loss: number; weights: tf.Tensor[] } | undefined;
  let stoppedEarly = false;
  const fitStart = performance.now();
  let trainedSamples = 0;
  const decay = options.weightAverage ?? 0;
  // The moving average of the weights (sum and its total weight, so the first steps are not pulled towards zero).
  const averageSum = decay > 0 ? variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false))) : [];
  let averageWeight = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const epochStart = performance.now();
      const order = shuffledIndices(train.size, random);
      let lossSum: tf.Tensor = tf.scalar(0);
      let lastLoss = Number.NaN;
      for (let b = 0; b < batches; b++) {
        // Give signal handlers (Ctrl-C) a turn: the loop is otherwise synchronous compute.
        await new Promise((resolve) => setImmediate(resolve));
        if (aborted(options.signal)) throw new FltsError('FLTS_TRAIN_ABORTED', `Training of run ${options.runId} was stopped.`);
        const indices = order.subarray(b * options.batchSize, Math.min(train.size, (b + 1) * options.batchSize));
        const batchLoss = tf.tidy(() => {
          const idx = tf.tensor1d(indices, 'int32');
          const xb = tf.gather(xs, idx);
          const yb = tf.gather(ys, idx);
          const loss = optimizer.minimize(() => tf.losses.meanSquaredError(yb, network.apply(xb, { training: true }) as tf.Tensor) as tf.Scalar, true, variables);
          return loss as tf.Scalar;
        });
        const summed = tf.tidy(() => lossSum.add(batchLoss.mul(indices.length)));
        lossSum.dispose();
        lossSum = summed;
        if (b % readEvery === 0 || b === batches - 1) lastLoss = (await batchLoss.data())[0];
        batchLoss.dispose();
        trainedSamples += indices.length;
        if (averageSum.length > 0) {
          tf.tidy(() => averageSum.forEach((sum, i) => sum.assign(sum.mul(decay).add(variables[i].mul(1 - decay)))));
          averageWeight = decay * averageWeight + (1 - decay);
        }
        emit({ type: 'train.batch_end', runId: options.runId, epoch, batch: b + 1, batches, loss: lastLoss });
      }
      const loss = (await lossSum.data())[0] / train.size;
      lossSum.dispose();
      if (!Number.isFinite(loss)) throw new FltsError('FLTS_TRAIN_DIVERGED', `Training loss became ${loss} in epoch ${epoch}; try a lower learning rate.`, { details: { epoch } });
      let valLoss = validation.size > 0 ? await meanSquaredError(network, validation, spec) : loss;
      let averaged: tf.Tensor[] | undefined;
      if (averageSum.length > 0 && validation.size > 0) {
        // The averaged weights compete with the current ones on the validation tail; whichever is lower counts.
        const current = variables.map((v) => v.clone());
        averaged = averageSum.map((sum) => sum.div(averageWeight));
        variables.forEach((v, i) => v.assign(averaged?.[i] as tf.Tensor));
        const averagedLoss = await meanSquaredError(network, validation, spec);
        variables.forEach((v, i) => v.assign(current[i]));
        current.forEach((t) => t.dispose());
        if (averagedLoss < valLoss) valLoss = averagedLoss;
        else {
          averaged.forEach((t) => t.dispose());
          averaged = undefined;
        }
      }
      assertKeepableWeights(valLoss, epoch, !best || options.restoreBest === false);
      const durationMs = performance.now() - epochStart;
      const record = { epoch, loss, val_loss: valLoss, duration_ms: Math.round(durationMs), samples_per_sec: train.size / (durationMs / 1000) };
      history.push(record);
      emit({ type: 'train.epoch_end', runId: options.runId, epoch, loss, valLoss, samplesPerSec: record.samples_per_sec });
      if (!best || valLoss < best.loss) {
        best?.weights.forEach((w) => w.dispose());
        const trainable = new Set(network.trainableWeights.map((w) => w.name));
        let next = 0;
        // Non-trainable weights (none in these networks) keep their current values.
        const weights = averaged ? network.weights.map((w) => (trainable.has(w.name) ? (averaged as tf.Tensor[])[next++].clone() : w.read().clone())) : network.getWeights().map((w) => w.clone());
        best = { epoch, loss: valLoss, weights };
      } else if (options.earlyStopping && epoch - best.epoch >= options.patience) {
        stoppedEarly = true;
        averaged?.forEach((t) => t.dispose());
        break;
      }
      averaged?.forEach((t) => t.dispose());
    }
    if (!best) throw new FltsError('FLTS_TRAIN_FAILED', 'No epoch completed.');
    if (options.restoreBest !== false) network.setWeights(best.weights);
    const fitMs = performance.now() - fitStart;
    return { history, bestEpoch: best.epoch, bestValLoss: best.loss, stoppedEarly, fitMs, samplesPerSec: trainedSamples / (fitMs / 1000), engine: 'layers', threads: 1 };
  } finally {
    best?.weights.forEach((w) => w.dispose());
    averageSum.forEach((sum) => sum.dispose());
    xs.dispose();
    ys.dispose();
    optimizer.dispose();
  }
}
