import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { FltsError } from '../../errors.js';
import { createMatrixOps } from '../../kernels/create-ops.js';
import { createSimdAdam } from '../../kernels/simd-adam.js';
import { loadOnnxRuntime } from '../../models/onnx/onnx-forward.js';
import { encodeOnnxModel } from '../../models/onnx/onnx-proto.js';
import { createBatchGather, createGradientComputer } from '../fused/gradient-computer.js';
import type { EngineInit, GradientEngine } from '../fused/gradient-engine.js';
import { buildTrainingGraph, STEP_NAMES } from './training-graph.js';

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
  /** Also copy the flat gradient of every step into `lastGradient` (gradient checks). */
  exposeGradient?: boolean;
}

export interface OnnxGradientEngine extends GradientEngine {
  /** The gradient of the last step, when created with `exposeGradient`. */
  readonly lastGradient?: Float32Array;
}

/**
 * Training steps on ONNX Runtime: one session run per batch computes the forward pass, the loss and the
 * gradient (`training-graph.ts`), which the fused path's SIMD Adam applies (rather than Adam in the graph:
 * ONNX Runtime's element-wise square root and division are scalar, and one flat vector leaves the session
 * instead of three); the validation error is computed by the fused path's forward pass on the same weights.
 * Throws FLTS_SERVE_ENGINE_UNAVAILABLE when ONNX Runtime cannot be loaded or cannot load the graph.
 */
export async function createOnnxEngine(init: EngineInit, options: OnnxEngineOptions): Promise<OnnxGradientEngine> {
  const runtime = await loadOnnxRuntime(options.runtimeModule);
  const { layout, steps } = init;
  const bytes = encodeOnnxModel(buildTrainingGraph(layout, { steps }));
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
  const adam = await createSimdAdam(0, size, init.learningRate);
  let order: Int32Array = new Int32Array(0);
  // The session writes the gradient and the squared error straight into these (no output buffers per step);
  // the inputs are the same tensors over the gather's reused buffers, made anew only when the batch size or the
  // gather's buffers change (the last batch of an epoch).
  const gradient = new Float32Array(size);
  const sse = new Float32Array(1);
  const fetches = { [STEP_NAMES.sse]: new runtime.Tensor('float32', sse, []), [STEP_NAMES.gradient]: new runtime.Tensor('float32', gradient, [size]) };
  const params = new runtime.Tensor('float32', weights, [size]);
  let batchFeeds: { n: number; x: Float32Array; feeds: Record<string, Tensor> } | undefined;
  const feedsFor = (n: number, x: Float32Array, y: Float32Array): Record<string, Tensor> => {
    if (batchFeeds?.n !== n || batchFeeds.x.buffer !== x.buffer) {
      const feeds = {
        [STEP_NAMES.x]: new runtime.Tensor('float32', x, [steps, n, layout.inputSize]),
        [STEP_NAMES.y]: new runtime.Tensor('float32', y, [n, layout.outputSize]),
        [STEP_NAMES.params]: params,
        [STEP_NAMES.scale]: new runtime.Tensor('float32', Float32Array.of(2 / (n * layout.outputSize)), []),
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
      await session.run(feedsFor(n, x, y), fetches);
      if (options.exposeGradient) engine.lastGradient = gradient.slice();
      adam.step(weights, [gradient]);
      return sse[0];
    },
    async validationSse() {
      return init.validationSize > 0 ? validation.validationSse(weights, 0, init.validationSize) : 0;
    },
    close: () => session.release(),
  };
  return engine;
}
