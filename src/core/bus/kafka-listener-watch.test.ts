import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createListenerWatch, expectedListener } from './kafka-listener-watch.js';

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

  it('says a connection closed before any answer is suspect but not definite, and forgets it once a connection works', async () => {
    let working = false;
    const broker = await listener(() => (working ? frame(2) : undefined));
    const watch = createListenerWatch(expectedListener('SSL'));
    await connect(watch, broker);
    await connect(watch, broker);
    expect(watch.mismatch()).toMatchObject({ kind: 'closed-at-connect', definite: false, broker });
    working = true;
    await connect(watch, broker);
    expect(watch.mismatch()).toBeUndefined();
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
});
