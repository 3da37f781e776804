import type { Socket } from 'node:net';

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
