import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { DISTRIBUTED_SPECS, type KafkaSecuritySettings } from '../config/specs/distributed.js';
import { FltsError } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { readCertificates, readPrivateKey, type PemSetting } from '../tls-files.js';

/** Where and how a Kafka client connects: what every client flts creates (bus, offsets admin) has in common. */
export interface KafkaConnectionOptions extends Partial<KafkaSecuritySettings> {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs?: number;
  /** Longest wait for the answer to one request (kafkajs' default, 30 s, when unset). */
  requestTimeoutMs?: number;
}

type ClientConfig = Pick<KafkaConfig, 'clientId' | 'brokers' | 'connectionTimeout' | 'requestTimeout' | 'ssl' | 'sasl'>;

/** `key` under bus.kafka, with the environment name that sets it (its spec's first, the one the docs and the chart use). */
function setting(key: string): PemSetting {
  const path = `bus.kafka.${key}`;
  return { setting: path, env: DISTRIBUTED_SPECS.find((spec) => spec.path === path)?.env?.[0] ?? path };
}

/**
 * The default of a numeric setting under bus.kafka (its spec's), for a bus made without settings (the library's
 * createKafkaBus): the same value as one made from defaultSettings().
 */
export function kafkaSettingDefault(key: string): number {
  const value = DISTRIBUTED_SPECS.find((spec) => spec.path === `bus.kafka.${key}`)?.default;
  if (typeof value !== 'number') throw new Error(`bus.kafka.${key} has no numeric default`);
  return value;
}

function invalid(key: string, message: string): FltsError {
  const { setting: path, env } = setting(key);
  return new FltsError('FLTS_CONFIG_INVALID_VALUE', `${env} (setting ${path}) ${message}`, { details: { setting: path } });
}

function tlsOptions(ssl: KafkaSecuritySettings['ssl']): ConnectionOptions {
  const options: ConnectionOptions = {};
  if (ssl.caFile) options.ca = readCertificates(setting('ssl.caFile'), ssl.caFile).pem;
  if (ssl.certFile || ssl.keyFile) {
    if (!ssl.keyFile) throw invalid('ssl.keyFile', 'is empty: a client certificate (FLTS_KAFKA_SSL_CERT_FILE) needs its private key for mutual TLS.');
    if (!ssl.certFile) throw invalid('ssl.certFile', 'is empty: a private key (FLTS_KAFKA_SSL_KEY_FILE) needs its client certificate for mutual TLS.');
    const cert = readCertificates(setting('ssl.certFile'), ssl.certFile);
    const key = readPrivateKey(setting('ssl.keyFile'), ssl.keyFile, ssl.keyPassword || undefined);
    if (!cert.certificates[0].checkPrivateKey(key.key)) throw invalid('ssl.keyFile', `= ${ssl.keyFile} is not the private key of the first certificate in ${ssl.certFile} (FLTS_KAFKA_SSL_CERT_FILE).`);
    Object.assign(options, { cert: cert.pem, key: key.pem, passphrase: ssl.keyPassword || undefined });
  }
  // The chain is still verified (rejectUnauthorized stays on); only the host name in the certificate is not compared.
  if (ssl.insecureSkipHostnameVerification) options.checkServerIdentity = () => undefined;
  return options;
}

function saslOptions(protocol: string, sasl: KafkaSecuritySettings['sasl']): SASLOptions {
  if (!sasl.mechanism) throw invalid('sasl.mechanism', `is empty but FLTS_KAFKA_SECURITY_PROTOCOL is ${protocol}: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, a mechanism the broker's listener enables.`);
  if (!sasl.username) throw invalid('sasl.username', `is empty: ${protocol} logs in with a user and a password.`);
  if (!sasl.password) throw invalid('sasl.password', `is empty: ${protocol} logs in with a user and a password.`);
  const mechanism = sasl.mechanism.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512';
  return { mechanism, username: sasl.username, password: sasl.password };
}

/** What kafkajs can connect to: it reads a bootstrap entry as host:port, split at its colons (connectionPoolBuilder.js). */
const HOST_PORT = /^[^\s:/@[\]]+:(\d{1,5})$/;

/**
 * A bootstrap entry kafkajs would read as another host and a port that is no number: every connection to it fails
 * ("Port should be >= 0 and < 65536 ... NaN") for as long as the retries last, naming neither the entry nor why. A
 * user:password@ (the password masked when named) or a scheme (SASL_SSL://) is said as the setting that takes it.
 */
function checkBootstrapList(brokers: readonly string[]): void {
  for (const [index, entry] of brokers.entries()) {
    const port = HOST_PORT.exec(entry)?.[1];
    if (port !== undefined && Number(port) >= 1 && Number(port) <= 65_535) continue;
    const shown = JSON.stringify(redactSecrets(entry));
    const instead = entry.includes('@')
      ? ': a user and password go in FLTS_KAFKA_SASL_USERNAME and FLTS_KAFKA_SASL_PASSWORD (with FLTS_KAFKA_SECURITY_PROTOCOL SASL_PLAINTEXT or SASL_SSL), never in the address'
      : entry.includes('://') ? ': the protocol goes in FLTS_KAFKA_SECURITY_PROTOCOL, not before the address' : '';
    throw invalid('brokers', `item ${index + 1} of ${brokers.length} = ${shown} is not host:port (a port from 1 to 65535)${instead}.`);
  }
}

/**
 * The connection part of every kafkajs client flts creates: brokers, timeouts and, from the security settings,
 * kafkajs' `ssl` (Node TLS options) and `sasl`. Refuses what a broker would answer only with a closed connection or
 * a hang, or what would be silently ignored (a mechanism without a SASL protocol, a SASL protocol without
 * credentials, certificate files without TLS), a bootstrap entry that is not host:port, and files that are unreadable or
 * not PEM, named by setting and path.
 */
export function kafkaClientConfig(options: KafkaConnectionOptions): ClientConfig {
  const protocol = options.securityProtocol ?? 'PLAINTEXT';
  const sasl = options.sasl ?? { mechanism: '', username: '', password: '' };
  const ssl = options.ssl ?? { caFile: '', certFile: '', keyFile: '', keyPassword: '', insecureSkipHostnameVerification: false };
  checkBootstrapList(options.brokers);
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  if (!usesSasl && sasl.mechanism) throw invalid('sasl.mechanism', `is ${sasl.mechanism} but FLTS_KAFKA_SECURITY_PROTOCOL is ${protocol}, which has no SASL login: use SASL_PLAINTEXT or SASL_SSL, or leave the mechanism empty.`);
  const tlsFile = (['caFile', 'certFile', 'keyFile'] as const).find((key) => ssl[key] !== '');
  if (!usesTls && tlsFile) throw invalid(`ssl.${tlsFile}`, `is set but FLTS_KAFKA_SECURITY_PROTOCOL is ${protocol}, which has no TLS: use SSL or SASL_SSL, or leave it empty.`);
  return {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? kafkaSettingDefault('connectionTimeoutMs'),
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    ...(usesTls ? { ssl: tlsOptions(ssl) } : {}),
    ...(usesSasl ? { sasl: saslOptions(protocol, sasl) } : {}),
  };
}
