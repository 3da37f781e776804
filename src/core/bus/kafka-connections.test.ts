import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
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
      const socket = connections.socketFactory({ host: '127.0.0.1', port, ssl: {}, onConnect: () => connected() });
      const failure = once(socket, 'error');
      await onConnect;

      connections.closeAll();
      expect((await failure)[0]).toMatchObject({ message: BUS_CLOSED_REASON });
      await once(accepted[0], 'close');
      expect(connections.closed).toBe(true);
      // No bootstrap broker left: kafkajs fails a seed broker's rebuild without retrying it.
      expect(await connections.brokers()).toEqual([]);

      const late = connections.socketFactory({ host: '127.0.0.1', port, ssl: {}, onConnect: () => {} });
      expect((await once(late, 'error'))[0]).toMatchObject({ message: BUS_CLOSED_REASON });
      expect(accepted).toHaveLength(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
