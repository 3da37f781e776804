import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorCodes, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { clip, shownText } from '../clip-text.js';
import { FltsError, httpStatusFor, isFltsError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { meteredBody, type BodyBudget, type BodyTicket } from './body-budget.js';
import { failureFields } from './failure-fields.js';
import { JSON_MEDIA_TYPE } from './json-media-type.js';
import { redactJsonLines, redactSecrets } from '../redact.js';
import { readableTypes } from './request-validators.js';
import type { RouteTable } from './route-table.js';

/** fastify's error body plus our code, and the reference's (FastAPI) `detail`. Never a stack. */
export interface ErrorBody {
  error: string;
  code: string;
  message: string;
  statusCode: number;
  detail: string;
}

/** The message masked of secrets (redactSecrets): a library's error may quote a URL with credentials, or a token. */
export function errorBody(status: number, code: ErrorCode, message: string): ErrorBody {
  const shown = redactSecrets(message);
  return { error: STATUS_CODES[status] ?? 'Error', code, message: shown, statusCode: status, detail: shown };
}

/**
 * The longest message an error answer carries. Values a client chose are clipped where a message quotes them;
 * this bounds anything else that gets through (a library's message), on HTTP and in gRPC status details alike.
 */
const MAX_MESSAGE_CHARS = 2000;

/** Maps anything a request can throw to a status and a coded message. Client mistakes are 4xx, never 500. */
export function classifyError(error: unknown, bodyLimit: number): { status: number; code: ErrorCode; message: string } {
  const classified = classify(error, bodyLimit);
  // Masked before it is clipped: a secret cut in two at the clip would be masked in neither half.
  return { ...classified, message: clip(redactSecrets(classified.message), MAX_MESSAGE_CHARS) };
}

function classify(error: unknown, bodyLimit: number): { status: number; code: ErrorCode; message: string } {
  if (isFltsError(error)) return { status: httpStatusFor(error), code: error.code, message: error.message };
  const fastifyError = error as Partial<FastifyError> & { validation?: unknown };
  if (fastifyError.validation) return { status: 400, code: 'FLTS_REQUEST_INVALID', message: `Invalid request: ${readableTypes(fastifyError.message ?? '')}.` };
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'FLTS_REQUEST_TOO_LARGE', message: `Request body is larger than the limit of ${bodyLimit} bytes.` };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // The router gives up on a path segment longer than its limit; nothing is named like that.
      return { status: 404, code: 'FLTS_REQUEST_ROUTE_NOT_FOUND', message: 'A path segment is longer than the router accepts; no route or model has such a name.' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      // The body may be fine, its label is not what the route reads: 415 tells a client which to fix, as a 400 did not.
      return { status: 415, code: 'FLTS_REQUEST_UNSUPPORTED_MEDIA_TYPE', message: `${fastifyError.message}; send the body as application/json (or another +json type).` };
    default:
      break;
  }
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 400 && status < 500) return { status, code: 'FLTS_REQUEST_INVALID', message: fastifyError.message ?? 'Invalid request.' };
  return { status: 500, code: 'FLTS_INTERNAL', message: 'Internal error while handling the request; it has been logged.' };
}

/**
 * Answers worth an error line with the stack: the server failed, rather than shed load on purpose (which metrics
 * count) or answered before its first model is warm (which /readyz reports and the model holder logs once).
 */
export function isServerFailure(status: number, code: ErrorCode): boolean {
  return status >= 500 && code !== 'FLTS_SERVE_OVERLOADED' && code !== 'FLTS_SERVE_BODIES_IN_FLIGHT' && code !== 'FLTS_SERVE_NO_MODEL' && code !== 'FLTS_SERVE_STOPPING';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route decodes its body itself: any content type but JSON (or none) reaches it as a Buffer. */
    rawBody?: boolean;
    /** A check of a JSON body's text before JSON.parse: a bound cheaper to refuse on the text than after parsing. */
    jsonBounds?: (text: string) => FltsError | undefined;
    /** The route answers without reading its body (a method its path does not take): a JSON body is not parsed. */
    bodyUnread?: boolean;
    /** The route takes a POST without a body (validated as `{}`): /openapi.json publishes its body as not required. */
    optionalBody?: boolean;
  }
}

