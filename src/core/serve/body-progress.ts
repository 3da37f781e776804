import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { FltsError } from '../errors.js';

export interface BodyProgressOptions {
  /**
   * serve.bodyIdleTimeoutMs: how long a request body may go without a byte arriving. 0, or not under the request
   * timeout, leaves a stalled body to the request timeout alone.
   */
  idleMs: number;
  /**
   * serve.minBodyBytesPerSec: the least rate a request body may arrive at, over each `rateWindowMs` from its headers
   * on. 0, or a window not under the request timeout, leaves a slow body to the request timeout.
   */
  minBytesPerSec: number;
  /** serve.minBodyRateWindowMs: how long the rate is measured over; the first window is the body's grace period. */
  rateWindowMs: number;
  requestTimeoutMs: number;
  /** How often bodies are looked at: a stalled one is refused between `idleMs` and `idleMs` + this after its last byte. */
  checkEveryMs: number;
  /** The largest body the server reads: a chunked body whose chunk-size lines declare more is refused at that line. */
  bodyLimit: number;
}

export interface BodyProgressWatch {
  stop(): void;
}

/** A connection's request whose body is awaited; kept for the connection's next ones. */
interface Arrival {
  request: IncomingMessage | undefined;
  bytesRead: number;
  since: number;
  /** The bytes read and the time as the window the rate is measured over began. */
  windowBytesRead: number;
  windowSince: number;
  /** The declared Content-Length (0 for a chunked body), and when the request came, for what is left of its timeout. */
  declared: number;
  requestSince: number;
  /** No more than the bytes read before the body began (the whole read its head came in counted as body). */
  bodyFrom: number;
}

/**
 * Refuses, as Node refuses a request past its timeout (through the server's `clientError` handler: a coded answer,
 * then the close), a request body that stops arriving and a chunked body that announces more than the body limit.
 *
 * Node's timeouts do not cover either. `requestTimeout` bounds the whole request, so a body that stops after its
 * headers held its connection and its room in the body budget (serve.maxBodyBytesInFlight) for all of it (30 s by
 * default); the socket's inactivity timeout (fastify's connectionTimeout) cannot stand in, since it also runs while a
 * route works on a request it has read whole, and closes without an answer. Here the bytes a connection has read are
 * looked at every `checkEveryMs` (one interval for the server, as Node checks its request timeouts, rather than a timer
 * a request): a request whose body is not whole and whose connection read nothing for `idleMs` is answered 408
 * FLTS_REQUEST_BODY_STALLED. A body that goes on arriving, a byte every few seconds, is never idle that long: it is
 * held, with the same answer, to a least rate (`minBytesPerSec`, as Kestrel's MinRequestBodyDataRate) measured over
 * windows of `rateWindowMs` one after the other from its headers on, the first its grace period. The rate is measured
 * over each window rather than since the headers, so that a body sent fast at first cannot trickle the rest.
 * A body of declared length that keeps the least rate but, at its last window's rate, would still be arriving as the
 * request timeout falls (8 MiB at 300 bytes/s) is answered the same at that window's end, rather than holding its
 * declared room in the body budget for the whole request timeout before Node refuses it.
 *
 * llhttp takes a chunk-size line of up to 16 hex digits (2^64 - 1 bytes; 17 it refuses, HPE_INVALID_CHUNK_SIZE) and
 * then waits for that many bytes, telling Node nothing until some arrive: a chunk announced past the limit was refused
 * (413) only once the limit's worth of it had been read, and one never sent waited for the request timeout. Node's
 * parser reads the socket natively and keeps the size to itself, so the framing is read again here from the bytes
 * each parse was given (`parser.getCurrentBuffer()` in the parser's execute callback), for chunked requests only, and
 * a chunk that takes the body past the limit is answered 413 FLTS_REQUEST_TOO_LARGE as its size line arrives.
 * Where the bytes before the body cannot be told apart for sure (a request pipelined behind another in one read, or
 * whose head arrived in several), the framing is not read and the body limit and the idle timeout still apply.
 */
