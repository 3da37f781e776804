import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../settings.js';

describe('core > config > specs > setting-spec', () => {
  it('names the choice a misspelt one most likely meant, in a list and alone', () => {
    // Before: the whole list of model types alone for `--models LSTMM`, the typo left for the reader to find.
    expect(() => resolveSettings({ flags: { 'training.models': 'NAIVE,LSTMM' } })).toThrow(
      'flag for training.models = "NAIVE,LSTMM" is not valid: expected a comma-separated list of at least 1 of "LSTM", "GRU", "PROPHET", "NAIVE", "SNAIVE", "MSTL", each given once ("LSTMM" is not one: did you mean "LSTM"?).',
    );
    expect(() => resolveSettings({ env: { FLTS_S3_CREDENTIALS: 'statc' } })).toThrow(/expected one of "static", "aws" \("statc" is not one: did you mean "static"\?\)\.$/);
    // Nothing close: the choices alone, as before.
    expect(() => resolveSettings({ env: { FLTS_S3_CREDENTIALS: 'irsa' } })).toThrow(/expected one of "static", "aws"\.$/);
  });
});
