import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Daemon from '../../src/commands/daemon.js';
import Serve from '../../src/commands/serve.js';
import { pollUntil } from '../../src/core/retry.js';
import { BIN, cleanEnvironment, REPO_ROOT } from '../helpers/run-cli.js';

const homes: string[] = [];
afterAll(() => homes.forEach((home) => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })));

/**
 * Starts `flts <command> --port 0 --json` as a script would, takes the bound url from the stderr log line `msg`
 * names, checks something answers there while it runs, then stops it with SIGINT and returns its stdout.
 */
async function urlFromLog(command: 'serve' | 'daemon', msg: string, env: Record<string, string> = {}, ready?: string): Promise<{ logged: string; stdoutWhileRunning: string; stdout: string; logs: Array<Record<string, unknown>>; code: number | null }> {
  const home = mkdtempSync(path.join(tmpdir(), `flts-${command}-json-port-`));
  homes.push(home);
  const child = spawn(process.execPath, [BIN, command, '--home', home, '--port', '0', '--json'], { cwd: REPO_ROOT, env: cleanEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const logged = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        for (const line of stderr.split('\n')) {
          const record = line.startsWith('{') && line.endsWith('}') ? (JSON.parse(line) as { msg?: string; url?: string }) : undefined;
          if (record?.msg === msg && record.url) resolve(record.url);
        }
      });
      child.on('exit', () => reject(new Error(`${command} exited before logging ${msg}: ${stderr}`)));
    });
    expect((await fetch(`${logged}/healthz`)).status).toBe(200);
    // The daemon's health server is up before its roles are: a signal before they start ends it with no url.
    if (ready) expect(await pollUntil(50, AbortSignal.timeout(30_000), async () => (await fetch(`${logged}${ready}`)).status === 200)).toBe(true);
    const stdoutWhileRunning = stdout;
    child.kill('SIGINT');
    const code = await closed;
    const logs = stderr.split('\n').flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : []));
    return { logged, stdoutWhileRunning, stdout, logs, code };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await closed;
  }
}

describe('serve > --json with --port 0: the port comes from the log, the document at exit', () => {
  it('flts serve logs serve_listening with the bound url, which the JSON document printed at exit repeats, and serve_stopped with the signal last', async () => {
    const run = await urlFromLog('serve', 'serve_listening');
    expect(run.stdoutWhileRunning).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'ok', result: { url: run.logged, stopped_by: 'SIGINT' } });
    // As the daemon's daemon_stopped (below): under --json the log alone says the server is gone, and why.
    expect(run.logs.at(-1)).toMatchObject({ msg: 'serve_stopped', stopped_by: 'SIGINT', requests_drained: 0, requests_cut: 0 });
    expect(Serve.description).toContain('serve_listening');
  });

  it('flts daemon logs daemon_listening with the bound url, which the JSON document printed at exit repeats', async () => {
    const run = await urlFromLog('daemon', 'daemon_listening', { FLTS_BUS: 'fs' }, '/readyz');
    expect(run.stdoutWhileRunning).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'ok', result: { url: run.logged, stopped_by: 'SIGINT' } });
    expect(run.logs.at(-1)).toMatchObject({ msg: 'daemon_stopped' });
    expect(Daemon.description).toContain('daemon_listening');
  });
});