/**
 * JSON bodies: an empty body is an empty request ({}), anything unparsable a 400 naming the parse error.
 * Routes whose config says `rawBody` take any other content type (or none) as bytes and decode it
 * themselves; elsewhere those are an unsupported media type. A body to be read takes its room in `bodyBudget` first,
 * and gives it back once its answer is sent or its connection closed.
 */
export function installJsonParser(app: FastifyInstance, bodyLimit: number, bodyBudget?: BodyBudget): void {
  // JSON only: fastify's default text/plain parser would hand a string to routes that expect an object.
  app.removeAllContentTypeParsers();
  const parseJson: Parameters<typeof app.addContentTypeParser<string>>[2] = (request, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    // Not found or not allowed, the answer is the same whatever the body: 8 MB of nested brackets held every request for
    // seconds in JSON.parse before a 404 or 405 that anyone may ask for.
    if (request.is404 || request.routeOptions.config?.bodyUnread) return done(null, {});
    const problem = request.routeOptions.config?.jsonBounds?.(text);
    if (problem) return done(problem, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new FltsError('FLTS_REQUEST_INVALID', `Malformed JSON body: ${(error as Error).message}.`), undefined);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, parseJson);
  // application/vnd.api+json and the other +json types are JSON too (RFC 6839): refused as 415, a JSON:API client was told to relabel a body that was fine.
  app.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string', bodyLimit }, parseJson);
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    if (request.routeOptions.config?.rawBody) return done(null, body);
    done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(request.headers['content-type'] ?? '(none)'), undefined);
  });
  // Bodies are read as sent, never decompressed: a gzip body would reach JSON.parse as bytes, be refused for its first
  // byte with that byte quoted, and a body named compressed that is not would be read as if it were not.
  // The same for a transfer coding before `chunked` ("gzip, chunked"): Node undoes the chunking only, and handed on the
  // rest as the body itself.
  // Synchronous, with `done`, as the request-head check: it runs on every request that reaches a route.
  app.addHook('preParsing', (request, reply, payload, done) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity' && hasBody(request.headers)) {
      return done(new FltsError('FLTS_REQUEST_INVALID', `Content-Encoding '${shownText(clip(request.headers['content-encoding'] ?? ''))}' is not supported; send the body uncompressed (no Content-Encoding).`));
    }
    const transfer = request.headers['transfer-encoding'];
    if (transfer !== undefined && transfer.trim().toLowerCase() !== 'chunked') {
      return done(new FltsError('FLTS_REQUEST_INVALID', `Transfer-Encoding '${shownText(clip(transfer))}' is not supported; send the body uncompressed, chunked or with a Content-Length.`));
    }
    if (!bodyWillBeRead(request)) return done(null, payload);
    let body = payload;
    if (bodyBudget && hasBody(request.headers)) {
      const chunked = transfer !== undefined;
      let ticket: BodyTicket;
      try {
        // Refused before 100 Continue: a client that waits for it sends none of the body.
        ticket = bodyBudget.take(request.routeOptions.url ?? 'unmatched', chunked ? 0 : Number(request.headers['content-length']));
      } catch (error) {
        return done(error as Error);
      }
      // Held until the answer is sent, not only until the body is parsed: the parsed body and the route's work on it
      // take more memory than its text (an /actuals body of 7 MB about 30 MB of RSS while scored), and, released at
      // the parse, 30 of 40 such bodies sent at once were admitted, the server peaking at 744 MB instead of 400.
      // A connection closed while the hooks before ran has no close left to come.
      if (reply.raw.destroyed) ticket.release();
      else reply.raw.once('close', ticket.release);
      if (chunked) body = meteredBody(payload, ticket);
    }
    continueExpected.get(request.raw)?.writeContinue();
    done(null, body);
  });
}

