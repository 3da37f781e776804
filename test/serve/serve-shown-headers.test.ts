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
