import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerOver } from '../helpers/raw-answer.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

describe('serve > a second signal while the stop drains', () => {
  let home: string | undefined;
  let server: ServeProcess | undefined;
  let socket: net.Socket | undefined;

  afterEach(async () => {
    socket?.destroy();
    await server?.kill('SIGKILL');
    server = undefined;
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('cuts the request still in flight and ends the stop as a stop, logged and exit 0, where it ended the process by the signal', async () => {
    home = mkdtempSync(path.join(tmpdir(), 'flts-serve-second-signal-'));
    // A drain that would wait for its request for 10 minutes: a body that never comes is not refused meanwhile.
    server = await startServe([], { FLTS_HOME: home, FLTS_SERVE_POLL_INTERVAL_MS: '0', FLTS_SERVE_REQUEST_TIMEOUT_MS: '600000', FLTS_SERVE_BODY_IDLE_TIMEOUT_MS: '0', FLTS_SERVE_MIN_BODY_BYTES_PER_SEC: '0', FLTS_LIVE_SCORING: 'false', FLTS_SERVE_PREDICTION_LOG: 'false' }, { untilStarted: true });
    socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    // In flight once the route asks for its body (100 Continue), which is never sent.
    const head = 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n';
    expect(await answerOver(socket, head, (text) => text.includes('\r\n\r\n'))).toMatch(/^HTTP\/1\.1 100 /);
    void server.stop('SIGTERM');
    await vi.waitFor(() => expect(server!.output()).toContain('SIGTERM: stopping'), { timeout: 30_000, interval: 20 });
    // Before, the second SIGTERM had its default action: the process ended at once (no exit code), its stop unsaid.
    const code = await server.stop('SIGTERM');
    expect(code).toBe(0);
    expect(server.output()).toContain('SIGTERM: cutting the requests still in flight');
    const stopped = server.errors().split('\n').filter((line) => line.includes('"msg":"serve_stopped"'));
    expect(stopped.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([expect.objectContaining({ stopped_by: 'SIGTERM', requests_cut: 1, requests_drained: 0 })]);
    expect(server.errors()).toContain('"msg":"serve_stop_hurried"');
  });
});
