import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { constants as http2Constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { clip } from '../clip-text.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { DEFAULT_SLOW_HEAD_GRACE_MS, type CapClose } from './connection-cap.js';
import { headerLines } from './access-control.js';
import { DEFAULT_CONNECTION_LIMITS } from './connection-limits.js';
import { answerHttp1OnGrpcPort, whenProtocolKnown } from './grpc-first-bytes.js';
import { createHttp2RefusalLog, isHttp2Refusal, streamsRefused, type Http2Refusal } from './grpc-http2-refusals.js';
import { grpcTimeoutHeader } from './grpc-timeout.js';
import { addressesBeside, type HostLookup } from './listen-addresses.js';
import { DEFAULT_QUEUE_WAIT_MS, whenAcceptQueueEmpty } from './listener-close.js';

export interface GrpcConnectionOptions {
  /**
   * Most connections open at once. As on the HTTP port, one that arrives beyond it takes the place of the connection
   * idle the longest, which is sent GOAWAY, and is closed as soon as it is accepted only when none is idle.
   */
  maxConnections: number;
  /** A connection closed for `maxConnections`: an idle one closed to admit a new one, or the new one refused. */
  onClosedAtCap?: (what: CapClose) => void;
  /** Longest time answers may wait on a connection with none of them taken by the client; the connection is reset beyond it. */
  stallMs: number;
  /**
   * Longest time a new connection has to open its first call (HTTP/2's preface, then a call's HEADERS), as an HTTP
   * connection has to send its headers (default the headers timeout's default); one that has not is closed. grpc-js
   * closes none that never sent a byte, and one that sent the preface alone only as its keepalive ends it (a minute),
   * while the cap counts it busy: a few of them held the port shut to every other client. A connection that made a
   * call keeps it open as long as it is not idle past grpc-js's limits.
   */
  firstCallTimeoutMs?: number;
  /** A connection closed for not opening its first call in time. */
  onFirstCallTimeout?: () => void;
  /** The HTTP API's port, which an HTTP/1.x request on this one is answered a 400 naming. */
  httpPort?: number;
  /** An HTTP/1.x request answered that 400 (grpc-js would have sent it HTTP/2 frames it cannot read). */
  onHttp1Refused?: () => void;
  logger: Logger;
  /**
   * A call grpc-js answered itself with `status` before any handler could (a message over the size limit, a malformed
   * grpc-timeout, a path outside the service, a unary call without exactly one message, a deadline that passed before
   * the call reached its handler), with the path the client asked for, the time from the call's arrival to the answer,
   * and the flts code the answer carries (`flts-code`), if any.
   */
  onAnsweredByGrpcJs?: (path: string, status: number, seconds: number, fltsCode: string | undefined) => void;
  /**
   * A call whose stream closed before any answer was sent and before it reached its handler: its client reset it (a
   * grpc-js client's cancel is RST_STREAM CANCEL) or closed the connection. No code of flts saw it, so no other count
   * has it; a call that reached its handler is its handler's to count, a cancel included.
   */
  onAbandoned?: (path: string) => void;
  /**
   * Calls Node's HTTP/2 layer refused before grpc-js was handed them (no path nor status reaches JavaScript), `count`
   * of them: reset alone (`stream`), counted when the next call on their connection arrives or the connection ends
   * (also with GOAWAY for what its client sent), or with their whole connection (`connection`, one a connection). They are logged here too, at most a line per 10 s.
   */
  onRefusedByHttp2?: (what: Http2Refusal, count: number) => void;
  /** How the other addresses of `localhost` are found (dns.lookup, every address). */
  lookupHost?: HostLookup;
  /**
   * The status of a call that reached the port once its close began (UNAVAILABLE FLTS_SERVE_STOPPING), with the path
   * it asked for and when it arrived; counted by the caller. Without it such a call runs as any other.
   */
  refusalAtStop?: (path: string, arrived: number) => grpc.StatusObject;
  /** See DEFAULT_QUEUE_WAIT_MS (listener-close.ts); `close`'s grace bounds it too. */
  queueWaitMs?: number;
  /**
   * How long a connection accepted while the listener closed is kept open after the close (its calls refused at once),
   * before it is sent GOAWAY: its client's call may be on its way still (DEFAULT_SLOW_HEAD_GRACE_MS, connection-cap.ts).
   */
  lateConnectionGraceMs?: number;
  /** Told as the listening sockets close, as GentleCloseOptions.onListenerClosed. */
  onListenerClosed?: (closing: { accepted: number; waitedMs: number; queueEmpty: boolean }) => void;
}

export interface GrpcConnections {
  /** Follows each call's answer until its client has taken it; put first among the server's interceptors, it sees every answer. */
  readonly interceptor: grpc.ServerInterceptor;
  /**
   * Listens on `host:port` (0 = any free port), on every address the HTTP API binds for `host` (both loopbacks of
   * `localhost`), and hands each connection to `server`; resolves with the port.
   */
  listen(server: grpc.Server, host: string, port: number): Promise<number>;
  /**
   * Stops taking calls, as the HTTP listener's gentle close (listener-close.ts) stops taking requests: the connections
   * open are sent GOAWAY at once (their calls in flight go on; a client sends its next call on a new connection), and
   * the listening sockets close after the first turn of the event loop that accepted no connection and ended no call
   * (within DEFAULT_QUEUE_WAIT_MS and `graceMs`), so a client whose connection waits in the kernel's accept queue is
   * accepted rather than reset. A call that arrives from now on is answered `refusalAtStop` once the listeners are
   * closed (refused at once, a client with nowhere else to go would call again at once and keep the queue from ever
   * emptying); the connections grpc-js did not send GOAWAY are sent it `lateConnectionGraceMs` after the listeners
   * closed. Every connection still open after `graceMs` is closed.
   */
  close(graceMs: number): void;
  /**
   * Ends the calls open but those refused at the stop (RST_STREAM CANCEL), and leaves the refusals and the listeners'
   * close to go on; every connection is closed soon after the listeners are. Returns how many calls it ended.
   */
  cut(): number;
  /** Settles once the listeners are closed and every connection has ended (within close's grace). */
  whenClosed(): Promise<void>;
  /** Calls with a stream open now (arriving, running, or answered and not yet taken by their client): those a stop's cut ends, but for those refused at the stop. */
  readonly callsOpen: number;
  /** The streams of the calls open now, for telling later which of them ended (a stop's drained calls). */
  openCalls(): ReadonlySet<ServerHttp2Stream>;
  /** Whether the call of `stream` is open still. */
  isOpen(stream: ServerHttp2Stream): boolean;
  /** Settles once no call has a stream open (at once when none has). */
  whenNoCallsOpen(): Promise<void>;
  /** The HTTP/2 stream of a call, as `interceptor` returned it to the interceptor after it (undefined where unknown). */
  streamOf(call: object): ServerHttp2Stream | undefined;
  /**
   * Whether the HEADERS of `stream` carried more than one `authorization` field: Node's headers object (and so
   * grpc-js's metadata) keeps the first and drops the others unseen. False where the raw headers were not seen.
   */
  repeatsAuthorization(stream: ServerHttp2Stream): boolean;
}

interface Connection {
  socket: Socket;
  closed: boolean;
  /** Calls whose status is sent and whose answer the client has not taken yet. */
  waiting: number;
  stall?: NodeJS.Timeout;
  /** The HTTP/2 session grpc-js runs on the socket, known from its first call. */
  session?: Http2Session;
  /** Its streams (calls) open now. */
  streams: number;
  /** The id of the last stream grpc-js was handed on it (-1 before the first): the ids between are calls Node refused. */
  lastStreamId: number;
  /** Its calls grpc-js was handed, and those Node refused, so far: together at most one per 10 bytes it sent. */
  calls: number;
  /** Closes it unless a call opens before `firstCallTimeoutMs`. */
  firstCall?: NodeJS.Timeout;
}

/**
 * The gRPC port's connections, accepted here and handed to grpc-js through its connection injector: grpc-js's own
 * listener has no connection cap, and no way to see a client that stops taking its answers. HTTP/2 flow control
 * keeps an answer the client does not read in the server's memory, and a client that still answers pings keeps its
 * connection for good (200 calls of 10,000 rows held 125 MB of answers). A call's answer is taken once grpc-js
 * sends its trailers, after the last byte of the message; a connection where answers wait and none is taken for
 * `stallMs` is reset, which frees them, as the HTTP port closes a connection silent that long.
 */
export function createGrpcConnections(options: GrpcConnectionOptions): GrpcConnections {
  const connections = new Map<string, Connection>();
  /** The connections counted against the cap: open ones, but for those sent GOAWAY to make room (closing). */
  const held = new Set<Connection>();
  /** Connections with no call open since their last call closed, the longest idle first. */
  const idle = new Set<Connection>();
  const keyOf = (address: string | undefined, port: number | undefined): string => `${address}|${port}`;
  const lateConnectionGraceMs = options.lateConnectionGraceMs ?? DEFAULT_SLOW_HEAD_GRACE_MS;
  const closeEvery = (): void => {
    for (const connection of connections.values()) connection.socket.destroy();
  };
  const settleNoConnections = (): void => {
    for (const settle of noConnections) settle();
    noConnections = [];
  };
  let closeListener: (() => void) | undefined;
  let drain: ((graceMs: number) => void) | undefined;
  let listeningPort: number | undefined;
  /** Set as close() begins: the calls that arrive from then on are refused. */
  let closing = false;
  let listenersClosed = false;
  let onListenersClosed: () => void = () => {};
  const whenListenersClosed = new Promise<void>((resolve) => (onListenersClosed = resolve));
  /** Connections accepted and calls ended: the activity a closing listener waits to see stop for a turn. */
  let acceptedCount = 0;
  let callsEnded = 0;
  /** Calls refused at the stop: a cut leaves them to their refusal, and does not count them. */
  const refusedStreams = new WeakSet<ServerHttp2Stream>();
  let noConnections: Array<() => void> = [];
  const open = new Set<ServerHttp2Stream>();
  let noCallsOpen: Array<() => void> = [];
  // Set while a status from the interceptors goes down to grpc-js, which writes it at once: any other status written
  // on this port's streams is one grpc-js sent from below every interceptor, which they see only as a cancel.
  let fromInterceptors = false;
  /** The path each of this port's streams asked for, and when it arrived (performance.now()). */
  const requests = new WeakMap<ServerHttp2Stream, { path: string; arrived: number }>();
  /**
   * Streams whose call reached its handler (a whole message, then the end of the request): the handler counts its
   * own outcome, a cancel by a deadline that passes while it runs included, so a status grpc-js sends on one of them
   * is not counted again.
   */
  const handled = new WeakSet<ServerHttp2Stream>();
  /**
   * The streams whose calls grpc-js is being handed now, oldest first. grpc-js builds a call's interceptors as its
   * http2 server emits the stream, in the turn the stream is published here (a microtask later it is no longer
   * arriving): the interceptor takes its call's stream from here, as grpc-js's interceptor API hands it none. Several
   * are published before the first is emitted when Node reads a connection's first bytes from its socket's buffer (put
   * back there once they told HTTP/2 from HTTP/1.x) rather than from the network: all the calls they hold at once.
   */
  const arriving: ServerHttp2Stream[] = [];
  /** Streams an interceptor took as its call's. */
  const claimed = new WeakSet<ServerHttp2Stream>();
  /**
   * False once a call's stream could not be told (a grpc-js that builds interceptors later): whether a call reached its
   * handler is then unknown, so the counts that depend on it (a deadline's answer, a call left before any answer) are
   * no longer made, rather than made twice for calls whose handler counts them.
   */
  let streamsKnown = true;
  const logRefusal = createHttp2RefusalLog(options.logger);
  const refused = (connection: Connection, what: Http2Refusal, count: number, error?: { message: string; errno?: number }): void => {
    if (count === 0) return;
    options.onRefusedByHttp2?.(what, count);
    logRefusal(what, count, { remote: connection.socket.remoteAddress, reason: error?.message, errno: error?.errno });
  };
  /** Counts the calls Node refused on `connection` since the last one grpc-js was handed, through stream id `throughId`. */
  const refusedThrough = (connection: Connection, throughId: number): void => {
    const count = streamsRefused(connection.lastStreamId, throughId, connection.socket.bytesRead, connection.calls);
    connection.calls += count;
    connection.lastStreamId = Math.max(connection.lastStreamId, throughId);
    refused(connection, 'stream', count);
  };
  /**
   * The calls Node refused after the last one grpc-js was handed, read as the connection ends from nghttp2's last
   * processed stream id (a call it reset past the header limits counts; one refused past the cap does not, never
   * processed), every call of a connection none of whose calls reached grpc-js included (its session is known from
   * the HTTP/2 server's 'session' event). Unknown once Node has destroyed the session (a connection it ended itself).
   */
  const refusedAtEnd = (connection: Connection): void => {
    const session = connection.session;
    if (!session || session.destroyed) return;
    const { lastProcStreamID } = session.state;
    if (lastProcStreamID !== undefined) refusedThrough(connection, lastProcStreamID);
  };
  /**
   * Takes `session` as the connection's, and reads the calls Node refused on it as it ends: Node destroys a session it
   * ends for what its client sent (GOAWAY) before any listener of the socket hears why, and its state with it, so the
   * calls reset just before were counted with nothing, as if the connection alone had been refused. The last call read
   * before such an end is counted with the connection (a header block HPACK cannot decode is a call's, and ends it).
   */
  const knowSession = (connection: Connection, session: Http2Session): void => {
    if (connection.session) return;
    connection.session = session;
    const destroy = session.destroy.bind(session);
    session.destroy = (error?: Error, code?: number) => {
      if (!session.destroyed) {
        const { lastProcStreamID } = session.state;
        // The last call read may be the one whose frames ended the connection: counted with it.
        const withConnection = error && isHttp2Refusal(error) ? 2 : 0;
        if (lastProcStreamID !== undefined) refusedThrough(connection, lastProcStreamID - withConnection);
      }
      return destroy(error, code);
    };
  };
  /** The connection of one of this port's streams; undefined for another server's (the channels are the process's). */
  const connectionOf = (stream: ServerHttp2Stream): Connection | undefined => {
    const socket = stream.session?.socket;
    return socket?.localPort === listeningPort ? connections.get(keyOf(socket?.remoteAddress, socket?.remotePort)) : undefined;
  };
  // Node's http2 diagnostics channels (Node 24; without them such calls go uncounted and uncoded, as before): grpc-js (1.14)
  // has no hook for the statuses it sends itself. A stream is published here before grpc-js is handed it.
  const onStreamCreated = (message: unknown): void => {
    const { stream, headers } = message as { stream: ServerHttp2Stream; headers: IncomingHttpHeaders };
    const connection = connectionOf(stream);
    if (!connection) return;
    clearTimeout(connection.firstCall);
    followStream(connection, stream);
    connection.calls++;
    // Its client's id, from its HEADERS frame (Node types it optional for a client stream not yet sent).
    if (stream.id !== undefined) {
      refusedThrough(connection, stream.id - 2);
      connection.lastStreamId = stream.id;
    }
    arriving.push(stream);
    queueMicrotask(() => {
      const at = arriving.indexOf(stream);
      if (at >= 0) arriving.splice(at, 1);
    });
    const path = String(headers[':path'] ?? '');
    requests.set(stream, { path, arrived: performance.now() });
    // Every answer (grpc-js's, the interceptors', a handler's) starts with respond(), so headers sent means counted.
    stream.once('close', () => {
      if (streamsKnown && !stream.headersSent && !handled.has(stream)) options.onAbandoned?.(path);
    });
    const timeout = headers[GRPC_TIMEOUT] === undefined ? undefined : String(headers[GRPC_TIMEOUT]);
    if (timeout !== undefined) saneGrpcTimeout(headers, timeout);
    const respond = stream.respond.bind(stream);
    stream.respond = (answer, respondOptions) =>
      respond(answer && !Array.isArray(answer) ? codedGrpcJsAnswer(answer as OutgoingHttpHeaders, { contentType: headers['content-type'], timeout }) : answer, respondOptions);
  };
  const onStreamFinish = (message: unknown): void => {
    const { stream, headers } = message as { stream: ServerHttp2Stream; headers: Record<string, unknown> };
    const request = requests.get(stream);
    // Only a trailers-only answer carries grpc-status in its headers; grpc-js sends its own statuses before any message.
    if (fromInterceptors || request === undefined || handled.has(stream) || headers['grpc-status'] === undefined) return;
    // A deadline's answer on a call whose handler may be running, which counts it itself.
    if (!streamsKnown && Number(headers['grpc-status']) === grpc.status.DEADLINE_EXCEEDED) return;
    // Published as respond() writes the answer: the time is the call's, as long as grpc-js took to refuse it.
    const fltsCode = headers['flts-code'] === undefined ? undefined : String(headers['flts-code']);
    options.onAnsweredByGrpcJs?.(request.path, Number(headers['grpc-status']), (performance.now() - request.arrived) / 1000, fltsCode);
  };

  /**
   * Idle is what grpc-js's own max_connection_idle_ms counts as idle: no stream open. A call's stream closes once its
   * trailers are sent (the answer before them taken by flow control), and a new call opens one as soon as its HEADERS
   * frame is read, so a connection with a call arriving or unanswered is busy. The frames a client sends by itself
   * after an answer (WINDOW_UPDATE, a ping's ack) are not calls and leave it idle: counted, they would keep every
   * connection of a client that answers the server's keepalive pings busy for good. A connection that has not opened
   * its first call is not idle (the first call's timeout bounds it), as an HTTP connection not asking yet.
   */
  const followStream = (connection: Connection, stream: ServerHttp2Stream): void => {
    if (stream.session) knowSession(connection, stream.session);
    connection.streams++;
    open.add(stream);
    idle.delete(connection);
    stream.once('close', () => {
      connection.streams--;
      callsEnded++;
      open.delete(stream);
      if (open.size === 0 && noCallsOpen.length > 0) {
        for (const settle of noCallsOpen) settle();
        noCallsOpen = [];
      }
      if (connection.streams === 0 && held.has(connection)) idle.add(connection);
    });
  };
  /**
   * Closes the connection idle the longest with GOAWAY, as grpc-js closes one idle for max_connection_idle_ms: a call
   * its client sends meanwhile carries a stream id past the GOAWAY's last one, which tells the client it was not
   * processed and may be sent again on another connection (grpc-js and grpc-core clients do so by themselves).
   */
  const closeOldestIdle = (): boolean => {
    for (const connection of idle) {
      idle.delete(connection);
      const session = connection.session;
      if (connection.closed || connection.streams > 0 || !session || session.closed || session.destroyed) continue;
      held.delete(connection);
      session.close();
      return true;
    }
    return false;
  };

  const reset = (connection: Connection): void => {
    options.logger.warn({ remote: connection.socket.remoteAddress, waiting: connection.waiting, stall_ms: options.stallMs }, 'grpc_answers_not_taken');
    connection.socket.resetAndDestroy();
  };
  const answered = (connection: Connection): void => {
    if (connection.closed) return;
    connection.waiting++;
    connection.stall ??= setTimeout(() => reset(connection), options.stallMs);
  };
  const taken = (connection: Connection): void => {
    if (connection.closed) return;
    connection.waiting--;
    // Another answer taken is progress: the remaining ones get a full period again.
    if (connection.waiting > 0) connection.stall?.refresh();
    else {
      clearTimeout(connection.stall);
      connection.stall = undefined;
    }
  };

  /**
   * The stream of the call whose interceptors grpc-js is building (see `arriving`), checked against the call's path and
   * connection. A stream its client reset in the read that opened it (a call cancelled at once, on a connection's first
   * bytes) is destroyed before grpc-js is handed it, and has no session left: neither it nor its call (`connection`
   * undefined) tells its connection, so it is told by its path alone. Passed over, it left the call unknown, and the
   * counts that depend on knowing calls were given up for the rest of the process.
   */
  const streamOfCall = (path: string, connection: Connection | undefined): ServerHttp2Stream | undefined => {
    // Those before it were emitted before it and given no interceptors (grpc-js answered them itself): passed over.
    for (let stream = arriving.shift(); stream !== undefined; stream = arriving.shift()) {
      const sameConnection = connection ? connectionOf(stream) === connection : stream.destroyed;
      if (!claimed.has(stream) && sameConnection && requests.get(stream)?.path === path && !stream.headersSent) {
        claimed.add(stream);
        return stream;
      }
    }
    if (streamsKnown) options.logger.warn({ path: clip(path, 100) }, 'grpc_call_stream_unknown');
    streamsKnown = false;
    return undefined;
  };

  const interceptor: grpc.ServerInterceptor = (method, call) => {
    const { remoteAddress, remotePort } = call.getConnectionInfo();
    const connection = connections.get(keyOf(remoteAddress, remotePort));
    // Without Node's diagnostics channels (before Node 24) a call is first seen here.
    if (connection) clearTimeout(connection.firstCall);
    const stream = streamOfCall(method.path, connection);
    if (closing && options.refusalAtStop) return refusedAtStop(method.path, call, stream);
    let messages = 0;
    let waiting = false;
    // A call ends once: a handler that finishes after its client cancelled still sends (grpc-js drops it).
    let ended = false;
    const wait = (): void => {
      if (!connection || waiting || ended) return;
      waiting = true;
      answered(connection);
    };
    const intercepting = new grpc.ServerInterceptingCall(call, {
      // grpc-js ends every call through onCancel: once its trailers are sent, or when its stream closes first.
      start: (next) =>
        next({
          onReceiveMessage: (message, nextMessage) => {
            messages++;
            nextMessage(message);
          },
          // grpc-js calls a unary handler once the request ends after exactly one message (any other is refused).
          onReceiveHalfClose: (nextHalfClose) => {
            // A stream its client reset ends its request too (Node ends its readable side): the client is gone, so
            // the call never reaches its handler (which would count it answered) and is counted as abandoned.
            if (stream?.closed) return;
            if (stream && messages === 1) handled.add(stream);
            nextHalfClose();
          },
          onCancel: () => {
            ended = true;
            if (!waiting || !connection) return;
            waiting = false;
            taken(connection);
          },
        }),
      // From its message on: the status of a call with one waits (in grpc-js) until the message is written.
      sendMessage: (message, next) => {
        wait();
        next(message);
      },
      sendStatus: (status, next) => {
        wait();
        // grpc-js's own refusal of a call with no whole message or a second one passes here, as its handler's status
        // would, though no handler ever saw the call: it is counted as grpc-js's other refusals are.
        fromInterceptors = !isUnaryMessageRefusal(status.details);
        try {
          next(status);
        } finally {
          fromInterceptors = false;
        }
      },
    });
    if (stream) streamsOfCalls.set(intercepting, stream);
    return intercepting;
  };
  const streamsOfCalls = new WeakMap<object, ServerHttp2Stream>();
  const repeatedAuthorization = new WeakSet<ServerHttp2Stream>();

  /**
   * A call that reached the port once its close began: its handler never runs (nor the interceptors after this one,
   * which see no message), and it is answered `refusalAtStop` once the listeners are closed.
   */
  const refusedAtStop = (path: string, call: grpc.ServerInterceptingCallInterface, stream: ServerHttp2Stream | undefined): grpc.ServerInterceptingCall => {
    const arrived = performance.now();
    if (stream) refusedStreams.add(stream);
    let ended = false;
    void whenListenersClosed.then(() => {
      if (ended) return;
      fromInterceptors = true;
      try {
        call.sendStatus(options.refusalAtStop!(path, arrived));
      } finally {
        fromInterceptors = false;
      }
    });
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: () => {},
          onReceiveHalfClose: () => {},
          onCancel: () => {
            ended = true;
          },
        }),
    });
  };

  return {
    interceptor,
    streamOf: (call) => streamsOfCalls.get(call),
    repeatsAuthorization: (stream) => repeatedAuthorization.has(stream),
    listen(server, host, port) {
      const { injector, http2Server } = createInjector(server);
      // A session is known from its first call otherwise: a connection whose every call Node refused would end uncounted.
      http2Server?.on('session', (session: Http2Session) => {
        const socket = session.socket;
        const connection = connections.get(keyOf(socket?.remoteAddress, socket?.remotePort));
        if (connection) knowSession(connection, session);
      });
      // Only the 'stream' event has a call's raw headers; before grpc-js's own listener, which starts the call.
      http2Server?.prependListener('stream', (stream: ServerHttp2Stream, _headers: unknown, _flags: unknown, rawHeaders: unknown) => {
        if (Array.isArray(rawHeaders) && headerLines(rawHeaders as string[], 'authorization') > 1) repeatedAuthorization.add(stream);
      });
      // net.Server's own maxConnections would refuse a newcomer even when every connection held is idle.
      const accept = (socket: Socket): void => {
        if (held.size >= options.maxConnections) {
          // The one sent GOAWAY leaves the count at once, as on the HTTP port: the next newcomer sees the room made.
          const madeRoom = closeOldestIdle();
          options.onClosedAtCap?.(madeRoom ? 'idle' : 'refused');
          if (!madeRoom) {
            socket.destroy();
            return;
          }
        }
        const key = keyOf(socket.remoteAddress, socket.remotePort);
        acceptedCount++;
        const connection: Connection = { socket, closed: false, waiting: 0, streams: 0, lastStreamId: -1, calls: 0 };
        connections.set(key, connection);
        held.add(connection);
        // Before Node's own listeners (added as grpc-js is handed the socket), which destroy the session.
        socket.on('error', (error) => {
          if (isHttp2Refusal(error)) refused(connection, 'connection', 1, error);
        });
        connection.firstCall = setTimeout(() => {
          // A call's HEADERS Node read count even when it refused the call: the client asked, and is answered. Every
          // call of such a connection was refused (one grpc-js was handed clears this timer), so it never had a stream
          // to close: it is idle from now on, or it held its place at the cap as busy until grpc-js's idle timeout.
          if (openedStream(connection.session)) {
            if (held.has(connection) && connection.streams === 0) idle.add(connection);
            return;
          }
          options.onFirstCallTimeout?.();
          socket.destroy();
        }, options.firstCallTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.headersTimeoutMs);
        socket.once('close', () => {
          clearTimeout(connection.firstCall);
          refusedAtEnd(connection);
          connection.closed = true;
          clearTimeout(connection.stall);
          connections.delete(key);
          held.delete(connection);
          idle.delete(connection);
          if (connections.size === 0 && listenersClosed) settleNoConnections();
        });
        whenProtocolKnown(socket, (protocol) => {
          if (protocol === 'http2') return injector.injectConnection(socket);
          // Counted with its 400, and closed once the answer is written.
          clearTimeout(connection.firstCall);
          options.onHttp1Refused?.();
          answerHttp1OnGrpcPort(socket, options.httpPort);
        });
      };
      const listeners: Server[] = [];
      subscribe('http2.server.stream.created', onStreamCreated);
      if (options.onAnsweredByGrpcJs) subscribe('http2.server.stream.finish', onStreamFinish);
      closeListener = () => {
        for (const listener of listeners) listener.close();
        unsubscribe('http2.server.stream.created', onStreamCreated);
        unsubscribe('http2.server.stream.finish', onStreamFinish);
      };
      drain = (graceMs) => injector.drain(graceMs);
      const listenOn = (address: string, onPort: number): Promise<AddressInfo> => {
        // noDelay as Node's HTTP servers: a small answer is not held back waiting for the client's ACK.
        const listener = createServer({ noDelay: true }, accept);
        listeners.push(listener);
        return new Promise<AddressInfo>((resolve, reject) => {
          listener.once('error', reject);
          listener.listen({ host: address, port: onPort }, () => {
            listener.off('error', reject);
            // An accept that fails later (out of file descriptors) is logged; unheard, it would end the process.
            listener.on('error', (error) => options.logger.warn({ err: error.message }, 'grpc_accept_failed'));
            resolve(listener.address() as AddressInfo);
          });
        });
      };
      return (async () => {
        const bound = await listenOn(host, port);
        listeningPort = bound.port;
        // The other addresses fastify binds for the host (both loopbacks of `localhost`), on the port the first took; one
        // that cannot be bound (no IPv6 on the machine) is left out, as fastify leaves it out of the HTTP API.
        for (const address of await addressesBeside(host, bound.address, options.lookupHost)) {
          await listenOn(address, bound.port).catch((error: NodeJS.ErrnoException) => options.logger.warn({ address, port: bound.port, errno: error.code, err: error.message }, 'grpc_listen_address_skipped'));
        }
        return bound.port;
      })();
    },
    close(graceMs) {
      if (closing) return;
      closing = true;
      const acceptedBefore = acceptedCount;
      // GOAWAY: a client sends its next call on a new connection, which the listener still accepts while its queue empties.
      drain?.(graceMs);
      const queueWaitMs = Math.min(options.queueWaitMs ?? DEFAULT_QUEUE_WAIT_MS, graceMs);
      void whenAcceptQueueEmpty(() => acceptedCount + callsEnded, queueWaitMs).then(({ waitedMs, queueEmpty }) => {
        closeListener?.();
        listenersClosed = true;
        options.onListenerClosed?.({ accepted: acceptedCount - acceptedBefore, waitedMs, queueEmpty });
        onListenersClosed();
        // The connections grpc-js's drain did not know (accepted meanwhile, or before it but with no session yet): sent
        // GOAWAY once their client had time to call.
        setTimeout(() => {
          for (const connection of connections.values()) {
            if (connection.session && !connection.session.closed) connection.session.close();
            else if (!connection.session) connection.socket.destroy();
          }
        }, Math.min(lateConnectionGraceMs, graceMs)).unref();
        if (connections.size === 0) settleNoConnections();
      });
      // The grace bounds it all: what is open then is closed, grpc-js's drain resets the sessions it knows.
      setTimeout(closeEvery, graceMs).unref();
    },
    cut() {
      let cut = 0;
      for (const stream of open) {
        if (refusedStreams.has(stream)) continue;
        cut++;
        stream.close(http2Constants.NGHTTP2_CANCEL);
      }
      // What is left (the refusals, connections that asked nothing yet) ends with the listeners' close and the GOAWAY
      // after it; a client that holds its connection open past that is closed.
      void whenListenersClosed.then(() => setTimeout(() => closeEvery(), 2 * lateConnectionGraceMs).unref());
      return cut;
    },
    whenClosed: () => (listenersClosed && connections.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => noConnections.push(resolve))),
    get callsOpen() {
      return open.size;
    },
    openCalls: () => new Set(open),
    isOpen: (stream) => open.has(stream),
    whenNoCallsOpen: () => (open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => noCallsOpen.push(resolve))),
  };
}

