import type { IntervalBounds } from './rolling-errors.js';

/** One forecast value set for one timestamp, waiting for its actuals. */
export interface RememberedPrediction {
  readonly runId: string;
  /** Epoch ms of the last input row the forecast started from: forecasts of one run and origin are one forecast. */
  readonly origin: number;
  readonly targets: readonly string[];
  /** Per target, in original units. */
  readonly values: readonly number[];
  /** Per target, its prediction intervals when the forecast had them. */
  readonly intervals?: ReadonlyArray<readonly IntervalBounds[] | undefined>;
}

/**
 * Recent forecasts by (identifier, timestamp), bounded: past `capacity` predictions the oldest timestamps
 * are forgotten first (a Map iterates in insertion order). A repeated forecast of one run from one origin
 * replaces the earlier one, so a client that retries never counts twice.
 */
export interface ForecastMemory {
  remember(identifier: string, time: number, prediction: RememberedPrediction): void;
  /** The predictions for this timestamp, removed from memory (each is scored once); undefined when none. */
  take(identifier: string, time: number): RememberedPrediction[] | undefined;
  /** Predictions held. */
  readonly size: number;
  /** Predictions dropped unscored because the memory was full. */
  readonly forgotten: number;
}

const keyOf = (identifier: string, time: number): string => `${identifier}|${time}`;

export function createForecastMemory(capacity: number): ForecastMemory {
  const byKey = new Map<string, RememberedPrediction[]>();
  let size = 0;
  let forgotten = 0;
  return {
    remember(identifier, time, prediction) {
      const key = keyOf(identifier, time);
      const list = byKey.get(key);
      if (!list) byKey.set(key, [prediction]);
      else {
        const same = list.findIndex((p) => p.runId === prediction.runId && p.origin === prediction.origin);
        if (same >= 0) {
          list[same] = prediction;
          return;
        }
        list.push(prediction);
      }
      size++;
      while (size > capacity) {
        const oldest = byKey.keys().next();
        if (oldest.done) break;
        const dropped = byKey.get(oldest.value)!;
        byKey.delete(oldest.value);
        size -= dropped.length;
        forgotten += dropped.length;
      }
    },
    take(identifier, time) {
      if (size === 0) return undefined;
      const key = keyOf(identifier, time);
      const list = byKey.get(key);
      if (!list) return undefined;
      byKey.delete(key);
      size -= list.length;
      return list;
    },
    get size() {
      return size;
    },
    get forgotten() {
      return forgotten;
    },
  };
}
