import type { ServerResponse } from 'node:http';
import { FltsError, isFltsError } from '../errors.js';
import type { ServeMetrics } from './serve-metrics.js';
import { wasResetForPipelining } from './unread-answers.js';

/**
 * Why a prediction request got no forecast: the bound was full, its client left before the forecast was done, or its
 * connection was reset for carrying more pipelined requests than a connection may (a misbehaving client, not load).
 */
export type RefusalReason = 'overloaded' | 'cancelled' | 'pipelining';

export interface ForecastAdmissionOptions {
  /** Forecast rows in flight at most (serve.maxQueuedRows); 0 = no bound. */
  maxRows: number;
  /** Hears the rows in flight after each change. */
  onQueuedRows?: (rows: number) => void;
  /** Hears of each request refused, or dropped because its client left. */
  onRefused?: (route: string, reason: RefusalReason) => void;
  /** Milliseconds, for the Retry-After estimate (default `performance.now`). */
  now?: () => number;
  /** A number in [0, 1), for the jitter of Retry-After (default `Math.random`). */
  random?: () => number;
  /**
   * Who refuses, as the refusal's message names it: the server to its clients (default), the forecaster to a library
   * caller, who has no server to wait for.
   */
  subject?: AdmissionSubject;
}

export type AdmissionSubject = 'server' | 'forecaster';

/** What a refusal calls the one refusing and the work refused, by subject. */
const REFUSAL_WORDS: Record<AdmissionSubject, { busy: string; asking: string; bound: string }> = {
  server: { busy: 'The server', asking: 'this request', bound: 'the bound' },
  forecaster: { busy: 'The forecaster', asking: 'this forecast', bound: 'the bound (serve.maxQueuedRows)' },
};

/**
 * The bound on forecast work shared by every prediction entry point (POST /predict, the Open Inference Protocol over
 * HTTP and gRPC): a request is admitted with the rows it asks for, or refused at once, never queued, since a queue of
 * waiting requests holds their memory as surely as running them would.
 */
export interface ForecastAdmission {
  /**
   * Runs `work` with `rows` admitted until it settles. Refused at once with FLTS_SERVE_OVERLOADED (details.retryAfterSec
   * for HTTP, retryAfterMs for gRPC) when the rows in flight and these would pass the bound; a request larger than the
   * bound alone is admitted when nothing is in flight, so it can be served at all. `signal` (the client left) aborted before `work` starts drops
   * it; `work` stops at its own checks of the signal.
   */
  run<T>(route: string, rows: number, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T>;
  /**
   * Work nobody waits for (a shadow model's forecast): admitted only when it fits under the bound, never alone past
   * it. Returns the release, or undefined when it does not fit.
   */
  tryAdmit(rows: number): (() => void) | undefined;
  readonly queuedRows: number;
}

/** The default of serve.maxQueuedRows (docs/config.md). */
export const DEFAULT_MAX_QUEUED_ROWS = 100_000;

/** The longest Retry-After given: past it the estimate says little, and a client should look again anyway. */
const MAX_RETRY_AFTER_SEC = 60;

/**
 * Past the cap, Retry-After is spread over this last share of it: the requests the cap cuts, told nearly the same, then
 * come back over 15 s instead of on the same second.
 */
const RETRY_CAP_SPREAD = 0.25;

/**
 * Retry-After is made later by up to this (or by the time the request's own rows take, when longer): each refusal is
 * already told a later turn than the ones before it, and this spreads the HTTP ones between two whole seconds. (A
 * jitter of up to a quarter of the estimate, the rule before, made a burst told turns at the pace the server frees
 * room come back about 11 % slower than that, each up to 25 % after its turn: a late client leaves room idle, where
 * an early one costs only one more refusal.)
 */
const RETRY_JITTER_MS = 1000;

/** The weight the time in flight measured so far keeps at each request done, so recent requests count the most. */
const LATENCY_DECAY = 0.9;

export function createForecastAdmission(options: ForecastAdmissionOptions): ForecastAdmission {
  const { maxRows } = options;
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const words = REFUSAL_WORDS[options.subject ?? 'server'];
  let queued = 0;
  // Rows refused and told to come back, by the second (of `now`) they were told: those still to come take room
  // before a request refused later, so each refusal is told a later second than the ones before it.
  const promised = new Map<number, number>();
  // How long a row stays in flight, on recent requests weighted by their rows: a server that shares its forward passes
  // among the requests in flight frees a full bound in about that time (Little's law), however many requests share it.
  // (Rows done per busy second, the rate used before, counts a server with one request in flight as if full: 4x too
  // slow for 10 calls of 10,000 rows, and it told a burst to come back far too late.)
  let rowMs = 0;
  let weightRows = 0;

  function take(rows: number): () => void {
    const admitted = now();
    queued += rows;
    options.onQueuedRows?.(queued);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      queued -= rows;
      rowMs = rowMs * LATENCY_DECAY + (now() - admitted) * rows;
      weightRows = weightRows * LATENCY_DECAY + rows;
      options.onQueuedRows?.(queued);
    };
  }

