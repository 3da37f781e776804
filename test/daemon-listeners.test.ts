import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { answerOver } from './helpers/raw-answer.js';
import { startFltsProcess } from './helpers/flts-process.js';
import { waitUntil } from './helpers/wait-until.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-listeners-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** The fields of the first log line with this msg (and, when given, this role). */
function logLine(logs: string, msg: string, role?: string): Record<string, unknown> | undefined {
  for (const line of logs.split('\n')) {
    // A line still being written (the last one read) is no line yet.
    if (!line.startsWith('{') || !line.endsWith('}')) continue;
    const fields = JSON.parse(line) as Record<string, unknown>;
    if (fields.msg === msg && (role === undefined || fields.role === role)) return fields;
  }
  return undefined;
}

describe('flts daemon > the listeners it names', () => {
  const env = (name: string) => ({ FLTS_BUS: 'fs', FLTS_HOME: path.join(dir, name), FLTS_SERVE_PORT: '0', FLTS_SERVE_GRPC_PORT: '0' });

  it('says every listener on stdout as flts serve does: the health server, the inference API and its gRPC service; then that it stopped', async () => {
    const daemon = startFltsProcess(['daemon', '--roles', 'serving', '--port', '0'], env('text'));
    try {
      const [, health] = await daemon.waitForOutput(/^Daemon listening on (\S+) \(roles: serving\)$/m);
      const [, http, grpc] = await daemon.waitForOutput(/^serving: inference API on (\S+) \(Open Inference Protocol gRPC on (\S+)\)$/m);
      // The addresses the listeners logged, each bound to a port of its own (all asked for port 0).
      // Whole lines: stderr is its own pipe, behind or ahead of stdout.
      for (const msg of ['daemon_listening', 'serve_listening']) await daemon.waitForLogs(new RegExp(`^\\{.*"msg":"${msg}".*\\}\\n`, 'm'));
      expect(logLine(daemon.logs(), 'daemon_listening')).toMatchObject({ url: health });
      expect(logLine(daemon.logs(), 'serve_listening', 'serving')).toMatchObject({ url: http, grpc_url: grpc });
      expect(new Set([health, http, grpc].map((url) => new URL(url).port)).size).toBe(3);
      expect(await daemon.stop(), daemon.output()).toBe(0);
      expect(daemon.output()).toMatch(/^SIGTERM: stopping\nStopped\n/m);
    } finally {
      await daemon.stop('SIGKILL');
    }
  }, 90_000);

  it("cuts the serving role's request still in flight on a second signal, and still stops as a stop (exit 0, Stopped), where the signal ended the process", async () => {
    const daemon = startFltsProcess(['daemon', '--roles', 'serving', '--port', '0'], { ...env('second-signal'), FLTS_SERVE_GRPC_PORT: '', FLTS_SERVE_REQUEST_TIMEOUT_MS: '600000', FLTS_SERVE_BODY_IDLE_TIMEOUT_MS: '0', FLTS_SERVE_MIN_BODY_BYTES_PER_SEC: '0' });
    const socket = new Socket();
    try {
      const [, http] = await daemon.waitForOutput(/^serving: inference API on (\S+)$/m);
      socket.on('error', () => {});
      socket.connect(Number(new URL(http).port), '127.0.0.1');
      // In flight once the route asks for its body (100 Continue), which is never sent: the role's drain would wait for it.
      const head = 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n';
      expect(await answerOver(socket, head, (text) => text.includes('\r\n\r\n'))).toMatch(/^HTTP\/1\.1 100 /);
      void daemon.stop('SIGTERM');
      await daemon.waitForOutput(/^SIGTERM: stopping$/m);
      // Before, the second SIGTERM ended the daemon at once by its default action.
      expect(await daemon.stop('SIGTERM'), daemon.output()).toBe(0);
      expect(daemon.output()).toMatch(/^SIGTERM: cutting the requests still in flight .*\nStopped\n/m);
      expect(logLine(daemon.logs(), 'serve_stopped', 'serving')).toMatchObject({ requests_cut: 1, requests_drained: 0 });
    } finally {
      socket.destroy();
      await daemon.stop('SIGKILL');
    }
  }, 90_000);

  it('--json names them too (serving_url, grpc_url beside url), null without a serving role', async () => {
    const serving = startFltsProcess(['daemon', '--roles', 'serving', '--port', '0', '--json'], env('json'));
    const trainer = startFltsProcess(['daemon', '--roles', 'trainer', '--port', '0', '--json'], env('json-trainer'));
    try {
      for (const [daemon, role] of [[serving, 'serving'], [trainer, 'trainer']] as const) {
        await waitUntil(async () => logLine(daemon.logs(), 'daemon_role_started', role), `${role} started`, 60_000, 100);
      }
      const listened = logLine(serving.logs(), 'serve_listening', 'serving')!;
      expect(await serving.stop(), serving.output()).toBe(0);
      expect(await trainer.stop(), trainer.output()).toBe(0);
      const result = (process: typeof serving) => JSON.parse(process.output().split('\n--- stderr')[0]).result;
      expect(result(serving)).toEqual({ url: logLine(serving.logs(), 'daemon_listening')!.url, roles: ['serving'], serving_url: listened.url, grpc_url: listened.grpc_url, stopped_by: 'SIGTERM' });
      expect(result(trainer)).toMatchObject({ roles: ['trainer'], serving_url: null, grpc_url: null });
    } finally {
      await serving.stop('SIGKILL');
      await trainer.stop('SIGKILL');
    }
  }, 90_000);
});
