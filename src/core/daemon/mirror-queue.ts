import { withTimeout } from '../retry.js';

/**
 * The trained runs a role still has to mirror to MLflow, mirrored one at a time beside its claims: a claim's handler
 * hands its run over and returns, so a tracking server that accepts and never answers holds no consumer group's next
 * claim. Mirroring is bookkeeping (the run is recorded and announced before it); a run this queue does not mirror
 * (refused when full, cut short by a stop) stays pending in the registry, and the next mirror of a trained run, of
 * this process or another (a trainer, flts train), takes it with the backlog.
 */
export interface MirrorQueue {
  /** Queues the run's mirror; false when it is queued or under way already, the queue is full, or it stopped. */
  add(runId: string): boolean;
  /** Settles once nothing is queued nor being mirrored. */
  idle(): Promise<void>;
  /**
   * Drops what is queued, aborts the mirror under way and waits for it at most `waitMs`: a mirror that does not end
   * at its abort is left to end on its own, not waited for by the daemon's stop.
   */
  stop(waitMs: number): Promise<void>;
}

/**
 * Runs queued beyond the one under way: each mirror also takes the backlog, so a longer queue would only repeat it. A
 * run refused when this many wait is in the registry already, unmarked: the backlog of the mirrors queued before it
 * (or the next resync's, should their budgets run out first) mirrors it.
 */
export const MIRROR_QUEUE_CAPACITY = 16;

/**
 * How long a role's stop waits for the mirror it aborted (its last store writes): well within the roles' head start
 * before the bus closes (start-daemon.ts, ROLES_FIRST_MS).
 */
export const MIRROR_STOP_WAIT_MS = 1_000;

/**
 * `mirror` is called for each run in turn with a signal that aborts when `signal` does or the queue stops; it is
 * expected not to throw (syncRunsToTracking does not), and what it throws goes to `onError`.
 */
export function createMirrorQueue(mirror: (runId: string, signal: AbortSignal) => Promise<void>, options: { signal: AbortSignal; onError: (runId: string, error: unknown) => void; capacity?: number }): MirrorQueue {
  const capacity = options.capacity ?? MIRROR_QUEUE_CAPACITY;
  const stopping = new AbortController();
  const signal = AbortSignal.any([options.signal, stopping.signal]);
  const queued = new Set<string>();
  let current: string | undefined;
  let draining: Promise<void> = Promise.resolve();

  const drain = async (): Promise<void> => {
    for (const runId of queued) {
      queued.delete(runId);
      if (signal.aborted) continue;
      current = runId;
      try {
        await mirror(runId, signal);
      } catch (error) {
        options.onError(runId, error);
      } finally {
        current = undefined;
      }
    }
  };

  return {
    add(runId) {
      if (signal.aborted || runId === current || queued.has(runId) || queued.size >= capacity) return false;
      const wasIdle = queued.size === 0 && current === undefined;
      queued.add(runId);
      if (wasIdle) draining = drain();
      return true;
    },
    idle: () => draining,
    async stop(waitMs) {
      stopping.abort();
      queued.clear();
      await withTimeout(draining, waitMs).catch(() => undefined);
    },
  };
}
