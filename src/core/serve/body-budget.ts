import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { FltsError } from '../errors.js';
import type { ServeMetrics } from './serve-metrics.js';

/**
 * The bound on request body bytes buffered across the whole server (serve.maxBodyBytesInFlight): each body is bounded
 * by serve.bodyLimitBytes alone, and a thousand connections each sending one near it made the server buffer gigabytes
 * and be killed for its memory. A body is counted from its first byte awaited until its answer is sent or its
 * connection closes: what the server holds for a request (its text, then the parsed body and the route's work on it)
 * grows with its body.
 */
export interface BodyBudget {
  /**
   * Takes the room a body declares (its Content-Length), or none yet for a chunked one, which grows it as it arrives
   * (`grow`). Throws FLTS_SERVE_BODIES_IN_FLIGHT when the bytes in flight and these would pass the bound; a body larger
   * than the bound alone is taken when nothing else is in flight, so it can be read at all (serve.bodyLimitBytes
   * bounds it).
   */
  take(route: string, declaredBytes: number): BodyTicket;
  readonly bytesInFlight: number;
  readonly maxBytes: number;
}

export interface BodyTicket {
  /** Adds `bytes` that arrived to a chunked body's room; throws as `take` does when they do not fit. */
  grow(bytes: number): void;
  /** Gives the room back; once, whatever calls it after. */
  release(): void;
}

export interface BodyBudgetOptions {
  /** Body bytes in flight at most; 0 = no bound. */
  maxBytes: number;
  /** Hears the bytes in flight after each change. */
  onBytes?: (bytes: number) => void;
  /** Hears of each body refused or cut off for the bound. */
  onRefused?: (route: string) => void;
  /** A number in [0, 1), for the jitter of Retry-After (default `Math.random`). */
  random?: () => number;
}

/** serve.maxBodyBytesInFlight, when not set: this many bodies of the largest size a body may have. */
export const BODIES_IN_FLIGHT_PER_LIMIT = 8;

/**
 * A body is read in the time its client takes to send it, not a queue's: a second is about as long as a body of the
 * limit takes on a fast link, and the refused client is told to come back after it, spread over up to RETRY_JITTER_MS
 * more. Told 1 s each, the clients refused together (a burst past the bound) came back together, in lockstep, and were
 * refused together again.
 */
const RETRY_AFTER_MS = 1000;
const RETRY_JITTER_MS = 2000;

/**
 * When a refused body is told to come back: from `draw` in [0, 1), 1-3 s, in milliseconds for gRPC's
 * grpc-retry-pushback-ms and in the nearest whole second for Retry-After, which takes whole seconds only.
 */
export function bodyRetryAfter(draw: number): { ms: number; sec: number } {
  const share = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1) : 0;
  const ms = RETRY_AFTER_MS + Math.round(share * RETRY_JITTER_MS);
  return { ms, sec: Math.round(ms / 1000) };
}

export function createBodyBudget(options: BodyBudgetOptions): BodyBudget {
  const { maxBytes } = options;
  const random = options.random ?? Math.random;
  let inFlight = 0;

  function refusal(route: string, asked: number, held: number): FltsError {
    options.onRefused?.(route);
    const others = inFlight - held;
    const retry = bodyRetryAfter(random());
    return new FltsError(
      'FLTS_SERVE_BODIES_IN_FLIGHT',
      `The server is busy with other request bodies: ${others} bytes of them are in flight and this body asks for ${held + asked}, past the bound of ${maxBytes}; retry in ${retry.sec} s.`,
      { details: { retryAfterSec: retry.sec, retryAfterMs: retry.ms, bodyBytesInFlight: others, requestedBytes: held + asked, maxBodyBytesInFlight: maxBytes } },
    );
  }

  function add(bytes: number): void {
    if (bytes === 0) return;
    inFlight += bytes;
    options.onBytes?.(inFlight);
  }

  return {
    take(route, declaredBytes) {
      let held = 0;
      let released = false;
      const claim = (bytes: number): void => {
        if (released) return;
        // Past the bound, a body is still read when it is the only one in flight: otherwise a bound below
        // serve.bodyLimitBytes would refuse the largest bodies forever.
        if (maxBytes > 0 && inFlight + bytes > maxBytes && inFlight > held) throw refusal(route, bytes, held);
        held += bytes;
        add(bytes);
      };
      claim(declaredBytes);
      return {
        grow: claim,
        release() {
          if (released) return;
          released = true;
          add(-held);
          held = 0;
        },
      };
    },
    get bytesInFlight() {
      return inFlight;
    },
    maxBytes,
  };
}

/**
 * The budget of a server, its bytes and refusals in `metrics`: one for the whole service, so that HTTP bodies and gRPC
 * ModelInfer messages share the bound. `maxBytes` null: BODIES_IN_FLIGHT_PER_LIMIT bodies of `bodyLimit`.
 */
export function createMeteredBodyBudget(
  maxBytes: number | null | undefined,
  bodyLimit: number,
  metrics: Pick<ServeMetrics, 'countBodyRefused' | 'setBodyBytesInFlight'>,
  random?: () => number,
): BodyBudget {
  const bound = maxBytes ?? BODIES_IN_FLIGHT_PER_LIMIT * bodyLimit;
  metrics.setBodyBytesInFlight(0, bound);
  return createBodyBudget({ maxBytes: bound, onBytes: (bytes) => metrics.setBodyBytesInFlight(bytes), onRefused: (route) => metrics.countBodyRefused(route), random });
}

/** A chunked body as it arrives, its bytes added to `ticket`; errors with the refusal once one does not fit. */
export function meteredBody(payload: Readable, ticket: BodyTicket): Readable {
  const metered = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        ticket.grow(chunk.length);
      } catch (error) {
        // The rest of the body is left unread on the request: the refusal's answer closes the connection once it ends.
        payload.unpipe(metered);
        return callback(error as Error);
      }
      callback(null, chunk);
    },
  });
  payload.pipe(metered);
  return metered;
}