  /**
   * Counts a refusal for the bound. One over HTTP is counted once its answer is sent or its connection closed: the 503 of
   * a pipelined request behind answers its client does not take never reaches it when that connection is then reset
   * for too many pipelined requests, and is counted as such (one client's misbehaviour, not load).
   */
  function countOverloaded(route: string, signal: AbortSignal | undefined): void {
    const response = signal === undefined ? undefined : answerOf.get(signal);
    if (!response) {
      options.onRefused?.(route, 'overloaded');
      return;
    }
    response.once('close', () => options.onRefused?.(route, !response.writableFinished && wasResetForPipelining(response.req.socket) ? 'pipelining' : 'overloaded'));
  }

  const fits = (rows: number): boolean => maxRows === 0 || queued + rows <= maxRows;

  /** The rows told to come back after `at` (ms); those told an earlier second have come back, or will not. */
  function promisedAfter(at: number): number {
    const second = Math.floor(at / 1000);
    let rows = 0;
    for (const [due, count] of promised) {
      if (due <= second) promised.delete(due);
      else rows += count;
    }
    return rows;
  }

  /**
   * Time until `rows` fit: until the rows in flight beyond room for them, and the rows refused before and told to
   * come back, are done: a bound's worth in the time a row stays in flight (1 s before any request was done). A short
   * estimate costs the client one more refusal, a long one leaves the server idle. Then spread by a jitter, and
   * remembered as promised. In milliseconds for gRPC's pushback, whose clients can wait that precisely (whole seconds
   * told a client estimated 0.3 s from a free slot to wait 1 s); rounded up to whole seconds for HTTP's Retry-After.
   */
  function retryAfter(rows: number): { ms: number; sec: number } {
    const at = now();
    const msPerRow = (weightRows > 0 ? rowMs / weightRows : 1000) / maxRows;
    // The rows that must be done before these fit: all in flight for a request larger than the bound.
    const excess = Math.min(queued, queued + rows - maxRows);
    const estimate = (excess + promisedAfter(at)) * msPerRow;
    const draw = random();
    let ms = estimate + draw * Math.max(RETRY_JITTER_MS, rows * msPerRow);
    const capped = ms > MAX_RETRY_AFTER_SEC * 1000;
    // Past the cap, over the last quarter of it: all told the cap would come back together.
    if (capped) ms = (MAX_RETRY_AFTER_SEC - draw * MAX_RETRY_AFTER_SEC * RETRY_CAP_SPREAD) * 1000;
    // Whole seconds for HTTP: never sooner than the milliseconds told over gRPC, so both count as promised in that second.
    const sec = Math.max(1, Math.ceil(ms / 1000));
    // A request told the cap is not promised its seconds: it comes back before its turn, is refused again and counted
    // then. Counted, the refusals of a burst past the cap (most of 500 calls of a tenth of the bound each) promised
    // the cap's last quarter many times the rows the server takes in it, so each client refused as that wave came back
    // was told the cap again, and the server idled until the next wave (bench/serve-burst.mjs: 31 s with no call in
    // flight out of 255 s).
    if (!capped) {
      const due = Math.floor((at + sec * 1000) / 1000);
      promised.set(due, (promised.get(due) ?? 0) + rows);
    }
    return { ms: Math.max(1, Math.ceil(ms)), sec };
  }

