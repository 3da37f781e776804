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
 * names, checks something answers there while it runs, then (once its start is over, see `started`) stops it with
 * SIGINT and returns its stdout.
 */
async function urlFromLog(
  command: 'serve' | 'daemon',
  msg: string,
  started: { logged: string } | { ready: string },
  env: Record<string, string> = {},
): Promise<{ logged: string; stdoutWhileRunning: string; stdout: string; logs: Array<Record<string, unknown>>; code: number | null }> {
  const home = mkdtempSync(path.join(tmpdir(), `flts-${command}-json-port-`));
  homes.push(home);
  const child = spawn(process.execPath, [BIN, command, '--home', home, '--port', '0', '--json'], { cwd: REPO_ROOT, env: cleanEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const logs: Array<Record<string, unknown>> = [];
  const waiting: Array<{ msg: string; resolve: (record: Record<string, unknown>) => void }> = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // Whole lines only: a chunk can end inside a line (one that ends with `}` of a nested object parsed as a whole one).
  let partial = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const record = JSON.parse(line) as Record<string, unknown>;
      logs.push(record);
      for (const waiter of waiting.filter((w) => w.msg === record.msg)) waiter.resolve(record);
    }
  });
  const exited = new Promise<never>((_, reject) => child.on('exit', () => reject(new Error(`${command} exited before its start was over: ${stderr}`))));
  exited.catch(() => undefined);
  const whenLogged = (name: string): Promise<Record<string, unknown>> => {
    const found = logs.find((record) => record.msg === name);
    return Promise.race([found ? Promise.resolve(found) : new Promise<Record<string, unknown>>((resolve) => waiting.push({ msg: name, resolve })), exited]);
  };
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const logged = String((await whenLogged(msg)).url);
    expect((await fetch(`${logged}/healthz`)).status).toBe(200);
    // The url is logged while the start still runs (flts serve then reads the promotion pointer; the daemon starts its
    // roles): a signal before it is over stops it "while starting", which logs no serve_stopped (daemon_stopped).
    if ('logged' in started) await whenLogged(started.logged);
    else expect(await pollUntil(50, AbortSignal.timeout(30_000), async () => (await fetch(`${logged}${started.ready}`)).status === 200)).toBe(true);
    const stdoutWhileRunning = stdout;
    child.kill('SIGINT');
    const code = await closed;
    if (partial.startsWith('{')) logs.push(JSON.parse(partial) as Record<string, unknown>);
    return { logged, stdoutWhileRunning, stdout, logs, code };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await closed;
  }
}

describe('serve > --json with --port 0: the port comes from the log, the document at exit', () => {
  it('flts serve logs serve_listening with the bound url, which the JSON document printed at exit repeats, and serve_stopped with the signal last', async () => {
    // With nothing promoted, the start ends as the server says it waits for a promotion.
    const run = await urlFromLog('serve', 'serve_listening', { logged: 'serve_waiting_for_promotion' });
    expect(run.stdoutWhileRunning).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'ok', result: { url: run.logged, stopped_by: 'SIGINT' } });
    // As the daemon's daemon_stopped (below): under --json the log alone says the server is gone, and why.
    expect(run.logs.at(-1)).toMatchObject({ msg: 'serve_stopped', stopped_by: 'SIGINT', requests_drained: 0, requests_cut: 0 });
    expect(Serve.description).toContain('serve_listening');
  });

  it('flts daemon logs daemon_listening with the bound url, which the JSON document printed at exit repeats', async () => {
    const run = await urlFromLog('daemon', 'daemon_listening', { ready: '/readyz' }, { FLTS_BUS: 'fs' });
    expect(run.stdoutWhileRunning).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'ok', result: { url: run.logged, stopped_by: 'SIGINT' } });
    expect(run.logs.at(-1)).toMatchObject({ msg: 'daemon_stopped' });
    expect(Daemon.description).toContain('daemon_listening');
  });
});
