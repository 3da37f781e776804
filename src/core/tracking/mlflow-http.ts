import { AsyncLocalStorage } from 'node:async_hooks';
import { clip, singleLine } from '../clip-text.js';
import { redactSecrets } from '../redact.js';
import { trackingUriProblem } from '../config/specs/tracking.js';
import { FltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { parseLenientJson } from '../storage/json-objects.js';
import { isTlsRefusal } from '../tls-files.js';
import { maxTotalBackoffMs, retryWithBackoff, type RetryPolicy } from '../retry.js';
import { createJsonListCounter, type JsonListLayout } from './json-list-counter.js';
import { CREDENTIALS_HINT, credentialsOf, masking, splitUserinfo } from './mlflow-credentials.js';
import { parseJsonListInTurns } from './json-list-in-turns.js';
import { createTlsAgent, readTlsMaterial, type MlflowTlsAgent } from './mlflow-tls.js';
import { createMlflowServerState, type MlflowServerState } from './mlflow-servers.js';

export interface MlflowHttpOptions {
  /** Tracking server base URL, e.g. http://127.0.0.1:5000. */
  readonly uri: string;
  /** Limit of one attempt: connect, headers and body together. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly token?: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM file of the CAs an https server's certificate must chain to, in place of Node's (tracking.caFile). */
  readonly caFile?: string;
  /** PEM file of the client certificate and its key, for a server that asks for one (tracking.clientCertFile). */
  readonly clientCertFile?: string;
  /** Accept any server certificate (tracking.insecureTls); refused together with `caFile`. */
  readonly insecureTls?: boolean;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** The clock of budgets, deadlines and Retry-After dates (default `Date.now`); injected by tests. */
  readonly now?: () => number;
  /** The most of one answer that is read (default MAX_RESPONSE_BYTES); past it the call fails with reason too_large. */
  readonly maxResponseBytes?: number;
  /** Where the server's outage is kept, shared with other clients of it (default: this client's own). */
  readonly server?: MlflowServerState;
}

export interface MlflowRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly json?: unknown;
  readonly body?: Uint8Array;
  /** A time (on the `now` clock) the call ends by, when sooner than its own budget: a listing's deadline. */
  readonly deadline?: number;
  /**
   * A page of a search: the answer's list (`key`) may hold at most `maxEntries`, the max_results asked for; one
   * more fails the call with reason oversized_page. Past COUNT_PAGES_FROM_BYTES its entries are counted as the
   * body arrives, and the rest is left unread as soon as they pass the limit; a page within it is parsed entry by
   * entry over event-loop turns.
   */
  readonly page?: { readonly key: string; readonly maxEntries: number };
}

export type MlflowHttp = <T>(req: MlflowRequest) => Promise<T>;

/** The signal that ends the calls made within `abortingCallsOn` (see there), beside each client's own. */
const callSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `work` so that every MLflow call it makes, through any client, is aborted when `signal` aborts: the request in
 * flight is cancelled and its socket released, no retry is begun. This is how a client built by a caller (whose own
 * signal cannot be changed) keeps to a budget of someone else's, such as a sync's backlog: without it, a call cut at the
 * budget would still hold its connection until its own time limit. Nested, a call ends at whichever signal aborts first.
 */
export function abortingCallsOn<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  const outer = callSignal.getStore();
  return callSignal.run(outer ? AbortSignal.any([outer, signal]) : signal, work);
}

/** The client's own signal and the one of the calls' context (abortingCallsOn), whichever are there. */
function signalOfCall(own: AbortSignal | undefined): AbortSignal | undefined {
  const ambient = callSignal.getStore();
  if (!ambient) return own;
  return own ? AbortSignal.any([own, ambient]) : ambient;
}

/** A failure worth another attempt: the network, a timeout, 429, 5xx or a write that lost a race (`WRITE_RACE`). */
class TransientFailure extends Error {
  constructor(message: string, readonly status?: number, readonly retryAfterMs?: number, readonly timedOut = false) {
    super(message);
  }
}

/**
 * A Retry-After past this is taken for a broken header, not a request: the normal backoff applies. A day is far
 * past the longest call budget the settings allow, so any sane wait beyond the budget is still reported as such.
 */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;