/**
 * The answers whose client waits for 100 Continue before it sends its body (`Expect: 100-continue`), until the body
 * is about to be read: Node sent it on arrival, so the client sent a body of up to the limit to be refused for a
 * missing or wrong token, a Content-Length over the limit or a Content-Encoding, which need none of it.
 */
const continueExpected = new WeakMap<IncomingMessage, ServerResponse>();

/** Defers Node's 100 Continue to the route's reading of the body (`continueExpected`). */
export function deferContinue(request: IncomingMessage, response: ServerResponse): void {
  continueExpected.set(request, response);
}

/** Whether the body is to be read: fastify reads one even for a 404 or 405, but not one its limit refuses by its Content-Length. */
function bodyWillBeRead(request: FastifyRequest): boolean {
  const limit = routeBodyLimit(request);
  return limit === undefined || !(Number(request.headers['content-length']) > limit);
}

function hasBody(headers: FastifyRequest['headers']): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

/**
 * The Open Inference Protocol's error form is `{"error": "<message>"}` (clients show that field), so
 * under /v2 `error` carries the coded message instead of the status text.
 */
function errorBodyFor(request: FastifyRequest, status: number, code: ErrorCode, message: string): ErrorBody {
  const body = errorBody(status, code, message);
  if (request.url.startsWith('/v2')) body.error = `${code}: ${message}`;
  return body;
}

/** Answers any error of a request with its status and coded body; 5xx are logged (uncoded ones with their stack). */
export function replyWithError(error: unknown, request: FastifyRequest, reply: FastifyReply, bodyLimit: number, logger: Logger): void {
  const { status, code, message } = classifyError(error, routeBodyLimit(request) ?? bodyLimit);
  if (isServerFailure(status, code)) {
    const failure = failureFields(error);
    logger.error({ req_id: request.id, ...failure.fields }, 'request_failed');
    if (failure.stack) logger.debug({ req_id: request.id, stack: failure.stack }, 'request_failed_stack');
  }
  const details = isFltsError(error) ? error.details : {};
  if (typeof details.allow === 'string') void reply.header('allow', details.allow);
  if (typeof details.retryAfterSec === 'number') void reply.header('retry-after', String(details.retryAfterSec));
  // RFC 6750 section 3.1: a wrong token is `invalid_token`, so a client can tell it from a request that sent none.
  if (code === 'FLTS_AUTH_REQUIRED') void reply.header('www-authenticate', details.reason === 'token_invalid' ? 'Bearer error="invalid_token"' : 'Bearer');
  // fastify closes the connection after any body its parser refused, lest the rest of it be read as the next request.
  // A body read whole (malformed JSON, over a bound of its text, of a media type the route does not take) leaves the
  // connection at the next request: closed, the requests a client pipelined behind it went unanswered, and a client
  // keeping its connection alive paid a new one for each mistake. A body refused part-way (413) still closes it.
  // An answer the server's stop says is its connection's last (requests-in-flight.ts) keeps saying so.
  if (request.raw.complete && reply.raw.shouldKeepAlive !== false && reply.getHeader('connection') === 'close') reply.removeHeader('connection');
  void reply.status(status).send(errorBodyFor(request, status, code, message));
}

/** How long a request refused by a stopping server is told to wait: long enough for its load balancer to have moved on. */
const STOPPING_RETRY_AFTER_SEC = 1;

/** The refusal of a request that reached a server whose stop has closed its listener. */
export function stoppingRefusal(): FltsError {
  return new FltsError('FLTS_SERVE_STOPPING', 'The server is stopping and takes no new requests; send the request again on a new connection.', {
    details: { retryAfterSec: STOPPING_RETRY_AFTER_SEC, retryAfterMs: STOPPING_RETRY_AFTER_SEC * 1000 },
  });
}

