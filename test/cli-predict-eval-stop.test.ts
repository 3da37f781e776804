import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS } from './helpers/poblesec-slice.js';
import { startFltsProcess } from './helpers/flts-process.js';

describe('cli > predict and eval stopped by Ctrl-C or SIGTERM', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-predict-eval-stop-'));
  const sockets = new Set<net.Socket>();
  const connected: Array<() => void> = [];
  // An S3 endpoint that accepts connections and never answers: each command waits on it until it is stopped.
  const silentStore = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {}).on('close', () => sockets.delete(socket)).resume();
    connected.splice(0).forEach((resolve) => resolve());
  });
  let env: Record<string, string>;

  beforeAll(async () => {
    await new Promise<void>((resolve) => silentStore.listen(0, '127.0.0.1', resolve));
    const endpoint = `127.0.0.1:${(silentStore.address() as net.AddressInfo).port}`;
    env = { FLTS_HOME: home, FLTS_STORE: 's3', MINIO_ENDPOINT: endpoint, MINIO_ROOT_USER: 'user', MINIO_ROOT_PASSWORD: 'stop-test-secret' };
  });

  afterAll(async () => {
    sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => silentStore.close(() => resolve()));
    rmSync(home, { recursive: true, force: true });
  });

  /** Starts `flts <args>`, sends `signal` once it has asked the store something, and resolves with what it said. */
  async function stopOnceAtWork(args: string[], signal: NodeJS.Signals): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
    const asked = new Promise<void>((resolve) => connected.push(resolve));
    const command = startFltsProcess(args, env);
    let stdout = '';
    command.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await Promise.race([asked, command.exited.then(() => Promise.reject(new Error(`flts ${args[0]} ended before it asked the store: ${command.output()}`)))]);
    command.child.kill(signal);
    const exitCode = await command.exited;
    return { exitCode, stdout, stderr: command.logs() };
  }

  it('predict ends on SIGINT with FLTS_PREDICT_ABORTED on stderr and exit 5, not the signal\'s silent exit', async () => {
    const run = await stopOnceAtWork(['predict', '--data', path.join(DATASETS, 'PobleSec_test.csv')], 'SIGINT');
    expect(run.exitCode, run.stderr).toBe(5);
    expect(run.stderr).toContain('Error FLTS_PREDICT_ABORTED: Predict was stopped by SIGINT before it ended.\nHint: ');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  }, 60_000);

  it('eval --json ends on SIGTERM with an FLTS_EVAL_ABORTED error document and exit 5', async () => {
    const run = await stopOnceAtWork(['eval', '--json'], 'SIGTERM');
    expect(run.exitCode, run.stderr).toBe(5);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'error', error: { code: 'FLTS_EVAL_ABORTED', kind: 'conflict', message: 'Eval was stopped by SIGTERM before its ranking was ready.', details: { signal: 'SIGTERM' } } });
    expect(run.stdout + run.stderr).not.toContain('stop-test-secret');
  }, 60_000);
});
