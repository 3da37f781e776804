import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { FltsError } from '../../errors.js';
import type { WindowSpec } from '../forecast-model.js';
import type { RecurrentNetworkWeights } from '../recurrent-weights.js';
import { encodeOnnxModel } from './onnx-proto.js';
import { keepOnnxTelemetryOff } from './runtime-telemetry.js';
import { buildRecurrentGraph, ONNX_NAMES } from './recurrent-graph.js';

export const ONNX_RUNTIME_MODULE = 'onnxruntime-node';

export interface OnnxForwardOptions {
  /** Threads ONNX Runtime uses inside one pass (default 1: serving keeps the other core for HTTP). */
  threads?: number;
  /** The module to load ONNX Runtime from (tests name a missing one to see the fallback). */
  runtimeModule?: string;
}

/** A forward pass on ONNX Runtime: scaled windows [size, steps, features] in, scaled forecasts [size, outputs] out. */
export interface OnnxForward {
  run(windows: Float32Array, size: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

type OnnxRuntime = typeof import('onnxruntime-node');

/** Loads ONNX Runtime, or throws FLTS_SERVE_ENGINE_UNAVAILABLE with the reason it cannot be loaded here. */
export async function loadOnnxRuntime(runtimeModule = ONNX_RUNTIME_MODULE): Promise<OnnxRuntime> {
  keepOnnxTelemetryOff();
  try {
    const loaded = (await import(runtimeModule)) as OnnxRuntime & { default?: OnnxRuntime };
    const runtime = loaded.InferenceSession ? loaded : loaded.default;
    if (!runtime?.InferenceSession) throw new Error(`${runtimeModule} has no InferenceSession`);
    return runtime;
  } catch (error) {
    throw new FltsError('FLTS_SERVE_ENGINE_UNAVAILABLE', `ONNX Runtime could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * The network as an ONNX Runtime session on the scaled scale (the graph `flts export` writes, without the
 * folded scaler), so it is a drop-in for the wasm forward pass. ONNX Runtime runs a pass synchronously on
 * the calling thread, which is why serving gives it the inference thread.
 */
export async function createOnnxForward(weights: RecurrentNetworkWeights, window: WindowSpec, options: OnnxForwardOptions = {}): Promise<OnnxForward> {
  const runtime = await loadOnnxRuntime(options.runtimeModule);
  const bytes = encodeOnnxModel(buildRecurrentGraph(weights, window));
  const threads = options.threads ?? 1;
  let session: InferenceSession;
  try {
    session = await runtime.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
    });
  } catch (error) {
    throw new FltsError('FLTS_SERVE_ENGINE_UNAVAILABLE', `ONNX Runtime could not load the network: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const features = window.features.length;
  return {
    async run(windows, size) {
      const input = new runtime.Tensor('float32', windows, [size, window.inputSeqLen, features]);
      const outputs = await session.run({ [ONNX_NAMES.scaledInput]: input });
      const forecast = outputs[ONNX_NAMES.scaledForecast] as Tensor;
      try {
        return forecast.data as Float32Array;
      } finally {
        input.dispose();
      }
    },
    dispose: () => session.release(),
  };
}