/** Whether nghttp2 has read a stream's HEADERS on `session` (a call, refused by Node or not). */
function openedStream(session: Http2Session | undefined): boolean {
  if (!session || session.destroyed) return false;
  return (session.state.lastProcStreamID ?? 0) > 0;
}

/**
 * A connection injector of `server`, with the HTTP/2 server grpc-js runs its connections on: found in grpc-js's
 * (1.14) private list of its HTTP/2 servers, as the one the injector added, since grpc-js hands it to no one. Its
 * 'session' event is the only sign of a session before one of its calls reaches grpc-js. Undefined when grpc-js keeps
 * its servers otherwise: the calls of connections none of whose calls reached grpc-js then go uncounted, as before.
 */
function createInjector(server: grpc.Server): { injector: ReturnType<grpc.Server['createConnectionInjector']>; http2Server?: EventEmitter } {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  const known = servers instanceof Map ? new Set(servers.keys()) : undefined;
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  if (!known || !(servers instanceof Map)) return { injector };
  const added = [...servers.keys()].filter((candidate) => !known.has(candidate));
  const http2Server = added.length === 1 && added[0] instanceof EventEmitter ? added[0] : undefined;
  return { injector, http2Server };
}

const GRPC_TIMEOUT = 'grpc-timeout';

/**
 * The call's grpc-timeout as grpc-js is to read it (read from these headers once it is handed the stream): dropped
 * when further than any deadline grpc-js can hold, replaced by one it refuses when not of the protocol's form (its
 * refusal then quotes the client's own value, `timeout`).
 */
