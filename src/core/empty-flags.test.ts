import { describe, expect, it } from 'vitest';
import { refuseEmptyFlags } from './empty-flags.js';

describe('core > empty-flags', () => {
  it('refuses a flag given empty instead of reading it as absent', () => {
    // Before, --run "" benched the promoted run, --out "" wrote no files, --compare "" and --engine "" compared nothing.
    expect(() => refuseEmptyFlags({ run: 'r1', out: undefined })).not.toThrow();
    for (const flag of ['run', 'out', 'engine', 'compare', 'baseline-duration', 'grpc-target']) {
      for (const value of ['', '  ']) {
        expect(() => refuseEmptyFlags({ dataset: 'x', [flag]: value }), flag).toThrow(expect.objectContaining({ code: 'FLTS_USAGE_INVALID_FLAG', message: `--${flag} is empty: give it a value, or leave the flag out.`, details: { flag, value } }));
      }
    }
  });
});
