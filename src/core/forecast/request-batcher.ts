import { predictSteps, type ForecastModel } from '../models/forecast-model.js';

export interface RequestBatcherOptions {
  /** Most windows in one forward pass. */
  maxBatch: number;
  /** How long the first queued window waits for company; 0 = until the current I/O phase is drained. */
  maxWaitMs: number;
  /** Called once per forward pass with its window count. */
  onBatch?: (size: number) => void;
  /** The clock `runningSince` reads (default performance.now); tests pin it. */
  now?: () => number;
}

interface PendingWindows {
  windows: Float32Array;
  forecastTimes: Float64Array;
  size: number;
  spreads?: Float64Array;
  resolve: (predictions: Float32Array) => void;
  reject: (error: unknown) => void;
}

export interface RequestBatcher {
  /**
   * Queues `size` windows; resolves with their predictions [size][outputSeqLen][targets]. `spreads`
   * ([size][targets]) receives what the model reports with them (`PredictBatch.spreads`). `steps` other than
   * the horizon asks a model with `predictSteps` for that many steps per window, in a pass of their own.
   */
  predict(windows: Float32Array, forecastTimes: Float64Array, size: number, spreads?: Float64Array, steps?: number): Promise<Float32Array>;
  /** Windows waiting or running. */
  readonly queued: number;
  /**
   * When (on the `now` clock) the oldest forward pass still under way began, undefined while none runs: a pass on
   * an inference thread that never returns leaves the process answering HTTP while every forecast waits behind it,
   * which only this tells (liveness.ts).
   */
  readonly runningSince: number | undefined;
}

/**
 * Collects concurrent prediction requests into one `model.predict` call. At most `model.concurrentPasses`
 * forward passes (default one) are outstanding per model: what arrives meanwhile forms the next batch, so
 * batches grow with load and a lone request waits at most `maxWaitMs`. Batches never exceed `maxBatch`
 * windows, which bounds how long one synchronous forward pass can hold the event loop.
 */
export function createRequestBatcher(model: ForecastModel, options: RequestBatcherOptions): RequestBatcher {
  const { inputSeqLen, outputSeqLen, features, targets } = model.window;
  const windowSize = inputSeqLen * features.length;
  const outputSize = outputSeqLen * targets.length;
  const passLimit = Math.max(1, model.concurrentPasses ?? 1);
  const queue: PendingWindows[] = [];
  let queuedWindows = 0;
  let running = 0;
  const now = options.now ?? (() => performance.now());
  /** Start times of the passes under way (batched, or of another horizon), oldest first: they start in order. */
  const started: number[] = [];
  let scheduled: { cancel: () => void } | undefined;

  /** `wait`: give a lone request up to maxWaitMs for company; after a pass, queued requests go at once. */
  function schedule(wait: boolean): void {
    if (scheduled !== undefined || running >= passLimit) return;
    if (wait && options.maxWaitMs > 0) {
      const timer = setTimeout(flush, options.maxWaitMs);
      scheduled = { cancel: () => clearTimeout(timer) };
    } else {
      // setImmediate: requests whose bodies were read in this I/O phase join the batch.
      const immediate = setImmediate(flush);
      scheduled = { cancel: () => clearImmediate(immediate) };
    }
  }

  function takeBatch(): PendingWindows[] {
    const batch: PendingWindows[] = [];
    let size = 0;
    while (queue.length > 0 && (batch.length === 0 || size + queue[0].size <= options.maxBatch)) {
      const next = queue.shift() as PendingWindows;
      size += next.size;
      batch.push(next);
    }
    return batch;
  }

  async function run(batch: PendingWindows[], size: number): Promise<void> {
    const windows = new Float32Array(size * windowSize);
    const forecastTimes = new Float64Array(size * outputSeqLen);
    let offset = 0;
    for (const item of batch) {
      windows.set(item.windows, offset * windowSize);
      forecastTimes.set(item.forecastTimes, offset * outputSeqLen);
      offset += item.size;
    }
    const spreads = batch.some((item) => item.spreads) ? new Float64Array(size * targets.length) : undefined;
    options.onBatch?.(size);
    try {
      const predictions = await timed(() => model.predict({ windows, forecastTimes, size, spreads }));
      offset = 0;
      for (const item of batch) {
        if (item.spreads && spreads) item.spreads.set(spreads.subarray(offset * targets.length, (offset + item.size) * targets.length));
        item.resolve(predictions.slice(offset * outputSize, (offset + item.size) * outputSize));
        offset += item.size;
      }
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }

  /** A forward pass, its start kept while it runs (runningSince). */
  async function timed<T>(pass: () => Promise<T>): Promise<T> {
    const start = now();
    started.push(start);
    try {
      return await pass();
    } finally {
      started.splice(started.indexOf(start), 1);
    }
  }

  function flush(): void {
    scheduled = undefined;
    while (queue.length > 0 && running < passLimit) {
      const batch = takeBatch();
      const size = batch.reduce((sum, item) => sum + item.size, 0);
      running++;
      void run(batch, size).finally(() => {
        running--;
        queuedWindows -= size;
        if (queue.length > 0) schedule(false);
      });
    }
  }

  return {
    predict(windows, forecastTimes, size, spreads, steps = outputSeqLen) {
      if (steps !== outputSeqLen) return timed(() => predictSteps(model, { windows, forecastTimes, size, spreads }, steps));
      return new Promise<Float32Array>((resolve, reject) => {
        queue.push({ windows, forecastTimes, size, spreads, resolve, reject });
        queuedWindows += size;
        if (queuedWindows >= options.maxBatch && running < passLimit) {
          scheduled?.cancel();
          flush();
        } else {
          schedule(true);
        }
      });
    },
    get queued() {
      return queuedWindows;
    },
    get runningSince() {
      return started[0];
    },
  };
}
