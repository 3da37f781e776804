import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Where a server's requests are counted: answered, refused by Node before any route, or left by their client first. */
export interface RequestCounts {
  answered(route: string, method: string, status: number, seconds: number): void;
  /** The method once a request line was read. */
  refused(status: number, method: string | undefined): void;
  abandoned(route: string, method: string): void;
}

export interface RequestCounting {
  /** For connectionOptions: the Fastify options are given before any hook can be added. */
  onRefused(status: number, method: string | undefined, response: ServerResponse | undefined): void;
  /** Adds the hooks that count answered and abandoned requests (route "unmatched" where none matched). */
  install(app: FastifyInstance): void;
}

/**
 * Counts each request once: when its answer is sent, when Node answers it (408, or 400 for a body cut short), or when
 * its client closes the connection first. fastify runs no onResponse then, nor onRequestAbort once the body was read
 * (Node has closed the request stream by then), so the answer's own close tells; a write error after the close would
 * run onResponse too. The hooks are synchronous, with `done`: they run on every request, and an async hook costs each
 * a promise and a microtask turn. The serve API and the daemon's health port count alike.
 */
export function countEachRequestOnce(counts: RequestCounts): RequestCounting {
  const counted = new WeakSet<ServerResponse>();
  return {
    onRefused(status, method, response) {
      if (response) counted.add(response);
      counts.refused(status, method);
    },
    install(app) {
      app.addHook('onRequest', (request, reply, done) => {
        reply.raw.once('close', () => {
          if (reply.raw.writableFinished || counted.has(reply.raw)) return;
          counted.add(reply.raw);
          counts.abandoned(request.routeOptions.url ?? 'unmatched', request.method);
        });
        done();
      });
      app.addHook('onResponse', (request, reply, done) => {
        if (!counted.has(reply.raw)) {
          counted.add(reply.raw);
          counts.answered(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
        }
        done();
      });
    },
  };
}
