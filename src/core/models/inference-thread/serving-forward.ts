import { FltsError } from '../../errors.js';
import type { ForecastModel, WindowSpec } from '../forecast-model.js';
import { recurrentForecastModel, type RecurrentKind } from '../recurrent-forecast-model.js';
import type { RecurrentNetworkWeights } from '../recurrent-weights.js';

export const SERVE_ENGINE_CHOICES = ['auto', 'onnx', 'wasm'] as const;
export type ServeEngineChoice = (typeof SERVE_ENGINE_CHOICES)[number];
/** onnx = ONNX Runtime; wasm = flts's own recurrent loop on the selected tfjs backend. */
export type ServeEngine = Exclude<ServeEngineChoice, 'auto'>;

/**
 * How a run's model is loaded (registry/run-artifacts.ts): here, beside the engine types, because the library's
 * declarations name it, and the module that loads runs also declares functions of TensorFlow.js's types.
 */
export interface LoadRunModelOptions {
  /** LSTM/GRU forward passes on a worker thread of their own (serving), instead of the calling thread. */
  inferenceThread?: boolean;
  /** The LSTM/GRU forward pass's engine (default wasm: flts's own loop on the tfjs backend). */
  engine?: ServeEngineChoice;
  engineOptions?: ServingForwardOptions;
}

export interface ServingForwardOptions {
  /** ONNX Runtime's threads per pass. */
  onnxThreads?: number;
  /** Where ONNX Runtime is loaded from (tests name a missing module to see the fallback). */
  onnxRuntimeModule?: string;
}

/** A forward pass on the chosen engine: scaled windows [size, steps, features] in, scaled forecasts out. */
export interface ServingForward {
  readonly engine: ServeEngine;
  /** Why `auto` did not get ONNX Runtime, when it fell back. */
  readonly fallbackReason?: string;
  run(windows: Float32Array, size: number): Promise<Float32Array> | Float32Array;
  dispose(): void;
}

/**
 * The forward pass for serving on `choice`: ONNX Runtime, or flts's own loop (which needs the thread's tfjs
 * backend selected first: `prepareWasm` does that, only when that engine is used). `auto` takes ONNX Runtime and falls back to the wasm loop only when ONNX Runtime
 * cannot be loaded; `onnx` fails with FLTS_SERVE_ENGINE_UNAVAILABLE instead.
 */
export async function openServingForward(
  weights: RecurrentNetworkWeights,
  window: WindowSpec,
  choice: ServeEngineChoice,
  options: ServingForwardOptions = {},
  prepareWasm: () => Promise<unknown> = async () => undefined,
): Promise<ServingForward> {
  let fallbackReason: string | undefined;
  if (choice !== 'wasm') {
    try {
      // Loaded only here: a thread that hands passes to the inference thread never needs ONNX Runtime itself.
      const { createOnnxForward } = await import('../onnx/onnx-forward.js');
      const onnx = await createOnnxForward(weights, window, { threads: options.onnxThreads, runtimeModule: options.onnxRuntimeModule });
      return { engine: 'onnx', run: (windows, size) => onnx.run(windows, size), dispose: () => void onnx.dispose() };
    } catch (error) {
      if (choice === 'onnx' || !(error instanceof FltsError) || error.code !== 'FLTS_SERVE_ENGINE_UNAVAILABLE') throw error;
      fallbackReason = error.message;
    }
  }
  await prepareWasm();
  // tfjs (under the wasm loop) is loaded only when this engine serves: ONNX Runtime serving never loads it.
  const { createRecurrentForward } = await import('../recurrent-forward.js');
  const forward = createRecurrentForward(weights);
  return { engine: 'wasm', fallbackReason, run: (windows, size) => forward.run(windows, size, window.inputSeqLen), dispose: () => forward.dispose() };
}

/** Health text for a forward pass that `auto` moved off ONNX Runtime. */
export function fallbackNote(forward: Pick<ServingForward, 'fallbackReason'>): string | undefined {
  return forward.fallbackReason && `ONNX Runtime is not available, serving on the wasm engine: ${forward.fallbackReason}`;
}

/** An LSTM/GRU model whose passes run on the calling thread, on the chosen engine (`prepareWasm` selects the thread's tfjs backend when the wasm loop serves). */
export async function createInlineServingModel(
  kind: RecurrentKind,
  window: WindowSpec,
  weights: RecurrentNetworkWeights,
  choice: ServeEngineChoice,
  options: ServingForwardOptions = {},
  prepareWasm?: () => Promise<unknown>,
): Promise<ForecastModel> {
  const forward = await openServingForward(weights, window, choice, options, prepareWasm);
  return recurrentForecastModel(kind, window, {
    run: (batch) => forward.run(batch.windows, batch.size),
    release: () => forward.dispose(),
    engine: forward.engine,
    engineNote: fallbackNote(forward),
  });
}
