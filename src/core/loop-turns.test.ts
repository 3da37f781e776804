import { describe, expect, it } from 'vitest';
import { countTurns } from './loop-turns.fixture.js';
import { nextTurn, rowsInTurns, turnSpent, TURN_SLICE_MS } from './loop-turns.js';

/** Busy work for `ms` of wall time, standing for a piece of a long computation. */
function work(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('loop turns', () => {
  it('spreads pieces of work over turns, in arrival order, with I/O-phase callbacks run between them', async () => {
    const order: string[] = [];
    const turnOf: number[] = [];
    const loop = countTurns();
    const job = async (name: string): Promise<void> => {
      for (let piece = 0; piece < 3; piece++) {
        if (turnSpent()) await nextTurn();
        order.push(`${name}${piece}`);
        turnOf.push(loop.turns());
        work(TURN_SLICE_MS / 2 + 1);
      }
    };
    await Promise.all([job('a'), job('b'), job('c')]);
    loop.stop();
    // Pieces of more than half a slice: two fill a slice, and a turn runs at most two slices (its own, and the waiters').
    const perTurn = new Map<number, number>();
    for (const turn of turnOf) perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(4);
    expect(perTurn.size).toBeGreaterThanOrEqual(3);
    for (const name of ['a', 'b', 'c']) expect(order.filter((piece) => piece.startsWith(name))).toEqual([`${name}0`, `${name}1`, `${name}2`]);
  });

  it('works through every piece of rows in order, and stops between two pieces once its signal is aborted', async () => {
    const ends: number[] = [];
    await rowsInTurns(10, 4, (to) => ends.push(to));
    expect(ends).toEqual([4, 8, 10]);

    const stop = new AbortController();
    const stopped: number[] = [];
    await rowsInTurns(10, 4, (to) => {
      stopped.push(to);
      if (to === 4) stop.abort();
    }, stop.signal);
    expect(stopped).toEqual([4]);
  });
});
