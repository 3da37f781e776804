import { FltsError } from '../errors.js';
import type { ReloadOutcome } from './model-holder.js';

/**
 * Forced reloads at most once per `minIntervalMs`, counted from the end of the last one: a call while one runs shares
 * its outcome, a call sooner than `minIntervalMs` after one ended is refused with 429 and Retry-After, so a client in a
 * loop cannot make the server load models back to back. (Counted from its start, a reload slower than the interval, a
 * pinned run or a broken one loaded again from a slow store, was followed at once by the next.) `now` is the clock.
 */
export function createReloadLimiter(reload: () => Promise<ReloadOutcome>, minIntervalMs: number, now: () => number = () => performance.now()): () => Promise<ReloadOutcome> {
  let inFlight: Promise<ReloadOutcome> | undefined;
  let lastEnded = Number.NEGATIVE_INFINITY;
  return () => {
    if (inFlight) return inFlight;
    const waitMs = lastEnded + minIntervalMs - now();
    if (waitMs > 0) {
      const retryAfterSec = Math.ceil(waitMs / 1000);
      throw new FltsError('FLTS_SERVE_RELOAD_RATE_LIMITED', `A forced reload ended less than ${minIntervalMs} ms ago; retry in ${retryAfterSec} s.`, { details: { retryAfterSec } });
    }
    inFlight = reload().finally(() => {
      lastEnded = now();
      inFlight = undefined;
    });
    return inFlight;
  };
}
