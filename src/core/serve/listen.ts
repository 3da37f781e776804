import type { FastifyInstance } from 'fastify';
import { FltsError } from '../errors.js';

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'the address is not one of this machine',
  EACCES: 'binding this port needs privileges',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved right now',
};

/**
 * A failure to listen for one of the usual reasons (port in use, unknown host) as a coded usage error; undefined for
 * others. `service` names a listener other than the HTTP API's (the gRPC one).
 */
export function explainListenFailure(host: string, port: number, errno: string, cause: unknown, service?: string): FltsError | undefined {
  const reason = LISTEN_REASONS[errno];
  if (!reason) return undefined;
  return new FltsError('FLTS_SERVE_LISTEN_FAILED', `Cannot listen${service ? ` for ${service}` : ''} on ${host}:${port}: ${reason} (${errno}).`, { cause, details: { host, port, errno } });
}

/** `app.listen`, with the usual reasons it fails (port in use, unknown host) as a coded usage error. */
export async function listenOrExplain(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    throw explainListenFailure(host, port, (error as NodeJS.ErrnoException).code ?? '', error) ?? error;
  }
}
