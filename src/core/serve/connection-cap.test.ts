import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOver } from '../../../test/helpers/raw-answer.js';
import { pollUntil } from '../retry.js';
import { capHttpConnections, type HttpCapClose } from './connection-cap.js';

const REQUEST_LINE = 'GET / HTTP/1.1\r\n';
const REST_OF_HEAD = 'Host: 127.0.0.1\r\n\r\n';

interface Capped {
  /**
   * Opens a client connection; resolves once the server has accepted it, with the server's side of it and what the
   * server sends until it closes the connection.
   */
  open(): Promise<{ client: Socket; accepted: Socket; closed: Promise<string> }>;
  /** Moves the cap's clock on. */
  advance(ms: number): void;
  closes: HttpCapClose[];
}

let server: Server | undefined;
const clients: Socket[] = [];

afterEach(async () => {
  clients.splice(0).forEach((socket) => socket.destroy());
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A server answering `ok` to every request read, capped at `maxConnections` with a grace of 1 s on a clock the test moves. */
async function capped(maxConnections: number): Promise<Capped> {
  let clock = 0;
  const closes: HttpCapClose[] = [];
  const accepted = new Map<number, Socket>();
  // Answered once the request is read whole, so a request whose body is still to come stays in flight.
  server = createServer((request, response) => request.resume().once('end', () => response.end('ok')));
  // Heard before the cap, which may close the connection (its port unknown once closed).
  server.on('connection', (socket: Socket) => accepted.set(socket.remotePort!, socket));
  capHttpConnections(server, maxConnections, { onClose: (what) => closes.push(what), slowHeadGraceMs: 1000, now: () => clock });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    async open() {
      // A reset is read as a close.
      const client = connect({ host: '127.0.0.1', port }).on('error', () => {});
      clients.push(client);
      const closed = readUntilClosed(client);
      // Read as it connects: a connection the cap closes has no port by the time it is looked up.
      const localPort = await new Promise<number>((resolve) => client.once('connect', () => resolve(client.localPort!)));
      expect(await pollUntil(5, AbortSignal.timeout(10_000), async () => accepted.has(localPort))).toBe(true);
      return { client, accepted: accepted.get(localPort)!, closed };
    },
    advance: (ms) => (clock += ms),
    closes,
  };
}

/** Writes `bytes` and resolves with what the server sends until its answer's body `ok`, or until it closes the connection. */
const answerOkOver = (socket: Socket, bytes: string): Promise<string> => answerOver(socket, bytes, (text) => text.endsWith('\r\n\r\nok'));

/** Resolves with what the server sent before closing the connection. */
function readUntilClosed(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

/** Resolves once the server has read more of the connection than it had. */
async function readByServer(accepted: Socket, before: number): Promise<void> {
  expect(await pollUntil(5, AbortSignal.timeout(10_000), async () => accepted.bytesRead > before)).toBe(true);
}

describe('capHttpConnections', () => {
  it('admits a client at the cap in place of the connection whose head has been arriving the longest, once past the grace', async () => {
    const cap = await capped(2);
    const [first, second] = [await cap.open(), await cap.open()];
    for (const { client, accepted } of [first, second]) {
      client.write(REQUEST_LINE);
      await readByServer(accepted, 0);
    }

    cap.advance(999);
    expect(await (await cap.open()).closed).toBe('');
    cap.advance(1);
    expect(await answerOkOver((await cap.open()).client, REQUEST_LINE + REST_OF_HEAD)).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(await first.closed).toBe('');
    expect(await answerOkOver(second.client, REST_OF_HEAD)).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(cap.closes).toEqual(['refused', 'slow']);
  });

  it('times a connection that has sent nothing yet from its start', async () => {
    const cap = await capped(1);
    const silent = await cap.open();
    cap.advance(1000);
    expect(await answerOkOver((await cap.open()).client, REQUEST_LINE + REST_OF_HEAD)).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(await silent.closed).toBe('');
    expect(cap.closes).toEqual(['slow']);
  });

  it('takes an idle keep-alive connection before a slow head, and never one with a request in flight', async () => {
    const cap = await capped(3);
    const [idle, posting, slow] = [await cap.open(), await cap.open(), await cap.open()];
    expect(await answerOkOver(idle.client, REQUEST_LINE + REST_OF_HEAD)).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    // A request in flight: its head read whole, its body still to come.
    const inFlight = new Promise((resolve) => server!.once('request', resolve));
    posting.client.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n');
    await inFlight;
    slow.client.write(REQUEST_LINE);
    await readByServer(slow.accepted, 0);
    const idleClosed = readUntilClosed(idle.client);
    cap.advance(60_000);

    // Each newcomer asks nothing yet, so none of them is idle, nor past the grace.
    await cap.open();
    expect(await idleClosed).toBe('');
    await cap.open();
    expect(await slow.closed).toBe('');
    expect(await (await cap.open()).closed).toBe('');
    expect(await answerOkOver(posting.client, '{}')).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(cap.closes).toEqual(['idle', 'slow', 'refused']);
  });

  it("times a keep-alive connection's next head from when it is first seen arriving, not from its last answer", async () => {
    const cap = await capped(1);
    const kept = await cap.open();
    expect(await answerOkOver(kept.client, REQUEST_LINE + REST_OF_HEAD)).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    cap.advance(60_000);
    const readBefore = kept.accepted.bytesRead;
    kept.client.write(REQUEST_LINE);
    await readByServer(kept.accepted, readBefore);
    const keptClosed = readUntilClosed(kept.client);

    // Seen arriving as this newcomer comes: its head may have begun just now.
    expect(await (await cap.open()).closed).toBe('');
    cap.advance(1000);
    expect(await answerOkOver((await cap.open()).client, REQUEST_LINE + REST_OF_HEAD)).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(await keptClosed).toBe('');
    expect(cap.closes).toEqual(['refused', 'slow']);
  });
});
