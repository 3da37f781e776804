import { describe, expect, it } from 'vitest';
import { assertKeyPrefix, assertObjectKey, objectKeyProblem } from './keys.js';

describe('core > storage > keys', () => {
  it.each(['x\ud800.parquet', 'a/\udc00', '\udbff'])('refuses an object key with a lone surrogate (%j): it has no UTF-8 spelling', (key) => {
    expect(objectKeyProblem(key)).toBe('contains a lone surrogate (text that is not Unicode)');
    expect(() => assertObjectKey(key)).toThrow(expect.objectContaining({ code: 'FLTS_STORE_KEY_INVALID', details: { key } }));
  });

  it('accepts whole characters outside the BMP, a surrogate pair each', () => {
    expect(objectKeyProblem('data/\u{1F600}.parquet')).toBeUndefined();
    expect(objectKeyProblem('\ud83d\ude00')).toBeUndefined();
  });

  it('takes a listing prefix that ends inside a segment, at a "/", or is empty, and refuses one no key can start with', () => {
    for (const prefix of ['', 'runs/', 'runs/2026-', 'list', 'a/.', 'a/..b']) expect(() => assertKeyPrefix(prefix)).not.toThrow();
    expect(() => assertKeyPrefix('a\udc00/')).toThrow(expect.objectContaining({ code: 'FLTS_STORE_KEY_INVALID', details: { key: 'a\udc00/' } }));
    expect(() => assertKeyPrefix('a//')).toThrow(expect.objectContaining({ code: 'FLTS_STORE_KEY_INVALID' }));
    expect(() => assertKeyPrefix('../')).toThrow(expect.objectContaining({ code: 'FLTS_STORE_KEY_OUTSIDE_ROOT' }));
  });
});
