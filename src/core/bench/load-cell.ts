import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import type { ErrorSummary, LatencySummary } from './bench-types.js';

export interface LoadCellInput {
  /** Base URL of the service (no path). */
  url: string;
  method: 'GET' | 'POST';
  path: string;
  /** Bodies sent in turn (POST); empty for GET. */
  bodies: readonly string[];
  connections: number;
  durationSec: number;
  /** Per-request timeout; a request still unanswered after it counts as a timeout. */
  timeoutSec?: number;
}

export interface LoadCellResult {
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
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  const non2xx: Record<string, number> = {};
  const connection: Record<string, number> = {};
  let timeouts = 0;
  let requests = 0;
  let successes = 0;
  let next = 0;
  const started = performance.now();
  let finish: (error: Error | null) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve());
  });
  const instance = autocannon({
    url: input.url,
    connections: input.connections,
    duration: input.durationSec,
    timeout: input.timeoutSec ?? 10,
    requests: [
      {
        method: input.method,
        path: input.path,
        headers: input.method === 'POST' ? { 'content-type': 'application/json' } : {},
        ...(input.bodies.length > 0 ? { setupRequest: (request: autocannon.Request) => ({ ...request, body: input.bodies[next++ % input.bodies.length] }) } : {}),
      },
    ],
  }, (error) => finish(error ?? null));
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    requests++;
    if (statusCode >= 200 && statusCode < 300) {
      successes++;
      histogram.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)));
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
  try {
    await finished;
  } finally {
    clearInterval(ticker);
    signal?.removeEventListener('abort', abort);
  }
  const elapsedSec = (performance.now() - started) / 1000;
  const ms = (micros: number): number => Math.round(micros) / 1000;
  // A percentile is the top of its HDR bucket, which can lie above the largest value recorded in that bucket.
  const at = (percentile: number): number => ms(Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue));
  const latency: LatencySummary =
    successes > 0
      ? { p50: at(50), p90: at(90), p99: at(99), max: ms(histogram.maxValue), mean: ms(histogram.mean) }
      : { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  histogram.destroy();
  const total = Object.values(non2xx).reduce((a, b) => a + b, 0) + timeouts + Object.values(connection).reduce((a, b) => a + b, 0);
  return { requests, successes, elapsedSec, latency, errors: { non2xx, timeouts, connection, total } };
}
