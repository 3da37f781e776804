import { describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../logger.js';
import { createHttp2RefusalLog, http2RefusalCode, isHttp2Refusal, streamsRefused } from './grpc-http2-refusals.js';

describe('serve > gRPC > refusals of Node\'s HTTP/2 layer', () => {
  it('counts the stream ids left out between two calls, at most one call per 10 bytes the client sent', () => {
    expect(streamsRefused(-1, -1, 200, 1)).toBe(0);
    expect(streamsRefused(1, 3, 400, 2)).toBe(1);
    expect(streamsRefused(1, 201, 100_000, 2)).toBe(100);
    // A client that jumps to the last id has not sent a billion calls: its 300 bytes hold 30, 2 of them handed on.
    expect(streamsRefused(1, 2 ** 31 - 3, 300, 2)).toBe(28);
    expect(streamsRefused(1, 2 ** 31 - 3, 15, 2)).toBe(0);
  });

  it('tells nghttp2\'s refusals from the network\'s errors and the server\'s own ending of a session', () => {
    const error = (code: string, errno?: number): Error => Object.assign(new Error('x'), { code, ...(errno === undefined ? {} : { errno }) });
    expect(isHttp2Refusal(error('ERR_HTTP2_ERROR', -505))).toBe(true);
    expect(isHttp2Refusal(error('ERR_HTTP2_TOO_MANY_INVALID_FRAMES', -505))).toBe(true);
    expect(isHttp2Refusal(error('ECONNRESET', -104))).toBe(false);
    expect(isHttp2Refusal(error('ERR_HTTP2_SESSION_ERROR'))).toBe(false);
  });

  it('logs the first refusal at once, then at most a line per period with how many were refused since the last one', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger: Logger = { ...silentLogger, warn: (fields, msg) => void lines.push({ ...fields, msg }), child: () => logger };
    let now = 0;
    const log = createHttp2RefusalLog(logger, 10_000, () => now);
    log('stream', 2, { remote: '10.0.0.1' });
    for (now = 1000; now <= 9000; now += 1000) log('stream', 3, { remote: '10.0.0.2' });
    now = 9999;
    log('connection', 1, { remote: '10.0.0.3', reason: 'Protocol error' });
    now = 10_000;
    log('connection', 1, { remote: '10.0.0.3', reason: `Protocol error${'!'.repeat(500)}` });
    expect(lines.map(({ msg, code, what, count, since_last_line, remote }) => ({ msg, code, what, count, since_last_line, remote }))).toEqual([
      { msg: 'grpc_http2_refused', code: 'FLTS_REQUEST_INVALID', what: 'stream', count: 2, since_last_line: 2, remote: '10.0.0.1' },
      { msg: 'grpc_http2_refused', code: 'FLTS_REQUEST_INVALID', what: 'connection', count: 1, since_last_line: 29, remote: '10.0.0.3' },
    ]);
    // A reason is nghttp2's, clipped; a stream's is the list of what Node resets a call for.
    expect(String(lines[1].reason).length).toBeLessThan(300);
    expect(lines[0].reason).toMatch(/^reset by Node's HTTP\/2 layer before grpc-js was handed it: more than 128 header entries/);
  });

  it('codes a header block past what a connection takes (nghttp2\'s too many CONTINUATION frames) FLTS_REQUEST_TOO_LARGE, every other refusal FLTS_REQUEST_INVALID', () => {
    expect(http2RefusalCode(-905)).toBe('FLTS_REQUEST_TOO_LARGE');
    // Protocol error: one field past HPACK's bounds, as DATA on stream 0 or a bad HPACK index.
    expect(http2RefusalCode(-505)).toBe('FLTS_REQUEST_INVALID');
    expect(http2RefusalCode(-903)).toBe('FLTS_REQUEST_INVALID');
    expect(http2RefusalCode(undefined)).toBe('FLTS_REQUEST_INVALID');
    const lines: Array<Record<string, unknown>> = [];
    const logger: Logger = { ...silentLogger, warn: (fields) => void lines.push(fields as Record<string, unknown>), child: () => logger };
    createHttp2RefusalLog(logger)('connection', 1, { reason: 'Too many CONTINUATION frames following a HEADER frame', errno: -905 });
    expect(lines).toEqual([expect.objectContaining({ code: 'FLTS_REQUEST_TOO_LARGE', what: 'connection' })]);
  });
});
