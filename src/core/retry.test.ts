import { describe, expect, it } from 'vitest';
import { backoffDelayMs, maxTotalBackoffMs, pollUntil, retryWithBackoff, sleep, untilAborted } from './retry.js';

class Transient extends Error {}

describe('core > retry', () => {
  it('polls until the check says done, and stops with false once the signal aborts', async () => {
    let checks = 0;
    expect(await pollUntil(1, new AbortController().signal, async () => ++checks === 3)).toBe(true);
    expect(checks).toBe(3);
    const stop = new AbortController();
    let looked = 0;
    const polling = pollUntil(1, stop.signal, async () => {
      if (++looked === 2) stop.abort();
      return false;
    });
    expect(await polling).toBe(false);
    expect(looked).toBe(2);
  });

  it('retries retriable errors up to the limit, then rethrows the last one', async () => {
    let attempts = 0;
    const failing = retryWithBackoff(
      async () => {
        attempts += 1;
        throw new Transient(`attempt ${attempts}`);
      },
      { retries: 3, baseDelayMs: 0 },
      { isRetriable: (e) => e instanceof Transient },
    );
    await expect(failing).rejects.toThrow('attempt 4');
    expect(attempts).toBe(4);
  });

  it('never retries an error the caller does not mark retriable', async () => {
    let attempts = 0;
    const failing = retryWithBackoff(
      async () => {
        attempts += 1;
        throw new Error('bad request');
      },
      { retries: 5, baseDelayMs: 0 },
      { isRetriable: (e) => e instanceof Transient },
    );
    await expect(failing).rejects.toThrow('bad request');
    expect(attempts).toBe(1);
  });

  it('returns the first success and reports each retry', async () => {
    const retries: number[] = [];
    const value = await retryWithBackoff(
      async (n) => {
        if (n < 3) throw new Transient('not yet');
        return n;
      },
      { retries: 5, baseDelayMs: 0 },
      { isRetriable: () => true, onRetry: ({ attempt }) => retries.push(attempt) },
    );
    expect(value).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('waits what the caller puts in place of the backoff, and gives up when it throws instead', async () => {
    const seen: number[] = [];
    let asked = 0;
    const value = await retryWithBackoff(
      async (n) => {
        if (n < 3) throw new Transient('throttled');
        return n;
      },
      { retries: 5, baseDelayMs: 1, jitter: false },
      { isRetriable: () => true, delayBeforeRetry: (_error, backoffMs) => ((asked += 1), backoffMs + 1), onRetry: ({ delayMs }) => seen.push(delayMs) },
    );
    expect(value).toBe(3);
    expect(asked).toBe(2);
    expect(seen).toEqual([2, 3]);
    let attempts = 0;
    await expect(
      retryWithBackoff(
        async () => {
          attempts += 1;
          throw new Transient('throttled');
        },
        { retries: 5, baseDelayMs: 1 },
        {
          isRetriable: () => true,
          delayBeforeRetry: () => {
            throw new Error('past the deadline');
          },
        },
      ),
    ).rejects.toThrow('past the deadline');
    expect(attempts).toBe(1);
  });

  it('doubles the delay per retry with jitter in [d/2, d], capped at 20x the base', () => {
    const policy = { retries: 10, baseDelayMs: 100 };
    expect(backoffDelayMs(policy, 1, () => 0)).toBe(50);
    expect(backoffDelayMs(policy, 1, () => 1)).toBe(100);
    expect(backoffDelayMs(policy, 3, () => 1)).toBe(400);
    expect(backoffDelayMs(policy, 9, () => 1)).toBe(2000);
    expect(maxTotalBackoffMs({ retries: 3, baseDelayMs: 100 })).toBe(100 + 200 + 400);
  });

  it('without jitter doubles exactly up to the given ceiling', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs({ baseDelayMs: 100, maxDelayMs: 1000, jitter: false }, n))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('sleeps the full time, or resolves false at once when the signal aborts', async () => {
    expect(await sleep(1)).toBe(true);
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    expect(await waiting).toBe(false);
    expect(await sleep(60_000, controller.signal)).toBe(false);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const failing = retryWithBackoff(
      async () => {
        controller.abort(new Error('shutting down'));
        throw new Transient('down');
      },
      { retries: 3, baseDelayMs: 60_000 },
      { isRetriable: () => true, signal: controller.signal },
    );
    await expect(failing).rejects.toThrow('down');
  });

  it('leaves a wait as soon as the signal aborts, also mid-attempt, and otherwise settles as the work does', async () => {
    const controller = new AbortController();
    const never = new Promise<never>(() => {});
    const waiting = untilAborted(never, controller.signal);
    controller.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
    await expect(untilAborted(never, controller.signal)).rejects.toThrow('stopping');
    expect(await untilAborted(Promise.resolve('started'), new AbortController().signal)).toBe('started');
    await expect(untilAborted(Promise.reject(new Transient('down')), new AbortController().signal)).rejects.toThrow('down');
  });
});
