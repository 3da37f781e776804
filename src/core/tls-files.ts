import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { FltsError } from './errors.js';
import { readRegularFile } from './read-regular-file.js';

/** The setting a PEM file path came from, as messages name it: `FLTS_KAFKA_SSL_CA_FILE (setting bus.kafka.ssl.caFile)`. */
export interface PemSetting {
  setting: string;
  env: string;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function refuse(source: PemSetting, file: string, reason: string, cause?: unknown): FltsError {
  return new FltsError('FLTS_CONFIG_INVALID_VALUE', `${source.env} (setting ${source.setting}) = ${file} ${reason}.`, { cause, details: { setting: source.setting, file } });
}

function readText(source: PemSetting, file: string): string {
  try {
    return readRegularFile(file);
  } catch (cause) {
    throw refuse(source, file, `cannot be read: ${(cause as Error).message}`, cause);
  }
}

/**
 * The certificates of a PEM file (a CA bundle, a client certificate chain), each one parsed: Node's TLS would skip a
 * block that does not parse without a word, and a connection would then fail later with a less telling reason.
 */
export function readCertificates(source: PemSetting, file: string): { pem: string; certificates: X509Certificate[] } {
  const pem = readText(source, file);
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw refuse(source, file, 'is not a PEM file of certificates (it has no "-----BEGIN CERTIFICATE-----" block)');
  const certificates = blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (cause) {
      throw refuse(source, file, `holds a certificate that does not parse (block ${index + 1}: ${(cause as Error).message})`, cause);
    }
  });
  return { pem, certificates };
}

/** A PEM private key, decrypted with `passphrase` when it is encrypted. */
export function readPrivateKey(source: PemSetting, file: string, passphrase?: string): { pem: string; key: KeyObject } {
  const pem = readText(source, file);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw refuse(source, file, 'is not a PEM file of a private key (it has no "-----BEGIN ... PRIVATE KEY-----" block)');
  try {
    return { pem, key: createPrivateKey({ key: pem, passphrase }) };
  } catch (cause) {
    const encrypted = /ENCRYPTED/.test(pem);
    throw refuse(source, file, encrypted ? `cannot be decrypted with the passphrase given (${(cause as Error).message})` : `is not a usable private key (${(cause as Error).message})`, cause);
  }
}

/** Node's codes for a server certificate the client does not accept (OpenSSL's ERR_SSL_* alerts are matched by prefix). */
const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH',
]);

/**
 * A TLS handshake that failed on something to configure, not on the network: a certificate not trusted or issued
 * for another name, or an alert from the server (a client certificate it wanted, a protocol it does not speak).
 */
export function isTlsRefusal(code: string | undefined): boolean {
  return code !== undefined && (CERTIFICATE_CODES.has(code) || code.startsWith('ERR_SSL_'));
}
