import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MessageBus, PartitionLag } from '../bus/message-bus.js';
import { watchPartitionEnds } from './partition-ends.js';

afterEach(() => vi.useRealTimers());

/** A bus whose lag answers each end list in turn (the last one again after), or fails where one is an Error. */
function scriptedBus(answers: Array<number[] | Error>): { bus: MessageBus; asked: () => number } {
  let asked = 0;
  const lag = async (): Promise<PartitionLag[]> => {
    const answer = answers[Math.min(asked++, answers.length - 1)];
    if (answer instanceof Error) throw answer;
    return answer.map((end, partition) => ({ topic: 't', partition, committedOffset: -1, endOffset: end, lag: end }));
  };
  return { bus: { lag } as unknown as MessageBus, asked: () => asked };
}

describe('core > daemon > watchPartitionEnds', () => {
  it('bounds when a message was published by the latest look that saw its partition end at or before it', async () => {
    vi.useFakeTimers();
    let clock = 1_000_000;
    const { bus, asked } = scriptedBus([[5, 2], [5, 4], new Error('broker away'), [9, 4]]);
    const errors: unknown[] = [];
    const ends = watchPartitionEnds(bus, 'g', 't', { intervalMs: 1000, keepMs: 10_000, now: () => clock, onError: (error) => errors.push(error) });
    expect(await ends.first()).toEqual(new Map([[0, 5], [1, 2]]));
    // There at the first look: no bound.
    expect(ends.publishedNoEarlierThan(0, '4')).toBe(Number.NEGATIVE_INFINITY);
    expect(ends.publishedNoEarlierThan(0, '5')).toBe(1_000_000);
    clock += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    // Partition 0 ended at 5 again: the later look bounds offset 5 on; partition 1 moved on to 4.
    expect(ends.publishedNoEarlierThan(0, '5')).toBe(1_001_000);
    expect(ends.publishedNoEarlierThan(1, '3')).toBe(1_000_000);
    expect(ends.publishedNoEarlierThan(1, '4')).toBe(1_001_000);
    clock += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors).toHaveLength(1);
    clock += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked()).toBe(4);
    expect(ends.publishedNoEarlierThan(0, '8')).toBe(1_001_000);
    expect(ends.publishedNoEarlierThan(0, '9')).toBe(1_003_000);
    // Past keepMs the older looks go, the latest always kept.
    clock += 20_000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(ends.publishedNoEarlierThan(0, '8')).toBe(Number.NEGATIVE_INFINITY);
    expect(ends.publishedNoEarlierThan(0, '9')).toBe(1_023_000);
    ends.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(asked()).toBe(5);
    expect(ends.publishedNoEarlierThan(7, '1')).toBe(Number.NEGATIVE_INFINITY);
    expect(ends.publishedNoEarlierThan(0, 'x')).toBe(Number.NEGATIVE_INFINITY);
  });

  it('says nothing of the ends when the first look fails', async () => {
    const ends = watchPartitionEnds(scriptedBus([new Error('denied')]).bus, 'g', 't', { keepMs: 1000 });
    expect(await ends.first()).toBeUndefined();
    expect(ends.publishedNoEarlierThan(0, '0')).toBe(Number.NEGATIVE_INFINITY);
    ends.stop();
  });
});
