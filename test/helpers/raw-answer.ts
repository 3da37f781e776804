import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { expect } from 'vitest';

/**
 * Writes `bytes` (a whole request, or what is left of one) on a raw socket and resolves with what the server sends
 * until `complete` says the answer is whole, or until it closes the connection.
 */
export function answerOver(socket: Socket, bytes: string, complete: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => {
      socket.off('data', onData);
      socket.off('close', done);
      resolve(text);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (complete(text)) done();
    };
    socket.on('data', onData);
    socket.once('close', done);
    socket.write(bytes);
  });
}

/**
 * A request that reaches `server` once its close began: a whole GET /healthz and the request line of `secondRequestLine`
 * written at once, so that Node has read the second's line (its connection busy, not idle) when `stop` closes the
 * listener; the rest of the second is written once the listener is closed. Resolves with the last answer's head and
 * body, how the connection ended, and what `stop` returned.
 */
export async function requestAcrossClose<T>(server: Server, secondRequestLine: string, stop: () => Promise<T>): Promise<{ head: string; body: string; ended: string; stopped: Promise<T> }> {
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  let received = '';
  let answers = 0;
  let answered = (): void => {};
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    const count = received.split('HTTP/1.1 ').length - 1;
    if (count > answers) {
      answers = count;
      answered();
    }
  });
  const ended = new Promise<string>((resolve) => {
    socket.once('end', () => resolve('ended'));
    socket.once('error', (error) => resolve(`error: ${error.message}`));
  });
  const nextAnswer = (): Promise<void> => new Promise<void>((resolve) => (answered = resolve));
  const first = nextAnswer();
  socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${secondRequestLine}\r\n`);
  await first;
  const listenerClosed = new Promise<void>((resolve) => {
    const close = server.close.bind(server);
    // fastify closes the listener once it has stopped routing (its preClose hooks have run).
    server.close = ((callback?: (error?: Error) => void) => (resolve(), close(callback))) as typeof server.close;
  });
  const stopped = stop();
  await listenerClosed;
  const second = nextAnswer();
  socket.write('Host: x\r\n\r\n');
  await second;
  const how = await ended;
  socket.destroy();
  const [head, body] = received.slice(received.lastIndexOf('HTTP/1.1 ')).split('\r\n\r\n');
  return { head, body, ended: how, stopped };
}

/** Sends `head` (a whole request saying Connection: close) on a new connection to `url`'s host and port, and resolves with all the server sent until it closed. */
export function answerOnce(url: string, head: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(head)).once('error', reject);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.once('close', () => resolve(text));
  });
}

/**
 * Asserts the answer a closing server gives a request that reached it after its stop closed the listener: a coded
 * FLTS_SERVE_STOPPING 503 with Retry-After, the connection closed, where fastify answered a bare 503 with no code and
 * no Retry-After.
 */
export function expectStoppingRefusal(answer: { head: string; body: string; ended: string }): void {
  expect(answer.ended).toBe('ended');
  expect(answer.head).toMatch(/^HTTP\/1\.1 503 /);
  expect(answer.head).toMatch(/\r\nretry-after: 1\r\n/i);
  expect(answer.head).toMatch(/\r\nconnection: close\r\n/i);
  expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLTS_SERVE_STOPPING', statusCode: 503 });
}
