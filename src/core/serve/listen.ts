import type { FastifyInstance } from 'fastify';
import { clip } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { hostsOverlap, type HostLookup } from './listen-addresses.js';

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

/** A port a listener is configured with, and how an operator sets it: the words an error names it by. */
export interface PortSetting {
  /** Dot path of the setting, e.g. `serve.grpcPort`. */
  setting: string;
  /** The setting as an operator knows it, flag first when there is one: `--grpc-port (serve.grpcPort, FLTS_SERVE_GRPC_PORT)`. */
  named: string;
  /** null: that listener is off. */
  port: number | null;
  host: string;
}

/**
 * Two listeners of one process configured with one port: the second listen failed with "the port is already in use",
 * which sent the operator looking for another process. Refused before anything listens, naming both settings, and
 * asking for another port for `moved`. Hosts clash by the addresses they are bound to, not by how they are written
 * (`localhost` and `127.0.0.1`, `::` and any host); port 0 (any free one) never clashes.
 */
export async function assertDistinctPorts(moved: PortSetting, kept: PortSetting, why: string, move: string, lookupHost?: HostLookup): Promise<void> {
  if (moved.port === null || moved.port === 0 || moved.port !== kept.port) return;
  if (!(await hostsOverlap(moved.host, kept.host, lookupHost))) return;
  const hosts = moved.host.toLowerCase() === kept.host.toLowerCase() ? '' : ` on hosts that share an address (${clip(moved.host)}, ${clip(kept.host)})`;
  throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `${moved.named} and ${kept.named} are both ${moved.port}${hosts}: ${why}; ${move} (0 = any free port).`, {
    details: { setting: moved.setting, port: moved.port, sameAs: kept.setting },
  });
}
