import type { MonotonicClock } from '../registry/run-liveness.js';
import type { MirrorPendingResult } from '../registry/mirror-pending-runs.js';

/** How far MLflow mirroring is behind, as /status and /metrics say it. */
export interface MirrorBacklogStatus {
  /** Runs of the registry not yet mirrored to MLflow, as the last sync left them, with those trained since. */
  runs: number;
  /** Seconds since this process first saw the oldest of them unmirrored (trained it, or found it so); null when none. */
  oldest_age_seconds: number | null;
}

/**
 * The runs a trainer's MLflow mirroring has still to take, and since when each waits: nothing else said that mirroring
 * was behind (a tracking server down for a day showed only as warnings and a failure counter). A run is counted from
 * the moment this process trained it or a sync found it unmirrored, until a sync mirrors it (or finds it complete);
 * each sync's result replaces the set, since every sync looks at the whole registry (its `deferred` and `failed` are
 * what it left; a sync MLflow did not answer, what the store's markers leave: trainer-reconciler.ts). A run parked for
 * a deleted experiment is held back on purpose and not counted. Ages are of this process's clock: a restarted daemon
 * counts the runs it finds from its first sync.
 */
export interface MirrorBacklog {
  /** A run trained and handed to the mirror. */
  trained(runId: string): void;
  /**
   * A sync begins; `done` with what it left unmirrored (`deferred` and `failed`) replaces the set, but for the runs
   * trained while it ran, which its look at the registry may have come too early to see.
   */
  beginSync(): { done(result: Pick<MirrorPendingResult, 'deferred' | 'failed'>): void };
  status(): MirrorBacklogStatus;
}

export function createMirrorBacklog(monotonic: MonotonicClock = () => performance.now()): MirrorBacklog {
  const since = new Map<string, number>();
  return {
    trained(runId) {
      if (!since.has(runId)) since.set(runId, monotonic());
    },
    beginSync() {
      const began = monotonic();
      return {
        done(result) {
          const left = new Set([...result.deferred, ...result.failed.map((failure) => failure.runId)]);
          for (const [runId, at] of since) if (at <= began && !left.has(runId)) since.delete(runId);
          const now = monotonic();
          for (const runId of left) if (!since.has(runId)) since.set(runId, now);
        },
      };
    },
    status() {
      if (since.size === 0) return { runs: 0, oldest_age_seconds: null };
      const oldest = Math.min(...since.values());
      return { runs: since.size, oldest_age_seconds: Math.round((monotonic() - oldest) / 1000) };
    },
  };
}
