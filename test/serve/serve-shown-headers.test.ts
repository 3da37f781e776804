import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SHOWN_AS_ITSELF_NEVER as MISLEADING } from '../../src/core/serve/coded-refusal.fixture.js';
import { useTestServer } from './serve-fixtures.js';

/** The coded JSON body the server answers raw `bytes` (header bytes as sent, 0x9B included) with before it closes. */
function answerTo(url: string, bytes: Buffer): Promise<{ statusLine: string; body: any }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(bytes));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.once('error', reject);
    socket.once('close', () => {
      const [head, body] = text.split('\r\n\r\n');
      resolve({ statusLine: head.split('\r\n')[0], body: JSON.parse(body) });
    });
  });
}

describe('serve > header values quoted in refusals', () => {
  const server = useTestServer({ load: false });
  // 0x9B reaches the header as U+009B, which a terminal takes as the start of a control sequence on its own.
  const value = Buffer.from([0x78, 0x9b, 0x33, 0x31, 0x6d]);
  const request = (head: string, header: string, rest = '', sent = value): Buffer => Buffer.concat([Buffer.from(`${head}\r\nHost: 127.0.0.1\r\n${header}: `), sent, Buffer.from(`\r\nConnection: close\r\n${rest}`)]);

  it('shows a C1 character of Content-Encoding, Transfer-Encoding and Expect as its \\u escape', async () => {
    const cases: Array<[Buffer, number, string]> = [
      [request('POST /predict HTTP/1.1', 'Content-Encoding', 'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'), 400, "Content-Encoding 'x\\u009b31m' is not supported"],
      // A transfer coding before chunked, as a request's must end.
      [request('POST /predict HTTP/1.1', 'Transfer-Encoding', 'Content-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n', Buffer.concat([value, Buffer.from(', chunked')])), 400, "Transfer-Encoding 'x\\u009b31m, chunked' is not supported"],
      [request('GET /healthz HTTP/1.1', 'Expect', '\r\n'), 417, "Expect: 'x\\u009b31m' is not supported"],
    ];
    for (const [bytes, status, start] of cases) {
      const { body } = await answerTo(server.url, bytes);
      expect(body).toMatchObject({ statusCode: status, code: 'FLTS_REQUEST_INVALID' });
      expect(body.message.slice(0, start.length)).toBe(start);
      expect(body.message).not.toMatch(MISLEADING);
    }
  });
});

describe('serve > request targets quoted in refusals', () => {
  const server = useTestServer({ load: false });
  const request = (method: string, target: string, headers = ''): Buffer => Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);
  const cases = (target: (before: string, after?: string) => string, shown: string): Array<[Buffer, number, string, string]> => [
    [request('GET', target('/x')), 404, 'FLTS_REQUEST_ROUTE_NOT_FOUND', `No route GET /x${shown}; `],
    [request('GET', target('/v2/models/x', '/infer')), 405, 'FLTS_REQUEST_METHOD_NOT_ALLOWED', `Method GET is not allowed on /v2/models/x${shown}/infer; `],
    [request('POST', target('/v2/models/x', '/infer'), 'Sec-Fetch-Site: cross-site\r\nContent-Length: 0\r\n'), 403, 'FLTS_REQUEST_CROSS_SITE', `POST /v2/models/x${shown}/infer is not taken from a web page of another site`],
    [request('CONNECT', target('x')), 405, 'FLTS_REQUEST_METHOD_NOT_ALLOWED', `Method CONNECT is not allowed: this server is not a proxy (target 'x${shown}').`],
  ];

  it("never sees a target's control, C1 or bidirectional characters raw from a client: Node's parser refuses them first", async () => {
    const raw = (before: string, after = ''): string => `${before}\u009b31m\u202e${after}`;
    for (const [bytes] of cases(raw, '')) {
      // Their UTF-8 bytes (C2 9B, E2 80 AE), as a client that does not percent-encode them sends them.
      const { body } = await answerTo(server.url, bytes);
      expect(body).toMatchObject({ statusCode: 400, code: 'FLTS_REQUEST_INVALID' });
      expect(body.message).not.toMatch(MISLEADING);
    }
  });

  it('shows them as \\u escapes if they reach a refusal that quotes the path or the CONNECT target', async () => {
    // As a parser that let them through would hand them over: the percent-encoded bytes decoded before any handler.
    const decode = (incoming: { url?: string }): void => {
      incoming.url = incoming.url?.replace(/%C2%9B/g, '\u009b').replace(/%E2%80%AE/g, '\u202e');
    };
    const { server: http } = server.app;
    http.prependListener('request', decode);
    http.prependListener('connect', decode);
    try {
      const encoded = (before: string, after = ''): string => `${before}%C2%9B31m%E2%80%AE${after}`;
      for (const [bytes, status, code, start] of cases(encoded, '\\u009b31m\\u202e')) {
        const { body } = await answerTo(server.url, bytes);
        expect(body).toMatchObject({ statusCode: status, code });
        expect(body.message.slice(0, start.length)).toBe(start);
        expect(body.message).not.toMatch(MISLEADING);
      }
    } finally {
      http.removeListener('request', decode);
      http.removeListener('connect', decode);
    }
  });
});
