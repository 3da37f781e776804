import { describe, expect, it } from 'vitest';
import { canonicalPythonJson, pyFloat, pythonFloatRepr, pythonJsonString } from './python-json.js';

describe('core > config > python-json', () => {
  it.each([
    [1, '1.0'],
    [0.33, '0.33'],
    [1.5, '1.5'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [123456789.5, '123456789.5'],
    [1e16, '1e+16'],
    [1e15, '1000000000000000.0'],
    [-2.5e-7, '-2.5e-07'],
    [1.2345e22, '1.2345e+22'],
    [0, '0.0'],
    [-0, '-0.0'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
  ])('writes %s as Python repr %s', (value, expected) => {
    expect(pythonFloatRepr(value)).toBe(expected);
  });

  it('escapes like ensure_ascii', () => {
    expect(pythonJsonString('a"b\\c\n\u00e9\u{1F600}')).toBe('"a\\"b\\\\c\\n\\u00e9\\ud83d\\ude00"');
  });

  it('sorts keys at every level and separates compactly', () => {
    expect(canonicalPythonJson({ b: { z: 1, a: null }, a: [true, pyFloat(2)] })).toBe('{"a":[true,2.0],"b":{"a":null,"z":1}}');
  });

  it('refuses an unmarked non-integer so floats are never silently mis-typed', () => {
    expect(() => canonicalPythonJson({ x: 0.5 })).toThrow(/pyFloat/);
  });
});
