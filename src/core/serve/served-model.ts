import { FltsError } from '../errors.js';
import type { ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import type { IntervalSource } from '../forecast/forecast-intervals.js';
import type { ForecastModel } from '../models/forecast-model.js';
import { createFeaturePlan, type FeaturePlan } from '../forecast/feature-plan.js';
import type { LoadedRun, ModelSource, ServedRunInfo } from './model-source.js';
import { createRequestBatcher, type RequestBatcher, type RequestBatcherOptions } from '../forecast/request-batcher.js';

/**
 * One loaded run as serving uses it: model, scaler, feature plan, its own batcher, and a count of the
 * requests using it, so a replaced model is disposed only after its last in-flight request finished.
 */
export interface ServedModel {
  readonly run: ServedRunInfo;
  readonly model: ForecastModel;
  readonly scaler: ScalerParams;
  readonly intervals?: IntervalSource;
  readonly plan: FeaturePlan;
  readonly batcher: RequestBatcher;
  readonly loadedAt: string;
  /** Marks one request as using this model; call the returned function when it is done. */
  acquire(): () => void;
  /** No new requests will come; dispose the model once the in-flight ones are done. */
  retire(): void;
  readonly inFlight: number;
  readonly disposed: boolean;
  /** The processed test frame of the run's config_hash, read once and kept (the forecast is computed per request). */
  testFrame(): Promise<TimeFrame>;
}

export interface ServedModelOptions {
  batching: Omit<RequestBatcherOptions, 'onBatch'>;
  onBatch?: (size: number) => void;
  loadTestFrame: (configHash: string) => Promise<TimeFrame>;
  now?: () => Date;
}

export function createServedModel(loaded: LoadedRun, options: ServedModelOptions): ServedModel {
  const plan = createFeaturePlan(loaded.model.window, loaded.scaler);
  const batcher = createRequestBatcher(loaded.model, { ...options.batching, onBatch: options.onBatch });
  let inFlight = 0;
  let retired = false;
  let disposed = false;
  let frame: Promise<TimeFrame> | undefined;

  function disposeIfIdle(): void {
    if (retired && inFlight === 0 && !disposed) {
      disposed = true;
      loaded.model.dispose();
    }
  }

  return {
    run: loaded.run,
    model: loaded.model,
    scaler: loaded.scaler,
    intervals: loaded.intervals,
    plan,
    batcher,
    loadedAt: (options.now?.() ?? new Date()).toISOString(),
    acquire() {
      inFlight++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inFlight--;
        disposeIfIdle();
      };
    },
    retire() {
      retired = true;
      disposeIfIdle();
    },
    get inFlight() {
      return inFlight;
    },
    get disposed() {
      return disposed;
    },
    testFrame() {
      frame ??= options.loadTestFrame(loaded.run.configHash);
      // A failed read is retried by the next request instead of being remembered.
      frame.catch(() => (frame = undefined));
      return frame;
    },
  };
}

/** Runs the model once at batch size 1 and once at the largest batch, so the first requests pay no warm-up. */
export async function warmServedModel(served: ServedModel, maxBatch: number): Promise<void> {
  const { inputSeqLen, outputSeqLen, features } = served.model.window;
  for (const size of [1, maxBatch]) {
    const windows = new Float32Array(size * inputSeqLen * features.length);
    const forecastTimes = new Float64Array(size * outputSeqLen);
    const forecasts = await served.model.predict({ windows, forecastTimes, size });
    const bad = forecasts.findIndex((value) => !Number.isFinite(value));
    // A run with broken (NaN) weights would answer every request with nulls: it is never swapped in.
    if (bad >= 0) {
      throw new FltsError('FLTS_SERVE_MODEL_INVALID', `Run ${served.run.runId} (${served.run.modelType}) forecasts ${forecasts[bad]} on a warm-up window; it is not served.`, {
        details: { runId: served.run.runId, value: String(forecasts[bad]) },
      });
    }
  }
}

/** Loads a run from the source as a warm served model (warm-up failures dispose it). */
export async function openServedModel(source: ModelSource, runId: string, options: Omit<ServedModelOptions, 'loadTestFrame'>): Promise<ServedModel> {
  const served = createServedModel(await source.loadRun(runId), { ...options, loadTestFrame: (configHash) => source.loadTestFrame(configHash) });
  try {
    await warmServedModel(served, options.batching.maxBatch);
  } catch (error) {
    served.retire();
    throw error;
  }
  return served;
}
