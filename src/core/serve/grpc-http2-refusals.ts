import { clip } from '../clip-text.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * What Node's HTTP/2 layer (nghttp2) refused on the gRPC port below grpc-js: `stream`, a call reset alone (more header
 * entries than Node takes, headers HTTP/2 forbids, a call past the 100 a connection may have open); `connection`, a
 * connection ended with GOAWAY for what its client sent (a header block past HPACK's bounds, another protocol error,
 * bytes that are not HTTP/2), the calls in flight on it with it.
 */
export type Http2Refusal = 'stream' | 'connection';

/** The fewest bytes a call costs its client: a HEADERS frame's 9-byte header and one byte of header block. */
const FEWEST_BYTES_OF_A_CALL = 10;

/**
 * How many calls between stream ids `previousId` (the last one grpc-js was handed, -1 before the first) and
 * `throughId` (included) Node refused. Such a call reaches no JavaScript: no stream event, no diagnostics channel
 * message, only its id left out of the ids handed on (a client opens its streams in order, RFC 9113 section 5.1.1).
 * A client may skip ids too, so the count is bounded by the calls its bytes could hold beside the `counted` ones.
 */
export function streamsRefused(previousId: number, throughId: number, bytesRead: number, counted: number): number {
  const skipped = Math.max(0, Math.floor((throughId - previousId) / 2));
  return Math.min(skipped, Math.max(0, Math.floor(bytesRead / FEWEST_BYTES_OF_A_CALL) - counted));
}

/**
 * Whether a connection's socket error is nghttp2's refusal of what the client sent (Node's NghttpError: a code
 * ERR_HTTP2_ERROR, or ERR_HTTP2_TOO_MANY_INVALID_FRAMES and the like, with nghttp2's negative error number), rather
 * than the network's (ECONNRESET) or the server's own ending of a session (ERR_HTTP2_SESSION_ERROR, no number).
 */
export function isHttp2Refusal(error: Error & { code?: unknown; errno?: unknown }): error is Error & { code: string; errno: number } {
  return typeof error.code === 'string' && error.code.startsWith('ERR_HTTP2_') && typeof error.errno === 'number' && error.errno < 0;
}

/** nghttp2's NGHTTP2_ERR_TOO_MANY_CONTINUATIONS: a header block in more CONTINUATION frames than it takes (8). */
const TOO_MANY_CONTINUATIONS = -905;

/**
 * The code a connection's refusal is logged with, from nghttp2's error number: a header block past what a connection
 * takes (100 fields of 10 kB) is FLTS_REQUEST_TOO_LARGE, as HTTP codes headers over its limit (431); any other
 * refusal, FLTS_REQUEST_INVALID. nghttp2 gives one field past HPACK's 64 kB its generic protocol error, so that one
 * stays FLTS_REQUEST_INVALID, as do a stream's (nghttp2 tells JavaScript nothing of why it reset one). The GOAWAY it
 * sends for that field says COMPRESSION_ERROR, but Node writes it below JavaScript, and a header block HPACK cannot
 * decode (an index past its table) is sent the same code and errno (-505) as the oversized field.
 */
export function http2RefusalCode(errno: number | undefined): ErrorCode {
  return errno === TOO_MANY_CONTINUATIONS ? 'FLTS_REQUEST_TOO_LARGE' : 'FLTS_REQUEST_INVALID';
}

/** The reason a refusal is logged with: a stream's is unknowable (nghttp2 tells JavaScript nothing of it). */
const STREAM_REASON = 'reset by Node\'s HTTP/2 layer before grpc-js was handed it: more than 128 header entries, headers HTTP/2 forbids, or past 100 calls open on the connection';

/**
 * Logs Node's HTTP/2 refusals, coded (a connection's by nghttp2's `errno`) and without a stack: the first at once, then at most one line per `everyMs`
 * with how many were refused since the previous line. A client can have thousands of calls reset a second on one
 * connection (each costs it a HEADERS frame), which a line each would turn into a flood of the log.
 */
export function createHttp2RefusalLog(logger: Logger, everyMs = 10_000, now: () => number = () => performance.now()): (what: Http2Refusal, count: number, detail: { remote?: string; reason?: string; errno?: number }) => void {
  let loggedAt: number | undefined;
  let unlogged = 0;
  return (what, count, { remote, reason, errno }) => {
    unlogged += count;
    const at = now();
    if (loggedAt !== undefined && at - loggedAt < everyMs) return;
    logger.warn({ code: http2RefusalCode(errno), what, count, since_last_line: unlogged, remote, reason: what === 'stream' ? STREAM_REASON : clip(reason ?? '', 200) }, 'grpc_http2_refused');
    loggedAt = at;
    unlogged = 0;
  };
}