/**
 * The refusal of a gRPC call that reached the port once its stop had closed the listeners, in the port's own words (a
 * call, not an HTTP request), under the same code.
 */
export function grpcStoppingRefusal(): FltsError {
  return new FltsError('FLTS_SERVE_STOPPING', 'The server is stopping and its gRPC port takes no new calls; send the call again on a new connection (another replica).', {
    details: { retryAfterSec: STOPPING_RETRY_AFTER_SEC, retryAfterMs: STOPPING_RETRY_AFTER_SEC * 1000 },
  });
}

/** The route's own body limit (the admin routes' is smaller than the server's), where a route was matched. */
function routeBodyLimit(request: FastifyRequest): number | undefined {
  try {
    return request.routeOptions.bodyLimit;
  } catch {
    // A framework error (a path the router gave up on) has no route to read it from.
    return undefined;
  }
}

/**
 * One error handler and one not-found handler for the whole API; `routesListed` tells a 404 where the routes are.
 * (Errors the router raises before any route, such as an over-long path parameter, reach `replyWithError` through
 * fastify's `frameworkErrors`.)
 */
export function installErrorHandlers(app: FastifyInstance, bodyLimit: number, logger: Logger, routes: Pick<RouteTable, 'methods'>, routesListed = 'see GET /openapi.json'): void {
  app.setErrorHandler((error, request, reply) => replyWithError(error, request, reply, bodyLimit, logger));
  const notFound = (request: FastifyRequest): string => `No route ${request.method} ${shownText(clip(request.url.split('?')[0]))}; ${routesListed}.`;
  // Answered before the body is read: a body to a path that does not exist was refused for its media type, its
  // Content-Encoding or its size (or parsed, on the daemon's health port) before the client learned the path was wrong.
  // Synchronous, with `done`: it runs on every request. Once `OPTIONS *` is answered, fastify runs no further hook.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    // `OPTIONS *` asks about the server, not a path (RFC 9110 section 9.3.7): what its paths take, not a 404.
    if (request.method === 'OPTIONS' && request.url === '*') {
      void reply.code(204).header('allow', routes.methods().join(', ')).send();
      return done();
    }
    done(new FltsError('FLTS_REQUEST_ROUTE_NOT_FOUND', notFound(request)));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(errorBodyFor(request, 404, 'FLTS_REQUEST_ROUTE_NOT_FOUND', notFound(request)));
  });
  closeAfterUnreadBody(app);
}

/**
 * An answer sent before the request's body has arrived (a 404, OPTIONS *, a refusal in a hook, a GET route that reads
 * none) closes its connection (RFC 9110: a server answering before the whole content says if it goes on reading). Kept alive, Node
 * waited for the body the request promised: from a client that sent none (it was refused first, or waits for a 100
 * Continue never sent) the connection was held until the request timeout and then answered a second time, with a 408
 * counted as a client too slow; and a client that did go on had its next request read as the rest of the body. A body
 * that had arrived whole with its headers leaves the connection open.
 */
function closeAfterUnreadBody(app: FastifyInstance): void {
  // Synchronous, with `done`: the hook runs on every answer and almost always has nothing to do, and an async one cost
  // each answer a promise and a turn of the microtask queue (measured in bench/results-serving.md).
  app.addHook('onSend', (request, reply, _payload, done) => {
    // A request fastify's inject makes up has no `complete` (Node's parser sets it), and its whole body.
    if (request.raw.complete !== false || !hasBody(request.headers)) return done();
    // Hooks run as soon as the headers are parsed, before Node parses the bytes read with them: a body sent with its
    // headers is complete once this turn of the event loop is over.
    setImmediate(() => {
      if (!request.raw.complete) {
        void reply.header('connection', 'close');
        lingerUntilBodyEnds(request.raw);
      }
      done();
    });
  });
}

