import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stdoutFlushed } from './report-error.js';

describe('cli > report-error', () => {
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
