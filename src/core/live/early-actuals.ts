/**
 * Actuals that came before any forecast of their timestamp (POST /actuals or a claim read ahead of the /predict
 * request that forecasts it), held so that a forecast remembered later is scored on them. Bounded twice: past
 * `capacity` rows the oldest arrivals go first, and a row older than `maxAgeMs` goes when next looked at (an actual
 * whose forecast never comes, as for a /predict without rows, must not stay for good).
 */
export interface EarlyActuals {
  /** Keeps the finite values of one row; a row of the same timestamp kept before is merged into it, the newest value winning. */
  keep(identifier: string, time: number, values: ReadonlyMap<string, number>, now: number): void;
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
  at: number;
  values: Map<string, number>;
}

export function createEarlyActuals(capacity: number, maxAgeMs: number): EarlyActuals {
  // One key per row in arrival order: the front is always the oldest, for either bound.
  const rows = new Map<string, Held>();
  const byTarget = new Map<string, number>();
  let expired = 0;
  let forgotten = 0;
  const keyOf = (identifier: string, time: number): string => `${identifier}\u0000${time}`;

  function count(target: string, sign: 1 | -1): void {
    const next = (byTarget.get(target) ?? 0) + sign;
    if (next > 0) byTarget.set(target, next);
    else byTarget.delete(target);
  }

  function remove(key: string, held: Held): void {
    rows.delete(key);
    for (const target of held.values.keys()) count(target, -1);
  }

  function expire(now: number): void {
    for (const [key, held] of rows) {
      if (now - held.at <= maxAgeMs) return;
      remove(key, held);
      expired++;
    }
  }

  return {
    keep(identifier, time, values, now) {
      if (capacity <= 0 || values.size === 0) return;
      expire(now);
      const key = keyOf(identifier, time);
      const before = rows.get(key);
      const held: Held = { at: now, values: new Map(before?.values) };
      for (const [target, value] of values) {
        if (!held.values.has(target)) count(target, 1);
        held.values.set(target, value);
      }
      // Set anew: a row sent again is a fresh arrival, and moves to the back of the order.
      if (before) rows.delete(key);
      rows.set(key, held);
      while (rows.size > capacity) {
        const [oldest, first] = rows.entries().next().value!;
        remove(oldest, first);
        forgotten++;
      }
    },
    get(identifier, time, now) {
      if (rows.size === 0) return undefined;
      expire(now);
      return rows.get(keyOf(identifier, time))?.values;
    },
    drop(identifier, time, target) {
      const key = keyOf(identifier, time);
      const held = rows.get(key);
      if (!held || !held.values.delete(target)) return;
      count(target, -1);
      if (held.values.size === 0) rows.delete(key);
    },
    get size() {
      return rows.size;
    },
    figures(now) {
      expire(now);
      return { points: rows.size, targets: Object.fromEntries(byTarget), expired, forgotten };
    },
  };
}
