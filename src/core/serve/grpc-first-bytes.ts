import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from './error-handler.js';

/** HTTP/2's connection preface (RFC 9113 section 3.4): a gRPC client's first bytes. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Longer than any method an HTTP/1.x client sends (OPTIONS, CONNECT, PROPFIND...). */
const LONGEST_METHOD = 20;

/**
 * What a connection's first bytes say it speaks: `http1`, a request line's method and its space (`GET `, `POST `);
 * `more`, bytes that could still begin either HTTP/2's preface or a request line; `http2` for anything else: the
 * preface, or bytes that are neither (a TLS ClientHello), which Node's HTTP/2 layer refuses as it always did.
 */
export function protocolOfFirstBytes(bytes: Buffer): 'http1' | 'http2' | 'more' {
  const compared = Math.min(bytes.length, HTTP2_PREFACE.length);
  if (bytes.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared))) return compared === HTTP2_PREFACE.length ? 'http2' : 'more';
  const head = bytes.subarray(0, LONGEST_METHOD + 1).toString('latin1');
  const method = /^[A-Z]*/.exec(head)![0];
  if (method.length === 0 || method.length > LONGEST_METHOD) return 'http2';
  if (method.length === head.length) return 'more';
  return head[method.length] === ' ' ? 'http1' : 'http2';
}

/**
 * Reads a new connection's first bytes until they tell HTTP/1.x from HTTP/2, then calls `onKnown`. Those of an HTTP/2
 * connection are put back, unread, before it is handed on: Node's HTTP/2 session reads what its socket holds already
 * as it attaches, and the socket keeps its handle, so its byte counts and address stay those of the connection.
 */
export function whenProtocolKnown(socket: Socket, onKnown: (protocol: 'http1' | 'http2') => void): void {
  let read: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    read = read.length === 0 ? chunk : Buffer.concat([read, chunk]);
    const protocol = protocolOfFirstBytes(read);
    if (protocol === 'more') return;
    socket.off('data', onData);
    // Paused first: put back into a flowing socket, the bytes would be emitted again at once, to no listener.
    socket.pause();
    if (protocol === 'http2') socket.unshift(read);
    onKnown(protocol);
  };
  socket.on('data', onData);
}

/**
 * An HTTP/1.x request on the gRPC port, answered as the HTTP port answers HTTP/2 (a coded 400 naming the other port)
 * rather than with HTTP/2 frames the client cannot read, then closed.
 */
export function answerHttp1OnGrpcPort(socket: Socket, httpPort: number | undefined): void {
  const where = httpPort === undefined ? 'serve.port' : `port ${httpPort} (serve.port)`;
  const message = `The request is HTTP/1.x; this port speaks gRPC, over HTTP/2 only. The HTTP API, the Open Inference Protocol's REST binding included, is on ${where}.`;
  const body = JSON.stringify(errorBody(400, 'FLTS_REQUEST_INVALID', message));
  // What the client still sends is read and dropped, so the close does not reset the connection before it reads the answer.
  socket.resume();
  socket.end(`HTTP/1.1 400 ${STATUS_CODES[400]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy());
}
