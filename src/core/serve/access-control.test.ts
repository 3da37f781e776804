import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { assertBearerToken, createAuthRefusalLog } from './access-control.js';
import { silentLogger, type Logger } from '../logger.js';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

describe('access control > bearer token compare', () => {
  it('accepts the token and refuses any other, of whatever length, each through one compare of equal-length digests', () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    const token = 'api-secret-0123456789';
    const outcome = (header: string): string => {
      try {
        assertBearerToken(header, token, 'POST /predict');
        return 'accepted';
      } catch (error) {
        return (error as { code: string }).code;
      }
    };
    const cases: Array<[string, string]> = [
      [token, 'accepted'],
      [`${token.slice(0, -1)}X`, 'FLTS_AUTH_REQUIRED'], // same length, one character off
      [token.slice(0, -1), 'FLTS_AUTH_REQUIRED'], // a prefix
      [`${token}0`, 'FLTS_AUTH_REQUIRED'], // one character more
      ['x', 'FLTS_AUTH_REQUIRED'],
      ['é'.repeat(token.length), 'FLTS_AUTH_REQUIRED'], // as many characters, more bytes
    ];
    for (const [given, expected] of cases) {
      compare.mockClear();
      const answer = outcome(`Bearer ${given}`);
      // A length check before the compare answered a wrong-length token sooner: its length showed in the timing.
      const compared = compare.mock.calls.map(([a, b]) => [a.byteLength, b.byteLength]);
      expect({ given, answer, compared }).toEqual({ given, answer: expected, compared: [[32, 32]] });
    }
  });
});

describe('access control > refused attempts log', () => {
  it('logs one line a window while refusals go on, and the first refusal after a quiet window at once', () => {
    vi.useFakeTimers();
    try {
      const lines: Array<Record<string, unknown>> = [];
      const logger: Logger = { ...silentLogger, warn: (fields, msg) => void lines.push({ msg, ...fields }) };
      const log = createAuthRefusalLog(logger, 1000);
      const refuse = (remote: string): void => log.record({ code: 'FLTS_AUTH_REQUIRED', reason: 'token_invalid', route: '/predict', method: 'POST', remote });
      refuse('10.0.0.1');
      for (let i = 0; i < 50; i++) refuse(`10.0.1.${i}`);
      expect(lines.map((line) => line.msg)).toEqual(['auth_refused']);
      vi.advanceTimersByTime(1000);
      expect(lines[1]).toMatchObject({ msg: 'auth_refused_repeated', refused_count: 50, reasons: { token_invalid: 50 }, remotes_count: 50 });
      expect(lines[1].remotes).toHaveLength(10);
      // Still guessing: counted in the next window, not logged one by one.
      refuse('10.0.0.1');
      vi.advanceTimersByTime(1000);
      expect(lines.slice(2)).toEqual([expect.objectContaining({ msg: 'auth_refused_repeated', refused_count: 1 })]);
      // A window with none ends quietly; the next refusal is news again.
      vi.advanceTimersByTime(5000);
      expect(lines).toHaveLength(3);
      refuse('10.0.0.2');
      expect(lines[3]).toMatchObject({ msg: 'auth_refused', remote: '10.0.0.2' });
      log.stop();
      expect(lines).toHaveLength(4);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each(['Bearer a, Bearer b', 'Bearer api-secret-0123456789,Bearer other', 'bearer a , Basic dXNlcjpwdw=='])('refuses %j as carrying more than one credential, coded 401 as a missing token is', (header) => {
    const refusal = (() => {
      try {
        assertBearerToken(header, 'api-secret-0123456789', 'POST /predict');
      } catch (error) {
        return error as { code: string; message: string; details: Record<string, unknown> };
      }
      return undefined;
    })();
    expect(refusal).toMatchObject({ code: 'FLTS_AUTH_REQUIRED', details: { reason: 'token_multiple' } });
    expect(refusal?.message).toBe('POST /predict needs one Authorization: Bearer <token> credential; the header carried more than one, separated by commas.');
  });

  it.each(['', 'Basic dXNlcjpwdw==', 'Bearer'])('still calls %j a missing bearer token', (header) => {
    expect(() => assertBearerToken(header, 'api-secret-0123456789', 'POST /predict')).toThrow(expect.objectContaining({ details: { reason: 'token_missing' } }));
  });
});
