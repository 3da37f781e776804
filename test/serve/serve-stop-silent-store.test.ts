import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

/** A free loopback port, nothing listening on it yet. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('serve > stopping while the S3 endpoint accepts connections and never answers', () => {
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

  it('exits on SIGTERM once the last writes have had serve.shutdownWritesTimeoutMs, not at the end of the store timeout', async () => {
    home = mkdtempSync(path.join(tmpdir(), 'flts-serve-silent-s3-'));
    const port = await freePort();
    // Refused while the server starts (it waits for the store, unready, and polls), silent once it serves.
    server = await startServe([], {
      FLTS_HOME: home,
      FLTS_STORE: 's3',
      MINIO_ENDPOINT: `127.0.0.1:${port}`,
      MINIO_SECURE: 'false',
      FLTS_S3_IDLE_TIMEOUT_MS: '600000',
      FLTS_SERVE_POLL_INTERVAL_MS: '100',
      FLTS_SERVE_RETRY_FAILED_MS: '100',
      FLTS_SERVE_PREDICTION_LOG: 'false',
      FLTS_LIVE_SCORING: 'false',
      FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS: '300',
    });
    // Its first read refused: it serves (unready), and its next reads go to the silent endpoint.
    await vi.waitFor(() => expect(server!.errors()).toContain('ECONNREFUSED'), { timeout: 30_000, interval: 20 });
    const asked = new Promise<void>((resolve) => {
      silent = net.createServer((socket) => {
        held.push(socket);
        socket.on('error', () => {});
        resolve();
      });
    });
    await new Promise<void>((resolve) => silent!.listen(port, '127.0.0.1', resolve));
    // A read of the promotion pointer is waiting for an answer that never comes.
    await asked;
    const code = await server.stop('SIGTERM');
    expect(server.output()).toContain('SIGTERM: stopping');
    expect(server.output()).toContain('Stopped');
    // Reading the pointer is no write: nothing was lost, and the stop is a clean one.
    expect(server.errors()).not.toContain('serve_stop_unwritten');
    expect(code).toBe(0);
  });
});
