import { describe, expect, it } from 'vitest';
import { HTTP2_PREFACE, protocolOfFirstBytes } from './grpc-first-bytes.js';

const of = (text: string | Buffer): string => protocolOfFirstBytes(Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1'));

describe('core > serve > grpc-first-bytes > protocolOfFirstBytes', () => {
  it("hands on HTTP/2's preface, and waits while the bytes could still begin it", () => {
    expect(of(HTTP2_PREFACE)).toBe('http2');
    expect(of(Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]))).toBe('http2');
    expect(of('P')).toBe('more');
    expect(of('PRI * HTTP/2.0\r\n')).toBe('more');
  });

  it("tells an HTTP/1.x request by its method and the space after it, however few bytes came at once", () => {
    expect(of('GET / HTTP/1.1\r\n')).toBe('http1');
    expect(of('POST /v2/models/flts/infer HTTP/1.1\r\n')).toBe('http1');
    expect(of('PRI * HTTP/1.1\r\n')).toBe('http1');
    expect(of('OPTIONS ')).toBe('http1');
    expect(of('G')).toBe('more');
    expect(of('POS')).toBe('more');
  });

  it("hands on bytes that are neither, which Node's HTTP/2 layer refuses as before", () => {
    expect(of(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8]))).toBe('http2');
    expect(of('get / HTTP/1.1\r\n')).toBe('http2');
    expect(of('GET\r\n')).toBe('http2');
    expect(of('A'.repeat(21))).toBe('http2');
  });
});
