import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger, type Logger } from '../logger.js';
import { BUS_CLOSED_REASON, createKafkaConnections } from './kafka-connections.js';

describe('core > bus > kafka-connections', () => {
  it('ends the sockets still open when closed, and fails every later connection without reaching the network', async () => {
    const accepted: net.Socket[] = [];
    const server = net.createServer((socket) => void accepted.push(socket.on('error', () => {})));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const connections = createKafkaConnections([`127.0.0.1:${port}`]);
    try {
      expect(await connections.brokers()).toEqual([`127.0.0.1:${port}`]);
      let connected!: () => void;
      const onConnect = new Promise<void>((resolve) => (connected = resolve));
      const socket = connections.socketFactory({ host: '127.0.0.1', port, ssl: null, onConnect: () => connected() });
      const failure = once(socket, 'error');
      await onConnect;

      connections.closeAll();
      expect((await failure)[0]).toMatchObject({ message: BUS_CLOSED_REASON });
      await once(accepted[0], 'close');
      expect(connections.closed).toBe(true);
      // No bootstrap broker left: kafkajs fails a seed broker's rebuild without retrying it.
      expect(await connections.brokers()).toEqual([]);

      const late = connections.socketFactory({ host: '127.0.0.1', port, ssl: null, onConnect: () => {} });
      expect((await once(late, 'error'))[0]).toMatchObject({ message: BUS_CLOSED_REASON });
      expect(accepted).toHaveLength(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('lets kafkajs unref a closed socket again and again without adding a listener each time (and a MaxListenersExceededWarning on stderr)', async () => {
    const server = net.createServer((socket) => void socket.on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const connections = createKafkaConnections([`127.0.0.1:${port}`]);
    try {
      let connected!: () => void;
      const onConnect = new Promise<void>((resolve) => (connected = resolve));
      const socket = connections.socketFactory({ host: '127.0.0.1', port, ssl: null, onConnect: () => connected() });
      await onConnect;
      // As kafkajs' Connection.disconnect() leaves it, then is called again at each restart of its consumer.
      socket.end();
      socket.destroy();
      await once(socket, 'close');
      const before = socket.listenerCount('connect');
      for (let restart = 0; restart < 20; restart += 1) socket.unref();
      expect(socket.listenerCount('connect')).toBe(before);
    } finally {
      connections.closeAll();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('speaks TLS when kafkajs passes ssl options, naming a host (not an IP) for SNI, and ends those sockets too', async () => {
    const hellos: Buffer[] = [];
    const server = net.createServer((socket) => void socket.on('error', () => {}).once('data', (chunk: Buffer) => hellos.push(chunk)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const connections = createKafkaConnections([`localhost:${port}`]);
    const helloFrom = async (host: string): Promise<{ socket: net.Socket; hello: Buffer }> => {
      const count = hellos.length;
      const socket = connections.socketFactory({ host, port, ssl: { rejectUnauthorized: true }, onConnect: () => {} });
      await vi.waitFor(() => expect(hellos.length).toBe(count + 1));
      return { socket, hello: hellos[count] };
    };
    try {
      const byName = await helloFrom('localhost');
      expect(byName.socket).toBeInstanceOf(tls.TLSSocket);
      // A TLS handshake record (22) carrying the host name as its server_name extension.
      expect(byName.hello[0]).toBe(22);
      expect(byName.hello.includes('localhost')).toBe(true);
      const byIp = await helloFrom('127.0.0.1');
      expect(byIp.hello[0]).toBe(22);
      expect(byIp.hello.includes('127.0.0.1')).toBe(false);

      const failures = [once(byName.socket, 'error'), once(byIp.socket, 'error')];
      connections.closeAll();
      for (const failure of failures) expect((await failure)[0]).toMatchObject({ message: BUS_CLOSED_REASON });
      expect(byName.socket.destroyed && byIp.socket.destroyed).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A listener that answers every ClientHello with a fatal handshake_failure alert, as a broker refusing the client's certificate does. */
  async function refusingListener(): Promise<{ port: number; close: () => Promise<unknown> }> {
    const server = net.createServer((socket) => void socket.on('error', () => {}).once('data', () => socket.end(Buffer.from('15030300020228', 'hex'))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it('stops the bus at a refused certificate before any connection was answered, so kafkajs retries it no more', async () => {
    const listener = await refusingListener();
    const connections = createKafkaConnections([`127.0.0.1:${listener.port}`], { securityProtocol: 'SSL' });
    try {
      const socket = connections.socketFactory({ host: '127.0.0.1', port: listener.port, ssl: { rejectUnauthorized: true }, onConnect: () => {} });
      const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
      expect(error.code).toMatch(/^ERR_SSL_/);
      // Already when kafkajs hears of it (its listeners come after the factory's): its next try finds no broker.
      expect(connections.tlsRefusal()).toBe(error);
      expect(await connections.brokers()).toEqual([]);
      const late = connections.socketFactory({ host: '127.0.0.1', port: listener.port, ssl: { rejectUnauthorized: true }, onConnect: () => {} });
      expect((await once(late, 'error'))[0]).toMatchObject({ message: error.message });
      expect(connections.closed).toBe(false);
    } finally {
      connections.closeAll();
      await listener.close();
    }
  });

  it('keeps retrying a refused certificate once a connection was answered: the broker\'s side changed, not the settings', async () => {
    const listener = await refusingListener();
    const answering = net.createServer((socket) => void socket.on('error', () => {}).write(Buffer.from('00000004000000010000', 'hex')));
    await new Promise<void>((resolve) => answering.listen(0, '127.0.0.1', resolve));
    const answeringPort = (answering.address() as net.AddressInfo).port;
    const heard: string[] = [];
    const connections = createKafkaConnections([`127.0.0.1:${listener.port}`], { securityProtocol: 'SSL', onAnswered: (broker) => heard.push(broker) });
    try {
      const answered = connections.socketFactory({ host: '127.0.0.1', port: answeringPort, ssl: null, onConnect: () => {} });
      await once(answered, 'data');
      // For the log's line on a broker back after failures (kafka-log.ts).
      expect(heard).toEqual([`127.0.0.1:${answeringPort}`]);
      const socket = connections.socketFactory({ host: '127.0.0.1', port: listener.port, ssl: { rejectUnauthorized: true }, onConnect: () => {} });
      await once(socket, 'error');
      expect(connections.tlsRefusal()).toBeUndefined();
      expect(await connections.brokers()).toEqual([`127.0.0.1:${listener.port}`]);
    } finally {
      connections.closeAll();
      await listener.close();
      await new Promise((resolve) => answering.close(resolve));
    }
  });

  it('sets aside one of several bootstrap brokers that refused the certificate, warning with its address, and stops only once every one has', async () => {
    const first = await refusingListener();
    const second = await refusingListener();
    const [a, b] = [`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`];
    const warnings: Array<{ fields: { broker?: string; reason?: string }; msg?: string }> = [];
    const logger: Logger = { ...silentLogger, warn: (fields, msg) => void warnings.push({ fields, msg }), child: () => logger };
    const connections = createKafkaConnections([a, b], { securityProtocol: 'SSL', logger });
    const refusedBy = async (port: number): Promise<NodeJS.ErrnoException> => (await once(connections.socketFactory({ host: '127.0.0.1', port, ssl: { rejectUnauthorized: true }, onConnect: () => {} }), 'error'))[0] as NodeJS.ErrnoException;
    try {
      const refusal = await refusedBy(first.port);
      // kafkajs rebuilds its seed broker from the rest of the list, and goes on.
      expect(await connections.brokers()).toEqual([b]);
      expect(connections.tlsRefusal()).toBeUndefined();
      expect(warnings).toEqual([{ msg: 'bus_kafka_broker_set_aside', fields: expect.objectContaining({ broker: a, reason: `broker ${a} refused TLS (${refusal.code}): ${refusal.message}` }) }]);
      // kafkajs tries a closed connection's broker again before moving on: its socket fails at once, without the network.
      expect((await refusedBy(first.port)).message).toBe(`broker ${a} refused TLS (${refusal.code}): ${refusal.message}`);
      expect(connections.failure('admin connect', new Error('Closed connection'))).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringContaining(`; set aside: broker ${a} refused TLS`) });

      await refusedBy(second.port);
      expect(await connections.brokers()).toEqual([]);
      expect(connections.tlsRefusal()).toBeDefined();
      expect(warnings).toHaveLength(1);
      const failure = connections.failure('admin connect', new Error('Failed to connect: brokers array is empty'));
      expect(failure).toMatchObject({ code: 'FLTS_BUS_TLS_FAILED', retriable: false });
      expect(failure.message).toContain(`set aside: broker ${a} refused TLS`);
      expect(failure.message).toContain(`; broker ${b} refused TLS`);
    } finally {
      connections.closeAll();
      await first.close();
      await second.close();
    }
  });
});

