import { createServer, type RequestListener } from 'node:http';
import type { FltsError } from '../errors.js';

/** A server answering every request with `listener` on 127.0.0.1, for the length of `body`, then closed with its connections. */
export async function withServer<T>(listener: RequestListener, body: (uri: string) => Promise<T>): Promise<T> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await body(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The error `promise` rejects with; a promise that resolves fails the test. */
export async function failure(promise: Promise<unknown>): Promise<FltsError> {
  try {
    await promise;
  } catch (error) {
    return error as FltsError;
  }
  throw new Error('expected the call to fail');
}
