import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clip, shownText } from '../clip-text.js';
import { FltsError, isFltsError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Who may call a route: anyone, prediction clients (the API token), or operators (the admin token). */
export type RouteAccess = 'public' | 'predict' | 'admin';

export interface AccessTokens {
  /** Bearer token for admin routes; "" = admin routes answer local clients only (a loopback connection, not relayed nor from a web page). */
  adminToken?: string;
  /** Bearer token for prediction routes; "" = open. */
  apiToken?: string;
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const ip = address.startsWith('::ffff:') ? address.slice(7) : address;
  return ip === '::1' || ip.startsWith('127.');
}

/**
 * Whether a listener on `host` takes connections from other hosts: any address but a loopback one or `localhost`
 * (`0.0.0.0`, `::`, a LAN address, a name).
 */
export function listensBeyondLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return !(bare === 'localhost' || bare.endsWith('.localhost') || isLoopback(bare));
}

/**
 * Headers a reverse proxy adds to what it forwards (nginx, HAProxy, Traefik, Caddy, Envoy and Istio's sidecar, which
 * connects from 127.0.0.6): a request that carries one came from elsewhere, whatever address its connection has.
 */
const PROXY_HEADER = /^(?:forwarded|via|x-real-ip|true-client-ip|x-client-ip|x-forwarded-.+|x-original-forwarded-for|x-envoy-.+)$/;

/** The name of the first header of `rawHeaders` that a reverse proxy adds, as sent. */
function proxyHeader(rawHeaders: readonly string[]): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) if (PROXY_HEADER.test(rawHeaders[i].toLowerCase())) return rawHeaders[i];
  return undefined;
}

/** `localhost`, a name under it, an IPv4 loopback address or `[::1]`, with or without a port. */
const LOOPBACK_HOST = /^(?:localhost|[a-z0-9.-]+\.localhost|127(?:\.\d{1,3}){3}|\[::1\]|\[::ffff:127(?:\.\d{1,3}){3}\])\.?(?::\d{1,5})?$/i;

/**
 * Why a request on a loopback connection is not a local client's own, or undefined when it is: relayed by a proxy on
 * the same host (its forwarding headers), sent by a web page the operator has open (a browser names the page's
 * origin, and any page may POST to 127.0.0.1 without asking first), or addressed to another host name (a page whose
 * name its owner made resolve to 127.0.0.1, DNS rebinding, reads the answers too). Only names are given, never values.
 */
function notLocal(request: FastifyRequest): string | undefined {
  const { rawHeaders } = request.raw;
  const proxied = proxyHeader(rawHeaders);
  if (proxied !== undefined) return `it was forwarded by a proxy (${clip(proxied, 40)})`;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name === 'origin' || (name === 'sec-fetch-site' && rawHeaders[i + 1] !== 'none')) return `it was sent by a web page (${rawHeaders[i]})`;
  }
  const host = request.headers.host;
  if (host !== undefined && !LOOPBACK_HOST.test(host)) return 'it names a host other than localhost or a loopback address (Host)';
  return undefined;
}

/**
 * Compares digests of a fixed length, not the strings: timingSafeEqual needs equal lengths, and returning early when
 * they differ told a client, by how soon it was answered, how long the token is.
 */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Two credentials in one header, `Bearer a, Bearer b`: what a proxy that joins repeated headers with commas forwards,
 * or a client that sent both. A bearer token has no space, so a comma followed by another scheme and its value is a
 * second credential, never a part of the first.
 */
