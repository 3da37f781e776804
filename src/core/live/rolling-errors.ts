import { magnitudes } from '../forecast/metrics.js';

/** A prediction interval of one forecast value at one nominal level (e.g. "0.8"). */
export interface IntervalBounds {
  readonly level: string;
  readonly lower: number;
  readonly upper: number;
}

/** Live figures of one run and target over its rolling window; null until a point was matched. */
export interface ErrorFigures {
  /** Matched points in the window (at most its capacity). */
  points: number;
  rmse: number | null;
  mae: number | null;
  /** Per interval level: share of the window's points whose actual fell inside the interval. */
  coverage: Record<string, number>;
}

/**
 * A ring of the last `capacity` values. The sum is taken when figures are read (a scrape, /healthz, a report),
 * never kept running: adding stays a store, and a huge error leaving the window leaves no rounding behind.
 */
class Ring {
  private readonly values: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  add(value: number): void {
    this.values[this.next] = value;
    this.next = this.next + 1 === this.values.length ? 0 : this.next + 1;
    if (this.filled < this.values.length) this.filled++;
  }

  get count(): number {
    return this.filled;
  }

  sum(): number {
    let total = 0;
    for (let i = 0; i < this.filled; i++) total += this.values[i];
    return total;
  }

  /** Mean and root mean square, finite even for an error near the largest double (a hostile actual of 1e308). */
  meanAndRootMeanSquare(): { mae: number; rmse: number } {
    const { meanAbsolute, rootMeanSquare } = magnitudes(this.values, this.filled);
    return { mae: meanAbsolute, rmse: rootMeanSquare };
  }
}

/**
 * Squared and absolute errors of the last `capacity` matched points, and per interval level whether the
 * actual fell inside. O(1) per point; memory is fixed at construction (plus one ring per level seen).
 */
export class RollingErrors {
  private readonly absolute: Ring;
  private readonly inside = new Map<string, Ring>();

  constructor(private readonly capacity: number) {
    this.absolute = new Ring(capacity);
  }

  add(predicted: number, actual: number, intervals?: readonly IntervalBounds[]): void {
    this.absolute.add(Math.abs(predicted - actual));
    if (!intervals) return;
    for (const { level, lower, upper } of intervals) {
      if (!Number.isFinite(lower) || !Number.isFinite(upper)) continue;
      let ring = this.inside.get(level);
      if (!ring) this.inside.set(level, (ring = new Ring(this.capacity)));
      ring.add(actual >= lower && actual <= upper ? 1 : 0);
    }
  }

  figures(): ErrorFigures {
    const points = this.absolute.count;
    const coverage: Record<string, number> = {};
    for (const [level, ring] of this.inside) if (ring.count > 0) coverage[level] = ring.sum() / ring.count;
    return { points, ...(points > 0 ? this.absolute.meanAndRootMeanSquare() : { rmse: null, mae: null }), coverage };
  }
}
