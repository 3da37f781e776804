import type { Server, ServerResponse } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import { capHttpConnections, type HttpCapClose } from './connection-cap.js';
import { watchRequestBodies } from './body-progress.js';
import { createClientErrorHandler } from './error-handler.js';

/** How long a client may take to send a request, how long an idle connection stays, and how many are open at once. */
export interface ConnectionLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  /** serve.bodyIdleTimeoutMs: how long a request body may go without a byte (body-progress.ts); 0 = the request timeout alone. */
  bodyIdleTimeoutMs: number;
  /** serve.minBodyBytesPerSec: the least rate a request body may arrive at over each serve.minBodyRateWindowMs; 0 = none. */
  minBodyBytesPerSec: number;
  minBodyRateWindowMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  /** How long a request head may take before a newcomer at the cap may take its connection (not a setting; 0.5 s). */
  slowHeadGraceMs?: number;
}

/** The defaults of the serve.* settings of the same names (docs/config.md). */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, bodyIdleTimeoutMs: 5000, minBodyBytesPerSec: 240, minBodyRateWindowMs: 5000, keepAliveTimeoutMs: 72_000, maxConnections: 1024 };

/** The headers timeout is never longer than the request timeout (the whole request includes its headers). */
export function headersTimeoutOf(limits: Pick<ConnectionLimits, 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  return Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
}

/** How often Node looks for requests past their timeouts (30 s by default, here at most 1 s). */
export function checkingIntervalOf(limits: Pick<ConnectionLimits, 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  return Math.max(50, Math.min(1000, Math.floor(headersTimeoutOf(limits) / 4)));
}

/**
 * fastify's options for the limits. A slow or never-finished request is answered 408 (coded, through
 * `clientErrorHandler`) and closed after the request timeout: Node checks pending requests every checking interval.
 * The socket's inactivity timeout closes a connection silent that long while its request is handled (or its answer
 * is stuck in Node's buffers). It is set two checking intervals past the request timeout: a request body that stops
 * arriving leaves the socket silent too, and must meet the request timeout's 408 first, not a close without a word.
 * `onRefused` hears of each request Node refuses before any route (status, and the method once a request line was read;
 * the answer object of a request already handed on, whose body did not arrive whole).
 */
export function connectionOptions(limits: ConnectionLimits, onRefused?: (status: number, method: string | undefined, response: ServerResponse | undefined) => void): FastifyHttpOptions<Server> {
  const headersTimeout = headersTimeoutOf(limits);
  const checkingInterval = checkingIntervalOf(limits);
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.requestTimeoutMs + 2 * checkingInterval,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node answers a missing Host with an empty 400 that no handler hears; installRequestHeadChecks refuses it coded.
    http: { headersTimeout, connectionsCheckingInterval: checkingInterval, requireHostHeader: false },
    clientErrorHandler: createClientErrorHandler({ headersTimeoutMs: headersTimeout, requestTimeoutMs: limits.requestTimeoutMs }, onRefused),
  };
}

/**
 * A client that ends its side of the connection once its request is sent (`nc -N`, `printf ... | nc`, a script that
 * shuts its socket for writing) is answered, then the connection closes. Node ends the connection as the client's end
 * arrives unless told otherwise: a request already read whole was handled (a forecast computed) and its answer
 * dropped, the client hearing nothing but the close. A client that ends its side before its request is whole is still
 * refused (400), and an idle connection ended by its client is closed at once.
 */
export function answerHalfClosedClients(server: Server): void {
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
}

/**
 * A connection beyond the cap takes the place of an idle keep-alive one, or else of the one whose request head has been
 * arriving the longest past a short grace, and is closed as soon as it is accepted when there is neither
 * (connection-cap.ts); `onClose` hears of each connection closed for the cap.
 */
export function capConnections(app: FastifyInstance, limits: ConnectionLimits, onClose?: (what: HttpCapClose) => void): void {
  capHttpConnections(app.server, limits.maxConnections, { onClose, slowHeadGraceMs: limits.slowHeadGraceMs });
}

/**
 * A request body that stops arriving is answered 408 after serve.bodyIdleTimeoutMs, one that arrives slower than
 * serve.minBodyBytesPerSec over a serve.minBodyRateWindowMs likewise, and a chunked one announcing more
 * than `bodyLimit` 413 at the chunk-size line that does (body-progress.ts); both through the server's client error
 * handler, as Node's own timeouts are. Stopped as the server closes.
 */
export function watchBodies(server: Server, limits: ConnectionLimits, bodyLimit: number): void {
  watchRequestBodies(server, {
    idleMs: limits.bodyIdleTimeoutMs,
    minBytesPerSec: limits.minBodyBytesPerSec,
    rateWindowMs: limits.minBodyRateWindowMs,
    requestTimeoutMs: limits.requestTimeoutMs, checkEveryMs: checkingIntervalOf(limits), bodyLimit });
}
