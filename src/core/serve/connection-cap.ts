import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What became of a connection at the cap: an idle keep-alive one closed to make room, or the new one refused. */
export type CapClose = 'idle' | 'refused';

/**
 * Holds an HTTP/1.1 server to `maxConnections` open connections, as nginx and HAProxy do: a connection that arrives
 * at the cap first takes the place of the connection idle the longest, and is refused (closed at once, without a word)
 * only when none is idle. Node's `maxConnections` refuses it even when every connection held is an idle keep-alive
 * one, so idle clients could keep the port for the keep-alive timeout (72 s) while nothing was served.
 * Idle is what `closeIdleConnections` calls idle: every request of the connection answered, and no byte of another
 * one read since (a request whose headers are still arriving is busy); a connection that has not sent its first
 * request yet is not idle either (the headers timeout bounds it). `closeIdleConnections` itself is not used: it
 * closes all of them at once, each a client that may be sending its next request as its connection closes.
 * One is closed for each connection that needs its place, the longest idle first: it is the nearest to its keep-alive
 * timeout anyway, and the least likely to be in use again.
 */
export function capHttpConnections(server: Server, maxConnections: number, onClose?: (what: CapClose) => void): void {
  const open = new Set<Socket>();
  /** Requests of each connection not yet answered (more than one when pipelined). */
  const inFlight = new Map<Socket, number>();
  /** Connections idle since their last answer, the longest idle first, with the bytes read when they became idle. */
  const idle = new Map<Socket, number>();

  const forget = (socket: Socket): void => {
    open.delete(socket);
    inFlight.delete(socket);
    idle.delete(socket);
  };
  const oldestIdle = (): Socket | undefined => {
    const parsing = parsingNothing(server);
    for (const [socket, bytesRead] of idle) {
      idle.delete(socket);
      // Bytes read since its last answer are the start of a request (or a body Node is still discarding): busy. Those
      // of a pipelined request read with the one answered before it are not counted since; Node's parser has begun it.
      if (socket.bytesRead === bytesRead && socket.writable && (parsing?.has(socket) ?? true)) return socket;
    }
    return undefined;
  };

  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => forget(socket));
    if (open.size <= maxConnections) return;
    const victim = oldestIdle() ?? socket;
    // Node counts the connection closed as soon as it is destroyed, and so is it counted here: the next one to arrive,
    // before the close completes, sees the room made.
    forget(victim);
    victim.destroy();
    onClose?.(victim === socket ? 'refused' : 'idle');
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    if (!open.has(socket)) return;
    idle.delete(socket);
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
