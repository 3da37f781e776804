import { abortableDelay } from '../abortable-delay.js';

/**
 * Exponential backoff with jitter for tracking calls. Only errors the caller marks retriable are retried;
 * the delay before retry n (1-based) is a random value in [d/2, d] with d = min(base * 2^(n-1), 20 * base),
 * so concurrent clients do not retry in lockstep and the total wait stays bounded and predictable.
 */
export interface RetryPolicy {
  readonly retries: number;
  readonly baseDelayMs: number;
}

export interface RetryOptions {
  readonly isRetriable: (error: unknown) => boolean;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  readonly signal?: AbortSignal;
  /** Injected for tests; defaults to Math.random. */
  readonly random?: () => number;
}

const MAX_DELAY_FACTOR = 20;

export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.baseDelayMs * 2 ** (retry - 1), policy.baseDelayMs * MAX_DELAY_FACTOR);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The longest total backoff `retries` retries can wait: what a caller adds to the per-attempt timeouts. */
export function maxTotalBackoffMs(policy: RetryPolicy): number {
  let total = 0;
  for (let retry = 1; retry <= policy.retries; retry += 1) total += Math.min(policy.baseDelayMs * 2 ** (retry - 1), policy.baseDelayMs * MAX_DELAY_FACTOR);
  return total;
}

export async function retryWithBackoff<T>(attempt: (attemptNumber: number) => Promise<T>, policy: RetryPolicy, options: RetryOptions): Promise<T> {
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const retry = attemptNumber;
      if (retry > policy.retries || !options.isRetriable(error) || options.signal?.aborted) throw error;
      const delayMs = backoffDelayMs(policy, retry, options.random);
      options.onRetry?.({ attempt: attemptNumber, delayMs, error });
      await abortableDelay(delayMs, options.signal);
    }
  }
}
