import { describe, expect, it } from 'vitest';
import { parseTargetUrl } from './parse-matrix.js';

describe('core > bench > parse-matrix', () => {
  it('takes an http or https --target and refuses anything else as a usage error', () => {
    expect(parseTargetUrl(' http://127.0.0.1:8000/ ')).toBe('http://127.0.0.1:8000/');
    expect(parseTargetUrl('https://serve.example')).toBe('https://serve.example');
    for (const bad of ['notaurl', '127.0.0.1:8000', 'localhost:8000', 'ftp://host/', '']) {
      expect(() => parseTargetUrl(bad)).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', kind: 'usage' }));
    }
  });
});
