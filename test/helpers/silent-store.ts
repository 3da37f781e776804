import net from 'node:net';
import { startFltsProcess } from './flts-process.js';

export interface StoppedRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * An S3 endpoint that accepts connections and never answers, and a way to stop a flts command while it waits on
 * it: `stopOnceAtWork` starts the command with `env` (the store's settings beside it), sends `signal` once the
 * command has asked the store something, and resolves with what the command said.
 */
export async function startSilentStore(secret: string): Promise<{
  env: Record<string, string>;
  stopOnceAtWork(args: string[], signal: NodeJS.Signals, env?: Record<string, string>): Promise<StoppedRun>;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const connected: Array<() => void> = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {}).on('close', () => sockets.delete(socket)).resume();
    connected.splice(0).forEach((resolve) => resolve());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const storeEnv = { FLTS_STORE: 's3', MINIO_ENDPOINT: endpoint, MINIO_ROOT_USER: 'user', MINIO_ROOT_PASSWORD: secret };
  return {
    env: storeEnv,
    async stopOnceAtWork(args, signal, env = {}) {
      const asked = new Promise<void>((resolve) => connected.push(resolve));
      const command = startFltsProcess(args, { ...storeEnv, ...env });
      let stdout = '';
      command.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      await Promise.race([asked, command.exited.then(() => Promise.reject(new Error(`flts ${args[0]} ended before it asked the store: ${command.output()}`)))]);
      command.child.kill(signal);
      const exitCode = await command.exited;
      return { exitCode, stdout, stderr: command.logs() };
    },
    async close() {
      sockets.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
