import type { FastifyInstance } from 'fastify';
import { FltsError } from '../errors.js';

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'the address is not one of this machine',
  EACCES: 'binding this port needs privileges',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved right now',
};

/** `app.listen`, with the usual reasons it fails (port in use, unknown host) as a coded usage error. */
export async function listenOrExplain(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const reason = LISTEN_REASONS[code];
    if (!reason) throw error;
    throw new FltsError('FLTS_SERVE_LISTEN_FAILED', `Cannot listen on ${host}:${port}: ${reason} (${code}).`, { cause: error, details: { host, port, errno: code } });
  }
}
