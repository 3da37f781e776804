import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/core/config/settings.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { createInferenceClient } from '../../src/core/serve/oip-grpc-service.js';
import { createServeMetrics, type ServeMetrics } from '../../src/core/serve/serve-metrics.js';
import { startInferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { answerOver, expectStoppingRefusal, requestAcrossClose } from '../helpers/raw-answer.js';
import { heldSource, postJson, requestData } from './serve-fixtures.js';

describe('serve > a stop drains the requests in flight within its grace', () => {
  let root: string;
  let settings: Settings;
  let release = (): void => {};

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-drain-'));
    const defaults = defaultSettings();
    // No live scoring: its last report is one of the stop's bounded writes, and on a loaded host one that outlived its
    // bound landed in the folder after the test removed it.
    settings = { ...defaults, serve: { ...defaults.serve, port: 0, pollIntervalMs: 0 }, live: { ...defaults.live, enabled: false } };
  });
  afterEach(() => {
    release();
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  const start = async (logger: Logger = silentLogger, metrics?: ServeMetrics) => {
    const held = heldSource();
    const service = await startInferenceService(settings, { store: createFsStore(root), source: held.source, logger, metrics });
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

  it('is not ready from the moment its stop begins, while it still answers the requests in flight and new ones, each closing its connection', async () => {
    const { service, held } = await start();
    const gate = held.hold();
    release = gate.release;
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    const answer = predict(service.url);
    await gate.entered;
    service.beginStop();
    // Before, readiness stayed 200 until close() (a daemon's serving role calls it once its bus companion has stopped).
    const readyz = await fetch(`${service.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.headers.get('connection')).toBe('close');
    expect(await readyz.json()).toMatchObject({ status: 'not_ready', code: 'FLTS_SERVE_STOPPING', run_id: 'run-a' });
    expect((await fetch(`${service.url}/ready`)).status).toBe(503);
    expect(await (await fetch(`${service.url}/v2/health/ready`)).json()).toEqual({ ready: false });
    // Still served: a load balancer takes a while to see the readiness, and what it sends meanwhile is answered.
    const healthz = await fetch(`${service.url}/healthz`);
    expect(healthz.status).toBe(200);
    expect(healthz.headers.get('connection')).toBe('close');
    gate.release();
    const answered = await answer;
    expect(answered.status).toBe(200);
    expect(answered.headers.get('connection')).toBe('close');
    // The request in flight as the stop began is told drained, though answered before close().
    expect(await service.close({ drainMs: 60_000 })).toMatchObject({ requestsDrained: 1, requestsCut: 0 });
  });

  it('refuses, coded and counted, a request that reaches it after its stop closed the listener, and closes that connection', async () => {
    const metrics = createServeMetrics({ processMetrics: false });
    const { service } = await start(silentLogger, metrics);
    const { head, body, ended, stopped } = await requestAcrossClose(service.app.server, 'GET /predict_ping HTTP/1.1', () => service.close({ drainMs: 60_000 }));
    // Before, fastify's own 503, with no code and no Retry-After, counted nowhere.
    expectStoppingRefusal({ head, body, ended });
    await stopped;
    const exported = await metrics.registry.metrics();
    expect(exported).toMatch(/^flts_http_refused_stopping_total 1$/m);
    expect(exported).toMatch(/^flts_http_requests_total\{route="\/predict_ping",method="GET",status="503"\} 1$/m);
  });

  it('answers, coded, the requests of clients that connected just before the stop, which waited unaccepted in the listen queue, where the close reset them', async () => {
    const metrics = createServeMetrics({ processMetrics: false });
    const { service } = await start(silentLogger, metrics);
    const port = Number(new URL(service.url).port);
    const exchanges = Array.from({ length: 5 }, () => rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    // The clients learn of their connections in one turn, and the stop begins in it: Node accepts one connection a turn,
    // so most of them still wait in the listener's queue, and any it took has its request unread.
    await Promise.all(exchanges.map(({ connected }) => connected));
    const stopped = service.close({ drainMs: 60_000 });
    // Before, each of them was reset by the listener's close (ECONNRESET), its request unanswered.
    for (const answer of await Promise.all(exchanges.map(({ answer }) => answer))) expectStoppingRefusal(answer);
    await stopped;
    expect(await metrics.registry.metrics()).toMatch(/^flts_http_refused_stopping_total 5$/m);
  });

  it('cuts the request in flight at a second signal but answers, coded, the clients still waiting in the listen queue, where the cut reset them', async () => {
    const metrics = createServeMetrics({ processMetrics: false });
    const { service, held } = await start(silentLogger, metrics);
    const gate = held.hold();
    release = gate.release;
    const arrived = new Promise((resolve) => service.app.server.once('request', resolve));
    const inFlight = predict(service.url).then(({ status }) => status, (error: unknown) => error);
    await arrived;
    const port = Number(new URL(service.url).port);
    const exchanges = Array.from({ length: 5 }, () => rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    // Connected in one turn, as in the test above, and hurried in it: most of them wait in the queue as the cut comes.
    await Promise.all(exchanges.map(({ connected }) => connected));
    const hurry = new AbortController();
    const stopped = service.close({ drainMs: 600_000, cut: hurry.signal });
    hurry.abort();
    // Before, the cut closed the listener at the next turn and every connection: each of them was reset.
    for (const answer of await Promise.all(exchanges.map(({ answer }) => answer))) expectStoppingRefusal(answer);
    expect(await inFlight).toBeInstanceOf(Error);
    expect(await stopped).toMatchObject({ requestsCut: 1, requestsDrained: 0 });
    expect(await metrics.registry.metrics()).toMatch(/^flts_http_refused_stopping_total 5$/m);
  });

  it('reads and answers a request that reached a kept-alive connection as the stop began, where the close destroyed the connection as idle', async () => {
    const { service } = await start();
    const port = Number(new URL(service.url).port);
    const socket = net.connect(port, '127.0.0.1');
    const first = await answerOver(socket, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', (text) => text.includes('"status"'));
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(first).toMatch(/keep-alive/i);
    // The next request is sent, and the stop begins before the server has read it.
    const second = rawAnswer(socket);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const stopped = service.close({ drainMs: 60_000 });
    // Before, Node's close destroyed the connection as idle, the request unread in its buffer: the client was reset.
    expectStoppingRefusal(await second);
    await stopped;
  });

  it('answers, UNAVAILABLE and coded, the gRPC calls of clients that connected just before the stop, which waited unaccepted in the listen queue, where the close reset them', async () => {
    settings = { ...settings, serve: { ...settings.serve, grpcPort: 0 } };
    const { service } = await start();
    const calls = Array.from({ length: 5 }, () => rawGrpcCall(service.grpc!.port, '/inference.GRPCInferenceService/ServerLive'));
    // Connected in one turn, and the stop begins in it: Node accepts one connection a turn, so most of them wait in the
    // listener's queue, their calls sent.
    await Promise.all(calls.map(({ connected }) => connected));
    const stopped = service.close({ drainMs: 60_000 });
    // Before, the listener closed at once: those still in its queue were reset, their calls unanswered (4 of the 5 here).
    for (const answer of await Promise.all(calls.map(({ answer }) => answer))) expectGrpcStoppingRefusal(answer);
    expect(await stopped).toMatchObject({ grpcCallsCut: 0 });
  });

  it('cuts the gRPC call in flight at a second signal but answers, UNAVAILABLE and coded, the calls of clients still waiting in the listen queue', async () => {
    settings = { ...settings, serve: { ...settings.serve, grpcPort: 0 } };
    const { service, held } = await start();
    const gate = held.hold();
    release = gate.release;
    const client = createInferenceClient(`127.0.0.1:${service.grpc?.port}`);
    const inFlight = modelInfer(client);
    await gate.entered;
    const calls = Array.from({ length: 5 }, () => rawGrpcCall(service.grpc!.port, '/inference.GRPCInferenceService/ServerLive'));
    await Promise.all(calls.map(({ connected }) => connected));
    const hurry = new AbortController();
    const stopped = service.close({ drainMs: 600_000, cut: hurry.signal });
    hurry.abort();
    // Before, the cut reset every connection of the port, and the listener's close those in its queue.
    for (const answer of await Promise.all(calls.map(({ answer }) => answer))) expectGrpcStoppingRefusal(answer);
    expect(await inFlight).toMatchObject({ details: expect.any(String) });
    client.close();
    expect(await stopped).toMatchObject({ grpcCallsCut: 1, grpcCallsDrained: 0 });
  });

  it('answers gRPC ServerReady false from the moment its stop begins', async () => {
    settings = { ...settings, serve: { ...settings.serve, grpcPort: 0 } };
    const { service } = await start();
    const client = createInferenceClient(`127.0.0.1:${service.grpc?.port}`);
    const serverReady = () =>
      new Promise<unknown>((resolve, reject) =>
        (client.ServerReady as (request: object, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void)({}, (error, response) => (error ? reject(error) : resolve(response))),
      );
    expect(await serverReady()).toEqual({ ready: true });
    service.beginStop();
    expect(await serverReady()).toEqual({ ready: false });
    client.close();
    await service.close({ drainMs: 1000 });
  });

  it('counts and logs the gRPC calls still running at the end of the drain, which it cuts', async () => {
    settings = { ...settings, serve: { ...settings.serve, grpcPort: 0 } };
    const warnings: Array<[object, string | undefined]> = [];
    const logger: Logger = { ...silentLogger, warn: (obj, msg) => warnings.push([obj, msg]), child: () => logger };
    const { service, held } = await start(logger);
    const gate = held.hold();
    release = gate.release;
    const client = createInferenceClient(`127.0.0.1:${service.grpc?.port}`);
    const cut = modelInfer(client);
    await gate.entered;
    const report = await service.close({ drainMs: 200 });
    expect(await cut).toMatchObject({ details: expect.any(String) });
    client.close();
    // Before, a gRPC call cut at the stop was counted nowhere: the report and the log line spoke of HTTP requests only.
    expect(report).toMatchObject({ requestsCut: 0, grpcCallsCut: 1, grpcCallsDrained: 0 });
    expect(warnings.filter(([, msg]) => msg === 'serve_stop_requests_cut')).toEqual([[expect.objectContaining({ requests_cut: 0, grpc_calls_cut: 1, grpc_calls_drained: 0 }), 'serve_stop_requests_cut']]);
  });

  it('cuts the HTTP request and the gRPC call still in flight as soon as its owner hurries it (a second signal), not at the end of the drain', async () => {
    settings = { ...settings, serve: { ...settings.serve, grpcPort: 0 } };
    const { service, held } = await start();
    const gate = held.hold();
    release = gate.release;
    const client = createInferenceClient(`127.0.0.1:${service.grpc?.port}`);
    const call = modelInfer(client);
    await gate.entered;
    // Behind the held pass: in flight once the server has its head.
    const arrived = new Promise((resolve) => service.app.server.once('request', resolve));
    const request = predict(service.url).then(({ status }) => status, (error: unknown) => error);
    await arrived;
    const hurry = new AbortController();
    const stopping = service.close({ drainMs: 600_000, cut: hurry.signal });
    hurry.abort();
    // Before, the stop had no way to be hurried: it waited for both up to the drain, here 10 minutes.
    expect(await stopping).toMatchObject({ requestsCut: 1, requestsDrained: 0, grpcCallsCut: 1, grpcCallsDrained: 0 });
    expect(await request).toBeInstanceOf(Error);
    expect(await call).toMatchObject({ details: expect.any(String) });
    client.close();
  });

  it('counts the gRPC calls in flight as the stop began that were answered within their grace as drained, as it counts HTTP requests', async () => {
    settings = { ...settings, serve: { ...settings.serve, grpcPort: 0 } };
    const { service, held } = await start();
    const gate = held.hold();
    release = gate.release;
    const client = createInferenceClient(`127.0.0.1:${service.grpc?.port}`);
    const answered = modelInfer(client);
    await gate.entered;
    // The call is running as the stop begins (readiness turns), and is answered after it, within the grace.
    service.beginStop();
    const stopping = service.close({ drainMs: 60_000 });
    gate.release();
    expect(await answered).toBeNull();
    client.close();
    // Before, the report said nothing of the gRPC calls the stop let finish: only those it cut.
    expect(await stopping).toMatchObject({ requestsDrained: 0, grpcCallsCut: 0, grpcCallsDrained: 1 });
  });
});

/** One ModelInfer call of six rows to `client`; resolves with its error (null once answered). */
function modelInfer(client: grpc.Client): Promise<grpc.ServiceError | null> {
  const data = requestData(6);
  const rows = data.ts.length;
  const request = {
    model_name: 'flts',
    inputs: [
      { name: 'timestamp', datatype: 'BYTES', shape: [rows] },
      { name: 'down', datatype: 'FP64', shape: [rows] },
      { name: 'up', datatype: 'FP64', shape: [rows] },
    ],
    raw_input_contents: [
      Buffer.concat((data.ts as string[]).flatMap((value) => [Buffer.from(Uint32Array.of(Buffer.byteLength(value)).buffer), Buffer.from(value)])),
      Buffer.from(Float64Array.from(data.down as number[]).buffer),
      Buffer.from(Float64Array.from(data.up as number[]).buffer),
    ],
  };
  return new Promise((resolve) => ((client as unknown as { ModelInfer: (request: object, callback: (error: grpc.ServiceError | null) => void) => void }).ModelInfer(request, resolve)));
}

/** What the server sends on `socket` from now until it ends the connection: the last answer's head and body, and how it ended. */
function rawAnswer(socket: net.Socket): Promise<{ head: string; body: string; ended: string }> {
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  return new Promise((resolve) => {
    const end = (ended: string): void => {
      const [head = '', body = ''] = received.split('\r\n\r\n');
      resolve({ head, body, ended });
    };
    socket.once('end', () => end('ended'));
    socket.once('error', (error) => end(`error: ${error.message}`));
  });
}

/** `request` written on a new connection to `port` as soon as it is made: when it is made, and what the server sends until it ends it. */
function rawExchange(port: number, request: string): { connected: Promise<void>; answer: Promise<{ head: string; body: string; ended: string }> } {
  const socket = net.connect(port, '127.0.0.1');
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const answer = rawAnswer(socket);
  socket.write(request);
  return { connected, answer: answer.finally(() => socket.destroy()) };
}

/**
 * A unary gRPC call of an empty message on a new HTTP/2 connection to `port`, sent as soon as it connects: when it
 * connected, and the status it was answered (from its trailers, or a trailers-only answer), or how it failed.
 */
function rawGrpcCall(port: number, path: string): { connected: Promise<void>; answer: Promise<{ status?: string; message?: string; fltsCode?: string; error?: string }> } {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const connected = new Promise<void>((resolve) => session.once('connect', () => resolve()));
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(Buffer.alloc(5));
  stream.resume();
  const answer = new Promise<{ status?: string; message?: string; fltsCode?: string; error?: string }>((resolve) => {
    const statusOf = (headers: http2.IncomingHttpHeaders): void => {
      if (headers['grpc-status'] === undefined) return;
      resolve({ status: String(headers['grpc-status']), message: decodeURIComponent(String(headers['grpc-message'] ?? '')), fltsCode: headers['flts-code'] === undefined ? undefined : String(headers['flts-code']) });
    };
    stream.on('response', statusOf);
    stream.on('trailers', statusOf);
    stream.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    stream.on('close', () => resolve({ error: `closed (rst ${stream.rstCode})` }));
  });
  return { connected, answer: answer.finally(() => session.destroy()) };
}

/**
 * A call refused by a stopping server: UNAVAILABLE (14) with FLTS_SERVE_STOPPING, where it was reset, in the gRPC port's
 * words (calls, the gRPC port), where it was told of HTTP requests.
 */
function expectGrpcStoppingRefusal(answer: { status?: string; message?: string; fltsCode?: string; error?: string }): void {
  expect(answer).toMatchObject({ status: '14', fltsCode: 'FLTS_SERVE_STOPPING', message: expect.stringMatching(/^FLTS_SERVE_STOPPING: /) });
  expect(answer.message).toMatch(/gRPC port takes no new calls; send the call again/);
  expect(answer.message).not.toMatch(/request/);
}
