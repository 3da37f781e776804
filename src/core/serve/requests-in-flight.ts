import type { Server, ServerResponse } from 'node:http';

/** The HTTP requests of a server not yet answered nor abandoned by their client. */
export interface RequestsInFlight {
  readonly size: number;
  /** The requests in flight now, for telling later which of them were answered. */
  snapshot(): ReadonlySet<ServerResponse>;
  has(response: ServerResponse): boolean;
}

/**
 * Follows every request from its arrival ('request', which a deferred 100 Continue emits too) to its answer's close,
 * which comes once it is sent or once its connection is gone: what a stop cut at its grace is told by what is left.
 */
export function trackRequestsInFlight(server: Server): RequestsInFlight {
  const open = new Set<ServerResponse>();
  server.on('request', (_request, response: ServerResponse) => {
    open.add(response);
    response.once('close', () => open.delete(response));
  });
  return {
    get size() {
      return open.size;
    },
    snapshot: () => new Set(open),
    has: (response) => open.has(response),
  };
}
