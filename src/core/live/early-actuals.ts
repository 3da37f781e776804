/**
 * Actuals that came before any forecast of their timestamp (POST /actuals or a claim read ahead of the /predict
 * request that forecasts it), held so that a forecast remembered later is scored on them. Bounded three times: past
 * `seriesCapacity` rows of one series that series' oldest arrivals go first (one client's 100k rows of a series let
 * every other series' rows go, where the buffer is shared), past `capacity` rows in all the oldest arrivals, and a row
 * older than `maxAgeMs` goes when next looked at (an actual whose forecast never comes, as for a /predict without
 * rows, must not stay for good).
 *
 * A row's age runs from its arrival, which for a claim is when the claim was published, not when this replica read
 * it: a replica that joins and reads the recent claims keeps their rows no longer than one that read them at once.
 */
export interface EarlyActuals {
  /**
   * Keeps the finite values of one row, arrived at `arrivedAt` (default `now`; never later); a row of the same
   * timestamp kept before is merged into it, the newest arrival's value winning. One older than the age bound
   * already is let go at once (counted as expired): false.
   */
  keep(identifier: string, time: number, values: ReadonlyMap<string, number>, now: number, arrivedAt?: number): boolean;
  /** The values held for this timestamp (not taken: forecasts of other origins remembered later score on them too). */
  get(identifier: string, time: number, now: number): ReadonlyMap<string, number> | undefined;
  /** Lets one value go: refused as out of range, it would be refused and counted again at each later forecast. */
  drop(identifier: string, time: number, target: string): void;
  readonly size: number;
  figures(now: number): EarlyActualsFigures;
}

/** The `live.early_actuals` block of /healthz and what flts_live_early_actuals* show. */
export interface EarlyActualsFigures {
  /** Rows held. */
  points: number;
  /** Per target, values held. */
  targets: Record<string, number>;
  /** Rows let go unscored for being older than the age bound. */
  expired: number;
  /** Rows let go unscored to make room. */
  forgotten: number;
}

interface Held {
  identifier: string;
  at: number;
  values: Map<string, number>;
}

export function createEarlyActuals(capacity: number, maxAgeMs: number, seriesCapacity = capacity): EarlyActuals {
  // One key per row in the order kept: the front is the oldest arrival, for either bound, unless `unordered`.
  const rows = new Map<string, Held>();
  /** The keys of each series' rows, in the order kept as in `rows`: the front is the series' oldest arrival. */
  const bySeries = new Map<string, Set<string>>();
  const byTarget = new Map<string, number>();
  let expired = 0;
  let forgotten = 0;
  /**
   * The latest arrival kept, and whether a row arrived before it was kept after it (a claim read at a replica's join
   * behind a POST /actuals): the front is then not always the oldest, and only a whole sweep finds every row too old.
   */
  let newest = Number.NEGATIVE_INFINITY;
  let unordered = false;
  const keyOf = (identifier: string, time: number): string => `${identifier}\u0000${time}`;

  function count(target: string, sign: 1 | -1): void {
    const next = (byTarget.get(target) ?? 0) + sign;
    if (next > 0) byTarget.set(target, next);
    else byTarget.delete(target);
  }

  function forget(key: string, held: Held): void {
    rows.delete(key);
    const keys = bySeries.get(held.identifier);
    keys?.delete(key);
    if (keys?.size === 0) bySeries.delete(held.identifier);
  }

  function remove(key: string, held: Held): void {
    forget(key, held);
    for (const target of held.values.keys()) count(target, -1);
  }

  const tooOld = (held: Held, now: number): boolean => now - held.at > maxAgeMs;

  function expire(now: number): void {
    for (const [key, held] of rows) {
      if (!tooOld(held, now)) return;
      remove(key, held);
      expired++;
    }
  }

  /** Every row too old, wherever it stands; the order is known again once those left are in arrival order. */
  function sweep(now: number): void {
    if (!unordered) return expire(now);
    let last = Number.NEGATIVE_INFINITY;
    let ordered = true;
    for (const [key, held] of rows) {
      if (tooOld(held, now)) {
        remove(key, held);
        expired++;
        continue;
      }
      if (held.at < last) ordered = false;
      last = held.at;
    }
    unordered = !ordered;
  }

  return {
    keep(identifier, time, values, now, arrivedAt = now) {
      if (capacity <= 0 || values.size === 0) return false;
      expire(now);
      const at = Math.min(arrivedAt, now);
      if (now - at > maxAgeMs) {
        expired++;
        return false;
      }
      const key = keyOf(identifier, time);
      let before = rows.get(key);
      if (before && tooOld(before, now)) {
        remove(key, before);
        expired++;
        before = undefined;
      }
      if (before && at < before.at) {
        // An arrival older than the row kept (a claim read late, behind a newer POST /actuals) fills its gaps only.
        for (const [target, value] of values) {
          if (before.values.has(target)) continue;
          before.values.set(target, value);
          count(target, 1);
        }
        return true;
      }
      const held: Held = { identifier, at, values: new Map(before?.values) };
      for (const [target, value] of values) {
        if (!held.values.has(target)) count(target, 1);
        held.values.set(target, value);
      }
      if (at < newest) unordered = true;
      else newest = at;
      // Set anew: a row sent again is a fresh arrival, and moves to the back of the order.
      if (before) forget(key, before);
      rows.set(key, held);
      let keys = bySeries.get(identifier);
      if (!keys) bySeries.set(identifier, (keys = new Set()));
      keys.add(key);
      // Room is made in the series' own rows first: its client lets its own oldest go, never another series'.
      while (keys.size > seriesCapacity) {
        const oldest = keys.values().next().value!;
        remove(oldest, rows.get(oldest)!);
        forgotten++;
      }
      while (rows.size > capacity) {
        const [oldest, first] = rows.entries().next().value!;
        remove(oldest, first);
        forgotten++;
      }
      return true;
    },
    get(identifier, time, now) {
      if (rows.size === 0) return undefined;
      expire(now);
      const key = keyOf(identifier, time);
      const held = rows.get(key);
      if (!held || !tooOld(held, now)) return held?.values;
      // Behind a newer arrival, out of the front's reach.
      remove(key, held);
      expired++;
      return undefined;
    },
    drop(identifier, time, target) {
      const key = keyOf(identifier, time);
      const held = rows.get(key);
      if (!held || !held.values.delete(target)) return;
      count(target, -1);
      if (held.values.size === 0) forget(key, held);
    },
    get size() {
      return rows.size;
    },
    figures(now) {
      sweep(now);
      return { points: rows.size, targets: Object.fromEntries(byTarget), expired, forgotten };
    },
  };
}
