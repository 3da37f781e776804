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
  /** Per target, the actuals this forecast can be scored on (one array shared by every row of a forecast). */
  readonly plausible?: readonly PlausibleRange[];
  /**
   * Set while the point waits on a refused actual: per target, whether it is done with (scored, or its actual
   * missing), so a corrected actual scores only the targets still open.
   */
  readonly settled?: readonly boolean[];
  /** A target of this point was scored already: the point is counted once, and a repeated forecast of it ignored. */
  readonly matched?: boolean;
}

/** Bounds of an actual worth scoring, in original units. */
export interface PlausibleRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Recent forecasts by (identifier, timestamp), bounded: past `capacity` predictions the oldest timestamps
 * of the longest-known series are forgotten first (a Map iterates in insertion order). A repeated forecast of one run from one origin
 * replaces the earlier one, so a client that retries never counts twice; one repeated after its point was scored
 * (a retry, or `/predict` without rows, whose origin is always the stored data's last row) is ignored while the
 * last `capacity` scored points are remembered, so actuals seen again (a claim republished or redelivered, the
 * same rows in a request and a claim) never score it twice.
 */
export interface ForecastMemory {
  remember(identifier: string, time: number, prediction: RememberedPrediction): void;
  /** The predictions for this timestamp, held until `settle`; undefined when none. */
  peek(identifier: string, time: number): readonly RememberedPrediction[] | undefined;
  /**
   * After scoring this timestamp: the predictions in `waiting` (remade with `settled`, their point waiting on a
   * refused actual) take the place of the ones held, in place, and every other leaves memory, as scored.
   */
  settle(identifier: string, time: number, waiting: readonly RememberedPrediction[]): void;
  /** Predictions held. */
  readonly size: number;
  /** Series (identifiers) with a prediction held. */
  readonly series: number;
  /** Predictions dropped unscored because the memory was full. */
  readonly forgotten: number;
}

interface ScoredMark {
  readonly identifier: string;
  readonly time: number;
  readonly runId: string;
  readonly origin: number;
}

export function createForecastMemory(capacity: number): ForecastMemory {
  // Series -> timestamp -> predictions. Number keys: no key string is built per request row.
  const bySeries = new Map<string, Map<number, RememberedPrediction[]>>();
  let size = 0;
  let forgotten = 0;
  // Points taken for scoring, by (identifier, timestamp), and in the order taken: the oldest go past `capacity`.
  const scored = new Map<string, Map<number, ScoredMark[]>>();
  const scoredOrder: ScoredMark[] = [];
  let nextMark = 0;

  function markScored(identifier: string, time: number, prediction: RememberedPrediction): void {
    const mark: ScoredMark = { identifier, time, runId: prediction.runId, origin: prediction.origin };
    if (scoredOrder.length < capacity) scoredOrder.push(mark);
    else {
      unmark(scoredOrder[nextMark]);
      scoredOrder[nextMark] = mark;
      nextMark = (nextMark + 1) % capacity;
    }
    let byTime = scored.get(identifier);
    if (!byTime) scored.set(identifier, (byTime = new Map()));
    const marks = byTime.get(time);
    if (marks) marks.push(mark);
    else byTime.set(time, [mark]);
  }

  function unmark(mark: ScoredMark): void {
    const byTime = scored.get(mark.identifier)!;
    const marks = byTime.get(mark.time)!;
    marks.splice(marks.indexOf(mark), 1);
    if (marks.length > 0) return;
    byTime.delete(mark.time);
    if (byTime.size === 0) scored.delete(mark.identifier);
  }

  const wasScored = (identifier: string, time: number, prediction: RememberedPrediction): boolean =>
    scored.get(identifier)?.get(time)?.some((mark) => mark.runId === prediction.runId && mark.origin === prediction.origin) ?? false;

  function forgetOldest(): void {
    for (const [identifier, byTime] of bySeries) {
      const oldest = byTime.keys().next();
      if (oldest.done) {
        bySeries.delete(identifier);
        continue;
      }
      const dropped = byTime.get(oldest.value)!;
      byTime.delete(oldest.value);
      if (byTime.size === 0) bySeries.delete(identifier);
      size -= dropped.length;
      forgotten += dropped.length;
      return;
    }
  }

  return {
    remember(identifier, time, prediction) {
      if (wasScored(identifier, time, prediction)) return;
      let byTime = bySeries.get(identifier);
      if (!byTime) bySeries.set(identifier, (byTime = new Map()));
      const list = byTime.get(time);
      if (!list) byTime.set(time, [prediction]);
      else {
        const same = list.findIndex((p) => p.runId === prediction.runId && p.origin === prediction.origin);
        if (same >= 0) {
          list[same] = prediction;
          return;
        }
        list.push(prediction);
      }
      size++;
      while (size > capacity) forgetOldest();
    },
    peek: (identifier, time) => bySeries.get(identifier)?.get(time),
    settle(identifier, time, waiting) {
      const byTime = bySeries.get(identifier);
      const list = byTime?.get(time);
      if (!byTime || !list) return;
      for (const prediction of list) {
        // A point marked when it first scored a target is not marked again for the targets a corrected actual scores.
        if (prediction.matched) continue;
        const stays = waiting.find((other) => other.runId === prediction.runId && other.origin === prediction.origin);
        if (!stays || stays.matched) markScored(identifier, time, prediction);
      }
      size -= list.length - waiting.length;
      // Set over the existing key: a waiting point keeps its place in the order the oldest are forgotten in.
      if (waiting.length > 0) byTime.set(time, [...waiting]);
      else byTime.delete(time);
      // An emptied series goes at once: every distinct identifier a client names would otherwise stay a key for good.
      if (byTime.size === 0) bySeries.delete(identifier);
    },
    get size() {
      return size;
    },
    get series() {
      return bySeries.size;
    },
    get forgotten() {
      return forgotten;
    },
  };
}