/**
 * The statuses whose Retry-After is waited for. RFC 9110 gives the header one meaning on any answer (how long to
 * wait before asking again) and names 503; RFC 6585 names 429. A proxy or gateway before MLflow answers 502 or 504
 * while MLflow restarts, and one set to say when to come back says it on those too (MLflow's own Python client,
 * through urllib3, waits it on every status it retries). A 500 is MLflow's own failure, which never carries it:
 * there the backoff stays, so a blanket header on a proxy's error pages cannot end such calls at once.
 */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

const HTTP_DATE = /^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/;

/**
 * The wait a Retry-After header asks for, in milliseconds: delta-seconds or an HTTP-date (the three forms RFC 9110
 * has recipients accept), from `now`. Undefined for a value that is missing, garbage, in the past or over a day,
 * which leaves the retry to the normal backoff.
 */
export function parseRetryAfter(header: string | string[] | undefined, now: number): number | undefined {
  const value = [header].flat()[0]?.trim();
  if (!value) return undefined;
  let waitMs: number;
  if (/^\d+$/.test(value)) waitMs = Number(value) * 1000;
  else if (HTTP_DATE.test(value)) waitMs = Date.parse(value) - now;
  else return undefined;
  return Number.isFinite(waitMs) && waitMs >= 0 && waitMs <= MAX_RETRY_AFTER_MS ? waitMs : undefined;
}

/**
 * MLflow's database refusing a row another writer inserted first (two replicas tagging the same run at once):
 * SQLite, PostgreSQL and MySQL word it differently, and MLflow answers it as a 400. The same call again finds
 * the row and updates it.
 */
const WRITE_RACE = /IntegrityError|UNIQUE constraint failed|duplicate key value violates unique constraint|Duplicate entry/i;

/**
 * The most of one answer that is read. A page of 1000 runs with their params, metrics and tags stays far below
 * it; a proxy streaming a file or a wrong URL serving a download would otherwise be held whole in memory
 * (100 MB of body took a CLI past 500 MB).
 */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

const NOT_MLFLOW_HINT =
  'The URL answers, but not as an MLflow tracking server: check that MLFLOW_TRACKING_URI is the MLflow server itself (not a proxy page, a login page or another service) and that it answers there without a redirect; local tracking continues meanwhile.';

/**
 * An answer no MLflow server gives (a redirect, HTML, a body of the wrong shape, an endless listing): the
 * server is unusable at this URI, so it is reported like an unreachable one, without retries, since asking
 * the same URL again gets the same page.
 */
export function notMlflowAnswer(
  uri: string,
  req: Pick<MlflowRequest, 'method' | 'path'>,
  reason: 'redirect' | 'not_json' | 'too_large' | 'oversized_page' | 'wrong_shape' | 'endless_listing',
  problem: string,
  status?: number,
  hint = NOT_MLFLOW_HINT,
): FltsError {
  return new FltsError('FLTS_TRACKING_UNAVAILABLE', `MLflow tracking server ${uri} answered ${req.method} ${req.path} as MLflow never does: ${problem}`, {
    hint,
    details: { uri, path: req.path, reason, status },
  });
}

const TOO_LARGE_HINT =
  'A proxy or a wrong URL serving a download answers like this; an MLflow server whose answers are that large (runs with very many params, metrics or tags) needs a larger FLTS_MLFLOW_MAX_RESPONSE_MB (setting tracking.maxResponseMb), within the memory the process has. Local tracking continues meanwhile.';

const isJsonObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

type BodyRead = { chunks: Buffer[]; size: number; layout?: JsonListLayout } | { tooLarge: true } | { entries: number };

/**
 * The size from which a page's entries are counted as it arrives, and parsed one by one over event-loop turns.
 * Below it the count would cost more than the parse it saves (a page of 1000 small runs is about 200 kB, and a
 * cold count of it took longer than its parse), and the page is parsed whole and its list counted then; past it,
 * the bytes received so far are counted at once, then each chunk.
 */
const COUNT_PAGES_FROM_BYTES = 1024 * 1024;

