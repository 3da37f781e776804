import { describe, expect, it } from 'vitest';
import { isFltsError } from '../errors.js';
import { bodyRetryAfter, createBodyBudget } from './body-budget.js';

/** The details of the refusal of `bytes` by `budget`, which must refuse them. */
function refusalDetails(budget: ReturnType<typeof createBodyBudget>, bytes: number): { details: Record<string, unknown>; message: string } {
  try {
    budget.take('/predict', bytes);
  } catch (error) {
    if (isFltsError(error)) return { details: error.details, message: error.message };
    throw error;
  }
  throw new Error('taken');
}

describe('core > serve > body-budget > Retry-After', () => {
  it('tells each refused body to come back in 1-3 s, drawn for each: in milliseconds for gRPC, the nearest whole second for Retry-After', () => {
    const draws = [0, 0.2, 0.5, 0.8, 0.9999];
    const budget = createBodyBudget({ maxBytes: 100, random: () => draws.shift()! });
    budget.take('/predict', 80);
    const told = Array.from({ length: draws.length }, () => refusalDetails(budget, 80));
    expect(told.map(({ details }) => [details.retryAfterMs, details.retryAfterSec])).toEqual([
      [1000, 1],
      [1400, 1],
      [2000, 2],
      [2600, 3],
      [3000, 3],
    ]);
    expect(told.map(({ message }) => /retry in (\d) s\.$/.exec(message)?.[1])).toEqual(['1', '1', '2', '3', '3']);
  });

  it('spreads the refused clients of a burst over the seconds, never past 3 s, with the default random source', () => {
    const budget = createBodyBudget({ maxBytes: 100 });
    budget.take('/predict', 80);
    const seconds = Array.from({ length: 200 }, () => refusalDetails(budget, 80).details.retryAfterSec as number);
    // Every value an integer of 1-3; all three told (200 draws all missing one of them: under 3 x (3/4)^200).
    expect(new Set(seconds)).toEqual(new Set([1, 2, 3]));
  });

  it('keeps the advice within 1-3 s whatever the random source gives', () => {
    for (const draw of [-1, 0, 0.25, 0.75, 1, 2, Number.NaN]) {
      const { ms, sec } = bodyRetryAfter(draw);
      expect(Number.isInteger(sec) && sec >= 1 && sec <= 3 && ms >= 1000 && ms <= 3000, String(draw)).toBe(true);
    }
  });
});
