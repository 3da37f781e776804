import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/core/config/settings.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { startInferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { heldSource, postJson, requestData } from './serve-fixtures.js';

describe('serve > a stop drains the requests in flight within its grace', () => {
  let root: string;
  let settings: Settings;
  let release = (): void => {};

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-drain-'));
    const defaults = defaultSettings();
    settings = { ...defaults, serve: { ...defaults.serve, port: 0, pollIntervalMs: 0 } };
  });
  afterEach(() => {
    release();
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  const start = async (logger: Logger = silentLogger) => {
    const held = heldSource();
    const service = await startInferenceService(settings, { store: createFsStore(root), source: held.source, logger });
    await service.holder.reloadFromPointer();
    return { service, held };
  };
  const predict = (url: string) => postJson(`${url}/predict`, { data: requestData(6), inference_length: 2 });

  it('answers a request in flight that ends within the drain, and says it was drained', async () => {
    const { service, held } = await start();
    const gate = held.hold();
    release = gate.release;
    const answer = predict(service.url);
    await gate.entered;
    const stopping = service.close({ drainMs: 60_000 });
    gate.release();
    expect((await answer).status).toBe(200);
    // Before, the report said nothing of the requests in flight.
    expect(await stopping).toMatchObject({ requestsDrained: 1, requestsCut: 0 });
  });

  it('answers a request in flight with Connection: close, and ends its connection after it rather than resetting the next request', async () => {
    const { service, held } = await start();
    const gate = held.hold();
    release = gate.release;
    const body = JSON.stringify({ data: requestData(6), inference_length: 2 });
    const socket = net.connect(Number(new URL(service.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    const ended = new Promise<string>((resolve) => {
      socket.once('end', () => resolve('ended'));
      socket.once('error', (error) => resolve(`error: ${error.message}`));
    });
    socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await gate.entered;
    const stopping = service.close({ drainMs: 60_000 });
    gate.release();
    // Before, the answer said keep-alive (timeout=72) on a connection the stop then closed: a client's next request
    // on it was reset.
    expect(await ended).toBe('ended');
    await stopping;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/\r\nconnection: close\r\n/i);
    expect(received).not.toMatch(/keep-alive/i);
    socket.destroy();
  });

  it('cuts a request still running at the end of the drain, counts it and logs it in one line', async () => {
    const warnings: Array<[object, string | undefined]> = [];
    const logger: Logger = { ...silentLogger, warn: (obj, msg) => warnings.push([obj, msg]), child: () => logger };
    const { service, held } = await start(logger);
    const gate = held.hold();
    release = gate.release;
    // Settled as it ends (the stop cuts it before anything awaits it): its status, or the client's error.
    const cut = predict(service.url).then(({ status }) => status, (error: unknown) => error);
    await gate.entered;
    // Before, the stop waited for this request as long as it ran (the daemon's role grace then ended the process
    // under it, with no word of it anywhere).
    const report = await service.close({ drainMs: 200 });
    expect(await cut).toBeInstanceOf(Error);
    expect(report).toMatchObject({ requestsDrained: 0, requestsCut: 1 });
    expect(warnings.filter(([, msg]) => msg === 'serve_stop_requests_cut')).toEqual([[expect.objectContaining({ requests_cut: 1, requests_drained: 0, drain_ms: 200 }), 'serve_stop_requests_cut']]);
  });
});
