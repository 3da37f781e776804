import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { requestsInFlightOf } from './requests-in-flight.js';

/**
 * How long a closing listener keeps accepting while each turn of the event loop still finds a connection waiting.
 * libuv accepts one connection a turn, and a turn of a server starved of CPU is slow: under bench/serve-stop-load.mjs
 * on a 2-core host at load 18, 154 connections in 1 s (6.5 ms a turn), where 400 clients were waiting. 5 s empties
 * Node's default backlog (511) at that pace. A listener still finding newcomers then has clients that keep coming
 * (no load balancer routes them elsewhere yet), and waiting longer would not empty it. The owner's cut of the requests
 * in flight (closeAllConnections: a second signal, the end of its drain) does not end it: the clients waiting in the
 * queue asked nothing yet, and are refused coded rather than reset.
 */
export const DEFAULT_QUEUE_WAIT_MS = 5000;

/** How a listener's wait for its accept queue ended. */
export interface QueueWait {
  waitedMs: number;
  /** False: it ran out of its bound with connections still arriving. */
  queueEmpty: boolean;
}

/**
 * Settles after the first turn of the event loop whose poll accepted no connection and sent no answer (`activity`, a
 * count of both, did not move across it), or after `queueWaitMs`: each turn's poll accepts one connection of the
 * queue (libuv), so the queue is empty after a turn that accepted none. It is quiet only if that turn sent no answer
 * either: a client answered (its connection closed after it) connects again at once, and on loopback its connection
 * is queued before the turn ends. The first immediate may run in the turn the call came in, before any poll begun
 * after it: counted from there.
 */
export function whenAcceptQueueEmpty(activity: () => number, queueWaitMs: number, now: () => number = () => performance.now()): Promise<QueueWait> {
  const began = now();
  return new Promise((resolve) => {
    let seen = activity();
    const turn = (): void => {
      const queueEmpty = activity() === seen;
      if (queueEmpty || now() - began >= queueWaitMs) return resolve({ waitedMs: Math.round(now() - began), queueEmpty });
      seen = activity();
      setImmediate(turn);
    };
    setImmediate(() => {
      seen = activity();
      setImmediate(turn);
    });
  });
}

export interface GentleCloseOptions {
  /**
   * How long a connection with no request in flight must have sent nothing (since it was accepted, or since its last
   * answer) before the stop closes it: its client sends the request head in one packet as it connects or after its
   * previous answer (DEFAULT_SLOW_HEAD_GRACE_MS in connection-cap.ts says why 0.5 s).
   */
  silentGraceMs: number;
  /** See DEFAULT_QUEUE_WAIT_MS. */
  queueWaitMs?: number;
  /**
   * Told as the listening socket closes: the connections accepted since the close began, how long it waited, and
   * whether its last turn found the queue empty (false: it ran out of `queueWaitMs`).
   */
  onListenerClosed?: (closing: { accepted: number; waitedMs: number; queueEmpty: boolean }) => void;
  /** Milliseconds on a monotonic clock (performance.now by default). */
  now?: () => number;
}

/** Where a gently closed listener is. */
export interface ListenerClose {
  /** Whether the listening socket is closed: a request that reaches the server from then came on a connection it has. */
  isClosed(): boolean;
  /** Settles as the listening socket closes. */
  listenerClosed: Promise<void>;
}

/**
 * Makes `server.close()` reset no client that connected before it. Node's close did two things that reset them:
 *
 * - It closed the listening socket at once, and the kernel resets every connection waiting in its accept queue: a
 *   client that connected (its handshake done, its request sent) just before the stop, and that Node had not accepted
 *   yet, saw ECONNRESET. The listener is now closed after the first turn of the event loop whose poll accepted nothing
 *   and that sent no answer (libuv accepts one connection a turn; an answered client may connect again at once), so
 *   every connection waiting as the close began is accepted, within `queueWaitMs`. Linux has no way to refuse new
 *   handshakes while the queue empties: one completed between that poll and the close is still reset, as is what
 *   waits when `queueWaitMs` runs out.
 * - It destroyed every connection it called idle, among them one accepted whose request was not read yet (its bytes in
 *   the socket's buffer: the client is reset) and a kept-alive one whose next request was on its way. A connection with
 *   no request in flight is now closed only once it has sent nothing for `silentGraceMs`, checked after a poll (so
 *   bytes already received count as sent); meanwhile its request is read and answered (with `Connection: close`, as
 *   every answer of a stop is), and a request in flight is answered as before, its connection ended after it.
 *
 * The connections kept this way end within the owner's drain like the requests in flight. The owner's cut
 * (`closeAllConnections()`, at the end of its drain or at once on a second signal) ends the connections of the
 * requests in flight then, but for those the stop refuses (RequestsInFlight.refusedAtStop): the listener still
 * empties its queue, the refusals are sent, and what is left is closed `silentGraceMs` after the listener closed.
 * Before, the cut closed the listener at the next turn and every connection: of 200 clients connecting, 199 were
 * reset, though none had sent a request the stop would have run.
 */