export function watchRequestBodies(server: Server, options: BodyProgressOptions): BodyProgressWatch {
  const idleMs = options.idleMs > 0 && options.idleMs < options.requestTimeoutMs ? options.idleMs : 0;
  const windowMs = options.minBytesPerSec > 0 && options.rateWindowMs > 0 && options.rateWindowMs < options.requestTimeoutMs ? options.rateWindowMs : 0;
  const watched = idleMs > 0 || windowMs > 0;
  // By connection, not by request: a request kept until the next look (a second) after it ended made every request of
  // a busy server live that much longer, and the garbage collector pay for it.
  const arriving = new Map<Socket, Arrival>();
  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const { headers } = request;
    const chunked = headers['transfer-encoding'] !== undefined;
    if (!chunked && !(Number(headers['content-length']) > 0)) return;
    const { socket } = request;
    if (watched) {
      const arrival = arriving.get(socket);
      const { bytesRead } = socket;
      const now = performance.now();
      const declared = chunked ? 0 : Number(headers['content-length']);
      const bodyFrom = bytesRead - currentReadLength(socket);
      if (arrival) {
        arrival.request = request;
        arrival.bytesRead = arrival.windowBytesRead = bytesRead;
        arrival.since = arrival.windowSince = arrival.requestSince = now;
        arrival.declared = declared;
        arrival.bodyFrom = bodyFrom;
      } else arriving.set(socket, { request, bytesRead, since: now, windowBytesRead: bytesRead, windowSince: now, declared, requestSince: now, bodyFrom });
    }
    if (chunked) readChunkSizes(server, request, response, options.bodyLimit);
  };
  // First, so that the request is watched whatever the listeners after it do with it.
  server.prependListener('request', onRequest);
  let lastLook = performance.now();
  const timer = watched
    ? setInterval(() => {
        const now = performance.now();
        // A look late by more than an interval follows a blocked event loop: bytes that came meanwhile wait in the
        // socket unread, so silence is counted from now, not from before the block.
        const stalled = now - lastLook > 2 * options.checkEveryMs;
        lastLook = now;
        for (const [socket, arrival] of arriving) {
          const { request } = arrival;
          if (socket.destroyed) arriving.delete(socket);
          else if (request === undefined) continue;
          else if (request.complete) arrival.request = undefined;
          // The server stopped reading (answers the client does not take, a body no one reads yet): the client may
          // be sending all along, so its silence, and its rate, are counted from the reading again.
          else if (stalled || socket.isPaused()) {
            arrival.bytesRead = arrival.windowBytesRead = socket.bytesRead;
            arrival.since = arrival.windowSince = now;
          } else if (idleMs > 0 && socket.bytesRead === arrival.bytesRead && now - arrival.since >= idleMs) {
            arrival.request = undefined;
            refuse(server, socket, new FltsError('FLTS_REQUEST_BODY_STALLED', `The request body stopped arriving: no byte of it came for ${idleMs} ms (serve.bodyIdleTimeoutMs).`));
          } else {
            if (socket.bytesRead !== arrival.bytesRead) {
              arrival.bytesRead = socket.bytesRead;
              arrival.since = now;
            }
            const elapsed = now - arrival.windowSince;
            if (windowMs === 0 || elapsed < windowMs) continue;
            const came = socket.bytesRead - arrival.windowBytesRead;
            // Of a body of declared length: the bytes still to come, and the time the request timeout leaves them.
            const left = arrival.declared > 0 ? arrival.declared - (socket.bytesRead - arrival.bodyFrom) : 0;
            const timeLeftMs = options.requestTimeoutMs - (now - arrival.requestSince);
            if (came * 1000 < options.minBytesPerSec * elapsed) {
              arrival.request = undefined;
              refuse(server, socket, new FltsError('FLTS_REQUEST_BODY_STALLED', `The request body arrived too slowly: ${came} byte${came === 1 ? '' : 's'} of it in the last ${Math.round(elapsed)} ms, under the least rate of ${options.minBytesPerSec} bytes/s (serve.minBodyBytesPerSec).`));
            } else if (cannotFinish(left, came, elapsed, timeLeftMs)) {
              arrival.request = undefined;
              refuse(server, socket, new FltsError('FLTS_REQUEST_BODY_STALLED', `The request body cannot arrive before the request timeout: ${left} of its ${arrival.declared} bytes are still to come, at ${Math.round((came * 1000) / elapsed)} bytes/s (its rate over the last ${Math.round(elapsed)} ms) that takes ${Math.round((left * elapsed) / came)} ms, and the request timeout (serve.requestTimeoutMs) falls in ${Math.max(0, Math.round(timeLeftMs))} ms.`));
            } else {
              arrival.windowBytesRead = socket.bytesRead;
              arrival.windowSince = now;
            }
          }
        }
      }, options.checkEveryMs)
    : undefined;
  timer?.unref();
  const stop = (): void => {
    clearInterval(timer);
    arriving.clear();
    server.off('request', onRequest);
  };
  server.once('close', stop);
  return { stop };
}

/**
 * Whether a body of declared length with `left` bytes still to come, at the rate it came at over the last window
 * (`came` bytes in `elapsed` ms), is still arriving as the request timeout falls, `timeLeftMs` from now: it would hold
 * its room in the body budget (serve.maxBodyBytesInFlight), declared whole, until then, only to be refused. The bytes
 * still to come are counted short (the read the head came in counted as body), and the time left long (from the
 * request's event, after Node's clock for it starts), so that a body that can finish is never refused.
 */
export function cannotFinish(left: number, came: number, elapsed: number, timeLeftMs: number): boolean {
  return left > 0 && came > 0 && left * elapsed > came * timeLeftMs;
}

/**
 * The length of the read the parser is taking a request's head from: its body's first bytes are in it, already counted
 * in the socket's bytesRead. The whole socket buffer (64 KiB) where the parser does not tell.
 */
function currentReadLength(socket: Socket): number {
  const parser = (socket as Socket & { parser?: HttpParser | null }).parser;
  if (parser && typeof parser.getCurrentBuffer === 'function') return parser.getCurrentBuffer().length;
  return 65_536;
}

