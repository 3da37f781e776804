import { describe, expect, it } from 'vitest';
import type { ReloadOutcome } from './model-holder.js';
import { createReloadLimiter } from './reload-limiter.js';

describe('core > serve > reload limiter', () => {
  /** A reload that ends when `finish` is called, and a clock the test moves. */
  function slowReload(): { reload: () => Promise<ReloadOutcome>; finish: () => void; started: () => number } {
    let calls = 0;
    let finish = (): void => {};
    const reload = (): Promise<ReloadOutcome> => {
      calls++;
      return new Promise((resolve) => (finish = () => resolve({ result: 'loaded', runId: 'run-a' })));
    };
    return { reload, finish: () => finish(), started: () => calls };
  }

  it('shares a reload in flight, and counts the interval from its end: a reload slower than the interval is not followed at once by the next', async () => {
    let clock = 0;
    const slow = slowReload();
    const forced = createReloadLimiter(slow.reload, 2000, () => clock);
    const first = forced();
    clock = 500;
    expect(forced()).toBe(first);
    // The load took 5 s, more than the interval; the next call comes as it ends.
    clock = 5000;
    slow.finish();
    await first;
    clock = 5001;
    expect(forced).toThrow(expect.objectContaining({ code: 'FLTS_SERVE_RELOAD_RATE_LIMITED', message: 'A forced reload ended less than 2000 ms ago; retry in 2 s.', details: { retryAfterSec: 2 } }));
    expect(slow.started()).toBe(1);
    clock = 7000;
    const next = forced();
    expect(slow.started()).toBe(2);
    slow.finish();
    await expect(next).resolves.toEqual({ result: 'loaded', runId: 'run-a' });
  });

  it('lets every call through with an interval of 0, one at a time', async () => {
    const slow = slowReload();
    const forced = createReloadLimiter(slow.reload, 0, () => 0);
    const first = forced();
    slow.finish();
    await first;
    const second = forced();
    slow.finish();
    await second;
    expect(slow.started()).toBe(2);
  });
});
