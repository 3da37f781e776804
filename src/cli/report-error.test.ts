import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { FltsError } from '../core/errors.js';
import { reportError, stdoutFlushed } from './report-error.js';

describe('cli > report-error', () => {
  it('writes a message for a terminal with the characters it would act on escaped, line breaks kept', () => {
    // Before, a path typed with an escape sequence in it reached stderr as it was: a colour, a window title, a bell.
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    try {
      const error = new FltsError('FLTS_DATA_FILE_NOT_FOUND', 'Data file x\u001b]0;t\u0007\u001b[31mRED\u202e.csv not found;\nlooked in /data', { hint: 'Give \u009b2J a file.' });
      expect(reportError(error, { json: false, debug: false })).toBe(4);
    } finally {
      write.mockRestore();
    }
    expect(written.join('')).toBe('Error FLTS_DATA_FILE_NOT_FOUND: Data file x\\u001b]0;t\\u0007\\u001b[31mRED\\u202e.csv not found;\nlooked in /data\nHint: Give \\u009b2J a file.\n');
  });

  it('stdoutFlushed waits until what was written has been handed on, so process.exit after it loses nothing', async () => {
    let finishWrite: () => void = () => undefined;
    const stdout = new Writable({ highWaterMark: 1, write: (_chunk, _encoding, callback) => (finishWrite = callback) });
    stdout.write('{"status":"error"}');
    let flushed = false;
    const done = stdoutFlushed(stdout).then(() => (flushed = true));
    await new Promise(setImmediate);
    expect(flushed).toBe(false);
    finishWrite();
    await done;
    expect(flushed).toBe(true);
    // Nothing pending: resolves at once.
    await stdoutFlushed(stdout);
  });

  it('stdoutFlushed gives up on a reader that went away or never reads, so a failed command still exits', async () => {
    const gone = new Writable({ highWaterMark: 1, write: () => undefined });
    gone.on('error', () => undefined);
    gone.write('{"status":"error"}');
    const waiting = stdoutFlushed(gone);
    gone.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await waiting;

    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    stuck.write('{"status":"error"}');
    await stdoutFlushed(stuck, 20);
    expect(stuck.writableLength).toBeGreaterThan(0);
  });
});