/** Answers `socket`'s request with `error` through the server's client error handler, as Node's request timeout does. */
function refuse(server: Server, socket: Socket, error: FltsError): void {
  if (socket.destroyed) return;
  if (!server.emit('clientError', error, socket)) socket.destroy();
}

/** The parts of Node's HTTP parser read here; absent in a Node that lacks them, and then nothing is read. */
interface HttpParser {
  getCurrentBuffer?: () => Buffer;
  constructor: { kOnExecute?: number };
  [index: number]: unknown;
}

const OUR_EXECUTE = Symbol('flts.chunkSizes');

function readChunkSizes(server: Server, request: IncomingMessage, response: ServerResponse, bodyLimit: number): void {
  const socket = request.socket as Socket & { parser?: HttpParser | null; _httpMessage?: ServerResponse | null };
  const parser = socket.parser;
  const kOnExecute = parser?.constructor.kOnExecute;
  if (!parser || kOnExecute === undefined || typeof parser.getCurrentBuffer !== 'function') return;
  const nodeExecute = parser[kOnExecute];
  if (typeof nodeExecute !== 'function' || (nodeExecute as { [OUR_EXECUTE]?: boolean })[OUR_EXECUTE]) return;
  // Another answer still on the socket: this request was pipelined behind another, maybe in the same read.
  if (socket._httpMessage !== response) return;
  // The request arrives as the parser reads its head: the bytes of this read start with its request line unless the
  // head came in several reads (or behind the end of another request's body).
  const read = parser.getCurrentBuffer();
  const requestLine = `${request.method} ${request.url} HTTP/`;
  if (read.length < requestLine.length || read.toString('latin1', 0, requestLine.length) !== requestLine) return;
  const headEnd = read.indexOf('\r\n\r\n');
  if (headEnd < 0) return;
  const sizes = chunkSizeReader(bodyLimit);
  const headRead = socket.bytesRead;
  let over = sizes.read(read, headEnd + 4);
  const restore = (): void => {
    if (parser[kOnExecute] === ours) parser[kOnExecute] = nodeExecute;
  };
  const ours = function (this: unknown, ...args: unknown[]): unknown {
    const result = (nodeExecute as (...a: unknown[]) => unknown).apply(this, args);
    // The read of the head was read above; the parser's callback for it comes once the whole read is parsed.
    if (!over && socket.bytesRead !== headRead && !sizes.done && !request.complete) over = sizes.read(parser.getCurrentBuffer!(), 0);
    if (over) {
      restore();
      refuse(server, socket, new FltsError('FLTS_REQUEST_TOO_LARGE', `Request body is larger than the limit of ${bodyLimit} bytes: a chunk of it announces more than that (with the chunks before it).`));
    } else if (sizes.done || request.complete || socket.destroyed) restore();
    return result;
  };
  (ours as unknown as { [OUR_EXECUTE]: boolean })[OUR_EXECUTE] = true;
  parser[kOnExecute] = ours;
}

const CR = 0x0d;
const LF = 0x0a;
const SEMICOLON = 0x3b;

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

const enum At {
  Size,
  Extension,
  SizeEnd,
  Data,
  DataCr,
  DataLf,
}

/**
 * Follows a chunked body's framing (RFC 9112 section 7.1, as strictly as llhttp reads it) across reads; `read` says
 * whether the chunks announced so far take the body past `limit`. Anything llhttp would refuse, and the last chunk,
 * end the reading (`done`): llhttp answers the former itself.
 */
export function chunkSizeReader(limit: number): { read(bytes: Uint8Array, from: number): boolean; readonly done: boolean } {
  let at = At.Size;
  let size = 0;
  let digits = 0;
  let announced = 0;
  let left = 0;
  let done = false;
  return {
    read(bytes, from) {
      for (let i = from; i < bytes.length && !done; i++) {
        const byte = bytes[i];
        switch (at) {
          case At.Size: {
            const digit = hexValue(byte);
            if (digit >= 0) {
              size = size * 16 + digit;
              digits++;
              // Refused as soon as the digits so far pass the limit: the rest of the line can only add to them.
              if (announced + size > limit) return true;
            } else if (digits > 0 && byte === SEMICOLON) at = At.Extension;
            else if (digits > 0 && byte === CR) at = At.SizeEnd;
            else done = true;
            break;
          }
          case At.Extension:
            if (byte === CR) at = At.SizeEnd;
            break;
          case At.SizeEnd:
            if (byte !== LF || size === 0) done = true;
            else {
              announced += size;
              left = size;
              at = At.Data;
            }
            break;
          case At.Data: {
            const skipped = Math.min(left, bytes.length - i);
            left -= skipped;
            i += skipped - 1;
            if (left === 0) at = At.DataCr;
            break;
          }
          case At.DataCr:
            if (byte === CR) at = At.DataLf;
            else done = true;
            break;
          case At.DataLf:
            if (byte === LF) {
              at = At.Size;
              size = 0;
              digits = 0;
            } else done = true;
            break;
        }
      }
      return false;
    },
    get done() {
      return done;
    },
  };
}
