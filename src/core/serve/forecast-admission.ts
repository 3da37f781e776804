import type { ServerResponse } from 'node:http';
import { FltsError, isFltsError } from '../errors.js';
import type { ServeMetrics } from './serve-metrics.js';

/** Why a prediction request got no forecast: the bound was full, or its client left before the forecast was done. */
export type RefusalReason = 'overloaded' | 'cancelled';

export interface ForecastAdmissionOptions {
  /** Forecast rows in flight at most (serve.maxQueuedRows); 0 = no bound. */
  maxRows: number;
  /** Hears the rows in flight after each change. */
  onQueuedRows?: (rows: number) => void;
  /** Hears of each request refused, or dropped because its client left. */
  onRefused?: (route: string, reason: RefusalReason) => void;
  /** Milliseconds, for the Retry-After estimate (default `performance.now`). */
  now?: () => number;
}

/**
 * The bound on forecast work shared by every prediction entry point (POST /predict, the Open Inference Protocol over
 * HTTP and gRPC): a request is admitted with the rows it asks for, or refused at once, never queued, since a queue of
 * waiting requests holds their memory as surely as running them would.
 */
export interface ForecastAdmission {
  /**
   * Runs `work` with `rows` admitted until it settles. Refused at once with FLTS_SERVE_OVERLOADED (details.retryAfterSec)
   * when the rows in flight and these would pass the bound; a request larger than the bound alone is admitted when
   * nothing is in flight, so it can be served at all. `signal` (the client left) aborted before `work` starts drops
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

export function createForecastAdmission(options: ForecastAdmissionOptions): ForecastAdmission {
  const { maxRows } = options;
  const now = options.now ?? (() => performance.now());
  let queued = 0;
  // Rows done over the time any work was in flight: the rate this server frees rows at, for Retry-After.
  let doneRows = 0;
  let busyMs = 0;
  let busySince = 0;

  function take(rows: number): () => void {
    if (queued === 0) busySince = now();
    queued += rows;
    options.onQueuedRows?.(queued);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      queued -= rows;
      doneRows += rows;
      if (queued === 0) busyMs += now() - busySince;
      options.onQueuedRows?.(queued);
    };
  }

  const fits = (rows: number): boolean => maxRows === 0 || queued + rows <= maxRows;

  /** Seconds until the rows in flight beyond room for `rows` are done, at the rate rows were done so far. */
  function retryAfterSec(rows: number): number {
    const ms = busyMs + (queued > 0 ? now() - busySince : 0);
    if (doneRows === 0 || ms <= 0) return 1;
    // The rows that must be done before these fit: all in flight for a request larger than the bound.
    const excess = Math.min(queued, queued + rows - maxRows);
    return Math.min(MAX_RETRY_AFTER_SEC, Math.max(1, Math.ceil((excess * ms) / doneRows / 1000)));
  }

  return {
    async run(route, rows, signal, work) {
      if (!fits(rows) && queued > 0) {
        options.onRefused?.(route, 'overloaded');
        const retry = retryAfterSec(rows);
        throw new FltsError('FLTS_SERVE_OVERLOADED', `The server is busy: ${queued} forecast rows are in flight and this request asks for ${rows}, past the bound of ${maxRows}; retry in ${retry} s.`, {
          details: { retryAfterSec: retry, queuedRows: queued, requestedRows: rows, maxQueuedRows: maxRows },
        });
      }
      const release = take(rows);
      try {
        signal?.throwIfAborted();
        return await work();
      } catch (error) {
        if (signal?.aborted && isFltsError(error) && error.code === 'FLTS_REQUEST_CANCELLED') options.onRefused?.(route, 'cancelled');
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

/** The reason a signal of a request whose client left is aborted with. */
export function clientGone(what: string): FltsError {
  return new FltsError('FLTS_REQUEST_CANCELLED', `${what}; its forecast was dropped.`);
}

/**
 * Aborted once the client of an HTTP answer closes its connection before the answer was written. (fastify's
 * `request.signal` follows the request stream, which Node closes as soon as the body is read.) Not once the answer
 * is ended: a close after that, which fastify's inject emits before `finish`, has no work left to stop.
 */
export function closedBeforeAnswer(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const gone = (): void => controller.abort(clientGone('The client closed the connection before its answer was sent'));
  if (response.destroyed) gone();
  else response.once('close', () => !response.writableEnded && gone());
  return controller.signal;
}

/** The admission of a server, its rows and refusals in `metrics`. */
export function createMeteredAdmission(maxRows: number, metrics: Pick<ServeMetrics, 'countForecastRefused' | 'setQueuedRows'>): ForecastAdmission {
  metrics.setQueuedRows(0, maxRows);
  return createForecastAdmission({ maxRows, onQueuedRows: (rows) => metrics.setQueuedRows(rows), onRefused: (route, reason) => metrics.countForecastRefused(route, reason) });
}
