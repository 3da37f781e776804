import { describe, expect, it } from 'vitest';
import { describeTimeSteps, formatDurationMs, timeStepsWarning, unorderedRowsWarning } from './time-steps.js';

const minutes = (list: number[]) => Float64Array.from(list, (minute) => Date.UTC(2018, 1, 5, 0, minute));

describe('core > data > time steps', () => {
  it('finds no gap in regular times', () => {
    const steps = describeTimeSteps(minutes([0, 2, 4, 6]));
    expect(steps).toEqual({ step_ms: 120_000, gaps: 0, short_steps: 0, largest_gap: null });
    expect(timeStepsWarning(steps, 'The rows')).toBeUndefined();
  });

  it('counts gaps and shorter steps against the dominant step, and names the largest gap', () => {
    const steps = describeTimeSteps(minutes([0, 2, 4, 10, 12, 14, 15, 17, 57, 59]));
    expect(steps).toEqual({ step_ms: 120_000, gaps: 2, short_steps: 1, largest_gap: { after_row: 7, from: '2018-02-05T00:17:00', to: '2018-02-05T00:57:00', ms: 2_400_000 } });
    expect(timeStepsWarning(steps, 'The rows of x.csv')).toEqual({
      code: 'irregular_time_steps',
      message:
        'The rows of x.csv are not evenly spaced: 2 gaps (steps longer than the usual 2 min), the largest 40 min from 2018-02-05T00:17:00 to 2018-02-05T00:57:00 (after row 7 in time order); 1 step shorter than 2 min. The models take consecutive rows as 2 min apart.',
      details: steps,
    });
  });

  it('looks only at the rows from `from` on, against the step given, counting rows from the first', () => {
    const time = minutes([0, 30, 32, 34, 40]);
    expect(describeTimeSteps(time, 120_000, 2)).toEqual({ step_ms: 120_000, gaps: 1, short_steps: 0, largest_gap: { after_row: 3, from: '2018-02-05T00:34:00', to: '2018-02-05T00:40:00', ms: 360_000 } });
  });

  it('says a length of time in at most two units', () => {
    expect([250, 1500, 120_000, 90_000, 3_600_000 + 4 * 60_000, 26 * 3_600_000, 86_400_000].map(formatDurationMs)).toEqual(['250 ms', '1 s', '2 min', '1 min 30 s', '1 h 4 min', '1 d 2 h', '1 d']);
  });

  it('warns of rows out of time order only when there are some', () => {
    expect(unorderedRowsWarning(0, 'The rows')).toBeUndefined();
    expect(unorderedRowsWarning(3, 'The rows of x.csv')).toMatchObject({ code: 'unordered_rows', details: { unordered_rows: 3 } });
  });
});
