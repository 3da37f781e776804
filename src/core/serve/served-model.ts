import { FltsError } from '../errors.js';
import type { ScalerParams } from '../data/scaler.js';
import { selectRows, type TimeFrame } from '../data/time-frame.js';
import { detectCadence } from '../data/timestamps.js';
import type { IntervalSource } from '../forecast/forecast-intervals.js';
import type { ForecastModel } from '../models/forecast-model.js';
import { createFeaturePlan, type FeaturePlan } from '../forecast/feature-plan.js';
import { columnsWarning, type ColumnsWarning } from './ignored-fields.js';
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
  /** The warning of a request's columns this run's features do not name (its timestamp column aside), made once per loaded model. */
  readonly ignoredColumns: ColumnsWarning;
  readonly batcher: RequestBatcher;
  readonly loadedAt: string;
  /** Marks one request as using this model; call the returned function when it is done. */
  acquire(): () => void;
  /** No new requests will come; dispose the model once the in-flight ones are done. */
  retire(): void;
  readonly inFlight: number;
  readonly disposed: boolean;
  /**
   * What a forecast without data starts from: the last input window of the processed test frame of the run's
   * config_hash, and the series step measured on the whole frame. Read once per loaded model and kept (the forecast
   * is computed per request), so that the store being down or refusing later does not fail such forecasts.
   */
  testWindow(): Promise<StoredTestWindow>;
}

export interface StoredTestWindow {
  /** The frame's last inputSeqLen rows (all of them when it has fewer): what a forecast reads of it. */
  readonly frame: TimeFrame;
  readonly cadenceMs: number;
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
  let testWindow: Promise<StoredTestWindow> | undefined;

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
    ignoredColumns: columnsWarning(plan.rawColumns),
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
    testWindow() {
      if (testWindow) return testWindow;
      const reading = readTestWindow(options.loadTestFrame, loaded.run.configHash, plan.window.inputSeqLen);
      testWindow = reading;
      // A failed read is retried by the next request instead of being remembered (the store may be back, the
      // processed data written meanwhile).
      reading.catch(() => {
        if (testWindow === reading) testWindow = undefined;
      });
      return reading;
    },
  };
}

/**
 * Keeps only the rows a forecast reads: the whole frame (a test split of a long series is megabytes) stayed in
 * memory beside each served model for its last window alone.
 */
async function readTestWindow(load: (configHash: string) => Promise<TimeFrame>, configHash: string, rows: number): Promise<StoredTestWindow> {
  const frame = await load(configHash);
  const cadenceMs = detectCadence(frame.time);
  return { frame: selectRows(frame, Math.max(0, frame.time.length - rows)), cadenceMs };
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

/**
 * Loads a run from the source as a warm served model (warm-up failures dispose it), with its test window read while
 * the store has just answered: read at the first request without data, it failed every such request of a store that
 * went down after the load. A run whose test window cannot be read is served all the same (requests with data need
 * none), its window read again by the next request without data.
 */
export async function openServedModel(source: ModelSource, runId: string, options: Omit<ServedModelOptions, 'loadTestFrame'>): Promise<ServedModel> {
  const served = createServedModel(await source.loadRun(runId), { ...options, loadTestFrame: (configHash) => source.loadTestFrame(configHash) });
  try {
    await warmServedModel(served, options.batching.maxBatch);
  } catch (error) {
    served.retire();
    throw error;
  }
  await served.testWindow().catch(() => undefined);
  return served;
}
