import autocannon from 'autocannon';
import type { ErrorSummary, LatencySummary } from './bench-types.js';
import { createLatencyRecorder } from './latency-recorder.js';

/** How often autocannon samples its counters; only its end-of-cell check depends on it (its histograms are not used). */
const SAMPLE_INTERVAL_MS = 25;

export interface LoadCellInput {
  /** Base URL of the service, with the path prefix it is served under, if any. */
  url: string;
  method: 'GET' | 'POST';
  path: string;
  /** Bodies sent in turn (POST); empty for GET. */
  bodies: readonly string[];
  connections: number;
  durationSec: number;
  /** Per-request timeout; a request still unanswered after it counts as a timeout. */
  timeoutSec?: number;
  /** Sent with every request (the bearer token of the prediction routes). */
  headers?: Record<string, string>;
}

/** An HTTP answer that refuses the credentials sent (or their absence): every request after it would be refused alike. */
export const refusesCredentials = (status: number): boolean => status === 401 || status === 403;

export interface LoadCellResult {
  /**
   * The first refusal of the credentials (HTTP 401 or 403, gRPC UNAUTHENTICATED or PERMISSION_DENIED), which ends the
   * cell at once: every request after it would be refused alike, counted as the service's failures.
   */
  authRefused?: string;
  requests: number;
  successes: number;
  elapsedSec: number;
  latency: LatencySummary;
  errors: ErrorSummary;
}

export interface LoadCellProgress {
  elapsedSec: number;
  requests: number;
}

/**
 * Drives one route with autocannon (keep-alive connections, one request in flight per connection) and
 * records every 2xx response time in an HDR histogram at microsecond resolution (autocannon's own
 * histogram rounds to whole milliseconds, too coarse for single-digit latencies).
 */
export async function runLoadCell(input: LoadCellInput, onProgress?: (progress: LoadCellProgress) => void, signal?: AbortSignal): Promise<LoadCellResult> {
  const latency = createLatencyRecorder();
  const non2xx: Record<string, number> = {};
  const connection: Record<string, number> = {};
  let timeouts = 0;
  let authRefused: string | undefined;
  let requests = 0;
  let successes = 0;
  let next = 0;
  const started = performance.now();
  let finish: (error: Error | null) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve());
  });
  // autocannon sends each request's `path` as given, dropping the path of `url`: a service behind a prefix
  // (http://gateway/flts) keeps it only when it leads the path.
  const base = new URL(input.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  const instance = autocannon({
    url: base.origin,
    connections: input.connections,
    duration: input.durationSec,
    // autocannon notices the end of `duration` only at its next sample, every second by default, so a 300 ms
    // cell ran a whole second; sampling this often ends a cell within this many ms of its duration.
    sampleInt: SAMPLE_INTERVAL_MS,
    timeout: input.timeoutSec ?? 10,
    requests: [
      {
        method: input.method,
        path: `${prefix}${input.path}`,
        headers: { ...(input.method === 'POST' ? { 'content-type': 'application/json' } : {}), ...input.headers },
        ...(input.bodies.length > 0 ? { setupRequest: (request: autocannon.Request) => ({ ...request, body: input.bodies[next++ % input.bodies.length] }) } : {}),
      },
    ],
  }, (error) => finish(error ?? null));
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    if (refusesCredentials(statusCode)) {
      authRefused ??= `HTTP ${statusCode}`;
      instance.stop();
      return;
    }
    requests++;
    if (statusCode >= 200 && statusCode < 300) {
      successes++;
      latency.recordMs(responseTimeMs);
    } else {
      non2xx[statusCode] = (non2xx[statusCode] ?? 0) + 1;
    }
  });
  instance.on('reqError', (error: Error & { code?: string }) => {
    requests++;
    if (error.message === 'request timed out') timeouts++;
    else connection[error.code ?? error.message] = (connection[error.code ?? error.message] ?? 0) + 1;
  });
  const ticker = setInterval(() => onProgress?.({ elapsedSec: (performance.now() - started) / 1000, requests }), 250);
  const abort = (): void => instance.stop();
  signal?.addEventListener('abort', abort, { once: true });
  // Aborted before this cell started (Ctrl-C during the probe or between cells): no 'abort' event comes any more.
  if (signal?.aborted) abort();
  try {
    await finished;
  } finally {
    clearInterval(ticker);
    signal?.removeEventListener('abort', abort);
  }
  const elapsedSec = (performance.now() - started) / 1000;
  const total = Object.values(non2xx).reduce((a, b) => a + b, 0) + timeouts + Object.values(connection).reduce((a, b) => a + b, 0);
  return { ...(authRefused ? { authRefused } : {}), requests, successes, elapsedSec, latency: latency.finish(), errors: { non2xx, timeouts, connection, total } };
}
