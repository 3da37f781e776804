import net from 'node:net';

/** 'flts' as a correlation id: an answer that echoes it is a Kafka broker's. */
const CORRELATION_ID = 0x666c7473;
const CLIENT_ID = 'flts-protocol-probe';
/** An ApiVersions answer is a few hundred bytes; a size far beyond is not one. */
const MAX_ANSWER_BYTES = 1 << 20;

/** ApiVersions v0 (api key 18), which every Kafka listener answers before any login. */
function apiVersionsRequest(): Buffer {
  const body = Buffer.alloc(2 + 2 + 4 + 2 + CLIENT_ID.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(CORRELATION_ID, 4);
  body.writeInt16BE(CLIENT_ID.length, 8);
  body.write(CLIENT_ID, 10, 'latin1');
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

/**
 * Whether host:port answers a Kafka request without TLS: asked after a TLS handshake there was closed without a
 * byte, which a plain listener does (it reads the ClientHello as a request too large) and so does a proxy without a
 * broker behind it; only the plain listener answers this. False on anything else, never throws; it does not keep
 * the process alive.
 */
export function answersPlainKafka(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), timeoutMs).unref();
    socket.unref();
    socket.once('connect', () => socket.write(apiVersionsRequest()));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 8) return;
      const size = received.readInt32BE(0);
      done(size > 4 && size < MAX_ANSWER_BYTES && received.readInt32BE(4) === CORRELATION_ID);
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
