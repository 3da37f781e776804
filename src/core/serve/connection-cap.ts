import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What became of a connection at the cap: an idle keep-alive one closed to make room, or the new one refused. */
export type CapClose = 'idle' | 'refused';

/** On the HTTP ports, also a connection closed to make room because its request head was taking too long (`slow`). */
export type HttpCapClose = CapClose | 'slow';

/** Every `HttpCapClose`, in the order a newcomer looks for room: the counters' label values. */
export const HTTP_CAP_CLOSES: readonly HttpCapClose[] = ['idle', 'slow', 'refused'];

/**
 * How long a request head may take, from the connection's start or from the first byte after its last answer, before
 * a newcomer at the cap may take its place. A client sends its head in one packet as soon as it connects (or after
 * its previous answer), a lost packet sent again within a few hundred ms: one still sending it past this is dripping
 * it. To keep the cap full of heads younger than this, a client must open `maxConnections` per grace (2,048 a second
 * at the default cap); at 1 s, one reopening each connection 50 ms after it was closed (about 1,350 a second) still
 * kept 11 and 15 of 39-40 liveness probes out, and none at 0.5 s (bench/health-port-abuse.mjs cap, docs/security.md).
 */
export const DEFAULT_SLOW_HEAD_GRACE_MS = 500;

export interface HttpConnectionCapOptions {
  onClose?: (what: HttpCapClose) => void;
  /** See DEFAULT_SLOW_HEAD_GRACE_MS. */
  slowHeadGraceMs?: number;
  /** Milliseconds on a monotonic clock (performance.now by default). */
  now?: () => number;
}

/**
 * Holds an HTTP/1.1 server to `maxConnections` open connections. A connection that arrives at the cap takes the place
 * of the connection idle the longest, as nginx and HAProxy do; failing that, of the one whose request head has been
 * arriving the longest, once that is past `slowHeadGraceMs`; it is refused (closed at once, without a word) only when
 * neither is found. Node's `maxConnections` refuses it even when every connection held is an idle keep-alive one, so
 * idle clients could keep the port for the keep-alive timeout (72 s) while nothing was served; and a client that
 * drips its headers a byte a second on more connections than the cap kept every other client (liveness probes
 * included) out for as long as it went on, each of its connections held until the headers timeout answered it 408.
 *
 * Idle is what `closeIdleConnections` calls idle: every request of the connection answered, and no byte of another
 * one read since. A connection whose next request has started arriving, or that has not sent its first one yet, has a
 * head arriving: it is not idle, and its head is timed from its first byte read since its last answer (as first seen
 * here, so never longer than it is) or from its start. A connection with a request in flight (its head read whole, its
 * answer not sent) is busy and never closed for the cap. `closeIdleConnections` itself is not used: it closes all the
 * idle connections at once, each a client that may be sending its next request as its connection closes.
 * One is closed for each connection that needs its place: the longest idle is the nearest to its keep-alive timeout
 * anyway, and the least likely to be in use again; the slowest head is the one most surely dripped, and a newcomer
 * that sends its head at once is no longer one by the time `maxConnections` more have arrived.
 */
export function capHttpConnections(server: Server, maxConnections: number, options: HttpConnectionCapOptions = {}): void {
  const { onClose, slowHeadGraceMs = DEFAULT_SLOW_HEAD_GRACE_MS, now = () => performance.now() } = options;
  const open = new Set<Socket>();
  /** Requests of each connection not yet answered (more than one when pipelined). */
  const inFlight = new Map<Socket, number>();
  /** Connections idle since their last answer, the longest idle first, with the bytes read when they became idle. */
  const idle = new Map<Socket, number>();
  /** Connections whose request head is arriving (or due), with when it began: the longest arriving first. */
  const arriving = new Map<Socket, number>();

  const forget = (socket: Socket): void => {
    open.delete(socket);
    inFlight.delete(socket);
    idle.delete(socket);
    arriving.delete(socket);
  };
  const oldestIdle = (): Socket | undefined => {
    const parsing = parsingNothing(server);
    for (const [socket, bytesRead] of idle) {
      idle.delete(socket);
      // Bytes read since its last answer are the start of a request (or a body Node is still discarding): its head is
      // arriving. Those of a pipelined request read with the one answered before it are not counted since; Node's parser
      // has begun it.
      if (socket.bytesRead === bytesRead && socket.writable && (parsing?.has(socket) ?? true)) return socket;
      if (socket.writable) arriving.set(socket, now());
    }
    return undefined;
  };
  const slowestHead = (): Socket | undefined => {
    // Kept in the order they began, so the first is the longest arriving.
    for (const [socket, since] of arriving) return now() - since >= slowHeadGraceMs ? socket : undefined;
    return undefined;
  };

  server.on('connection', (socket: Socket) => {
    socket.once('close', () => forget(socket));
    if (open.size >= maxConnections) {
      const idleVictim = oldestIdle();
      const victim = idleVictim ?? slowestHead();
      if (!victim) {
        socket.destroy();
        onClose?.('refused');
        return;
      }
      // Node counts the connection closed as soon as it is destroyed, and so is it counted here: the next one to
      // arrive, before the close completes, sees the room made.
      forget(victim);
      victim.destroy();
      onClose?.(idleVictim ? 'idle' : 'slow');
    }
    open.add(socket);
    arriving.set(socket, now());
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    if (!open.has(socket)) return;
    idle.delete(socket);
    arriving.delete(socket);
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      if (!open.has(socket)) return;
      if (left > 0) {
        inFlight.set(socket, left);
        return;
      }
      inFlight.delete(socket);
      // A response that ends its connection (Connection: close, an error) leaves it unwritable: not kept as idle.
      if (response.writableFinished && socket.writable) idle.set(socket, socket.bytesRead);
    });
  });
}

/**
 * The connections whose HTTP parser is not in the middle of a request (none of its bytes read), from the list Node keeps
 * for `closeIdleConnections` and its timeouts; undefined where Node has no such list (it is internal to node:http).
 */
function parsingNothing(server: Server): Set<Socket> | undefined {
  const key = Object.getOwnPropertySymbols(server).find((symbol) => symbol.description === 'http.server.connections');
  const connections = key ? (server as unknown as Record<symbol, { idle?: () => Array<{ socket?: Socket }> } | undefined>)[key] : undefined;
  if (typeof connections?.idle !== 'function') return undefined;
  return new Set(connections.idle().flatMap((parser) => (parser.socket ? [parser.socket] : [])));
}
