import { mapBounded } from '../bounded-map.js';
import type { MonotonicClock } from '../registry/run-liveness.js';
import type { MirrorPendingResult } from '../registry/mirror-pending-runs.js';

/** How far MLflow mirroring is behind, as /status and /metrics say it. */
export interface MirrorBacklogStatus {
  /** Runs of the registry not yet mirrored to MLflow, as the last sync left them, with those trained since. */
  runs: number;
  /**
   * Seconds the oldest of them has waited: since its run record's finished_at (the trainer's clock) where the record
   * has one, else since this process first saw it unmirrored (trained it, or found it so); null when none.
   */
  oldest_age_seconds: number | null;
}

/**
 * The runs a trainer's MLflow mirroring has still to take, and since when each waits: nothing else said that mirroring
 * was behind (a tracking server down for a day showed only as warnings and a failure counter). A run is counted from
 * the moment this process trained it or a sync found it unmirrored, until a sync mirrors it (or finds it complete);
 * each sync's result replaces the set, since every sync looks at the whole registry (its `deferred` and `failed` are
 * what it left; a sync MLflow did not answer, what the store's markers leave: trainer-reconciler.ts). A run parked for
 * a deleted experiment is held back on purpose and not counted. A run a sync finds is aged from its record's
 * finished_at, so a restart does not set the lag back to zero (a trainer's clock ahead of this one's counts as 0);
 * one without it (its record unreadable now), from when this process first saw it.
 */
export interface MirrorBacklog {
  /** A run trained and handed to the mirror. */
  trained(runId: string): void;
  /**
   * A sync begins; `done` with what it left unmirrored (`deferred` and `failed`) replaces the set, but for the runs
   * trained while it ran, which its look at the registry may have come too early to see.
   */
  beginSync(): { done(result: Pick<MirrorPendingResult, 'deferred' | 'failed'>): Promise<void> };
  status(): MirrorBacklogStatus;
}

export interface MirrorBacklogOptions {
  /** The run record's finished_at (ISO), or undefined; read once per run a sync leaves unmirrored. */
  finishedAt?: (runId: string) => Promise<string | undefined>;
  /** The wall clock finished_at is compared with (Date.now unless a test pins it). */
  wall?: () => number;
}

/** Run records read at once for their finished_at: a backlog of thousands after an outage is read a few at a time. */
const FINISHED_AT_READS = 8;

export function createMirrorBacklog(monotonic: MonotonicClock = () => performance.now(), options: MirrorBacklogOptions = {}): MirrorBacklog {
  const since = new Map<string, number>();
  // Wall-clock ms of each run's finished_at, for the runs of `since` whose record has one.
  const finished = new Map<string, number>();
  const wall = options.wall ?? (() => Date.now());
  const finishedAtOf = async (runId: string): Promise<number | undefined> => {
    const at = await options.finishedAt?.(runId).catch(() => undefined);
    const ms = at === undefined ? Number.NaN : Date.parse(at);
    return Number.isFinite(ms) ? ms : undefined;
  };
  return {
    trained(runId) {
      if (!since.has(runId)) since.set(runId, monotonic());
    },
    beginSync() {
      const began = monotonic();
      return {
        async done(result) {
          const left = new Set([...result.deferred, ...result.failed.map((failure) => failure.runId)]);
          for (const [runId, at] of since) {
            if (at <= began && !left.has(runId)) {
              since.delete(runId);
              finished.delete(runId);
            }
          }
          // The runs new to the set are counted once their finished_at is known, never first with a younger age.
          const fresh = [...left].filter((runId) => !since.has(runId) || !finished.has(runId));
          const seen = monotonic();
          const times = options.finishedAt ? await mapBounded(fresh, FINISHED_AT_READS, finishedAtOf) : [];
          fresh.forEach((runId, index) => {
            const at = times[index];
            if (at !== undefined) finished.set(runId, at);
            if (!since.has(runId)) since.set(runId, seen);
          });
        },
      };
    },
    status() {
      if (since.size === 0) return { runs: 0, oldest_age_seconds: null };
      const now = monotonic();
      const wallNow = wall();
      const ages = [...since].map(([runId, at]) => {
        const end = finished.get(runId);
        return end === undefined ? now - at : Math.max(0, wallNow - end);
      });
      return { runs: since.size, oldest_age_seconds: Math.round(Math.max(...ages) / 1000) };
    },
  };
}