  return {
    async run(route, rows, signal, work) {
      // A client already gone is not refused for the bound, even when the bound is full (of its own connection's work, often).
      if (signal?.aborted) {
        options.onRefused?.(route, goneReason(signal.reason));
        throw signal.reason;
      }
      if (!fits(rows) && queued > 0) {
        countOverloaded(route, signal);
        const retry = retryAfter(rows);
        throw new FltsError('FLTS_SERVE_OVERLOADED', `${words.busy} is busy: ${queued} forecast rows are in flight and ${words.asking} asks for ${rows}, past ${words.bound} of ${maxRows}; retry in ${retry.sec} s.`, {
          details: { retryAfterSec: retry.sec, retryAfterMs: retry.ms, queuedRows: queued, requestedRows: rows, maxQueuedRows: maxRows },
        });
      }
      const release = take(rows);
      try {
        return await work();
      } catch (error) {
        if (signal?.aborted && isFltsError(error) && error.code === 'FLTS_REQUEST_CANCELLED') options.onRefused?.(route, goneReason(error));
        throw error;
      } finally {
        release();
      }
    },
    tryAdmit: (rows) => (fits(rows) ? take(rows) : undefined),
    get queuedRows() {
      return queued;
    },
  };
}

/** The reason a signal of a request whose client left is aborted with; `pipelining` when the server reset its connection for that. */
export function clientGone(what: string, reason: Exclude<RefusalReason, 'overloaded'> = 'cancelled'): FltsError {
  return new FltsError('FLTS_REQUEST_CANCELLED', `${what}; its forecast was dropped.`, reason === 'pipelining' ? { details: { refusal: reason } } : {});
}

function goneReason(error: unknown): RefusalReason {
  return isFltsError(error) && error.details.refusal === 'pipelining' ? 'pipelining' : 'cancelled';
}

/** The HTTP answer each signal of `closedBeforeAnswer` watches, for the count of a refusal for the bound. */
const answerOf = new WeakMap<AbortSignal, ServerResponse>();

/**
 * Aborted once the connection of an HTTP answer closes before the answer was written: its client closed it, or the
 * server reset it for too many pipelined requests (the reason tells which). (fastify's `request.signal` follows the
 * request stream, which Node closes as soon as the body is read.) Not once the answer is ended: a close after that,
 * which fastify's inject emits before `finish`, has no work left to stop.
 */
export function closedBeforeAnswer(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  answerOf.set(controller.signal, response);
  const gone = (): void =>
    controller.abort(
      wasResetForPipelining(response.req.socket)
        ? clientGone('The connection carried more pipelined requests than the server takes and was reset before this answer was sent', 'pipelining')
        : clientGone('The client closed the connection before its answer was sent'),
    );
  if (response.destroyed) gone();
  else response.once('close', () => !response.writableEnded && gone());
  return controller.signal;
}

/** The admission of a server, its rows and refusals in `metrics`; `clocks` for tests. */
export function createMeteredAdmission(
  maxRows: number,
  metrics: Pick<ServeMetrics, 'countForecastRefused' | 'setQueuedRows'>,
  clocks: Pick<ForecastAdmissionOptions, 'now' | 'random'> = {},
): ForecastAdmission {
  metrics.setQueuedRows(0, maxRows);
  return createForecastAdmission({ maxRows, ...clocks, onQueuedRows: (rows) => metrics.setQueuedRows(rows), onRefused: (route, reason) => metrics.countForecastRefused(route, reason) });
}