export function closeListenerGently(server: Server, options: GentleCloseOptions): ListenerClose {
  const { silentGraceMs, queueWaitMs = DEFAULT_QUEUE_WAIT_MS, onListenerClosed, now = () => performance.now() } = options;
  /** Each open connection's requests not yet answered, the bytes it had read when it last went quiet, and when. */
  const connections = new Map<Socket, { inFlight: number; bytesRead: number; since: number }>();
  const quietNow = (socket: Socket): void => {
    const state = connections.get(socket);
    if (state && state.inFlight === 0) Object.assign(state, { bytesRead: socket.bytesRead, since: now() });
  };
  let accepted = 0;
  /** Answers sent (or given up): each may bring its client straight back on a new connection. */
  let answered = 0;
  server.on('connection', (socket: Socket) => {
    accepted++;
    connections.set(socket, { inFlight: 0, bytesRead: socket.bytesRead, since: now() });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const state = connections.get(request.socket);
    if (!state) return;
    state.inFlight++;
    response.once('close', () => {
      answered++;
      state.inFlight--;
      quietNow(request.socket);
    });
  });

  let sweeping: NodeJS.Timeout | undefined;
  const sweep = (): void => {
    for (const [socket, state] of connections) {
      if (state.inFlight > 0) continue;
      // Bytes since it went quiet: a request head arriving (or a body being discarded), answered once it is whole.
      if (socket.bytesRead !== state.bytesRead) {
        Object.assign(state, { bytesRead: socket.bytesRead, since: now() });
        continue;
      }
      if (now() - state.since >= silentGraceMs) socket.destroy();
    }
  };
  // Node's close calls this at once; what it closed then is closed here as each connection goes silent.
  server.closeIdleConnections = () => {
    if (sweeping) return;
    // Each sweep after a poll: what a client sent before it is read by then, and its connection is not silent.
    const sweepAfterPoll = (): void => void setImmediate(sweep);
    sweepAfterPoll();
    sweeping = setInterval(sweepAfterPoll, Math.max(10, Math.floor(silentGraceMs / 5))).unref();
    server.once('close', () => clearInterval(sweeping));
  };
  let closed = false;
  let onClosed: () => void = () => {};
  const listenerClosed = new Promise<void>((resolve) => (onClosed = resolve));
  const inFlight = requestsInFlightOf(server);
  const closeAll = server.closeAllConnections;
  let cutting = false;
  server.closeAllConnections = () => {
    for (const response of inFlight.toCut()) response.socket?.destroy();
    if (cutting) return;
    cutting = true;
    // The refusals go out as the listener closes (build-server.ts holds them until then); a connection accepted in its
    // last turns has that long to send its request, as a quiet one has under the stop.
    void listenerClosed.then(() => setTimeout(() => closeAll.call(server), silentGraceMs).unref());
  };
  const close = server.close;
  server.close = function closeAfterQueue(this: Server, callback?: (error?: Error) => void) {
    const acceptedBefore = accepted;
    void whenAcceptQueueEmpty(() => accepted + answered, queueWaitMs, now).then(({ waitedMs, queueEmpty }) => {
      close.call(server, callback);
      closed = true;
      onListenerClosed?.({ accepted: accepted - acceptedBefore, waitedMs, queueEmpty });
      onClosed();
    });
    return server;
  } as Server['close'];
  return {
    isClosed: () => closed,
    listenerClosed,
  };
}
