import { describe, expect, it } from 'vitest';
import { createEarlyActuals } from './early-actuals.js';

const MINUTE = 60_000;
const down = (value: number): Map<string, number> => new Map([['down', value]]);

describe('core > live > early actuals arrived before they were kept', () => {
  it('ages a row from its arrival, lets it go by its own age behind a newer row, and keeps none already too old', () => {
    const early = createEarlyActuals(100, 30 * MINUTE);
    const now = 100 * MINUTE;
    // A POST /actuals now, then the rows of a claim published 20 minutes ago, read late (at a replica's join).
    expect(early.keep('', 1, down(1), now)).toBe(true);
    expect(early.keep('', 2, down(2), now, now - 20 * MINUTE)).toBe(true);
    // Published before it was read, never after: a publisher's clock ahead counts as now.
    expect(early.keep('', 3, down(3), now, now + 5 * MINUTE)).toBe(true);
    // Published 40 minutes ago: a replica that read it then would have let its rows go already.
    expect(early.keep('', 4, down(4), now, now - 40 * MINUTE)).toBe(false);
    expect(early.figures(now)).toEqual({ points: 3, targets: { down: 3 }, expired: 1, forgotten: 0 });

    // Eleven minutes on, the claim's row is past its age though a newer row stands before it in the order kept.
    expect(early.get('', 2, now + 11 * MINUTE)).toBeUndefined();
    expect(early.get('', 1, now + 11 * MINUTE)).toEqual(down(1));
    expect(early.figures(now + 11 * MINUTE)).toEqual({ points: 2, targets: { down: 2 }, expired: 2, forgotten: 0 });
  });

  it('counts a row too old behind a newer one out of its figures, without a look at it', () => {
    const early = createEarlyActuals(100, 30 * MINUTE);
    const now = 100 * MINUTE;
    early.keep('', 1, down(1), now);
    early.keep('', 2, down(2), now, now - 20 * MINUTE);
    expect(early.figures(now + 11 * MINUTE)).toEqual({ points: 1, targets: { down: 1 }, expired: 1, forgotten: 0 });
    // In order again: the front is the oldest, and goes first.
    early.keep('', 3, down(3), now + 12 * MINUTE);
    expect(early.figures(now + 31 * MINUTE)).toEqual({ points: 1, targets: { down: 1 }, expired: 2, forgotten: 0 });
  });

  it('merges an older arrival into a newer row of its timestamp by filling its gaps only, the newer values winning', () => {
    const early = createEarlyActuals(100, 30 * MINUTE);
    const now = 100 * MINUTE;
    early.keep('', 1, down(5), now);
    early.keep('', 1, new Map([['down', 4], ['up', 7]]), now, now - 20 * MINUTE);
    expect(early.get('', 1, now)).toEqual(new Map([['down', 5], ['up', 7]]));
    // The row keeps the newer arrival's age: still there 29 minutes on, when the older one would have gone.
    expect(early.get('', 1, now + 29 * MINUTE)).toEqual(new Map([['down', 5], ['up', 7]]));
    expect(early.figures(now + 29 * MINUTE)).toEqual({ points: 1, targets: { down: 1, up: 1 }, expired: 0, forgotten: 0 });
  });
});

describe('core > live > early actuals of one series beside the others', () => {
  it('makes room for a series past its share in its own rows, never in another series\' rows', () => {
    const early = createEarlyActuals(10, 30 * MINUTE, 4);
    const now = 100 * MINUTE;
    for (let time = 1; time <= 3; time++) early.keep('site', time, down(time), now);
    // One client sends 1000 rows of its own series: it keeps its last 4, and the rows of 'site' stay.
    for (let time = 1; time <= 1000; time++) early.keep('flood', time, down(time), now);
    expect([1, 2, 3].map((time) => early.get('site', time, now))).toEqual([down(1), down(2), down(3)]);
    expect([996, 997, 998, 999, 1000].map((time) => early.get('flood', time, now) !== undefined)).toEqual([false, true, true, true, true]);
    expect(early.figures(now)).toEqual({ points: 7, targets: { down: 7 }, expired: 0, forgotten: 996 });
    // A row of its share sent again moves to the back of its series' order, as of the whole.
    early.keep('flood', 997, down(0), now);
    early.keep('flood', 1001, down(1001), now);
    expect([997, 998].map((time) => early.get('flood', time, now))).toEqual([down(0), undefined]);
    // A row a value was dropped from to nothing leaves its series' count too: the series keeps 4 again after it.
    early.drop('flood', 999, 'down');
    for (const time of [1002, 1003]) early.keep('flood', time, down(time), now);
    expect([1000, 997, 1001, 1002, 1003].map((time) => early.get('flood', time, now) !== undefined)).toEqual([false, true, true, true, true]);
  });

  it('still holds the whole buffer to its capacity, the oldest arrival of any series going first', () => {
    const early = createEarlyActuals(5, 30 * MINUTE, 4);
    const now = 100 * MINUTE;
    for (let time = 1; time <= 3; time++) early.keep('a', time, down(time), now);
    for (let time = 1; time <= 3; time++) early.keep('b', time, down(time), now);
    expect(early.get('a', 1, now)).toBeUndefined();
    expect(early.figures(now)).toEqual({ points: 5, targets: { down: 5 }, expired: 0, forgotten: 1 });
  });
});
