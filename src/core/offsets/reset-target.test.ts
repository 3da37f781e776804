import { describe, expect, it } from 'vitest';
import { clampOffset, resolvePartitionOffset, type PartitionPosition, type ResetTarget } from './reset-target.js';

// A partition whose retention already deleted offsets 0-99: it holds 100..150.
const position: PartitionPosition = { topic: 't', partition: 1, committed: 120, logStart: 100, logEnd: 150 };

describe('core > offsets > reset-target', () => {
  it('clamps like Kafka: below the log start to the log start, past the log end to the log end', () => {
    expect(clampOffset(99, 100, 150)).toEqual({ offset: 100, clamped: 'log-start' });
    expect(clampOffset(100, 100, 150)).toEqual({ offset: 100, clamped: null });
    expect(clampOffset(150, 100, 150)).toEqual({ offset: 150, clamped: null });
    expect(clampOffset(151, 100, 150)).toEqual({ offset: 150, clamped: 'log-end' });
  });

  it('resolves every target against the partition', () => {
    const cases: Array<[ResetTarget, number, number, PartitionPosition['committed']?]> = [
      [{ kind: 'earliest' }, 100, 100],
      [{ kind: 'latest' }, 150, 150],
      [{ kind: 'current' }, 120, 120],
      [{ kind: 'current' }, 150, 150, null],
      [{ kind: 'offset', offset: 5 }, 5, 100],
      [{ kind: 'offset', offset: 130 }, 130, 130],
      [{ kind: 'shift', by: -30 }, 90, 100],
      [{ kind: 'shift', by: 10 }, 130, 130],
      [{ kind: 'shift', by: 1000 }, 1120, 150],
      [{ kind: 'file', rows: [{ topic: 't', partition: 1, offset: 140 }] }, 140, 140],
      [{ kind: 'file', rows: [{ topic: 't', partition: 1, offset: 0 }] }, 0, 100],
    ];
    for (const [target, requested, offset, committed] of cases) {
      const at = committed === undefined ? position : { ...position, committed };
      expect(resolvePartitionOffset(target, at), JSON.stringify(target)).toMatchObject({ requested, offset });
    }
  });

  it('takes the broker\'s answer for time targets, and refuses to shift a partition without a committed offset', () => {
    expect(resolvePartitionOffset({ kind: 'datetime', timestampMs: 0, text: 'x' }, position, 137)).toEqual({ requested: 137, offset: 137, clamped: null });
    expect(() => resolvePartitionOffset({ kind: 'shift', by: 1 }, { ...position, committed: null })).toThrow(expect.objectContaining({ code: 'FLTS_OFFSETS_NO_COMMITTED_OFFSET' }));
  });
});
