import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const HELD_CLOSE = path.resolve(__dirname, 'helpers/held-close-command.mjs');

/** The held-close command run to its end: its exit code (or the signal that ended it), stdout and stderr. */
function heldClose(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [HELD_CLOSE, ...args], { env: { ...process.env, ...env } }, (_error, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }));
  });
}

describe('cli > a stop while the bus and store close after the work', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`prints the finished work's --json document and exits 0 on ${signal}, not ended by the signal with no document`, async () => {
      const { code, signal: killedBy, stdout } = await heldClose(['--json'], { HELD_CLOSE_SIGNAL: signal });
      expect({ code, killedBy }).toEqual({ code: 0, killedBy: null });
      expect(JSON.parse(stdout)).toEqual({ status: 'ok', result: { done: true } });
    });
  }

  it("keeps a failed work's coded error and exit code when stopped during the close", async () => {
    const { code, signal, stdout } = await heldClose(['--json'], { HELD_CLOSE_FAIL: '1' });
    expect({ code, signal }).toEqual({ code: 4, signal: null });
    expect(JSON.parse(stdout)).toMatchObject({ status: 'error', error: { code: 'FLTS_RUN_NOT_FOUND' } });
  });
});
