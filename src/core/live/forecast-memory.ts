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
 * Recent forecasts by (identifier, timestamp), bounded: past `capacity` predictions, those an actual reached already
 * and that wait for the rest (a target whose column never comes) are forgotten first, the longest waiting first; then
 * the oldest timestamps of the longest-known series (a Map iterates in insertion order). A series whose clients send
 * one target's actuals only would otherwise fill the memory with its waiting points and push the forecasts of other
 * series out before their actuals came. A repeated forecast of one run from one origin
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
  /** Predictions dropped unscored (in whole or in part) because the memory was full. */
  readonly forgotten: number;
  /**
   * Per target, predictions held whose point an actual reached already (its other targets scored, or its value
   * refused as out of range) and that wait for this target's actual: a column a client never sends keeps them
   * here until the memory is full, and they are the first forgotten then.
   */
  waiting(): Record<string, number>;
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
  /** Timestamps holding a waiting prediction (one whose `settled` is set), by series, the longest waiting first. */
  const waitingAt = new Map<string, { identifier: string; time: number }>();
  const waitingKey = (identifier: string, time: number): string => `${identifier}\u0000${time}`;
  const waitingByTarget = new Map<string, number>();

  /** Adds (`sign` 1) or takes away (-1) the open targets of the waiting predictions among `predictions`. */
  function countWaiting(predictions: readonly RememberedPrediction[], sign: 1 | -1): void {
    for (const prediction of predictions) {
      if (!prediction.settled) continue;
      prediction.targets.forEach((target, t) => {
        if (prediction.settled![t]) return;
        const count = (waitingByTarget.get(target) ?? 0) + sign;
        if (count > 0) waitingByTarget.set(target, count);
        else waitingByTarget.delete(target);
      });
    }
  }

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

  function drop(identifier: string, byTime: Map<number, RememberedPrediction[]>, dropped: readonly RememberedPrediction[]): void {
    countWaiting(dropped, -1);
    size -= dropped.length;
    forgotten += dropped.length;
    if (byTime.size === 0) bySeries.delete(identifier);
  }

  /** Drops the waiting predictions of the timestamp that has waited longest; false when none waits. */
  function forgetLongestWaiting(): boolean {
    for (const [key, { identifier, time }] of waitingAt) {
      waitingAt.delete(key);
      const byTime = bySeries.get(identifier);
      const list = byTime?.get(time);
      if (!byTime || !list) continue;
      const dropped = list.filter((prediction) => prediction.settled);
      if (dropped.length === 0) continue;
      // Forecasts for the same timestamp remembered since (another origin) are not waiting: they stay.
      const kept = list.filter((prediction) => !prediction.settled);
      if (kept.length > 0) byTime.set(time, kept);
      else byTime.delete(time);
      drop(identifier, byTime, dropped);
      return true;
    }
    return false;
  }

  function forgetOldest(): void {
    if (forgetLongestWaiting()) return;
    for (const [identifier, byTime] of bySeries) {
      const oldest = byTime.keys().next();
      if (oldest.done) {
        bySeries.delete(identifier);
        continue;
      }
      const dropped = byTime.get(oldest.value)!;
      byTime.delete(oldest.value);
      drop(identifier, byTime, dropped);
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
          countWaiting([list[same]], -1);
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
      // The common case, a point scored whole that never waited, builds no key: this runs for every actual row.
      const waited = list.some((prediction) => prediction.settled);
      if (waited) countWaiting(list, -1);
      countWaiting(waiting, 1);
      // Set over the existing key: a waiting point keeps its place in the order the oldest are forgotten in.
      if (waiting.length > 0) {
        byTime.set(time, [...waiting]);
        const key = waitingKey(identifier, time);
        if (!waitingAt.has(key)) waitingAt.set(key, { identifier, time });
      } else {
        byTime.delete(time);
        if (waited) waitingAt.delete(waitingKey(identifier, time));
      }
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
    waiting: () => Object.fromEntries(waitingByTarget),
  };
}
