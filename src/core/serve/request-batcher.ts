import type { ForecastModel } from '../models/forecast-model.js';

export interface RequestBatcherOptions {
  /** Most windows in one forward pass. */
  maxBatch: number;
  /** How long the first queued window waits for company; 0 = until the current I/O phase is drained. */
  maxWaitMs: number;
  /** Called once per forward pass with its window count. */
  onBatch?: (size: number) => void;
}

interface PendingWindows {
  windows: Float32Array;
  forecastTimes: Float64Array;
  size: number;
  resolve: (predictions: Float32Array) => void;
  reject: (error: unknown) => void;
}

export interface RequestBatcher {
  /** Queues `size` windows; resolves with their predictions [size][outputSeqLen][targets]. */
  predict(windows: Float32Array, forecastTimes: Float64Array, size: number): Promise<Float32Array>;
  /** Windows waiting or running. */
  readonly queued: number;
}

/**
 * Collects concurrent prediction requests into one `model.predict` call. At most one forward pass runs at a
 * time per model: what arrives meanwhile forms the next batch, so batches grow with load and a lone
 * request waits at most `maxWaitMs`. Batches never exceed `maxBatch` windows, which bounds how long one
 * synchronous forward pass can hold the event loop.
 */
export function createRequestBatcher(model: ForecastModel, options: RequestBatcherOptions): RequestBatcher {
  const { inputSeqLen, outputSeqLen, features, targets } = model.window;
  const windowSize = inputSeqLen * features.length;
  const outputSize = outputSeqLen * targets.length;
  const queue: PendingWindows[] = [];
  let queuedWindows = 0;
  let running = false;
  let scheduled: { cancel: () => void } | undefined;

  function schedule(): void {
    if (scheduled !== undefined || running) return;
    if (options.maxWaitMs > 0) {
      const timer = setTimeout(flush, options.maxWaitMs);
      scheduled = { cancel: () => clearTimeout(timer) };
    } else {
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

  async function run(batch: PendingWindows[]): Promise<void> {
    const size = batch.reduce((sum, item) => sum + item.size, 0);
    const windows = new Float32Array(size * windowSize);
    const forecastTimes = new Float64Array(size * outputSeqLen);
    let offset = 0;
    for (const item of batch) {
      windows.set(item.windows, offset * windowSize);
      forecastTimes.set(item.forecastTimes, offset * outputSeqLen);
      offset += item.size;
    }
    options.onBatch?.(size);
    try {
      const predictions = await model.predict({ windows, forecastTimes, size });
      offset = 0;
      for (const item of batch) {
        item.resolve(predictions.slice(offset * outputSize, (offset + item.size) * outputSize));
        offset += item.size;
      }
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }

  async function flush(): Promise<void> {
    scheduled = undefined;
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) {
        const batch = takeBatch();
        await run(batch);
        queuedWindows -= batch.reduce((sum, item) => sum + item.size, 0);
        // Let requests that arrived during the forward pass join the next batch.
        if (queue.length > 0 && queuedWindows < options.maxBatch) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      running = false;
    }
  }

  return {
    predict(windows, forecastTimes, size) {
      return new Promise<Float32Array>((resolve, reject) => {
        queue.push({ windows, forecastTimes, size, resolve, reject });
        queuedWindows += size;
        if (queuedWindows >= options.maxBatch && !running) {
          scheduled?.cancel();
          scheduled = undefined;
          void flush();
        } else {
          schedule();
        }
      });
    },
    get queued() {
      return queuedWindows;
    },
  };
}