/**
 * Closes the connection of an answer sent before its body was read only once the client has sent the rest of it, or
 * closed its side, or the request timeout (Node's, which then answers nothing on a socket it can no longer write) has
 * passed. Node destroys the socket as soon as a closing answer is written: a body still arriving then made the kernel
 * reset the connection, and a client that writes its whole body before it reads (Python's http.client) lost the answer
 * to a broken pipe. Here the server's side is ended at once (the client sees the answer and the close) and the rest of
 * the body is read and dropped, as Node does for a kept-alive connection, until it ends.
 */
function lingerUntilBodyEnds(request: IncomingMessage): void {
  const socket = request.socket as Socket & { destroySoon?: () => void };
  // Node's http server ends a connection after its last answer with destroySoon where the socket has one.
  socket.destroySoon = () => {
    socket.end();
    const destroyOnceWritten = (): void => void (socket.writableFinished ? socket.destroy() : socket.once('finish', () => socket.destroy()));
    if (request.complete) return destroyOnceWritten();
    request.once('end', destroyOnceWritten);
    // Node drops a body no one reads; one a route began to read and left (fastify's over its limit) is dropped too.
    request.resume();
  };
}

/**
 * Answers what Node refuses before any route sees a request (not HTTP, a bad header line, headers over the size
 * limit, headers or a body too slow to arrive) with a coded body like every other error, instead of fastify's
 * uncoded one, and what flts refuses of a body as it arrives (body-progress.ts) alike, and tells `onAnswer` (the
 * method is known once a request line was read, the answer object once Node had handed the request on: its body is
 * what did not arrive). The connection is closed after it, as Node does.
 */
export function createClientErrorHandler(
  limits: { headersTimeoutMs: number; requestTimeoutMs: number },
  onAnswer: (status: number, method: string | undefined, response: ServerResponse | undefined) => void = () => {},
): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // flts's own refusals of a body (body-progress.ts) come coded; Node's are coded here.
    const { status, code, message } = isFltsError(error) ? { status: httpStatusFor(error), code: error.code, message: error.message } : clientErrorAnswer(error.code, limits);
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    // A request whose answer has begun (a slow reader's) has its status line sent: a second one would corrupt it.
    if (socket.writable && inFlight?.headersSent !== true) {
      const body = JSON.stringify(errorBody(status, code, message));
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      onAnswer(status, inFlight?.req?.method, inFlight);
    }
    socket.destroy(error);
  };
}

function clientErrorAnswer(nodeCode: string | undefined, limits: { headersTimeoutMs: number; requestTimeoutMs: number }): { status: number; code: ErrorCode; message: string } {
  switch (nodeCode) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'FLTS_REQUEST_INVALID', message: `The request did not arrive in time (its headers are given ${limits.headersTimeoutMs} ms, the whole request ${limits.requestTimeoutMs} ms).` };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'FLTS_REQUEST_TOO_LARGE', message: `The request headers are larger than the limit of ${maxHeaderSize} bytes.` };
    case 'HPE_PAUSED_H2_UPGRADE':
      // A client speaking HTTP/2 without an upgrade (gRPC, curl --http2-prior-knowledge) to an HTTP/1.1 port.
      return { status: 400, code: 'FLTS_REQUEST_INVALID', message: 'The request is HTTP/2 with prior knowledge; this port speaks HTTP/1.1 (the Open Inference Protocol over gRPC has a port of its own, serve.grpcPort).' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'FLTS_REQUEST_TOO_LARGE', message: 'The chunk extensions of the request body are larger than the server accepts.' };
    default:
      return { status: 400, code: 'FLTS_REQUEST_INVALID', message: `The request is not valid HTTP/1.1${nodeCode ? ` (${clip(nodeCode, 40)})` : ''}.` };
  }
}

