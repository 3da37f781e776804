import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * How long a closing listener keeps accepting while each turn of the event loop still finds a connection waiting.
 * libuv accepts one connection a turn, and a turn of a server starved of CPU is slow: under bench/serve-stop-load.mjs
 * on a 2-core host at load 18, 154 connections in 1 s (6.5 ms a turn), where 400 clients were waiting. 5 s empties
 * Node's default backlog (511) at that pace. A listener still finding newcomers then has clients that keep coming
 * (no load balancer routes them elsewhere yet), and waiting longer would not empty it. The owner's drain bounds it too:
 * its cut (closeAllConnections) closes the listener at the next turn.
 */
export const DEFAULT_QUEUE_WAIT_MS = 5000;

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
   * whether its last turn found the queue empty (false: it ran out of `queueWaitMs`, or its owner cut the drain).
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
 * The connections kept this way end within the owner's drain like the requests in flight: the owner cuts what is
 * left with `closeAllConnections()` at its end.
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
  // The owner's cut at the end of its drain ends the wait too: the listener closes at the next turn.
  let cut = false;
  const closeAll = server.closeAllConnections;
  server.closeAllConnections = () => {
    cut = true;
    closeAll.call(server);
  };
  const close = server.close;
  server.close = function closeAfterQueue(this: Server, callback?: (error?: Error) => void) {
    const began = now();
    const acceptedBefore = accepted;
    let seen = { accepted, answered };
    // Each turn's poll accepts one connection of the queue (libuv), so the queue is empty after a turn that accepted
    // none. It is quiet only if that turn sent no answer either: a client answered (its connection closed after it)
    // connects again at once, and on loopback its connection is queued before the turn ends. The first immediate may
    // run in the turn the call came in, before any poll begun after it: counted from there.
    const turn = (): void => {
      const queueEmpty = accepted === seen.accepted && answered === seen.answered;
      if (queueEmpty || cut || now() - began >= queueWaitMs) {
        close.call(server, callback);
        closed = true;
        onListenerClosed?.({ accepted: accepted - acceptedBefore, waitedMs: Math.round(now() - began), queueEmpty });
        onClosed();
        return;
      }
      seen = { accepted, answered };
      setImmediate(turn);
    };
    setImmediate(() => {
      seen = { accepted, answered };
      setImmediate(turn);
    });
    return server;
  } as Server['close'];
  return {
    isClosed: () => closed,
    listenerClosed,
  };
}