/**
 * The body, with the `layout` of a counted page's list; or, having stopped reading it, `tooLarge` once it passes
 * `limit` bytes (announced or received), or the `entries` of a page's list once they pass its `maxEntries`.
 * Either way what an answer costs is bounded while it arrives, before anything is parsed: a page of 100 000 runs
 * where 1000 were asked for is left soon after its 1001st run, not parsed whole on the event loop.
 */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(): unknown }, contentLength: string | string[] | undefined, limit: number, page: MlflowRequest['page']): Promise<BodyRead> {
  if (Number(contentLength) > limit) {
    body.destroy();
    return { tooLarge: true };
  }
  const counter = page ? createJsonListCounter(page.key, { fromFirstObject: true }) : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  /** Chunks counted: none until the body passes COUNT_PAGES_FROM_BYTES. */
  let counted = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      return { tooLarge: true };
    }
    chunks.push(chunk);
    if (!counter || size <= COUNT_PAGES_FROM_BYTES) continue;
    let entries = 0;
    for (const received of counted === 0 ? chunks : [chunk]) entries = counter.feed(received);
    counted += 1;
    if (page && entries > page.maxEntries) {
      body.destroy();
      return { entries };
    }
  }
  return { chunks, size, layout: counted > 0 ? counter?.layout() : undefined };
}

export function assertTrackingUri(uri: string): string {
  // Unset is the usual case (`flts eval --source mlflow` before `export MLFLOW_TRACKING_URI=...`): saying `= ""` is
  // not valid read as if a value had been given wrong.
  if (uri.trim() === '') {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', 'MLFLOW_TRACKING_URI (setting tracking.uri) is not set: reading MLflow runs needs the http:// or https:// URL of an MLflow tracking server.', {
      details: { setting: 'tracking.uri', accepted: 'http(s) URL' },
    });
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(uri);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `MLFLOW_TRACKING_URI (setting tracking.uri) = ${JSON.stringify(redactSecrets(uri))} is not valid: expected an http:// or https:// URL of an MLflow tracking server.`, {
      details: { setting: 'tracking.uri', accepted: 'http(s) URL' },
    });
  }
  // Settings refuse it as they load; a URI given in code is held to the same rule.
  const problem = trackingUriProblem(uri);
  if (problem) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `MLFLOW_TRACKING_URI (setting tracking.uri) = ${JSON.stringify(redactSecrets(uri))} is not valid: it ${problem}.`, {
      details: { setting: 'tracking.uri', accepted: 'http(s) URL without a query string or fragment' },
    });
  }
  return uri.replace(/\/+$/, '');
}