/**
 * Refuses, coded and before the body is read, a request head Node lets through or refuses without a word.
 * An HTTP/1.1 request without a Host header, or with more than one (RFC 9112 section 3.2: both are answered 400): Node's
 * own refusal of a missing one is an empty 400, so Node is told not to check (connection-limits.ts), and of two it keeps
 * the first and says nothing.
 * A request line without an HTTP version (`GET /healthz`, RFC 9112 section 3 requires one): Node reads it as
 * HTTP/0.9, needing no Host, and it was served as HTTP/1.0. (Node keeps nothing of the request line as sent, so one
 * with two spaces between its parts, which it reads as one, is served: RFC 9112 section 3 allows that reading.)
 */
export function installRequestHeadChecks(app: FastifyInstance): void {
  // Synchronous, with `done`, as every request runs it: an async hook cost each one a promise and a microtask turn.
  app.addHook('onRequest', (request, _reply, done) => done(requestHeadProblem(request.raw)));
}

function requestHeadProblem(request: IncomingMessage): FltsError | undefined {
  if (request.httpVersionMajor === 0) return new FltsError('FLTS_REQUEST_INVALID', 'The request line has no HTTP version; send METHOD target HTTP/1.1.');
  if (request.httpVersion === '1.1' && request.headers.host === undefined) return new FltsError('FLTS_REQUEST_INVALID', 'An HTTP/1.1 request must have a Host header.');
  if (hostLines(request.rawHeaders) > 1) return new FltsError('FLTS_REQUEST_INVALID', 'A request must have one Host header, not several.');
  return undefined;
}

function hostLines(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].length === 4 && rawHeaders[i].toLowerCase() === 'host') count++;
  return count;
}

/**
 * A CONNECT request (a client that takes the server for a proxy): Node hands it to no route and, unheard, closes the
 * connection without a word; it gets a coded 405 like any other method a path does not take, then the close.
 */
export function answerConnect(request: IncomingMessage, socket: Socket): void {
  const body = JSON.stringify(errorBody(405, 'FLTS_REQUEST_METHOD_NOT_ALLOWED', `Method CONNECT is not allowed: this server is not a proxy (target '${shownText(clip(request.url ?? ''))}').`));
  socket.on('error', () => {});
  if (!socket.writable) return void socket.destroy();
  // Closed once written: the socket is no longer Node's, and a client that never closes its side would hold it.
  socket.end(`HTTP/1.1 405 ${STATUS_CODES[405]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy());
}

/**
 * Whether a request Node took for one that expects 100 Continue expects that alone: Node reads any `Expect` with
 * 100-continue in it as a word (`100-continue-please`, `100-continue, other`), and sent 100 Continue for an
 * expectation it does not meet, where RFC 9110 answers 417.
 */
export function expectsContinueOnly(request: IncomingMessage): boolean {
  return /^\s*100-continue\s*$/i.test(String(request.headers.expect));
}

/** An `Expect` header other than 100-continue (which Node answers itself): 417 with a coded body rather than an empty one. */
export function answerUnmetExpectation(request: IncomingMessage, response: ServerResponse): void {
  const body = JSON.stringify(errorBody(417, 'FLTS_REQUEST_INVALID', `Expect: '${shownText(clip(String(request.headers.expect)))}' is not supported; only 100-continue is.`));
  response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
}

/**
 * Every answer of `app` whose body is text is masked of secrets on its way out (redactJsonLines: a JSON body keeps its
 * keys and numbers): error bodies, whatever route or hook sent them, and the read routes, whose status and metadata
 * quote settings and failures (a tracking URI, a broker's refusal). `everyAnswer` masks the others too (the daemon's,
 * whose routes are few and small); serve leaves its successful POSTs (forecasts: numbers, at the request rate) alone.
 */
export function maskAnswers(app: FastifyInstance, everyAnswer: boolean): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (typeof payload !== 'string' || (!everyAnswer && reply.statusCode < 400 && request.method !== 'GET' && request.method !== 'HEAD')) return done(null, payload);
    done(null, redactJsonLines(payload));
  });
}
