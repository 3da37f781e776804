import { describe, expect, it } from 'vitest';
import { formatNaiveTimestamp, parseNaiveTimestamp } from './timestamps.js';

describe('core > data > timestamps', () => {
  it('reads naive wall-clock time as UTC', () => {
    expect(parseNaiveTimestamp('2018-02-05 23:40:00')).toBe(Date.UTC(2018, 1, 5, 23, 40, 0));
    expect(parseNaiveTimestamp('2018-02-05T23:40:00')).toBe(Date.UTC(2018, 1, 5, 23, 40, 0));
    expect(parseNaiveTimestamp('2018-02-05 23:40')).toBe(Date.UTC(2018, 1, 5, 23, 40, 0));
    expect(parseNaiveTimestamp('2018-02-05')).toBe(Date.UTC(2018, 1, 5));
    expect(parseNaiveTimestamp('2018-02-05 23:40:00.250')).toBe(Date.UTC(2018, 1, 5, 23, 40, 0, 250));
  });

  it('rejects text that is not a valid timestamp', () => {
    for (const text of ['', 'yesterday', '2018-02-30 00:00:00', '2018-13-01 00:00:00', '2018-02-05 24:00:00', '2018-02-05 23:40:00+01:00', '05/02/2018 23:40']) {
      expect(parseNaiveTimestamp(text), text).toBeNaN();
    }
  });

  it('formats in the reference spelling', () => {
    expect(formatNaiveTimestamp(Date.UTC(2018, 2, 5, 15, 16, 0))).toBe('2018-03-05 15:16:00');
  });
});
