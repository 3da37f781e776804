import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/run-cli.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

describe('serve > stopping while its start waits on an S3 endpoint that accepts connections and never answers', () => {
  let home: string | undefined;
  let server: ServeProcess | undefined;
  /** A serve process started without the helper, which waits for a server that listens. */
  let unlistening: ChildProcess | undefined;
  let silent: net.Server | undefined;
  const held: net.Socket[] = [];

  /** A loopback S3 endpoint that accepts connections and never answers; resolves its port and the first connection. */
  async function silentEndpoint(): Promise<{ port: number; asked: Promise<void> }> {
    let asked!: () => void;
    const connected = new Promise<void>((resolve) => (asked = resolve));
    silent = net.createServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
      asked();
    });
    await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
    return { port: (silent.address() as net.AddressInfo).port, asked: connected };
  }

  const silentStoreEnv = (port: number) => ({
    FLTS_HOME: home,
    FLTS_STORE: 's3',
    MINIO_ENDPOINT: `127.0.0.1:${port}`,
    MINIO_SECURE: 'false',
    // The store's idle timeout far beyond the test's: before, the start went on until it ran out, SIGTERM or not.
    FLTS_S3_IDLE_TIMEOUT_MS: '600000',
    FLTS_LIVE_SCORING: 'false',
    FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS: '300',
  });

  afterEach(async () => {
    await server?.kill('SIGKILL');
    server = undefined;
    if (unlistening?.exitCode === null && unlistening.signalCode === null) unlistening.kill('SIGKILL');
    unlistening = undefined;
    held.forEach((socket) => socket.destroy());
    held.length = 0;
    await new Promise((resolve) => (silent ? silent.close(resolve) : resolve(undefined)));
    silent = undefined;
    if (home) rmSync(home, { recursive: true, force: true });
  });

  // SIGINT is Ctrl-C in the terminal that started it: a clean stop as for SIGTERM, not an error.
  it.each(['SIGTERM', 'SIGINT'] as const)('ends the start on %s and exits 0, without waiting for the first pointer read to answer', async (signal) => {
    home = mkdtempSync(path.join(tmpdir(), 'flts-serve-start-silent-s3-'));
    const { port, asked } = await silentEndpoint();
    server = await startServe([], { ...silentStoreEnv(port), FLTS_SERVE_PREDICTION_LOG: 'false' });
    // Listening, and its first read of the promotion pointer waits for an answer that never comes.
    await asked;
    const code = await server.stop(signal);
    expect(server.output()).toContain(`${signal}: stopped while starting`);
    expect(server.output()).not.toMatch(/^Serving run/m);
    expect(server.errors()).not.toContain('serve_stop_unwritten');
    expect(code).toBe(0);
  }, 60_000);

  it('ends the start on SIGTERM while the bucket of the prediction log is waited for, before it listens', async () => {
    home = mkdtempSync(path.join(tmpdir(), 'flts-serve-start-silent-s3-'));
    const { port, asked } = await silentEndpoint();
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: REPO_ROOT, env: { ...process.env, ...silentStoreEnv(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    unlistening = child;
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The prediction log is on (the default): its bucket is asked for before the server listens.
    await asked;
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('SIGTERM: stopped while starting');
    expect(out).not.toContain('Listening on');
  }, 60_000);
});
