import { FltsError } from '../errors.js';
import type { ModelType } from '../model-types.js';

export { MODEL_TYPES, type ModelType } from '../model-types.js';

/** The simple models every other type must beat: persistence, seasonal persistence and a statistical model. */
export const BASELINE_MODEL_TYPES: readonly ModelType[] = ['NAIVE', 'SNAIVE', 'MSTL'];

/** What a model consumes and produces; saved with the run, read back by serving. */
export interface WindowSpec {
  /** Rows of history per forecast. */
  readonly inputSeqLen: number;
  /** Steps forecast per window (the model horizon). */
  readonly outputSeqLen: number;
  /** Input columns in order (processed names, including time features). */
  readonly features: readonly string[];
  /** Forecast columns in order; each is also one of `features`. */
  readonly targets: readonly string[];
  /**
   * What the network learns: `level` (the targets themselves, the reference), `change` (each target's change
   * from the window's last value), or a window form (each target in the inputs and outputs relative to the
   * window's own mean or median). Absent means `level`.
   */
  readonly targetForm?: TargetForm;
  /**
   * `change` form: the share of the window's last value each target is taken relative to (the network learns
   * target - w * last, the forecast adds w * last back). Absent means 1, the full change (runs saved before).
   */
  readonly changeWeight?: number;
  /**
   * The lowest forecast of each target that never went negative in training, in scaled units (0 once scaled);
   * forecasts are raised to it (`withTargetFloors`). Absent for runs saved before floors, and for targets with
   * negative values.
   */
  readonly targetFloors?: Readonly<Record<string, number>>;
}

/** The share of the last value a `change`-form window is taken relative to: 1 where absent (runs saved before). */
export function changeWeightOf(window: Pick<WindowSpec, 'changeWeight'>): number {
  return window.changeWeight ?? 1;
}

export const TARGET_FORMS = ['level', 'change', 'window', 'window-median'] as const;
export type TargetForm = (typeof TARGET_FORMS)[number];

export interface PredictBatch {
  /** `size` windows, row-major [size][inputSeqLen][features.length], on the scaled (processed) scale. */
  readonly windows: Float32Array;
  readonly size: number;
  /** Timestamps (epoch ms) of the forecast steps, [size][outputSeqLen]; models of time (Prophet) use these. */
  readonly forecastTimes: Float64Array;
  /**
   * Where given, [size][targets]: a model whose fit estimates the spread of its own next error (MSTL's
   * smoothing, the `smoothing` interval scale before its floor) writes it here from the fit that forecasts
   * the window, so that the scale costs no second fit. Other models leave it as it is.
   */
  readonly spreads?: Float64Array;
}

/**
 * A fitted model loaded and ready to predict. Serving batches concurrent requests into one call.
 * Returns scaled predictions, row-major [size][outputSeqLen][targets.length].
 */
export interface ForecastModel {
  readonly modelType: ModelType;
  readonly window: WindowSpec;
  /** How many `predict` calls may usefully run at once (a model on its own thread queues them); default 1. */
  readonly concurrentPasses?: number;
  /**
   * At most this many windows per forward pass of a long run (`chunkWindows`), for a model whose windows cost
   * much each and are forecast each on its own (MSTL fits every window): fewer per pass gives the same forecasts,
   * and the event loop turns between passes sooner. Absent: the run's own bound.
   */
  readonly maxChunkWindows?: number;
  /** What computes the forward passes (`onnx`, `wasm`; undefined for models without a network). */
  readonly engine?: string;
  /** Why the configured engine was not the one used (auto fell back), for health output. */
  readonly engineNote?: string;
  predict(batch: PredictBatch): Promise<Float32Array>;
  /**
   * For a model whose one fit of a window forecasts any number of steps (MSTL's smoothing): `steps` steps per
   * window, `forecastTimes` [size][steps], predictions [size][steps][targets]. Without it, steps past the
   * horizon are forecast recursively, each fed back as an input.
   */
  predictSteps?(batch: PredictBatch, steps: number): Promise<Float32Array>;
  dispose(): void;
}

/**
 * `steps` forecast steps per window in one pass: the model's `predict` at its horizon, `predictSteps` otherwise
 * (FLTS_REQUEST_INVALID for a model that forecasts its horizon only).
 */
export function predictSteps(model: ForecastModel, batch: PredictBatch, steps: number): Promise<Float32Array> {
  if (steps === model.window.outputSeqLen) return model.predict(batch);
  if (!model.predictSteps) return Promise.reject(new FltsError('FLTS_REQUEST_INVALID', `${model.modelType} forecasts ${model.window.outputSeqLen} step(s) per pass, not ${steps}.`));
  return model.predictSteps(batch, steps);
}

/** Where each target sits among a window's input features. */
export function targetColumns(window: WindowSpec): number[] {
  return window.targets.map((target) => window.features.indexOf(target));
}

/**
 * The same model answering through `predict` instead (its engine, concurrency, chunk bound and disposal as they
 * are). A model that forecasts past its horizon from one fit (`predictSteps`) must be given its wrapped
 * `predictSteps` too: dropped, every step past the horizon would quietly turn recursive, a different forecast.
 */
export function withPredict(inner: ForecastModel, predict: ForecastModel['predict'], predictSteps?: ForecastModel['predictSteps']): ForecastModel {
  if (inner.predictSteps && !predictSteps) throw new Error(`${inner.modelType} forecasts past its horizon from one fit: wrapping its predict alone would drop predictSteps.`);
  return {
    modelType: inner.modelType,
    window: inner.window,
    concurrentPasses: inner.concurrentPasses,
    ...(inner.maxChunkWindows ? { maxChunkWindows: inner.maxChunkWindows } : {}),
    ...(inner.engine ? { engine: inner.engine } : {}),
    ...(inner.engineNote ? { engineNote: inner.engineNote } : {}),
    predict,
    ...(predictSteps ? { predictSteps } : {}),
    dispose: () => inner.dispose(),
  };
}

/** Refuses a batch whose windows are not `size` x inputSeqLen x features values (FLTS_REQUEST_INVALID). */
export function assertBatchShape(batch: PredictBatch, spec: WindowSpec): void {
  const expected = batch.size * spec.inputSeqLen * spec.features.length;
  if (batch.windows.length !== expected) {
    throw new FltsError('FLTS_REQUEST_INVALID', `Expected ${batch.size} windows of ${spec.inputSeqLen} x ${spec.features.length} values (${expected}), got ${batch.windows.length}.`, {
      details: { expected, received: batch.windows.length },
    });
  }
}
