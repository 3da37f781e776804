import { constants as http2Constants, type ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { BodyBudget, BodyTicket } from './body-budget.js';

export interface GrpcMessageBudgetOptions {
  budget: BodyBudget;
  /** The methods whose messages take room (ModelInfer's; the others' are a few bytes). */
  paths: ReadonlySet<string>;
  /** grpc.max_receive_message_length: a message announced past it is refused by grpc-js itself, and takes no room. */
  maxMessageBytes: number;
  /** The HTTP/2 stream of a call, as the interceptor before this one returned it (grpc-connections.ts). */
  streamOf(call: object): ServerHttp2Stream | undefined;
  /** Ends a call the budget refused, coded and counted as its handler's refusals are; `started` is when it arrived. */
  refuse(path: string, call: grpc.ServerInterceptingCallInterface, error: unknown, started: number): void;
}

export interface GrpcMessageBudget {
  readonly interceptor: grpc.ServerInterceptor;
  /** Whether a call's decoded request took its room as it arrived (its handler takes none then). */
  metered(request: unknown): boolean;
  /** The HTTP/2 stream of a call, as `interceptor` returned it to the interceptor after it (undefined where unknown). */
  streamOf(call: object): ServerHttp2Stream | undefined;
}

/** Bytes of the gRPC message prefix: a compression flag and the message's length (4 bytes, big-endian). */
const PREFIX_BYTES = 5;

/**
 * Asks the client of a call answered before its message arrived whole to stop sending the rest, which the server would
 * read only to drop (up to the message limit): RST_STREAM NO_ERROR after the answer (RFC 9113 section 8.1), which Node
 * sends behind the answer's frames. Only once the whole answer is under way: a reset before it would leave the call
 * without a status.
 */
export function stopSending(stream: ServerHttp2Stream): void {
  if (!stream.closed && stream.headersSent && stream.writableEnded) stream.close(http2Constants.NGHTTP2_NO_ERROR);
}

/**
 * A message takes its room in the body budget (serve.maxBodyBytesInFlight) as its length prefix arrives, before its
 * bytes: grpc-js buffers a whole message (up to grpc.max_receive_message_length) before any handler or interceptor sees
 * it, so room taken by the handler left every message still arriving uncounted (40 clients each sending all of an
 * 8 MiB ModelInfer but its last byte held 320 MiB, past a budget of 64; bench/serve-grpc-message-buffering.mjs). The
 * prefix is read off the call's HTTP/2 stream by a listener put before grpc-js's; a message that does not fit is
 * refused at once (RESOURCE_EXHAUSTED FLTS_SERVE_BODIES_IN_FLIGHT), which makes grpc-js drop the rest of it, and its
 * stream is reset so that the client stops sending it, as is the stream of one announced past the message limit. The
 * room is held until the call's status is sent or the call is cancelled (or its stream closes), as the handler held it.
 * A call whose stream is not known (grpc-connections.ts could not tell it) takes its room in its handler, as before.
 */
export function createGrpcMessageBudget(options: GrpcMessageBudgetOptions): GrpcMessageBudget {
  const metered = new WeakSet<object>();
  const streams = new WeakMap<object, ServerHttp2Stream>();
  const interceptor: grpc.ServerInterceptor = (method, call) => {
    const stream = options.streamOf(call);
    if (!stream || !options.paths.has(method.path)) return passedOn(call, stream);
    const started = performance.now();
    let ticket: BodyTicket | undefined;
    const release = (): void => ticket?.release();
    const prefix = Buffer.alloc(PREFIX_BYTES);
    let prefixRead = 0;
    let messageLeft = 0;
    const onData = (chunk: Buffer): void => {
      // Answered by a listener before this one (a model not served, grpc-message-head.ts): no room is to be taken.
      if (stream.headersSent) return void stream.off('data', onData);
      let at = 0;
      while (at < chunk.length) {
        if (messageLeft > 0) {
          const skipped = Math.min(messageLeft, chunk.length - at);
          messageLeft -= skipped;
          at += skipped;
          continue;
        }
        const copied = chunk.copy(prefix, prefixRead, at, Math.min(chunk.length, at + PREFIX_BYTES - prefixRead));
        prefixRead += copied;
        at += copied;
        if (prefixRead < PREFIX_BYTES) return;
        prefixRead = 0;
        messageLeft = prefix.readUInt32BE(1);
        if (messageLeft > options.maxMessageBytes) {
          // grpc-js refuses it in its own listener, next, and reads the rest of the message to drop it.
          process.nextTick(stopSending, stream);
          continue;
        }
        try {
          if (ticket) ticket.grow(messageLeft);
          else ticket = options.budget.take(method.path, messageLeft);
        } catch (error) {
          stream.off('data', onData);
          // Sent before grpc-js's own listener reads this chunk: the call is over for grpc-js, which reads no more of it.
          options.refuse(method.path, call, error, started);
          stopSending(stream);
          return;
        }
      }
    };
    stream.prependListener('data', onData);
    stream.once('close', release);
    const intercepting = new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, nextMessage) => {
            if (ticket && typeof message === 'object' && message !== null) metered.add(message);
            nextMessage(message);
          },
          onCancel: release,
        }),
      sendStatus: (status, next) => {
        try {
          next(status);
        } finally {
          release();
        }
      },
    });
    streams.set(intercepting, stream);
    return intercepting;
  };
  /**
   * A call this interceptor leaves alone, handed on as it came (a layer of grpc-js's ServerInterceptingCall costs every
   * call's events a pass through it), its stream still known to the interceptors after it.
   */
  const passedOn = (call: grpc.ServerInterceptingCallInterface, stream: ServerHttp2Stream | undefined): grpc.ServerInterceptingCall => {
    if (stream) streams.set(call, stream);
    // The connections' interceptor, before this one, returns a ServerInterceptingCall (grpc-js's type asks for one).
    return call as grpc.ServerInterceptingCall;
  };
  return {
    interceptor,
    metered: (request) => typeof request === 'object' && request !== null && metered.has(request),
    streamOf: (call) => streams.get(call),
  };
}