const SEVERAL_CREDENTIALS = /^\s*[!#$%&'*+.^_`|~0-9a-z-]+\s+[^\s,]+\s*,\s*[!#$%&'*+.^_`|~0-9a-z-]+\s+\S/i;

function bearer(header: unknown): string | undefined {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/**
 * Throws FLTS_AUTH_REQUIRED unless `authorization` (the header, or gRPC's metadata value) carries `token`
 * as a bearer token; `call` names what was called, for the message.
 */
export function assertBearerToken(authorization: unknown, token: string, call: string): void {
  const given = bearer(authorization);
  if (given === undefined && typeof authorization === 'string' && SEVERAL_CREDENTIALS.test(authorization)) {
    throw new FltsError('FLTS_AUTH_REQUIRED', `${call} needs one Authorization: Bearer <token> credential; the header carried more than one, separated by commas.`, { details: { reason: 'token_multiple' } });
  }
  if (given === undefined) throw new FltsError('FLTS_AUTH_REQUIRED', `${call} needs an Authorization: Bearer <token> header.`, { details: { reason: 'token_missing' } });
  if (!sameSecret(given, token)) throw new FltsError('FLTS_AUTH_REQUIRED', `The bearer token is not valid for ${call}.`, { details: { reason: 'token_invalid' } });
}

/** Throws the 401/403 a request without the right to call a route gets; returns when it may. */
export function assertAccess(request: FastifyRequest, access: RouteAccess, tokens: AccessTokens): void {
  if (access === 'public') return;
  const token = access === 'admin' ? tokens.adminToken : tokens.apiToken;
  if (!token) {
    if (access === 'predict') return;
    const loopback = isLoopback(request.socket.remoteAddress);
    const why = loopback ? notLocal(request) : undefined;
    if (loopback && why === undefined) return;
    throw new FltsError('FLTS_AUTH_FORBIDDEN', `${request.method} ${request.routeOptions.url} answers only local clients while no admin token is set (FLTS_SERVE_ADMIN_TOKEN)${why ? `: this request came over loopback, but ${why}` : ''}.`, {
      details: { reason: 'not_local' },
    });
  }
  // Node keeps the first of several Authorization headers; a proxy in front may read the last: which token is checked
  // would depend on who reads the request, so a request with more than one is refused (RFC 9110 section 11.6.2 gives
  // the field one value).
  if (headerLines(request.raw.rawHeaders, 'authorization') > 1) throw new FltsError('FLTS_REQUEST_INVALID', 'A request must have one Authorization header, not several.');
  assertBearerToken(request.headers.authorization, token, `${request.method} ${request.routeOptions.url}`);
}

/** How many fields of a raw header list (name, value, name, value...) are named `name` (lower-case), in any case. */
export function headerLines(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].length === name.length && rawHeaders[i].toLowerCase() === name) count++;
  return count;
}

/** Methods that change nothing on the server: a page may send them anywhere, it cannot read the answer. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when the page's origin (`scheme://host[:port]`) names the host and port the request was sent to. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const page = new URL(origin);
    if (page.protocol !== 'http:' && page.protocol !== 'https:') return false;
    // Parsed the same way, a Host of `localhost:80` and an origin of `http://localhost` name one address.
    return new URL(`${page.protocol}//${host}`).host === page.host;
  } catch {
    return false;
  }
}

/**
 * Why a browser sent this request for a page of another site, or undefined when no browser did or the page is this
 * server's. A browser sends a form or a text/plain POST for any page without asking the server first (no CORS
 * preflight): with the prediction routes open, any page a user has open could feed /actuals (live accuracy, and the
 * probation that can roll a promotion back) or write prediction records. The server sends no CORS headers, so no
 * page of another site can read an answer: no such caller is legitimate. Sec-Fetch-Site says it when the browser
 * sends it (every current one does); an older one is judged by its Origin against the Host it addressed. Programs
 * (curl, Python requests, tritonclient) send neither header. Only header names are given, never values.
 */
function crossSiteBrowser(request: FastifyRequest): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || site === 'none' ? undefined : 'Sec-Fetch-Site';
  const { origin } = request.headers;
  if (origin === undefined || sameOrigin(origin, request.headers.host)) return undefined;
  return 'Origin';
}

/**
 * True when a page's own request reached this server over loopback under a name that is not a loopback one: DNS rebinding, a page of another site whose name its owner made resolve to 127.0.0.1, so that the
 * browser calls it same-origin (Sec-Fetch-Site, Origin and Host all agree). With the prediction routes open, it could
 * feed /actuals from any page the user has open. A tab opened on localhost or 127.0.0.1 names a loopback host. No
 * header excuses it: a page the browser deems same-origin may send any header a proxy adds but Via, without a
 * preflight, and few proxies add Via; a proxy on the same host that serves a page under its own name passes by
 * sending its upstream's address as Host (nginx's default).
 */
function reboundPage(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  const fromPage = request.headers.origin !== undefined || (site !== undefined && site !== 'none');
  if (!fromPage || !isLoopback(request.socket.remoteAddress)) return false;
  const { host } = request.headers;
  return host !== undefined && !LOOPBACK_HOST.test(host);
}

/** Throws FLTS_REQUEST_CROSS_SITE for a state-changing request a browser sent for a page of another site. */
export function assertNotCrossSite(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const header = crossSiteBrowser(request);
  if (header === undefined) {
    if (!reboundPage(request)) return;
    throw new FltsError('FLTS_REQUEST_CROSS_SITE', `${request.method} ${shownText(clip(request.url.split('?')[0]))} is not taken from a web page of another site: a browser sent it over loopback for a page whose host name is not a loopback address (Host; DNS rebinding).`);
  }
  throw new FltsError('FLTS_REQUEST_CROSS_SITE', `${request.method} ${shownText(clip(request.url.split('?')[0]))} is not taken from a web page of another site: a browser sent it for a page this server does not serve (${header}).`);
}

