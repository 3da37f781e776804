import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { clientGone, createForecastAdmission, type ForecastAdmission, type RefusalReason } from './forecast-admission.js';

/** A promise `work` can wait on, resolved from the test. */
function gate(): { wait: () => Promise<string>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened.then(() => 'done'), open };
}

function recorded(maxRows: number, now?: () => number, random: () => number = () => 0) {
  const refusals: Array<[string, RefusalReason]> = [];
  const queued: number[] = [];
  const admission = createForecastAdmission({ maxRows, now, random, onRefused: (route, reason) => refusals.push([route, reason]), onQueuedRows: (rows) => queued.push(rows) });
  return { admission, refusals, queued };
}

describe('serve > forecast admission', () => {
  it('admits rows up to the bound and refuses the request that would pass it at once, with a coded reason and Retry-After', async () => {
    const { admission, refusals } = recorded(10);
    const held = gate();
    const first = admission.run('/predict', 6, undefined, held.wait);
    const second = admission.run('/predict', 4, undefined, held.wait);
    expect(admission.queuedRows).toBe(10);
    const refused = await admission.run('/predict', 1, undefined, async () => 'ran').catch((error: FltsError) => error);
    expect(refused).toMatchObject({ code: 'FLTS_SERVE_OVERLOADED', kind: 'unavailable', retriable: true, details: { retryAfterSec: 1, queuedRows: 10, requestedRows: 1, maxQueuedRows: 10 } });
    expect(refusals).toEqual([['/predict', 'overloaded']]);
    held.open();
    expect(await Promise.all([first, second])).toEqual(['done', 'done']);
    expect(admission.queuedRows).toBe(0);
  });

  it('names who refuses: the server to its clients, the forecaster to a library caller, which has no server', async () => {
    const refusal = async (subject?: 'server' | 'forecaster') => {
      const admission = createForecastAdmission({ maxRows: 10, random: () => 0, ...(subject ? { subject } : {}) });
      const held = gate();
      const first = admission.run('/predict', 6, undefined, held.wait);
      const refused = await admission.run('/predict', 5, undefined, async () => 'ran').catch((error: FltsError) => error.message);
      held.open();
      await first;
      return refused;
    };
    const serverWords = 'The server is busy: 6 forecast rows are in flight and this request asks for 5, past the bound of 10; retry in 1 s.';
    expect(await refusal()).toBe(serverWords);
    expect(await refusal('server')).toBe(serverWords);
    expect(await refusal('forecaster')).toBe('The forecaster is busy: 6 forecast rows are in flight and this forecast asks for 5, past the bound (serve.maxQueuedRows) of 10; retry in 1 s.');
  });

  it('releases the rows of work that fails as of work that succeeds', async () => {
    const { admission, queued } = recorded(5);
    await expect(admission.run('/predict', 5, undefined, () => Promise.reject(new FltsError('FLTS_REQUEST_INVALID', 'bad')))).rejects.toMatchObject({ code: 'FLTS_REQUEST_INVALID' });
    expect(await admission.run('/predict', 5, undefined, async () => 'ok')).toBe('ok');
    expect(queued).toEqual([5, 0, 5, 0]);
  });

  it('serves a request larger than the whole bound when nothing else is in flight, and refuses it otherwise', async () => {
    const { admission } = recorded(10);
    const held = gate();
    const alone = admission.run('/predict', 25, undefined, held.wait);
    await expect(admission.run('/predict', 1, undefined, async () => 'ran')).rejects.toMatchObject({ code: 'FLTS_SERVE_OVERLOADED' });
    held.open();
    expect(await alone).toBe('done');
    const small = gate();
    const running = admission.run('/predict', 1, undefined, small.wait);
    await expect(admission.run('/predict', 25, undefined, async () => 'ran')).rejects.toMatchObject({ code: 'FLTS_SERVE_OVERLOADED' });
    small.open();
    await running;
  });

  it('never runs the work of a client already gone, and counts it as cancelled when its work stops for that', async () => {
    const { admission, refusals } = recorded(10);
    const controller = new AbortController();
    controller.abort(clientGone('The client left'));
    let ran = false;
    await expect(admission.run('/v2/models/:name/infer', 3, controller.signal, async () => (ran = true))).rejects.toMatchObject({ code: 'FLTS_REQUEST_CANCELLED' });
    expect(ran).toBe(false);
    expect(admission.queuedRows).toBe(0);

    const later = new AbortController();
    const running = admission.run('/predict', 3, later.signal, async () => {
      await new Promise<void>((resolve) => later.signal.addEventListener('abort', () => resolve()));
      later.signal.throwIfAborted();
    });
    expect(admission.queuedRows).toBe(3);
    later.abort(clientGone('The client left'));
    await expect(running).rejects.toMatchObject({ code: 'FLTS_REQUEST_CANCELLED', details: {} });
    expect(admission.queuedRows).toBe(0);
    expect(refusals).toEqual([
      ['/v2/models/:name/infer', 'cancelled'],
      ['/predict', 'cancelled'],
    ]);
  });

  it('counts a client already gone as gone, not as overloaded, when the bound is full too, and a connection reset for pipelining as such', async () => {
    const { admission, refusals } = recorded(10);
    const held = gate();
    const running = admission.run('/predict', 10, undefined, held.wait);
    for (const reason of ['cancelled', 'pipelining'] as const) {
      const controller = new AbortController();
      controller.abort(clientGone('The client left', reason));
      await expect(admission.run('/predict', 5, controller.signal, async () => 'ran')).rejects.toMatchObject({ code: 'FLTS_REQUEST_CANCELLED' });
    }
    expect(refusals).toEqual([
      ['/predict', 'cancelled'],
      ['/predict', 'pipelining'],
    ]);
    held.open();
    await running;
  });

  it('sets no bound with maxRows 0', async () => {
    const { admission } = recorded(0);
    const held = gate();
    const runs = Array.from({ length: 5 }, () => admission.run('/predict', 10_000, undefined, held.wait));
    expect(admission.queuedRows).toBe(50_000);
    held.open();
    await Promise.all(runs);
  });

  /** The Retry-After of a request of `rows` refused now. */
  async function refusedAfter(admission: ForecastAdmission, rows: number): Promise<number> {
    const refused = await admission.run('/predict', rows, undefined, async () => 'ran').catch((error: FltsError) => error);
    expect(refused).toMatchObject({ code: 'FLTS_SERVE_OVERLOADED' });
    return (refused as FltsError).details.retryAfterSec as number;
  }

  it('asks to retry after the time the rows in the way, and the rows refused before it, take at the pace rows were done so far', async () => {
    let clock = 0;
    const { admission } = recorded(100, () => clock);
    // 100 rows done in 4 s: 25 rows a second.
    const first = gate();
    const done = admission.run('/predict', 100, undefined, first.wait);
    clock = 4000;
    first.open();
    await done;
    const held = gate();
    const running = admission.run('/predict', 80, undefined, held.wait);
    // 80 in flight: a request of 70 waits for 50 rows to be done (2 s); one of 500 for all 80 and the 70 told to come
    // back before it (6 s).
    expect(await refusedAfter(admission, 70)).toBe(2);
    expect(await refusedAfter(admission, 500)).toBe(6);
    held.open();
    await running;
  });

  it('estimates from the time rows stay in flight, not rows done per busy second, as forward passes shared by many requests free a full bound in about that time', async () => {
    let clock = 0;
    const { admission } = recorded(100, () => clock);
    // One small request alone took 4 s: 2.5 rows a busy second, though a full bound would take about as long.
    const alone = gate();
    const slow = admission.run('/predict', 10, undefined, alone.wait);
    clock = 4000;
    alone.open();
    await slow;
    const held = gate();
    const running = admission.run('/predict', 100, undefined, held.wait);
    // 50 rows in the way of a bound freed in 4 s: 2 s, not 20 s.
    expect(await refusedAfter(admission, 50)).toBe(2);
    held.open();
    await running;
  });

  it('tells each request refused in a burst a later second than the ones refused before it, until the cap', async () => {
    let clock = 0;
    const { admission } = recorded(100, () => clock);
    // Nothing done yet: a bound's worth of rows a second is assumed.
    const held = gate();
    const running = admission.run('/predict', 100, undefined, held.wait);
    const advice: number[] = [];
    for (let i = 0; i < 8; i++) advice.push(await refusedAfter(admission, 50));
    expect(advice).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    // Those told seconds 1-4 have come back by 4.5 s (or will not): they are no longer counted ahead.
    clock = 4500;
    expect(await refusedAfter(admission, 50)).toBe(1);
    for (let i = 0; i < 200; i++) await refusedAfter(admission, 50);
    expect(await refusedAfter(admission, 50)).toBe(60);
    held.open();
    await running;
  });

  it('spreads the advice by a jitter of at most 1 s, or the time its own rows take, not a quarter of the estimate, and over the last quarter of the cap past it', async () => {
    let clock = 0;
    let draw = 0;
    const { admission } = recorded(100, () => clock, () => draw);
    const held = gate();
    const running = admission.run('/predict', 100, undefined, held.wait);
    draw = 0.99;
    // 100 rows in the way at 100 rows a second: 1 s, and up to 1 s more.
    expect(await refusedAfter(admission, 100)).toBe(2);
    // 100 more were told to come back before the next: 2 s, and up to 1 s more.
    expect(await refusedAfter(admission, 100)).toBe(3);
    draw = 0;
    expect(await refusedAfter(admission, 2800)).toBe(3);
    // 1 row in the way and 3,000 told to come back first: 30.01 s, and half of 1 s more (the rule before: half of 7.5 s, 34).
    draw = 0.5;
    expect(await refusedAfter(admission, 1)).toBe(31);
    // 2,000 rows wait for the 100 in flight and 3,001 told first (31.01 s), spread over half the 20 s they take themselves.
    expect(await refusedAfter(admission, 2000)).toBe(42);
    // Past the cap, spread over its last quarter: 46-60 s.
    draw = 0.99;
    expect(await refusedAfter(admission, 1000)).toBe(46);
    // ... and not promised: the next one waits for the 5,001 rows told before, not for those told the cap too (60).
    draw = 0;
    expect(await refusedAfter(admission, 1)).toBe(51);
    held.open();
    await running;
  });

  it('does not count the requests of a burst told the cap as coming back in its last quarter, so those refused there are told the turns after the ones promised, not the cap again', async () => {
    let clock = 0;
    const { admission } = recorded(100, () => clock);
    const held = gate();
    const running = admission.run('/predict', 100, undefined, held.wait);
    // Nothing done yet, 10 ms a row: each refusal of 1,000 rows takes a turn of 10 s after the 1 s of rows in flight,
    // until the cap; three more are told the cap.
    const burst: number[] = [];
    for (let i = 0; i < 9; i++) burst.push(await refusedAfter(admission, 1000));
    expect(burst).toEqual([1, 11, 21, 31, 41, 51, 60, 60, 60]);
    // One told the cap comes back at 50.5 s: only the one told 51 s is still to come ahead of it (the rule before
    // counted the three told 60 s too, and said 41 s, past the room the server has from 61 s).
    clock = 50_500;
    expect(await refusedAfter(admission, 1000)).toBe(11);
    expect(await refusedAfter(admission, 1000)).toBe(21);
    held.open();
    await running;
  });

  it('tells gRPC the same advice in milliseconds (retryAfterMs), not rounded up to the whole seconds of Retry-After', async () => {
    let draw = 0;
    const { admission } = recorded(100, () => 0, () => draw);
    const held = gate();
    const running = admission.run('/predict', 100, undefined, held.wait);
    const advice = async (rows: number): Promise<[number, number]> => {
      const refused = await admission.run('/inference.GRPCInferenceService/ModelInfer', rows, undefined, async () => 'ran').catch((error: FltsError) => error);
      expect(refused).toMatchObject({ code: 'FLTS_SERVE_OVERLOADED' });
      const { retryAfterMs, retryAfterSec } = (refused as FltsError).details;
      return [retryAfterMs as number, retryAfterSec as number];
    };
    // Nothing done yet, a bound's worth of rows a second (10 ms a row): 30 rows in the way are 300 ms, and each
    // refusal waits for the rows refused before it too, where Retry-After says 1 s to the first three.
    const burst: Array<[number, number]> = [];
    for (let i = 0; i < 4; i++) burst.push(await advice(30));
    expect(burst).toEqual([
      [300, 1],
      [600, 1],
      [900, 1],
      [1200, 2],
    ]);
    // The same jitter: 30 rows in the way and 120 told to come back first are 1.5 s, and half of 1 s more.
    draw = 0.5;
    expect(await advice(30)).toEqual([2000, 2]);
    // Past the cap, over its last quarter as Retry-After: 60 s less half of 15 s.
    await advice(10_000);
    expect(await advice(30)).toEqual([52_500, 53]);
    held.open();
    await running;
  });

  it('admits work nobody waits for only where it fits', async () => {
    const { admission } = recorded(10);
    const held = gate();
    const running = admission.run('/predict', 8, undefined, held.wait);
    expect(admission.tryAdmit(3)).toBeUndefined();
    const release = admission.tryAdmit(2);
    expect(admission.queuedRows).toBe(10);
    release?.();
    release?.();
    expect(admission.queuedRows).toBe(8);
    held.open();
    await running;
    expect(admission.tryAdmit(11)).toBeUndefined();
  });
});