/** The alerts a server ends a handshake with over the client's certificate: none sent, or one it does not accept. */
const CLIENT_CERTIFICATE_ALERT = /^ERR_SSL_\w*ALERT_(CERTIFICATE_\w+|BAD_CERTIFICATE|UNKNOWN_CA|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/;

/** The tracking servers told of in this process that their certificates go unverified: each is said once, not per call or client. */
const insecureTlsSaid = new Set<string>();

function insecureTlsWarned(uri: string, logger: Logger): void {
  if (insecureTlsSaid.has(uri)) return;
  insecureTlsSaid.add(uri);
  logger.warn({ uri, setting: 'tracking.insecureTls', env: 'MLFLOW_TRACKING_INSECURE_TLS' }, 'mlflow_tls_verification_off');
}

/** Node's error code (ECONNREFUSED, a certificate's); a DOMException's numeric code (a timeout's 23) is none. */
function codeOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A TLS handshake that failed on what is configured, not on the network: a certificate Node does not trust or that names
 * another host, or a server that does not speak TLS there (an https:// URI of a plain http server). Asking again gets
 * the same refusal, so it is reported at once, where retrying it spent a whole call budget (43.5 s by default) per call.
 */
function tlsRefused(uri: string, req: Pick<MlflowRequest, 'method' | 'path'>, code: string, error: unknown, files: { caFile?: string; clientCertFile?: string }): FltsError {
  const { caFile, clientCertFile } = files;
  const raw = error instanceof Error ? error.message : String(error);
  // OpenSSL's own line (`<id>:error:<code>:SSL routines:<function>:<reason>:<file>:<line>:`) says its reason among paths.
  const openssl = /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+):/.exec(raw)?.[1];
  const text = (openssl ?? raw).replace(/; if the root CA is installed locally, try running Node\.js with --use-system-ca$/, '').trim();
  // Node's codes of a certificate it does not accept; OpenSSL's ERR_SSL_* are the handshakes that failed otherwise.
  const certificate = !code.startsWith('ERR_SSL_');
  const trusted = caFile ? `the CA certificates of MLFLOW_TRACKING_SERVER_CERT_PATH (${caFile})` : "Node's public CAs and NODE_EXTRA_CA_CERTS";
  const hint = certificate
    ? `The tracking server's certificate does not chain to ${trusted}, or names another host: give the PEM file of the CA that signed it with MLFLOW_TRACKING_SERVER_CERT_PATH (setting tracking.caFile), or use the host name the certificate was issued for. Local tracking continues meanwhile.`
    : CLIENT_CERTIFICATE_ALERT.test(code)
      ? clientCertFile
        ? `The tracking server refused the client certificate of MLFLOW_TRACKING_CLIENT_CERT_PATH (${clientCertFile}): it is not signed by a CA the server trusts for clients, has expired, or is not allowed there. Local tracking continues meanwhile.`
        : 'The tracking server asks for a client certificate (mutual TLS) and flts sent none: give the PEM file holding the certificate and its private key with MLFLOW_TRACKING_CLIENT_CERT_PATH (setting tracking.clientCertFile). Local tracking continues meanwhile.'
      : 'The tracking server did not complete a TLS handshake: an https:// MLFLOW_TRACKING_URI naming a plain http:// server fails so (wrong version number); else the server wants a client certificate (MLFLOW_TRACKING_CLIENT_CERT_PATH) or a TLS version Node does not offer. Local tracking continues meanwhile.';
  return new FltsError('FLTS_TRACKING_UNAVAILABLE', `MLflow tracking server ${uri} refused ${req.method} ${req.path} at the TLS handshake (${code}): ${text}${certificate ? ` (checked against ${trusted})` : ''}`, {
    cause: error,
    hint,
    details: { uri, path: req.path, reason: 'tls', tlsCode: code },
  });
}

function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const code = codeOf(error);
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'no answer within the time limit';
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** No answer, or one saying the server (or the proxy before it) cannot serve now; a 400 lost in a race is an answer. */
function isUnanswered(error: unknown): error is TransientFailure {
  return error instanceof TransientFailure && (error.status === undefined || error.status === 429 || error.status >= 500);
}

/**
 * One function for every MLflow call: a time limit on each attempt, retries with backoff on transient
 * failures, MLflow's `{error_code, message}` turned into FLTS_TRACKING_REJECTED, and exhaustion into
 * FLTS_TRACKING_UNAVAILABLE that says how long it tried. No call takes longer than its budget
 * (trackingCallBudgetMs), a server's Retry-After included, which is what keeps a dead or throttling server from
 * stalling training (F4).
 */
export function createMlflowHttp(options: MlflowHttpOptions): MlflowHttp {
  const checkedUri = assertTrackingUri(options.uri);
  const { base, ...fromUri } = splitUserinfo(checkedUri);
  const credentials = credentialsOf(options, fromUri);
  const auth = credentials.header;
  const conceal = masking(credentials.secrets);
  const shownBase = redactSecrets(checkedUri);
  // Read now, so that a file that is not one is refused before any call; the agent is made with the first call.
  const tls = readTlsMaterial(options);
  let agent: Promise<MlflowTlsAgent> | undefined;

  const now = options.now ?? Date.now;
  /**
   * The server's outage, this client's own unless shared (MlflowServers): every call is retried up to
   * FLTS_MLFLOW_RETRIES times, and an outage is told once when it starts (mlflow_unavailable) and once at the first
   * answer after it (mlflow_available_again), as the bus tells a broker's; the retries in between are at debug.
   */
  const server = options.server ?? createMlflowServerState();
  const maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;

  async function attempt<T>(req: MlflowRequest, limitMs: number, stop: AbortSignal | undefined): Promise<T> {
    const url = new URL(`${base}${req.path}`);
    for (const [key, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth) headers.authorization = auth;
    let body: string | Uint8Array | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.body !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = req.body;
    }
    const timeout = AbortSignal.timeout(limitMs);
    const signal = stop ? AbortSignal.any([timeout, stop]) : timeout;
    let status: number;
    let location: string | undefined;
    let retryAfter: string | string[] | undefined;
    let contentType: string | undefined;
    let read: BodyRead;
    try {
      // undici (~110 modules) loads on the first request, not with every command that reaches this module.
      const { request } = await import('undici');
      if (url.protocol === 'https:' && !agent) {
        agent = createTlsAgent(tls);
        if (tls.insecure) insecureTlsWarned(shownBase, options.logger);
      }
      const dispatcher = agent && (await agent).dispatcher;
      // undici follows no redirects here, so the credentials never go to a host the answer names.
      const response = await request(url, { method: req.method, headers, body, signal, headersTimeout: limitMs, bodyTimeout: limitMs, ...(dispatcher ? { dispatcher } : {}) });
      status = response.statusCode;
      location = [response.headers.location].flat()[0];
      retryAfter = response.headers['retry-after'];
      contentType = [response.headers['content-type']].flat()[0];
      read = await readBounded(response.body, response.headers['content-length'], maxResponseBytes, req.page);
    } catch (error) {
      if (stop?.aborted) throw error;
      const alert = agent && (await agent).alertOf(error);
      const code = codeOf(alert ?? error);
      if (code !== undefined && isTlsRefusal(code)) throw tlsRefused(shownBase, req, code, alert ?? error, { caFile: options.caFile || undefined, clientCertFile: options.clientCertFile || undefined });
      throw new TransientFailure(describeCause(error), undefined, undefined, error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'));
    }
    if (status >= 300 && status < 400) {
      throw notMlflowAnswer(shownBase, req, 'redirect', `HTTP ${status} redirect to ${JSON.stringify(conceal(redactSecrets(location ?? '(no location)')))}, which flts does not follow`, status);
    }
    if ('tooLarge' in read) throw notMlflowAnswer(shownBase, req, 'too_large', `HTTP ${status} with a body over ${formatMb(maxResponseBytes)} MB`, status, TOO_LARGE_HINT);
    // MLflow never sends more than max_results. Its page token counts from the page it sent, so keeping the runs
    // asked for and following it would skip the rest without a trace: the listing is refused instead.
    const oversizedPage = (): FltsError => notMlflowAnswer(shownBase, req, 'oversized_page', `HTTP ${status} with a page of more than ${req.page?.maxEntries} ${req.page?.key}, the most its max_results asked for`, status);
    if ('entries' in read) throw oversizedPage();
    const { chunks, size, layout } = read;
    // A large page is parsed run by run over turns, its body never joined nor decoded whole, to what safeParse makes
    // of it; one that cannot be parsed so is parsed whole like any other answer.
    const inTurns = req.page && layout && status < 300 ? await parseJsonListInTurns(chunks, req.page.key, layout, { signal: stop, lenient: true }) : undefined;
    let decoded: string | undefined;
    const text = (): string => (decoded ??= Buffer.concat(chunks, size).toString('utf8'));
    const parsed = inTurns ? inTurns.value : text().trim() === '' ? {} : safeParse(text());
    if (status === 429 || status >= 500 || (status === 400 && WRITE_RACE.test(text()))) {
      // A rate-limiting proxy, an overloaded server or a gateway whose server is away says when to come back.
      const retryAfterMs = RETRY_AFTER_STATUSES.has(status) ? parseRetryAfter(retryAfter, now()) : undefined;
      throw new TransientFailure(`HTTP ${status}: ${messageOf(parsed, text(), contentType, conceal)}`, status, retryAfterMs);
    }
    if (status >= 400) {
      const mlflowErrorCode = (parsed as { error_code?: string } | undefined)?.error_code;
      const refusedCredentials = status === 401 || status === 403;
      throw new FltsError('FLTS_TRACKING_REJECTED', `MLflow rejected ${req.method} ${req.path} (HTTP ${status}${mlflowErrorCode ? ` ${mlflowErrorCode}` : ''}): ${messageOf(parsed, text(), contentType, conceal)}`, {
        ...(refusedCredentials ? { hint: CREDENTIALS_HINT[credentials.source] } : {}),
        details: { uri: shownBase, path: req.path, status, mlflowErrorCode, ...(refusedCredentials ? { credentials: credentials.source } : {}) },
      });
    }
    if (!isJsonObject(parsed)) {
      const body = decoded ?? opening(chunks, PAGE_OPENING_CHARS);
      const shown = isPage(body, contentType) ? describePage(body, contentType, conceal) : `a body that is not a JSON object: ${JSON.stringify(conceal(body).slice(0, 120))}`;
      throw notMlflowAnswer(shownBase, req, 'not_json', `HTTP ${status} with ${shown}`, status);
    }
    // The count while reading misses a list whose name is written with escapes; the parsed answer cannot.
    const entries = req.page ? parsed[req.page.key] : undefined;
    if (req.page && Array.isArray(entries) && entries.length > req.page.maxEntries) throw oversizedPage();
    return parsed as T;
  }

  const budgetMs = trackingCallBudgetMs(options);

  /**
   * Attempts until one succeeds, fails for good or the retries run out; between them the wait the server asks for
   * (Retry-After on 429, 502, 503 or 504) or else the backoff. The call ends by its budget (or the request's sooner deadline):
   * each attempt's time limit is cut to what is left, and a server asking for a wait past it is given up on at once
   * rather than slept for, since the answer would come after the caller stopped waiting.
   */
  return async function call<T>(req: MlflowRequest): Promise<T> {
    const started = now();
    const stop = signalOfCall(options.signal);
    // The request's deadline binds when it comes before the call's own budget; the call then ends with reason
    // 'deadline' for its owner (a listing) to report in its own terms.
    const byRequest = req.deadline !== undefined && req.deadline < started + budgetMs;
    const deadline = byRequest ? (req.deadline as number) : started + budgetMs;
    let attempts = 0;
    /** The call given up: after the last retry, out of time (`askedMs` being a Retry-After past the deadline), or on an abort. */
    const unavailable = (error: TransientFailure, outOfTime: boolean, askedMs?: number): FltsError => {
      const elapsedMs = now() - started;
      const details = { uri: shownBase, path: req.path, attempts, elapsedMs, status: error.status, budgetMs, ...(byRequest && outOfTime && askedMs === undefined ? { reason: 'deadline' } : {}) };
      if (askedMs === undefined) {
        return new FltsError('FLTS_TRACKING_UNAVAILABLE', `MLflow tracking server ${shownBase} failed ${req.method} ${req.path} after ${attempts} attempt(s) in ${(elapsedMs / 1000).toFixed(1)} s: ${error.message}`, {
          cause: error,
          details,
        });
      }
      return new FltsError(
        'FLTS_TRACKING_UNAVAILABLE',
        `MLflow tracking server ${shownBase} asked to wait ${(askedMs / 1000).toFixed(1)} s (Retry-After) before retrying ${req.method} ${req.path}, past the ${((deadline - started) / 1000).toFixed(1)} s this call may take; gave up after ${attempts} attempt(s): ${error.message}`,
        {
          cause: error,
          hint: 'The tracking server (or a proxy before it) asks for a longer pause than one call may take (FLTS_MLFLOW_TIMEOUT_MS, FLTS_MLFLOW_RETRIES, FLTS_MLFLOW_BACKOFF_MS); the next sync catches up, and local tracking continues meanwhile.',
          details: { ...details, reason: 'retry_after_past_budget', retryAfterMs: askedMs },
        },
      );
    };
    let limitMs = options.timeoutMs;
    /** An attempt the deadline cut short: what is left of the call holds no other. */
    const cutShort = (error: TransientFailure): boolean => error.timedOut && limitMs < options.timeoutMs;
    try {
      return await retryWithBackoff(
        () => {
          attempts += 1;
          limitMs = Math.max(1, Math.min(options.timeoutMs, deadline - now()));
          return attempt<T>(req, limitMs, stop).then(
            (answer) => {
              const { outage } = server;
              if (outage) {
                server.outage = undefined;
                options.logger.info({ uri: shownBase, failures: outage.failures, outage_ms: now() - outage.since }, 'mlflow_available_again');
              }
              return answer;
            },
            (error: unknown) => {
              if (!isUnanswered(error)) throw error;
              if (server.outage) server.outage.failures += 1;
              else {
                server.outage = { since: now(), failures: 1 };
                options.logger.warn({ uri: shownBase, path: req.path, status: error.status, reason: error.message }, 'mlflow_unavailable');
              }
              throw error;
            },
          );
        },
        options.retry,
        {
          isRetriable: (error) => error instanceof TransientFailure && !(byRequest && cutShort(error)),
          signal: stop,
          // The server's Retry-After in place of the backoff; a wait that would end past the deadline is not slept.
          delayBeforeRetry: (error, backoffMs) => {
            const failure = error as TransientFailure;
            const delayMs = failure.retryAfterMs ?? backoffMs;
            if (delayMs >= deadline - now()) throw unavailable(failure, true, failure.retryAfterMs);
            return delayMs;
          },
          onRetry: ({ attempt: n, delayMs, error }) =>
            options.logger.debug({ uri: shownBase, path: req.path, attempt: n, delay_ms: delayMs, retry_after_ms: (error as TransientFailure).retryAfterMs, reason: (error as Error).message }, 'mlflow_call_retrying'),
        },
      );
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      throw unavailable(error, cutShort(error));
    }
  };
}

const formatMb = (bytes: number): string => String(Math.round((bytes / 1024 / 1024) * 100) / 100);

/** The most one call may take before it reports the server unavailable. */
export function trackingCallBudgetMs(options: { timeoutMs: number; retry: RetryPolicy }): number {
  return (options.retry.retries + 1) * options.timeoutMs + maxTotalBackoffMs(options.retry);
}

function safeParse(text: string): unknown {
  try {
    return parseLenientJson(text);
  } catch {
    return undefined;
  }
}

/** The first `characters` of a body, decoded from as few of its first chunks as hold them (a page read in turns is never decoded whole). */
function opening(chunks: readonly Buffer[], characters: number): string {
  let taken = 0;
  let bytes = 0;
  // No character takes more than 4 bytes of UTF-8.
  while (taken < chunks.length && bytes < characters * 4) bytes += chunks[taken++].length;
  return Buffer.concat(chunks.slice(0, taken)).toString('utf8').slice(0, characters);
}

/**
 * What an error answer says: MLflow's message, else a page described (never its markup), else its opening; `mask`
 * applied before anything is cut, so that no part of a secret survives at the cut.
 */
function messageOf(parsed: unknown, text: string, contentType: string | undefined, mask: (text: string) => string): string {
  const message = (parsed as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return mask(message);
  if (isPage(text, contentType)) return describePage(text, contentType, mask);
  return mask(text).slice(0, 200) || '(empty body)';
}

/** How much of a body is looked through for a page's title. */
const PAGE_OPENING_CHARS = 8192;

/**
 * An HTML or XML page (a proxy's error or login page, a wrong URL's site): markup, or a body its content type calls a
 * page that does not open as JSON does (a cut-off JSON answer is no page, whatever a proxy labelled it).
 */
function isPage(text: string, contentType?: string): boolean {
  const first = text.trimStart()[0];
  return first === '<' || (/html|xml/i.test(contentType ?? '') && first !== '{' && first !== '[');
}

/**
 * A page in a few words: its content type and its <title>, clipped, on one line and with secrets masked. Its
 * markup is no message: a login page's scripts and forms would fill the terminal and the logs, and could carry a
 * token of the proxy.
 */
function describePage(text: string, contentType: string | undefined, mask: (text: string) => string): string {
  const kind = /xml/i.test(contentType ?? '') && !/html/i.test(contentType ?? '') ? 'an XML page' : 'an HTML page';
  const type = contentType ? ` (content-type ${clip(singleLine(contentType), 60)})` : '';
  const found = /<title[^>]*>([\s\S]*?)<\/title\s*>/i.exec(text.slice(0, PAGE_OPENING_CHARS))?.[1];
  const title = found === undefined ? '' : singleLine(decodeEntities(found.replace(/<[^>]*>/g, ''))).replace(/\s+/g, ' ').trim();
  return `${kind}${type}${title ? ` titled ${JSON.stringify(clip(redactSecrets(mask(title)), 80))}` : ', without a title'}`;
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, name: string) => {
    if (name[0] !== '#') return named[name.toLowerCase()] ?? entity;
    const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}
