import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { assertBearerToken } from './access-control.js';

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