function saneGrpcTimeout(headers: IncomingHttpHeaders, timeout: string): void {
  const { kind } = grpcTimeoutHeader(timeout);
  if (kind === 'none') delete headers[GRPC_TIMEOUT];
  else if (kind === 'malformed') headers[GRPC_TIMEOUT] = 'malformed';
}

/** The details of grpc-js's refusal of a unary call that did not send exactly one message (before its handler is called). */
const UNARY_MESSAGE_REFUSAL = /^Received (no|a second) request message /;

/**
 * Whether a status passing the interceptors is grpc-js's refusal of a call without exactly one message: counted from
 * the wire like its other refusals, whatever its method (one flts lacks included), not as the method's own answer.
 */
export function isUnaryMessageRefusal(details: string): boolean {
  return UNARY_MESSAGE_REFUSAL.test(details);
}

/**
 * What grpc-js says of a call it refuses itself, as the status a client's mistake has and a message with an flts code
 * (also as `flts-code`), like every refusal of the handlers: a malformed grpc-timeout or a message that does not
 * decompress is INTERNAL in grpc-js's words, as if the server had failed, and a message over the size limit or a
 * method the service lacks carries no code. A status that already has a code (the handlers') is sent as it is.
 */
function codedGrpcJsStatus(status: number, message: string, request: CallRequest): { status: number; code: ErrorCode; message: string } | undefined {
  if (status === grpc.status.OK || /^FLTS_[A-Z_]+: /.test(message)) return undefined;
  const invalid = (text: string): { status: number; code: ErrorCode; message: string } => ({ status: grpc.status.INVALID_ARGUMENT, code: 'FLTS_REQUEST_INVALID', message: text });
  if (/^Invalid grpc-timeout value /.test(message)) {
    return invalid(`Invalid grpc-timeout value "${clip(request.timeout ?? '', 100)}"; a grpc-timeout is 1 to 8 digits and a unit (H, M, S, m, u or n).`);
  }
  // A deadline that passed before the call was answered, one of 0 (`0n`) at once: the client gave up, as one that cancels.
  if (status === grpc.status.DEADLINE_EXCEEDED && message === 'Deadline exceeded') {
    return { status, code: 'FLTS_REQUEST_CANCELLED', message: `The call's deadline (its grpc-timeout, ${clip(request.timeout ?? '', 100)}) passed before its answer was sent.` };
  }
  if (message === 'Failed to decompress message') return invalid('The request message does not decompress with the grpc-encoding the call names.');
  if (isUnaryMessageRefusal(message)) return invalid(message.startsWith('Received no') ? 'The call ended without a whole request message.' : 'The call sent a second request message; each method takes one.');
  if (status === grpc.status.RESOURCE_EXHAUSTED) return { status, code: 'FLTS_REQUEST_TOO_LARGE', message: `${message}.` };
  if (/^The server does not implement the method /.test(message)) return { status, code: 'FLTS_REQUEST_ROUTE_NOT_FOUND', message: `${message}.` };
  if (/^Received message compressed with unsupported encoding /.test(message)) return { status, code: 'FLTS_REQUEST_INVALID', message: `${message}; send it uncompressed, or with gzip or deflate.` };
  return undefined;
}

