import { METHODS } from 'node:http';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { clip, shownText } from '../clip-text.js';
import { FltsError } from '../errors.js';

/**
 * Records the routes it registers so that, once all are known, every other method on a known path answers
 * 405 with an Allow header (fastify alone answers 404 there): every method Node parses, TRACE, QUERY and the WebDAV
 * ones (PROPFIND, MKCOL, ...) included. Node hands CONNECT to no route (answerConnect answers it).
 */
export interface RouteTable {
  route(options: RouteOptions): void;
  addMethodNotAllowedRoutes(): void;
  /** The methods some path takes (HEAD beside GET), sorted: the server's, answered to `OPTIONS *`. */
  methods(): string[];
}

export function createRouteTable(app: FastifyInstance): RouteTable {
  // fastify routes nine methods and answers the others Node parses 404 on any path: a PROPFIND of /healthz
  // said the route did not exist where a TRACE of it was told the methods it takes.
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
  }
  const methodsByUrl = new Map<string, Set<string>>();
  return {
    route(options) {
      const methods = Array.isArray(options.method) ? options.method : [options.method];
      const known = methodsByUrl.get(options.url) ?? new Set<string>();
      for (const method of methods) known.add(method);
      if (known.has('GET')) known.add('HEAD');
      methodsByUrl.set(options.url, known);
      app.route(options);
    },
    addMethodNotAllowedRoutes() {
      for (const [url, known] of methodsByUrl) {
        const others = app.supportedMethods.filter((method) => !known.has(method));
        if (others.length === 0) continue;
        const allow = [...known].join(', ');
        app.route({
          method: others,
          url,
          schema: { hide: true },
          config: { bodyUnread: true },
          // Refused before fastify looks at the body: a QUERY without a Content-Type got fastify's 400 for that first.
          // The path as asked (/v2/models/flts/infer), as a 404 names it, not the route's pattern (/v2/models/:name/infer).
          onRequest: async (request) => {
            throw new FltsError('FLTS_REQUEST_METHOD_NOT_ALLOWED', `Method ${request.method} is not allowed on ${shownText(clip(request.url.split('?')[0]))}; allowed: ${allow}.`, { details: { allow } });
          },
          handler: async () => {},
        });
      }
    },
    methods() {
      // Sorted: the order routes happen to be registered in says nothing to a client.
      return [...new Set([...methodsByUrl.values()].flatMap((known) => [...known]))].sort();
    },
  };
}
