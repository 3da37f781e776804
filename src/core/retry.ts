/**
 * Waiting and retrying, one way for the whole library. `sleep` never rejects: it resolves `true` when the full
 * time passed and `false` as soon as the signal aborts, so a shutdown never waits out a delay and each caller
 * decides what an early wake-up means (poll again, stop, or throw).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    if (ms <= 0) return resolve(true);
    const timer = setTimeout(() => finish(true), ms);
    const onAbort = (): void => finish(false);
    function finish(slept: boolean): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(slept);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The moment a stop's waits end, on the monotonic clock. Taken once as the stop begins and handed to each of its
 * parts, so that parts waiting for the same thing (a broker that went away) share one bound instead of adding theirs up.
 */
export interface Deadline {
  /** performance.now() at which the waits end. */
  readonly atMs: number;
}

export function deadlineIn(ms: number): Deadline {
  return { atMs: performance.now() + Math.max(0, ms) };
}

/** What is left of `deadline` (0 once it passed). */
export function msLeft(deadline: Deadline): number {
  return Math.max(0, deadline.atMs - performance.now());
}

/**
 * `promise`, or a rejection once `ms` pass first (the work itself is not stopped): the error `late()` makes then, made
 * as the time ends so that it can say what was seen meanwhile; by default 'no answer within <ms> ms'.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, late: () => Error = () => new Error(`no answer within ${ms} ms`)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(late()), ms)))]).finally(() => clearTimeout(timer));
}

/**
 * `promise`, or a rejection with the signal's reason as soon as it aborts. The work itself is not stopped: its owner
 * ends it (closing the client it waits on), and a shutdown does not wait for a call that is still retrying.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * `promise`, or the error `stopped()` makes as soon as `signal` aborts: for reads that take no signal (a store that
 * does not answer holds them for its time limit) and record nothing, so that a stop need not wait for them and ends
 * with its caller's coded stop rather than as the store's outage. Without a signal, `promise` itself.
 */
export function untilAbortedAs<T>(promise: Promise<T>, signal: AbortSignal | undefined, stopped: () => Error): Promise<T> {
  if (!signal) return promise;
  return untilAborted(promise, signal).catch((error: unknown) => {
    throw signal.aborted ? stopped() : error;
  });
}

/**
 * Checks `done` every `intervalMs` (first after one interval) until it says so: true, or false as soon as the
 * signal aborts. Waiting for another process to finish or let go of something (a lease, a run) polls this way.
 */
export async function pollUntil(intervalMs: number, signal: AbortSignal, done: () => Promise<boolean>): Promise<boolean> {
  for (;;) {
    if (!(await sleep(intervalMs, signal))) return false;
    if (await done()) return true;
  }
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export async function sleepOrThrow(ms: number, signal?: AbortSignal): Promise<void> {
  if (!(await sleep(ms, signal))) throw signal?.reason;
}

/**
 * Exponential backoff: the delay before retry n (1-based) is d = min(base * 2^(n-1), max), with `max` 20 * base
 * unless given. With jitter (the default) it is a random value in [d/2, d], so concurrent clients do not retry in
 * lockstep and the total wait stays bounded and predictable.
 */
export interface BackoffPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs?: number;
  readonly jitter?: boolean;
}

export interface RetryPolicy extends BackoffPolicy {
  readonly retries: number;
}

export interface RetryOptions {
  readonly isRetriable: (error: unknown) => boolean;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /**
   * The wait before the next attempt, given the failure and the backoff's own: a caller may put a server's
   * Retry-After in its place, or throw to give up when the wait would end past its deadline. Default: the backoff.
   */
  readonly delayBeforeRetry?: (error: unknown, backoffMs: number) => number;
  readonly signal?: AbortSignal;
  /** Injected for tests; defaults to Math.random. */
  readonly random?: () => number;
}

/**
 * Waiting for a store or broker that is not there yet, by a long-running process (the daemon's startup, a serving
 * replica joining its topic): 1 s, doubling to 30 s between attempts, for as long as the process runs.
 */
export const UNTIL_AVAILABLE: RetryPolicy = { retries: Number.POSITIVE_INFINITY, baseDelayMs: 1_000, maxDelayMs: 30_000 };

const DEFAULT_MAX_DELAY_FACTOR = 20;

function ceilingMs(policy: BackoffPolicy, retry: number): number {
  return Math.min(policy.baseDelayMs * 2 ** Math.max(0, retry - 1), policy.maxDelayMs ?? policy.baseDelayMs * DEFAULT_MAX_DELAY_FACTOR);
}

export function backoffDelayMs(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = ceilingMs(policy, retry);
  return policy.jitter === false ? ceiling : Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The longest total backoff `retries` retries can wait: what a caller adds to the per-attempt timeouts. */
export function maxTotalBackoffMs(policy: RetryPolicy): number {
  let total = 0;
  for (let retry = 1; retry <= policy.retries; retry += 1) total += ceilingMs(policy, retry);
  return total;
}

/** Runs `attempt` until it succeeds, fails with an error the caller does not mark retriable, or the retries run out. */
export async function retryWithBackoff<T>(attempt: (attemptNumber: number) => Promise<T>, policy: RetryPolicy, options: RetryOptions): Promise<T> {
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const retry = attemptNumber;
      if (retry > policy.retries || !options.isRetriable(error) || options.signal?.aborted) throw error;
      const backoffMs = backoffDelayMs(policy, retry, options.random);
      const delayMs = options.delayBeforeRetry ? options.delayBeforeRetry(error, backoffMs) : backoffMs;
      options.onRetry?.({ attempt: attemptNumber, delayMs, error });
      await sleepOrThrow(delayMs, options.signal);
    }
  }
}