/** What a refusal quotes of the call's request headers, as the client sent them. */
interface CallRequest {
  contentType: string | undefined;
  timeout: string | undefined;
}

/**
 * A trailers-only answer (a status and no message, as grpc-js sends its own refusals) with its status coded. A call
 * whose content-type is not application/grpc grpc-js answers a bare HTTP 415: it stays 415 (what the protocol says an
 * HTTP client is answered), with the status and code a gRPC client reads before the HTTP status.
 */
function codedGrpcJsAnswer(headers: OutgoingHttpHeaders, request: CallRequest): OutgoingHttpHeaders {
  if (headers['grpc-status'] === undefined) {
    if (Number(headers[':status']) !== 415) return headers;
    const { contentType } = request;
    const message = `The call's content-type is ${contentType === undefined ? 'missing' : `'${clip(contentType, 100)}'`}; a gRPC call is application/grpc (or application/grpc+proto).`;
    return { ...headers, 'grpc-status': grpc.status.INVALID_ARGUMENT, 'grpc-message': encodeURI(`FLTS_REQUEST_INVALID: ${message}`), 'flts-code': 'FLTS_REQUEST_INVALID' };
  }
  // grpc-js percent-encodes the message of a call's status, not that of a path it has no handler for.
  const raw = String(headers['grpc-message'] ?? '');
  let message = raw;
  try {
    message = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded after all: the message as written.
  }
  const coded = codedGrpcJsStatus(Number(headers['grpc-status']), clip(message, 500), request);
  if (!coded) return headers;
  return { ...headers, 'grpc-status': coded.status, 'grpc-message': encodeURI(`${coded.code}: ${coded.message}`), 'flts-code': coded.code };
}
