import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** The HTTP requests of a server not yet answered nor abandoned by their client. */
export interface RequestsInFlight {
  readonly size: number;
  /** The requests in flight now, for telling later which of them were answered. */
  snapshot(): ReadonlySet<ServerResponse>;
  has(response: ServerResponse): boolean;
  /**
   * From now on each answer not yet begun, of a request in flight or of one to come, says `Connection: close` and ends
   * its connection: said keep-alive while the server stops, its client sent its next request on a connection the stop
   * was closing, and saw it reset. Idempotent.
   */
  closeConnectionsAfterAnswers(): void;
  /**
   * Marks the request of `response` as one the stop refuses (503 FLTS_SERVE_STOPPING): a cut of the requests in flight
   * (a second signal, the end of the drain) leaves it to be answered, as its client only asked too late.
   */
  refusedAtStop(response: ServerResponse): void;
  /** The requests in flight now that a cut ends: all but those the stop refuses. */
  toCut(): ServerResponse[];
}

const trackers = new WeakMap<Server, RequestsInFlight>();

/** The one tracker of `server` (made on first ask): the server's builder and the service that stops it share it. */
export function requestsInFlightOf(server: Server): RequestsInFlight {
  let tracker = trackers.get(server);
  if (!tracker) trackers.set(server, (tracker = trackRequestsInFlight(server)));
  return tracker;
}

/**
 * Follows every request from its arrival ('request', which a deferred 100 Continue emits too) to its answer's close,
 * which comes once it is sent or once its connection is gone: what a stop cut at its grace is told by what is left.
 * The stop's `Connection: close` costs a request nothing until a stop begins: it is a flag read here, where a hook on
 * every answer (fastify's onSend) cost each one a turn of fastify's hook runner, stopping or not.
 */
function trackRequestsInFlight(server: Server): RequestsInFlight {
  const open = new Set<ServerResponse>();
  const refused = new WeakSet<ServerResponse>();
  let closing = false;
  // One listener for every answer, not a closure each.
  function forget(this: ServerResponse): void {
    open.delete(this);
  }
  // Before fastify's listener, which may answer at once (a refusal in a synchronous hook).
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    open.add(response);
    response.on('close', forget);
    // Node writes `Connection: close` for an answer it is not to keep alive, and ends the connection after it.
    if (closing) response.shouldKeepAlive = false;
  });
  return {
    get size() {
      return open.size;
    },
    snapshot: () => new Set(open),
    has: (response) => open.has(response),
    closeConnectionsAfterAnswers() {
      closing = true;
      for (const response of open) if (!response.headersSent) response.shouldKeepAlive = false;
    },
    refusedAtStop: (response) => void refused.add(response),
    toCut: () => [...open].filter((response) => !refused.has(response)),
  };
}
