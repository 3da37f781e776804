import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createListenerWatch, expectedListener } from './kafka-listener-watch.js';
import { answersPlainKafka } from './kafka-plain-probe.js';

/** A size-prefixed Kafka frame of `length` bytes of body. */
const frame = (length: number): Buffer => Buffer.concat([Buffer.from([0, 0, 0, length]), Buffer.alloc(length)]);
/** What Kafka's TLS listener writes back to a plain request before closing: a fatal internal_error alert. */
const TLS_ALERT = Buffer.from('15030300020250', 'hex');

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A listener that answers the nth request of each connection (from 0) as `answer` says: bytes, or undefined to close. */
async function listener(answer: (request: number, connection: number) => Buffer | undefined): Promise<string> {
  let connections = 0;
  const server = net.createServer((socket) => {
    const connection = connections++;
    let requests = 0;
    socket.on('error', () => {});
    socket.on('data', () => {
      const bytes = answer(requests++, connection);
      if (bytes) socket.write(bytes);
      else socket.end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** One connection through the watch: sends `requests` requests, one after each answer, and waits for its end. */
async function connect(watch: ReturnType<typeof createListenerWatch>, broker: string, requests = 2): Promise<void> {
  const [host, port] = broker.split(':');
  const socket = net.connect({ host, port: Number(port) });
  watch.watch(socket, broker);
  socket.on('error', () => {});
  let sent = 1;
  socket.on('data', () => {
    if (sent++ < requests) socket.write('request');
    else socket.end();
  });
  socket.write('request');
  await once(socket, 'close');
}

describe('core > bus > kafka-listener-watch', () => {
  it('knows a TLS listener by the alert it answers a plain request with, at once', async () => {
    const broker = await listener(() => TLS_ALERT);
    const watch = createListenerWatch(expectedListener('SASL_PLAINTEXT'));
    await connect(watch, broker, 1);
    expect(watch.mismatch()).toMatchObject({ kind: 'tls-listener', definite: true, broker });
    expect(watch.mismatch()!.message).toMatch(/answered with a TLS record \(15030300020250\): its listener expects TLS \(SSL or SASL_SSL\), but FLTS_KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT/);
  });

  it('knows a SASL listener once a connection answered once and closed is followed by one closed too, not by a refused one', async () => {
    // As Kafka's SASL listener: ApiVersions is answered on a fresh connection, anything else closes it.
    const broker = await listener((request, connection) => (request === 0 && connection % 2 === 0 ? frame(6) : undefined));
    const watch = createListenerWatch(expectedListener('PLAINTEXT'));
    await connect(watch, broker);
    expect(watch.mismatch()).toMatchObject({ kind: 'closed-at-connect', definite: false });
    expect(watch.mismatch()!.message).toMatch(/connection closed by broker .* right after connect \(after its first answer\): check the listener's protocol \(TLS\/SASL\) matches the settings/);
    await connect(watch, broker);
    expect(watch.mismatch()).toMatchObject({ kind: 'sasl-listener', definite: true });

    // A broker that stopped after one answer refuses the next connection: nothing definite.
    const stopping = createListenerWatch(expectedListener('PLAINTEXT'));
    await connect(stopping, broker);
    await connect(stopping, '127.0.0.1:9').catch(() => {});
    expect(stopping.mismatch()?.definite).toBe(false);
  });

  it('judges each address by its own connections: one answered once and closed does not make another\'s closed connection a SASL listener', async () => {
    const answeredOnce = await listener((request) => (request === 0 ? frame(6) : undefined));
    const closing = await listener(() => undefined);
    const definite: string[] = [];
    const watch = createListenerWatch(expectedListener('PLAINTEXT'), undefined, (mismatch) => definite.push(mismatch.broker));
    await connect(watch, answeredOnce);
    await connect(watch, closing);
    expect(watch.mismatch()).toMatchObject({ kind: 'closed-at-connect', definite: false, broker: closing });
    expect(definite).toEqual([]);
    // The same address twice is the SASL listener's pattern, heard of at once.
    await connect(watch, answeredOnce);
    expect(watch.mismatch()).toMatchObject({ kind: 'sasl-listener', definite: true, broker: answeredOnce });
    expect(definite).toEqual([answeredOnce]);
  });

  it('says a connection closed before any answer is suspect but not definite, and forgets it once a connection works', async () => {
    let working = false;
    const broker = await listener(() => (working ? frame(2) : undefined));
    // A client without TLS here: no handshake, so no question asked without TLS either.
    const watch = createListenerWatch(expectedListener('PLAINTEXT'));
    await connect(watch, broker);
    await connect(watch, broker);
    expect(watch.mismatch()).toMatchObject({ kind: 'closed-at-connect', definite: false, broker });
    expect(watch.mismatch()!.message).toMatch(/right after connect \(before answering\)/);
    working = true;
    await connect(watch, broker);
    expect(watch.mismatch()).toBeUndefined();
  });

  it('never calls a mismatch definite once a connection worked: a broker restarting behind a sidecar closes connections so too', async () => {
    let restarting = false;
    // Up, it answers every request; restarting, a connection gets one answer and is closed, the next none.
    const broker = await listener((request, connection) => (!restarting || (request === 0 && connection === 1) ? frame(6) : undefined));
    const watch = createListenerWatch(expectedListener('PLAINTEXT'));
    await connect(watch, broker, 3);
    expect(watch.mismatch()).toBeUndefined();
    restarting = true;
    await connect(watch, broker);
    await connect(watch, broker);
    expect(watch.mismatch()).toMatchObject({ kind: 'closed-at-connect', definite: false });
  });

  it('blames nothing on a client with SASL that is answered once, nor on connections the client ends itself', async () => {
    const broker = await listener((request) => (request === 0 ? frame(6) : undefined));
    const sasl = createListenerWatch(expectedListener('SASL_PLAINTEXT'));
    await connect(sasl, broker);
    await connect(sasl, broker);
    expect(sasl.mismatch()?.definite).not.toBe(true);
    const plain = createListenerWatch(expectedListener('PLAINTEXT'));
    await connect(plain, broker, 1);
    await connect(plain, broker, 1);
    expect(plain.mismatch()).toBeUndefined();
  });

  it('knows a plain listener once the address that closed a TLS handshake answers a request without TLS', async () => {
    const broker = await listener(() => undefined);
    const asked: string[] = [];
    let answer = false;
    // The socket here is plain, as a TLS one whose handshake the listener closed: no secureConnect, no byte back.
    const watch = createListenerWatch(expectedListener('SASL_SSL'), async (host, port) => (asked.push(`${host}:${port}`), answer));
    await connect(watch, broker);
    await vi.waitFor(() => expect(asked).toEqual([broker]));
    expect(watch.mismatch()).toMatchObject({ kind: 'closed-at-connect', definite: false });
    expect(watch.mismatch()!.message).toMatch(/right after connect \(during the TLS handshake\)/);
    answer = true;
    await connect(watch, broker);
    await vi.waitFor(() => expect(watch.mismatch()).toMatchObject({ kind: 'plain-listener', definite: true, broker }));
    expect(watch.mismatch()!.message).toMatch(/answers a Kafka request without TLS: its listener expects no TLS \(PLAINTEXT or SASL_PLAINTEXT\), but FLTS_KAFKA_SECURITY_PROTOCOL is SASL_SSL/);
  });

  it('asks without TLS with an ApiVersions request, and takes only an answer that echoes its correlation id', async () => {
    let request: Buffer = Buffer.alloc(0);
    const kafka = await listener(() => undefined);
    const echo = await new Promise<string>((resolve) => {
      const server = net.createServer((socket) => socket.once('data', (chunk: Buffer) => {
        request = chunk;
        const answer = Buffer.alloc(10);
        answer.writeInt32BE(6, 0);
        chunk.copy(answer, 4, 8, 12);
        socket.end(answer);
      }));
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve(String((server.address() as net.AddressInfo).port)));
    });
    expect(await answersPlainKafka('127.0.0.1', Number(echo), 2000)).toBe(true);
    expect(request.readInt16BE(4)).toBe(18);
    expect(await answersPlainKafka('127.0.0.1', Number(kafka.split(':')[1]), 2000)).toBe(false);
    expect(await answersPlainKafka('127.0.0.1', 9, 2000)).toBe(false);
  });
});
