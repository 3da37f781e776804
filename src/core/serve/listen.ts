import type { FastifyInstance } from 'fastify';
import { clip } from '../clip-text.js';
import { FltsError } from '../errors.js';

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'the address is not one of this machine',
  EACCES: 'binding this port needs privileges',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved right now',
  // getaddrinfo's answer for a name no resolver would take (over 255 characters): a typo, not a bug.
  EINVAL: 'the host is not a valid name or address',
};

/** Which listener failed, and the settings that move it (the catalogue hint speaks of the HTTP API's). */
export interface Listener {
  service?: string;
  hint?: string;
}

export const GRPC_LISTENER: Listener = { service: 'gRPC', hint: 'Choose a free port (--grpc-port or FLTS_SERVE_GRPC_PORT, 0 = any free one) and an address of this machine (--host or FLTS_SERVE_HOST).' };
export const DAEMON_HEALTH_LISTENER: Listener = {
  service: 'the daemon health server',
  hint: 'Choose a free port (flts daemon --port or FLTS_DAEMON_PORT, 0 = any free one) and an address of this machine (FLTS_DAEMON_HOST).',
};

/**
 * A failure to listen for one of the usual reasons (port in use, unknown host) as a coded usage error; undefined for
 * others. `listener` names one other than the HTTP API (gRPC, the daemon's health server) and its settings.
 */
export function explainListenFailure(host: string, port: number, errno: string, cause: unknown, listener: Listener = {}): FltsError | undefined {
  const reason = LISTEN_REASONS[errno];
  if (!reason) return undefined;
  const { service, hint } = listener;
  return new FltsError('FLTS_SERVE_LISTEN_FAILED', `Cannot listen${service ? ` for ${service}` : ''} on ${clip(host)}:${port}: ${reason} (${errno}).`, { cause, details: { host: clip(host), port, errno }, ...(hint ? { hint } : {}) });
}

/** `app.listen`, with the usual reasons it fails (port in use, unknown host) as a coded usage error. */
export async function listenOrExplain(app: FastifyInstance, host: string, port: number, listener: Listener = {}): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    throw explainListenFailure(host, port, (error as NodeJS.ErrnoException).code ?? '', error, listener) ?? error;
  }
}
