import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../test/helpers/scratch-folders.js';
import { ERROR_CATALOGUE, FltsError, errorFromWorker, exitCodeFor, httpStatusFor, isOutageCode, orUnlessUnavailable, toFltsError, workerFailureOf } from './errors.js';
import { isOutage } from './bus/delivery.js';
import { MODEL_TYPES } from './model-types.js';

const mkdtemp = scratchFolders();

describe('core > errors', () => {
  it('maps kinds to distinct exit codes and to HTTP statuses', () => {
    expect(exitCodeFor(new FltsError('FLTS_CONFIG_INVALID_VALUE', 'x'))).toBe(2);
    expect(httpStatusFor(new FltsError('FLTS_REQUEST_INVALID', 'x'))).toBe(400);
    expect(httpStatusFor(new FltsError('FLTS_RUN_NOT_FOUND', 'x'))).toBe(404);
    expect(httpStatusFor(new FltsError('FLTS_SERVE_NO_MODEL', 'x'))).toBe(503);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
  });

  it('gives the codes with a more specific HTTP meaning their own status, as the API answers them and docs/errors.md lists them', () => {
    expect(httpStatusFor(new FltsError('FLTS_AUTH_REQUIRED', 'x'))).toBe(401);
    expect(httpStatusFor(new FltsError('FLTS_AUTH_FORBIDDEN', 'x'))).toBe(403);
    expect(httpStatusFor(new FltsError('FLTS_REQUEST_METHOD_NOT_ALLOWED', 'x'))).toBe(405);
    expect(httpStatusFor(new FltsError('FLTS_REQUEST_TOO_LARGE', 'x'))).toBe(413);
    expect(httpStatusFor(new FltsError('FLTS_SERVE_RELOAD_RATE_LIMITED', 'x'))).toBe(429);
  });

  it('bounds the message and each text of the details, whatever a site quotes', () => {
    const error = new FltsError('FLTS_USAGE_INVALID_FLAG', `--x ${'y'.repeat(100_000)} is not valid`, { details: { value: 'y'.repeat(100_000), count: 3 } });
    expect(error.message.length).toBeLessThanOrEqual(2_003);
    expect(error.message).toMatch(/^--x y+\.\.\.$/);
    expect(String(error.details.value).length).toBeLessThanOrEqual(1_003);
    expect(error.details.count).toBe(3);
    expect(JSON.stringify(error.toJSON()).length).toBeLessThan(4_000);
  });

  it('wraps foreign errors as FLTS_INTERNAL and keeps the cause', () => {
    const cause = new TypeError('bad');
    const wrapped = toFltsError(cause);
    expect(wrapped.code).toBe('FLTS_INTERNAL');
    expect(wrapped.cause).toBe(cause);
  });

  it('turns operating-system refusals on a path (an unwritable --out, a file as --home) into coded usage errors', async () => {
    const { writeFile } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-errno-'));
    await writeFile(path.join(dir, 'file'), 'x');
    const refused = await writeFile(path.join(dir, 'file', 'bench.csv'), 'x').catch((error: unknown) => error);
    const coded = toFltsError(refused);
    expect(coded).toMatchObject({ code: 'FLTS_PATH_UNUSABLE', kind: 'usage' });
    expect(coded.message).toMatch(/bench\.csv: a part of the path is a file, not a directory \(ENOTDIR\)/);
    expect(exitCodeFor(refused)).toBe(2);
    const missingDirectory = path.join(dir, 'no-such-dir', 'x.csv');
    const missing = toFltsError(await writeFile(missingDirectory, 'x').catch((error: unknown) => error));
    expect(missing).toMatchObject({ code: 'FLTS_PATH_UNUSABLE', details: { path: missingDirectory, errno: 'ENOENT' } });
    expect(missing.message).toContain(`${missingDirectory}: it or a directory above it does not exist`);
    // An unusable `predict --plot` path had a hint naming --home and --out alone, as if the plot were neither.
    expect(missing.hint).toContain('the output files (--out, --plot, --export)');
    // What failed, in words rather than the system call's name.
    const unreadable = toFltsError(Object.assign(new Error("EACCES: permission denied, realpath '/data/store'"), { code: 'EACCES', syscall: 'realpath', path: '/data/store' }));
    expect(unreadable.message).toBe('Cannot look up /data/store: permission denied (EACCES).');
    const unlisted = toFltsError(Object.assign(new Error("EACCES: permission denied, scandir '/data/store/runs'"), { code: 'EACCES', syscall: 'scandir', path: '/data/store/runs' }));
    expect(unlisted.message).toBe('Cannot list /data/store/runs: permission denied (EACCES).');
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC', syscall: 'write', path: '/data/x' });
    expect(toFltsError(full)).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', retriable: true, hint: expect.stringContaining('Free space'), details: { path: '/data/x', errno: 'ENOSPC' } });
    expect(toFltsError(full).hint).not.toContain('object store');
  });

  it('gives a read\'s fallback for a missing object, never for a store that is down or refuses the credentials', () => {
    const fallback = orUnlessUnavailable('absent');
    expect(fallback(new FltsError('FLTS_STORE_NOT_FOUND', 'x'))).toBe('absent');
    for (const code of ['FLTS_STORE_UNAVAILABLE', 'FLTS_STORE_AUTH_FAILED', 'FLTS_STORE_ACCESS_DENIED', 'FLTS_STORE_TLS_FAILED'] as const) {
      expect(() => fallback(new FltsError(code, 'x')), code).toThrow(expect.objectContaining({ code }));
    }
  });

  it('judges a recorded code as an outage exactly as the bus judges the error itself', () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as Array<keyof typeof ERROR_CATALOGUE>) expect(isOutageCode(code), code).toBe(isOutage(new FltsError(code, 'x')));
    expect(isOutageCode('FLTS_STORE_UNAVAILABLE')).toBe(true);
    expect(isOutageCode('FLTS_BUS_AUTH_FAILED')).toBe(true);
    expect(isOutageCode('FLTS_TRAIN_FAILED')).toBe(false);
    expect(isOutageCode('NOT_A_CODE')).toBe(false);
  });

  it('serialises without a stack and with the catalogue hint', () => {
    const json = new FltsError('FLTS_RUN_NOT_FOUND', 'Run x not found', { details: { runId: 'x' } }).toJSON();
    expect(json).toEqual({ code: 'FLTS_RUN_NOT_FOUND', kind: 'not_found', message: 'Run x not found', hint: ERROR_CATALOGUE.FLTS_RUN_NOT_FOUND.hint, details: { runId: 'x' } });
    expect(JSON.stringify(json)).not.toContain('at ');
  });

  it('words the empty-data hint for every place that raises it: an empty or header-only file, a step that left no rows', () => {
    // It spoke of sampling and cleaning, which none of them does: reading a file, preprocess's steps, bench's bodies.
    const hint = ERROR_CATALOGUE.FLTS_DATA_EMPTY.hint;
    expect(hint).not.toMatch(/sampling|cleaning/);
    expect(hint).toMatch(/header/);
    expect(hint).toMatch(/dropping sparse rows.*adding lags/);
  });

  it('names every model type in the unknown-type hint', () => {
    for (const type of MODEL_TYPES) expect(ERROR_CATALOGUE.FLTS_MODEL_UNKNOWN_TYPE.hint).toMatch(new RegExp(`\\b${type}\\b`));
  });

  it('passes an error across a thread with its details and hint, in a form postMessage can always carry', () => {
    const thrown = new FltsError('FLTS_DATA_UNREADABLE', 'a.csv: CSV line 3 has 3 fields', { details: { source: 'a.csv', line: 3, limits: [1, 2] }, hint: 'one value per column' });
    const posted = structuredClone(workerFailureOf(thrown));
    expect(errorFromWorker(posted, 'FLTS_INTERNAL')).toMatchObject({ code: 'FLTS_DATA_UNREADABLE', message: thrown.message, hint: 'one value per column', details: { source: 'a.csv', line: 3, limits: [1, 2] } });
    // Details that cannot be cloned (a function slipped in) travel as their JSON form, instead of failing the post.
    const odd = workerFailureOf(new FltsError('FLTS_DATA_UNREADABLE', 'odd', { details: { line: 4, explain: () => 'no' } }));
    expect(structuredClone(odd).details).toEqual({ line: 4 });
    // A code the catalogue does not know falls back, with the fallback's own hint.
    expect(errorFromWorker({ code: 'ENOENT', message: 'gone', hint: 'elsewhere' }, 'FLTS_TRAIN_FAILED')).toMatchObject({ code: 'FLTS_TRAIN_FAILED', hint: ERROR_CATALOGUE.FLTS_TRAIN_FAILED.hint });
  });

  it('has codes of the form FLTS_<AREA>_<PROBLEM>', () => {
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(code).toMatch(/^FLTS_[A-Z]+(_[A-Z]+)+$|^FLTS_INTERNAL$/);
  });
});
