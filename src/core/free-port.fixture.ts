import net from 'node:net';

/**
 * A port on 127.0.0.1 that the OS reports free right now: for a server the caller starts next, or as an address
 * nothing listens on, where a connection is refused at once.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
