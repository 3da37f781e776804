import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

describe('serve > stopping while its start waits on an S3 endpoint that accepts connections and never answers', () => {
  let home: string | undefined;
  let server: ServeProcess | undefined;
  let silent: net.Server | undefined;
  const held: net.Socket[] = [];

  afterEach(async () => {
    await server?.kill('SIGKILL');
    server = undefined;
    held.forEach((socket) => socket.destroy());
    held.length = 0;
    await new Promise((resolve) => (silent ? silent.close(resolve) : resolve(undefined)));
    silent = undefined;
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('ends the start on SIGTERM and exits 0, without waiting for the first pointer read to answer', async () => {
    home = mkdtempSync(path.join(tmpdir(), 'flts-serve-start-silent-s3-'));
    let asked!: () => void;
    const pointerRead = new Promise<void>((resolve) => (asked = resolve));
    silent = net.createServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
      asked();
    });
    await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    // The store's idle timeout far beyond the test's: before the fix, the start returned only when it ran out.
    server = await startServe([], {
      FLTS_HOME: home,
      FLTS_STORE: 's3',
      MINIO_ENDPOINT: `127.0.0.1:${port}`,
      MINIO_SECURE: 'false',
      FLTS_S3_IDLE_TIMEOUT_MS: '600000',
      FLTS_SERVE_PREDICTION_LOG: 'false',
      FLTS_LIVE_SCORING: 'false',
      FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS: '300',
    });
    // Listening, and its first read of the promotion pointer waits for an answer that never comes.
    await pointerRead;
    const code = await server.stop('SIGTERM');
    expect(server.output()).toContain('SIGTERM: stopped while starting');
    expect(server.output()).not.toMatch(/^Serving run/m);
    expect(server.errors()).not.toContain('serve_stop_unwritten');
    expect(code).toBe(0);
  }, 60_000);
});
