import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { trackingTlsConflict } from '../config/specs/tracking.js';
import { FltsError } from '../errors.js';
import { isTlsRefusal, readCertificates, readPrivateKey, type PemSetting } from '../tls-files.js';

/** What an https tracking server is reached with: the tracking.caFile, tracking.clientCertFile and tracking.insecureTls settings. */
export interface MlflowTlsOptions {
  readonly caFile?: string;
  readonly clientCertFile?: string;
  readonly insecureTls?: boolean;
}

export interface MlflowTlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly insecure: boolean;
}

const CA_FILE: PemSetting = { setting: 'tracking.caFile', env: 'MLFLOW_TRACKING_SERVER_CERT_PATH' };
const CLIENT_CERT_FILE: PemSetting = { setting: 'tracking.clientCertFile', env: 'MLFLOW_TRACKING_CLIENT_CERT_PATH' };
const KEY_BLOCK = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

function refuseClientCert(file: string, reason: string, cause?: unknown): FltsError {
  return new FltsError('FLTS_CONFIG_INVALID_VALUE', `${CLIENT_CERT_FILE.env} (setting ${CLIENT_CERT_FILE.setting}) = ${file} ${reason}.`, { cause, details: { setting: CLIENT_CERT_FILE.setting, file } });
}

/**
 * MLflow's client certificate file is one PEM holding the certificate and its key (what `requests` takes as `cert`):
 * both are read from it here, so that a file missing either, or pairing a key with another certificate, is refused
 * when the client is made rather than met as a handshake the server ends without saying why.
 */
function readClientCertificate(file: string): { cert: string; key: string } {
  const { pem: keyed, certificates } = readCertificates(CLIENT_CERT_FILE, file);
  const pem = certificates.map((certificate) => certificate.toString()).join('');
  if (!KEY_BLOCK.test(keyed)) throw refuseClientCert(file, 'holds no private key: it must be one PEM file with the client certificate and its private key, as MLflow\'s client reads it');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyed)) {
    throw refuseClientCert(file, 'holds an encrypted private key, which neither flts nor MLflow\'s client can decrypt without asking: store the key unencrypted, readable by this process\'s user only');
  }
  const { key } = readPrivateKey(CLIENT_CERT_FILE, file);
  if (!certificates[0].checkPrivateKey(key)) throw refuseClientCert(file, `holds a private key that is not the key of its first certificate (${certificates[0].subject.replace(/\n/g, ', ')}), which the server would refuse`);
  return { cert: pem, key: key.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** The files the settings name, read and checked now, so that a client is never made from a setting it cannot use. */
export function readTlsMaterial(options: MlflowTlsOptions): MlflowTlsMaterial {
  const conflict = trackingTlsConflict({ insecureTls: options.insecureTls ?? false, caFile: options.caFile ?? '' });
  if (conflict) throw conflict;
  const ca = options.caFile ? readCertificates(CA_FILE, options.caFile).pem : undefined;
  const client = options.clientCertFile ? readClientCertificate(options.clientCertFile) : undefined;
  return { ca, ...client, insecure: options.insecureTls === true };
}

export interface MlflowTlsAgent {
  readonly dispatcher: Dispatcher;
  /**
   * The TLS alert behind a request that failed as a closed socket (UND_ERR_SOCKET), if its connection saw one: a
   * server that wants a client certificate ends the TLS 1.3 handshake with an alert that undici reports only as
   * "other side closed", which read as a network failure and was retried for the whole budget of every call.
   */
  alertOf(error: unknown): Error | undefined;
}

/** Alerts kept for connections whose failure is not read yet; more means nobody reads them (each is read once). */
const KEPT_ALERTS = 64;

export async function createTlsAgent(material: MlflowTlsMaterial): Promise<MlflowTlsAgent> {
  // undici (~110 modules) loads with the first request, not with every command that reaches this module.
  const { Agent, buildConnector } = await import('undici');
  const connector = buildConnector({ ca: material.ca, cert: material.cert, key: material.key, rejectUnauthorized: !material.insecure });
  const alerts = new Map<number, Error>();
  const dispatcher = new Agent({
    connect: (options, callback) =>
      connector(options, (error, socket) => {
        if (socket) watchAlerts(socket, alerts);
        if (error) callback(error, null);
        else callback(null, socket as Socket);
      }),
  });
  return {
    dispatcher,
    alertOf(error) {
      const port = (error as { code?: unknown; socket?: { localPort?: unknown } } | undefined)?.socket?.localPort;
      if ((error as { code?: unknown }).code !== 'UND_ERR_SOCKET' || typeof port !== 'number') return undefined;
      const alert = alerts.get(port);
      alerts.delete(port);
      return alert;
    },
  };
}

function watchAlerts(socket: Socket, alerts: Map<number, Error>): void {
  const port = socket.localPort;
  if (port === undefined) return;
  socket.on('error', (error: Error & { code?: string }) => {
    if (!isTlsRefusal(error.code)) return;
    if (alerts.size >= KEPT_ALERTS) alerts.delete(alerts.keys().next().value as number);
    alerts.set(port, error);
  });
}
