import { describe, expect, it } from 'vitest';
import { parseIsoDuration, parseResetDateTime } from './iso-duration.js';

describe('core > offsets > iso-duration', () => {
  it('parses the PnDTnHnMnS durations kafka-consumer-groups --by-duration takes', () => {
    expect(parseIsoDuration('P1D')).toBe(86_400_000);
    expect(parseIsoDuration('PT6H')).toBe(6 * 3_600_000);
    expect(parseIsoDuration('PT30M')).toBe(30 * 60_000);
    expect(parseIsoDuration('PT0.5S')).toBe(500);
    expect(parseIsoDuration('P1DT2H30M15.5S')).toBe(86_400_000 + 2 * 3_600_000 + 30 * 60_000 + 15_500);
    expect(parseIsoDuration(' pt1m ')).toBe(60_000);
  });

  it('refuses non-durations and calendar units, naming the accepted format', () => {
    for (const bad of ['', 'P', 'PT', '1H', 'PT-5M', 'P1H', 'yesterday']) {
      expect(() => parseIsoDuration(bad), bad).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('PnDTnHnMnS') }));
    }
    for (const calendar of ['P1M', 'P1Y', 'P2W', 'P1Y2M3DT4H']) expect(() => parseIsoDuration(calendar), calendar).toThrow(/no fixed length/);
  });

  it('names the flag it reads, and refuses a duration too long to count instead of waiting for ever', () => {
    // Before, "Duration ..." named no flag, and P99999999999999999999D read as 8.6e27 ms: --wait-timeout never ran out.
    expect(() => parseIsoDuration('soon', 'wait-timeout')).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringMatching(/^--wait-timeout "soon" is not a duration/), details: { flag: 'wait-timeout', value: 'soon' } }));
    for (const huge of ['P99999999999999999999D', 'PT9999999999999999999999S', `P${'9'.repeat(400)}D`]) {
      expect(() => parseIsoDuration(huge, 'wait-timeout', { bounded: true }), huge).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: expect.stringContaining('the longest duration flts counts'), details: expect.objectContaining({ flag: 'wait-timeout' }) }));
    }
    expect(parseIsoDuration('P104249991D', 'wait-timeout', { bounded: true })).toBe(104_249_991 * 86_400_000);
    // How far back --by-duration goes is not bounded: longer than the epoch is the log start.
    expect(parseIsoDuration('P99999999999999999999D', 'by-duration')).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
  });

  it('reads date-times with a zone as given and without one as UTC', () => {
    expect(parseResetDateTime('2025-11-04T09:30:00Z')).toBe(Date.UTC(2025, 10, 4, 9, 30));
    expect(parseResetDateTime('2025-11-04T09:30:00+01:00')).toBe(Date.UTC(2025, 10, 4, 8, 30));
    expect(parseResetDateTime('2025-11-04T09:30:00.123')).toBe(Date.UTC(2025, 10, 4, 9, 30, 0, 123));
    expect(parseResetDateTime('2025-11-04T09:30:00.123456Z')).toBe(Date.UTC(2025, 10, 4, 9, 30, 0, 123));
    expect(parseResetDateTime('2025-11-04')).toBe(Date.UTC(2025, 10, 4));
  });

  it('refuses what is not an ISO-8601 instant', () => {
    for (const bad of ['04/11/2025', 'now', '2025-13-01T00:00:00Z', '2025-11-04T25:00:00Z']) {
      expect(() => parseResetDateTime(bad), bad).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG' }));
    }
  });
});