/**
 * Checks every request against the access class of its route before its body is read, and refuses a
 * state-changing one a browser sent for another site, whatever the route and the tokens. `routes` maps route
 * patterns (as registered, e.g. `/v2/models/:name/infer`) to their class; unlisted routes are public.
 */
export function installAccessControl(app: FastifyInstance, tokens: AccessTokens, routes: Readonly<Record<string, RouteAccess>>, logger?: Logger): void {
  const accessByUrl = new Map(Object.entries(routes));
  const refusals = logger && createAuthRefusalLog(logger);
  if (refusals) app.addHook('onClose', (_app, done) => (refusals.stop(), done()));
  app.addHook('onRequest', (request, _reply, done) => {
    const access = accessByUrl.get(request.routeOptions.url ?? '');
    try {
      // The token (or the loopback rule) first: a request with neither hears that, whoever sent it.
      if (access !== undefined) assertAccess(request, access, tokens);
      assertNotCrossSite(request);
      done();
    } catch (error) {
      const refusal = authRefusalOf(error);
      if (refusal) refusals?.record({ ...refusal, route: request.routeOptions.url ?? 'unmatched', method: request.method, remote: request.socket.remoteAddress });
      done(error as Error);
    }
  });
}

/** How long refusals after a logged one are only counted, then logged as one line: a guessing client writes one line a window, not one a request. */
export const AUTH_REFUSAL_WINDOW_MS = 60_000;

/** How many distinct client addresses a summary names; counted up to REMOTES_COUNTED, so a spread attack is told by its size, not held whole. */
const REMOTES_NAMED = 10;
const REMOTES_COUNTED = 1000;

export interface AuthRefusal {
  /** FLTS_AUTH_REQUIRED or FLTS_AUTH_FORBIDDEN. */
  code: string;
  /** token_missing, token_multiple, token_invalid or not_local: what was wrong, never what was sent. */
  reason: string;
  /** The route pattern or gRPC method path, never the request's target (its query string could hold anything). */
  route: string;
  method: string;
  remote: string | undefined;
}

export interface AuthRefusalLog {
  record(refusal: AuthRefusal): void;
  /** Logs the refusals counted since the last line, and stops the window's timer. */
  stop(): void;
}

/** The refusal an error is, when it is one of a token or of the loopback rule: other errors are not auth attempts. */
export function authRefusalOf(error: unknown): Pick<AuthRefusal, 'code' | 'reason'> | undefined {
  if (!isFltsError(error) || (error.code !== 'FLTS_AUTH_REQUIRED' && error.code !== 'FLTS_AUTH_FORBIDDEN')) return undefined;
  return { code: error.code, reason: typeof error.details.reason === 'string' ? error.details.reason : 'token_missing' };
}

/**
 * Logs refused auth attempts so that guessing is seen, and by their rate, without a line a request: the first refusal
 * at once (`auth_refused`), the ones after it within the window counted and logged as one line when it ends
 * (`auth_refused_repeated`, by reason and with the first few client addresses), so a client guessing tokens writes
 * one line a minute. Neither line holds a token, a header value or the request's target: a token sent in a query
 * string is as secret as one in the header.
 */
export function createAuthRefusalLog(logger: Logger, windowMs = AUTH_REFUSAL_WINDOW_MS): AuthRefusalLog {
  let timer: NodeJS.Timeout | undefined;
  let count = 0;
  let reasons: Record<string, number> = {};
  let routes = new Set<string>();
  let remotes = new Set<string>();
  const logCounted = (): void => {
    if (count === 0) return;
    logger.warn({ refused_count: count, reasons, routes: [...routes], remotes: [...remotes].slice(0, REMOTES_NAMED), remotes_count: remotes.size, window_ms: windowMs }, 'auth_refused_repeated');
  };
  const endWindow = (): void => {
    logCounted();
    // A window with refusals is followed by another, so that a steady guesser is logged once a window, not twice.
    timer = count > 0 ? setTimeout(endWindow, windowMs).unref() : undefined;
    count = 0;
    reasons = {};
    routes = new Set();
    remotes = new Set();
  };
  return {
    record(refusal) {
      if (timer === undefined) {
        logger.warn({ code: refusal.code, reason: refusal.reason, route: refusal.route, method: refusal.method, remote: refusal.remote }, 'auth_refused');
        timer = setTimeout(endWindow, windowMs).unref();
        return;
      }
      count++;
      reasons[refusal.reason] = (reasons[refusal.reason] ?? 0) + 1;
      if (routes.size < REMOTES_NAMED) routes.add(`${refusal.method} ${refusal.route}`);
      if (remotes.size < REMOTES_COUNTED) remotes.add(refusal.remote ?? 'unknown');
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
      logCounted();
      count = 0;
    },
  };
}
