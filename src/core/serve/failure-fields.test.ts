import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { failureFields } from './failure-fields.js';

describe('core > serve > failure-fields', () => {
  it('says a coded operational failure in one line with its cause, its stack set apart for a debug line', () => {
    const cause = new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://minio.internal:9000 is unavailable (ECONNREFUSED).');
    const error = new FltsError('FLTS_SERVE_TEST_DATA_UNAVAILABLE', 'The stored test data cannot be read (FLTS_STORE_UNAVAILABLE).', { cause });
    const { fields, stack } = failureFields(error);
    expect(fields).toEqual({ code: 'FLTS_SERVE_TEST_DATA_UNAVAILABLE', err: error.message, cause: `FLTS_STORE_UNAVAILABLE: ${cause.message}` });
    expect(stack).toBe(error.stack);
  });

  it('keeps the stack in the line of an uncoded or internal failure: a bug, where the frames are what matters', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    expect(failureFields(bug)).toEqual({ fields: { err: bug.stack } });
    const internal = new FltsError('FLTS_INTERNAL', 'broken');
    expect(failureFields(internal)).toEqual({ fields: { code: 'FLTS_INTERNAL', err: internal.stack } });
    expect(failureFields('thrown text')).toEqual({ fields: { err: 'thrown text' } });
  });
});
