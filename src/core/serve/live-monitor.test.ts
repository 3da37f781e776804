import { describe, expect, it } from 'vitest';
import { createLiveScorer } from '../live/live-scorer.js';
import { intervalsByTarget } from './live-monitor.js';

describe('core > serve > live-monitor intervals', () => {
  const rows = [
    { down: { '0.8': [9, 11] as [number, number], '0.95': [8, 12] as [number, number] }, up: { '0.8': [1, 3] as [number, number], '0.95': [0, 4] as [number, number] } },
    null,
  ];

  it('lays the served rows out per target and level, with NaN bounds past the model horizon', () => {
    const byTarget = intervalsByTarget(['down', 'up'], rows)!;
    expect(byTarget).toHaveLength(2);
    expect(byTarget[0]).toEqual([
      { level: '0.8', lower: [9, Number.NaN], upper: [11, Number.NaN] },
      { level: '0.95', lower: [8, Number.NaN], upper: [12, Number.NaN] },
    ]);
    expect(byTarget[1]?.[0]).toEqual({ level: '0.8', lower: [1, Number.NaN], upper: [3, Number.NaN] });
    expect(intervalsByTarget(['down'], undefined)).toBeUndefined();
    expect(intervalsByTarget(['down'], [null, null])).toBeUndefined();
  });

  it('scores coverage per level on rows that have intervals and leaves the others out of it', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.remember({ identifier: '', runId: 'run-a', origin: 0, targets: ['down', 'up'], time: [1, 2], values: [[10, 10], [2, 2]], intervals: intervalsByTarget(['down', 'up'], rows) });
    // down 11.5 is outside the 80 % band [9, 11] and inside the 95 % band [8, 12]; row 2 has no band.
    scorer.score({ identifier: '', time: [1, 2], values: { down: [11.5, 50], up: [2, 2] } });
    const down = scorer.figures().find((run) => run.run_id === 'run-a')!.targets.down;
    expect(down.points).toBe(2);
    expect(down.coverage).toEqual({ '0.8': 0, '0.95': 1 });
  });
});
