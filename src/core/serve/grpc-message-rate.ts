import type { ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { FltsError } from '../errors.js';
import { cannotFinish } from './body-progress.js';
import { stopSending } from './grpc-message-budget.js';

export interface GrpcMessageRateOptions {
  /**
   * serve.bodyIdleTimeoutMs: how long a call's request may go without a byte arriving, from the call's arrival on. 0, or
   * not under the request timeout, leaves a stalled message to the least rate and the request timeout.
   */
  idleMs: number;
  /** serve.minBodyBytesPerSec: the least rate a call's request may arrive at over each window; 0 = none. */
  minBytesPerSec: number;
  /** serve.minBodyRateWindowMs: how long the rate is measured over; the first window is the call's grace period. */
  rateWindowMs: number;
  /** A window or idle time not under it leaves a slow or stalled message to the request timeout, as on HTTP. */
  requestTimeoutMs: number;
  /** How often calls are looked at, as HTTP bodies are (connection-limits.ts's checking interval). */
  checkEveryMs: number;
  /** The HTTP/2 stream of a call, as the interceptor before this one returned it. */
  streamOf(call: object): ServerHttp2Stream | undefined;
  /** Ends a call refused, coded and counted as its handler's refusals are; `started` is when it arrived. */
  refuse(path: string, call: grpc.ServerInterceptingCallInterface, error: unknown, started: number): void;
}

export interface GrpcMessageRate {
  readonly interceptor: grpc.ServerInterceptor;
  /** The HTTP/2 stream of a call, as `interceptor` returned it to the interceptor after it (undefined where unknown). */
  streamOf(call: object): ServerHttp2Stream | undefined;
  stop(): void;
}

/** Bytes of the gRPC message prefix: a compression flag and the message's length (4 bytes, big-endian). */
const PREFIX_BYTES = 5;

/** A call whose request has not ended yet: its bytes so far, and those and the time as its window began. */
interface Arrival {
  path: string;
  call: grpc.ServerInterceptingCallInterface;
  started: number;
  bytes: number;
  /** The bytes its first message's prefix declares, with the prefix (0 when the prefix came split, unknown). */
  declared: number;
  windowBytes: number;
  windowSince: number;
  /** The bytes as of the last look that saw some arrive, and when that was: its silence is counted from then. */
  idleBytes: number;
  idleSince: number;
}

/**
 * Ends a call whose request stops arriving: no byte of it for serve.bodyIdleTimeoutMs, as HTTP ends a body so
 * (body-progress.ts). A client that sent half a message and then nothing held its call, its room in the body budget and
 * a slot of the connection's 100 until a window of the least rate, or the request timeout where there is none. It is
 * answered DEADLINE_EXCEEDED FLTS_REQUEST_BODY_STALLED (408, as HTTP answers it), between serve.bodyIdleTimeoutMs and
 * that and an interval after its last byte, and its stream reset behind the answer; the connection and its other calls
 * go on.
 *
 * Holds a call's request (its message and end of stream) to serve.minBodyBytesPerSec over each
 * serve.minBodyRateWindowMs from the call's arrival, as HTTP holds a request body (body-progress.ts): a client
 * dribbling a ModelInfer message, a byte every few seconds, held its call, its room in the body budget and a slot of the
 * connection's 100 until the request timeout (30 s by default). One below the rate over a window is answered
 * DEADLINE_EXCEEDED FLTS_REQUEST_BODY_STALLED (408, as HTTP answers it) and its stream reset behind the answer; the
 * connection and its other calls go on. A call whose message, at its rate over the last window, would still be
 * arriving as the request timeout falls (64 KiB at 400 bytes/s) is answered the same at that window's end, from the
 * length its prefix declares, rather than holding its room in the body budget to be refused then. Measured only while grpc-js reads the stream (it pauses it once it has a whole
 * message), and from a look on, not before, when the event loop was blocked past two looks. One interval for the
 * server looks at every call, as HTTP's; each call costs a map entry and a listener of its stream's data, let go of as
 * its request ends. Undefined when the settings leave stalled and slow requests to the request timeout.
 */
export function watchGrpcMessageRate(options: GrpcMessageRateOptions): GrpcMessageRate | undefined {
  const { minBytesPerSec, checkEveryMs } = options;
  const windowMs = minBytesPerSec > 0 && options.rateWindowMs > 0 && options.rateWindowMs < options.requestTimeoutMs ? options.rateWindowMs : 0;
  const idleMs = options.idleMs > 0 && options.idleMs < options.requestTimeoutMs ? options.idleMs : 0;
  if (windowMs === 0 && idleMs === 0) return undefined;
  const arriving = new Map<ServerHttp2Stream, Arrival>();
  // Shared by every stream (`this`), rather than a closure a call.
  function onData(this: ServerHttp2Stream, chunk: Buffer): void {
    const arrival = arriving.get(this);
    if (!arrival) return;
    if (arrival.bytes === 0 && chunk.length >= PREFIX_BYTES) arrival.declared = PREFIX_BYTES + chunk.readUInt32BE(1);
    arrival.bytes += chunk.length;
  }
  function forget(this: ServerHttp2Stream): void {
    arriving.delete(this);
    this.off('data', onData);
    this.off('end', forget);
    this.off('close', forget);
  }
  // The call is handed on as it came, its stream known as it was: this reads the stream, none of the call's events (a
  // layer of ServerInterceptingCall costs each of them a pass). The interceptors before this one return
  // ServerInterceptingCalls, which grpc-js's type asks for.
  const interceptor: grpc.ServerInterceptor = (method, incoming) => {
    const call = incoming as grpc.ServerInterceptingCall;
    const stream = options.streamOf(call);
    if (!stream) return call;
    const now = performance.now();
    arriving.set(stream, { path: method.path, call, started: now, bytes: 0, declared: 0, windowBytes: 0, windowSince: now, idleBytes: 0, idleSince: now });
    stream.prependListener('data', onData);
    stream.on('end', forget);
    stream.on('close', forget);
    return call;
  };
  let lastLook = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    // A look late by more than an interval follows a blocked event loop: bytes that came meanwhile wait unread.
    const late = now - lastLook > 2 * checkEveryMs;
    lastLook = now;
    for (const [stream, arrival] of arriving) {
      // Answered (refused before its message was whole): nothing more of it is awaited.
      if (stream.headersSent) forget.call(stream);
      else if (late || stream.isPaused()) {
        arrival.windowBytes = arrival.idleBytes = arrival.bytes;
        arrival.windowSince = arrival.idleSince = now;
      } else if (idleMs > 0 && arrival.bytes === arrival.idleBytes && now - arrival.idleSince >= idleMs) {
        forget.call(stream);
        const error = new FltsError('FLTS_REQUEST_BODY_STALLED', `The request message stopped arriving: no byte of it came for ${idleMs} ms (serve.bodyIdleTimeoutMs).`);
        options.refuse(arrival.path, arrival.call, error, arrival.started);
        stopSending(stream);
      } else {
        if (arrival.bytes !== arrival.idleBytes) {
          arrival.idleBytes = arrival.bytes;
          arrival.idleSince = now;
        }
        const elapsed = now - arrival.windowSince;
        if (windowMs === 0 || elapsed < windowMs) continue;
        const came = arrival.bytes - arrival.windowBytes;
        const left = arrival.declared > 0 ? arrival.declared - arrival.bytes : 0;
        const timeLeftMs = options.requestTimeoutMs - (now - arrival.started);
        const tooSlow = came * 1000 < minBytesPerSec * elapsed;
        if (tooSlow || cannotFinish(left, came, elapsed, timeLeftMs)) {
          forget.call(stream);
          const error = new FltsError(
            'FLTS_REQUEST_BODY_STALLED',
            tooSlow
              ? `The request message arrived too slowly: ${came} byte${came === 1 ? '' : 's'} of it in the last ${Math.round(elapsed)} ms, under the least rate of ${minBytesPerSec} bytes/s (serve.minBodyBytesPerSec).`
              : `The request message cannot arrive before the request timeout: ${left} of its ${arrival.declared} bytes are still to come, at ${Math.round((came * 1000) / elapsed)} bytes/s (its rate over the last ${Math.round(elapsed)} ms) that takes ${Math.round((left * elapsed) / came)} ms, and the request timeout (serve.requestTimeoutMs) falls in ${Math.max(0, Math.round(timeLeftMs))} ms.`,
          );
          options.refuse(arrival.path, arrival.call, error, arrival.started);
          stopSending(stream);
        } else {
          arrival.windowBytes = arrival.bytes;
          arrival.windowSince = now;
        }
      }
    }
  }, checkEveryMs);
  timer.unref();
  return {
    interceptor,
    streamOf: options.streamOf,
    stop: () => {
      clearInterval(timer);
      arriving.clear();
    },
  };
}
