import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { FltsError } from '../../errors.js';
import { createMatrixOps } from '../../kernels/create-ops.js';
import { createSimdAdam } from '../../kernels/simd-adam.js';
import { loadOnnxRuntime } from '../../models/onnx/onnx-forward.js';
import { encodeOnnxModel } from '../../models/onnx/onnx-proto.js';
import { createBatchGather, createGradientComputer } from '../fused/gradient-computer.js';
import type { EngineInit, GradientEngine } from '../fused/gradient-engine.js';
import { buildTrainingGraph, STEP_NAMES, TFJS_ADAM } from './training-graph.js';

/**
 * The graph unrolls every step of every layer, and ONNX Runtime's session set-up grows with the square of the
 * graph (measured in CPU time: 10 steps x 2 layers 0.16 s, 48 x 2 1.5 s, 96 x 2 6 s); longer unrolls train
 * on the fused engine.
 */
export const ONNX_MAX_UNROLLED_STEPS = 128;

export interface OnnxEngineOptions {
  /** ONNX Runtime's intra-op threads (the multiplies of one step). */
  threads: number;
  /** The module to load ONNX Runtime from (tests name a missing one to see the fallback). */
  runtimeModule?: string;
  /** Also copy the flat gradient of every step into `lastGradient` (gradient checks; with SIMD Adam only). */
  exposeGradient?: boolean;
  /**
   * Where Adam runs: in the graph (parameters and moments through the session), or on the gradient the graph
   * returns with the fused path's SIMD Adam (the default: ONNX Runtime's element-wise square root and division
   * are scalar, and one flat vector leaves the session instead of three).
   */
  adam?: 'graph' | 'simd';
}

export interface OnnxGradientEngine extends GradientEngine {
  /** The gradient of the last step, when created with `exposeGradient`. */
  readonly lastGradient?: Float32Array;
}

/**
 * Training steps on ONNX Runtime: one session run per batch computes the forward pass, the loss and the
 * gradient (`training-graph.ts`), which the fused path's SIMD Adam applies (or, with `adam: 'graph'`, the
 * session applies Adam too, parameters and moments going through it as flat vectors); the validation error is
 * computed by the fused path's forward pass on the same weights.
 * Throws FLTS_SERVE_ENGINE_UNAVAILABLE when ONNX Runtime cannot be loaded or cannot load the graph.
 */
export async function createOnnxEngine(init: EngineInit, options: OnnxEngineOptions): Promise<OnnxGradientEngine> {
  const runtime = await loadOnnxRuntime(options.runtimeModule);
  const { layout, steps } = init;
  const inGraph = options.adam === 'graph';
  const bytes = encodeOnnxModel(buildTrainingGraph(layout, { steps, adam: inGraph ? TFJS_ADAM : undefined }));
  let session: InferenceSession;
  try {
    session = await runtime.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: Math.max(1, options.threads),
      interOpNumThreads: 1,
      logSeverityLevel: 3,
      // Waiting threads sleep instead of spinning: a step is hundreds of small ops, and spinning threads took
      // 1.6-2x the CPU time per step for no gain when other processes share the cores (bench/results-training.md).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    throw new FltsError('FLTS_SERVE_ENGINE_UNAVAILABLE', `ONNX Runtime could not load the training graph: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const validation = createGradientComputer(init, await createMatrixOps('simd'));
  const gather = createBatchGather(steps, layout.inputSize, layout.outputSize);
  const size = layout.size;
  const weights = new Float32Array(size);
  const flat = (data: Float32Array) => new runtime.Tensor('float32', data, [size]);
  const scalar = (value: number) => new runtime.Tensor('float32', Float32Array.of(value), []);
  const simdAdam = inGraph ? undefined : await createSimdAdam(0, size, init.learningRate, TFJS_ADAM.beta1, TFJS_ADAM.beta2, TFJS_ADAM.epsilon);
  let first: Tensor = flat(new Float32Array(size));
  let second: Tensor = flat(new Float32Array(size));
  let order: Int32Array = new Int32Array(0);
  let beta1Power = 1;
  let beta2Power = 1;
  // With Adam outside the graph the session writes the gradient and the squared error straight into these
  // (no output buffers per step); the inputs are the same tensors over the gather's reused buffers, made anew
  // only when the batch size or the gather's buffers change (the last batch of an epoch).
  const gradient = new Float32Array(size);
  const sse = new Float32Array(1);
  const fetches = { [STEP_NAMES.sse]: new runtime.Tensor('float32', sse, []), [STEP_NAMES.gradient]: new runtime.Tensor('float32', gradient, [size]) };
  const params = flat(weights);
  let batchFeeds: { n: number; x: Float32Array; feeds: Record<string, Tensor> } | undefined;
  const feedsFor = (n: number, x: Float32Array, y: Float32Array): Record<string, Tensor> => {
    if (batchFeeds?.n !== n || batchFeeds.x.buffer !== x.buffer) {
      const feeds = {
        [STEP_NAMES.x]: new runtime.Tensor('float32', x, [steps, n, layout.inputSize]),
        [STEP_NAMES.y]: new runtime.Tensor('float32', y, [n, layout.outputSize]),
        [STEP_NAMES.params]: params,
        [STEP_NAMES.scale]: scalar(2 / (n * layout.outputSize)),
      };
      batchFeeds = { n, x, feeds };
    }
    return batchFeeds.feeds;
  };
  const engine: OnnxGradientEngine & { lastGradient?: Float32Array } = {
    name: 'onnx',
    threads: Math.max(1, options.threads),
    weights,
    setOrder(next) {
      order = next;
    },
    async step(from, to) {
      const n = to - from;
      const { x, y } = gather(init.train, (k) => order[from + k], n);
      if (simdAdam) {
        await session.run(feedsFor(n, x, y), fetches);
        if (options.exposeGradient) engine.lastGradient = gradient.slice();
        simdAdam.step(weights, [gradient]);
        return sse[0];
      }
      beta1Power *= TFJS_ADAM.beta1;
      beta2Power *= TFJS_ADAM.beta2;
      const feeds = { ...feedsFor(n, x, y), [STEP_NAMES.m]: first, [STEP_NAMES.v]: second, [STEP_NAMES.c1]: scalar(init.learningRate / (1 - beta1Power)), [STEP_NAMES.c2]: scalar(1 / (1 - beta2Power)) };
      const outputs = await session.run(feeds);
      weights.set(outputs[STEP_NAMES.paramsOut].data as Float32Array);
      first = outputs[STEP_NAMES.mOut];
      second = outputs[STEP_NAMES.vOut];
      return (outputs[STEP_NAMES.sse].data as Float32Array)[0];
    },
    async validationSse() {
      return init.validationSize > 0 ? validation.validationSse(weights, 0, init.validationSize) : 0;
    },
    close: () => session.release(),
  };
  return engine;
}
