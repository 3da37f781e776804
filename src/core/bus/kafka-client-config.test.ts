import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import type { KafkaSecuritySettings } from '../config/specs/distributed.js';
import { kafkaClientConfig, type KafkaConnectionOptions } from './kafka-client-config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-kafka-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
}

/** A real CA certificate (Node's first public root) and a private key that does not belong to it. */
const CA = file('ca.pem', rootCertificates[0]);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const FOREIGN_KEY = file('foreign.key', privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const ENCRYPTED_KEY = file('encrypted.key', privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right-phrase' }) as string);

const NO_SSL: KafkaSecuritySettings['ssl'] = { caFile: '', certFile: '', keyFile: '', keyPassword: '', insecureSkipHostnameVerification: false };
const LOGIN: KafkaSecuritySettings['sasl'] = { mechanism: 'SCRAM-SHA-512', username: 'flts', password: 's3cret-pw' };

function config(security: Partial<KafkaSecuritySettings>): ReturnType<typeof kafkaClientConfig> {
  const options: KafkaConnectionOptions = { brokers: ['b:9093'], clientId: 'flts', sasl: { mechanism: '', username: '', password: '' }, ssl: NO_SSL, ...security };
  return kafkaClientConfig(options);
}

function refusal(security: Partial<KafkaSecuritySettings>): { code: string; message: string; details: Record<string, unknown> } {
  try {
    config(security);
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected the settings to be refused');
}

describe('core > bus > kafka-client-config', () => {
  it('connects in plain text by default, with the timeouts and without ssl or sasl options', () => {
    expect(kafkaClientConfig({ brokers: ['b:9092'], clientId: 'flts', connectionTimeoutMs: 1000 })).toEqual({ clientId: 'flts', brokers: ['b:9092'], connectionTimeout: 1000, requestTimeout: 30_000 });
  });

  it('turns each protocol into kafkajs ssl and sasl options', () => {
    expect(config({ securityProtocol: 'SASL_PLAINTEXT', sasl: { ...LOGIN, mechanism: 'SCRAM-SHA-256' } })).toMatchObject({ sasl: { mechanism: 'scram-sha-256', username: 'flts', password: 's3cret-pw' } });
    expect(config({ securityProtocol: 'SASL_PLAINTEXT', sasl: LOGIN }).ssl).toBeUndefined();
    // No CA file: Node's public CAs (plus NODE_EXTRA_CA_CERTS), as MSK and Confluent Cloud need.
    expect(config({ securityProtocol: 'SASL_SSL', sasl: { ...LOGIN, mechanism: 'PLAIN' } })).toMatchObject({ ssl: {}, sasl: { mechanism: 'plain' } });
    const tls = config({ securityProtocol: 'SSL', ssl: { ...NO_SSL, caFile: CA } });
    expect(tls.sasl).toBeUndefined();
    expect((tls.ssl as ConnectionOptions).ca).toBe(rootCertificates[0]);
  });

  it('skips only the host name check when told so, by a setting named insecure', () => {
    const strict = config({ securityProtocol: 'SSL' }).ssl as ConnectionOptions;
    expect(strict.checkServerIdentity).toBeUndefined();
    expect(strict.rejectUnauthorized).toBeUndefined();
    const lax = config({ securityProtocol: 'SSL', ssl: { ...NO_SSL, insecureSkipHostnameVerification: true } }).ssl as ConnectionOptions;
    expect(lax.checkServerIdentity?.('other.example', {} as never)).toBeUndefined();
    expect(lax.rejectUnauthorized).toBeUndefined();
  });

  it.each<[string, Partial<KafkaSecuritySettings>, string, RegExp]>([
    ['a mechanism without a SASL protocol', { securityProtocol: 'SSL', sasl: LOGIN }, 'bus.kafka.sasl.mechanism', /FLTS_KAFKA_SASL_MECHANISM .* is SCRAM-SHA-512 but FLTS_KAFKA_SECURITY_PROTOCOL is SSL/],
    ['a SASL protocol without a mechanism', { securityProtocol: 'SASL_SSL', sasl: { ...LOGIN, mechanism: '' } }, 'bus.kafka.sasl.mechanism', /FLTS_KAFKA_SASL_MECHANISM .* is empty/],
    ['a SASL protocol without a user', { securityProtocol: 'SASL_PLAINTEXT', sasl: { ...LOGIN, username: '' } }, 'bus.kafka.sasl.username', /FLTS_KAFKA_SASL_USERNAME .* is empty/],
    ['a SASL protocol without a password', { securityProtocol: 'SASL_PLAINTEXT', sasl: { ...LOGIN, password: '' } }, 'bus.kafka.sasl.password', /FLTS_KAFKA_SASL_PASSWORD \(setting bus.kafka.sasl.password\) is empty/],
    ['a CA file without TLS', { securityProtocol: 'SASL_PLAINTEXT', sasl: LOGIN, ssl: { ...NO_SSL, caFile: CA } }, 'bus.kafka.ssl.caFile', /FLTS_KAFKA_SSL_CA_FILE .* is set but FLTS_KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT, which has no TLS/],
    ['a client certificate without its key', { securityProtocol: 'SSL', ssl: { ...NO_SSL, certFile: CA } }, 'bus.kafka.ssl.keyFile', /FLTS_KAFKA_SSL_KEY_FILE .* is empty/],
    ['a key without its certificate', { securityProtocol: 'SSL', ssl: { ...NO_SSL, keyFile: FOREIGN_KEY } }, 'bus.kafka.ssl.certFile', /FLTS_KAFKA_SSL_CERT_FILE .* is empty/],
  ])('refuses %s, naming the setting', (_, security, setting, message) => {
    const error = refusal(security);
    expect(error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting } });
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('s3cret-pw');
  });

  it('refuses a CA file that cannot be read, is not PEM or holds no certificate, naming its path', () => {
    const missing = path.join(dir, 'missing-ca.pem');
    expect(refusal({ securityProtocol: 'SSL', ssl: { ...NO_SSL, caFile: missing } })).toMatchObject({
      code: 'FLTS_CONFIG_INVALID_VALUE',
      details: { setting: 'bus.kafka.ssl.caFile', file: missing },
      message: expect.stringMatching(new RegExp(`^FLTS_KAFKA_SSL_CA_FILE \\(setting bus.kafka.ssl.caFile\\) = ${missing} cannot be read: ENOENT`)),
    });
    const der = file('ca.der', 'not a pem file');
    expect(refusal({ securityProtocol: 'SSL', ssl: { ...NO_SSL, caFile: der } }).message).toContain(`${der} is not a PEM file of certificates`);
    const garbled = file('garbled.pem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    expect(refusal({ securityProtocol: 'SSL', ssl: { ...NO_SSL, caFile: garbled } }).message).toContain(`${garbled} holds a certificate that does not parse (block 1:`);
  });

  it('refuses a client key that does not belong to the certificate, or that the passphrase does not decrypt', () => {
    const foreign = refusal({ securityProtocol: 'SSL', ssl: { ...NO_SSL, certFile: CA, keyFile: FOREIGN_KEY } });
    expect(foreign).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'bus.kafka.ssl.keyFile' } });
    expect(foreign.message).toContain(`${FOREIGN_KEY} is not the private key of the first certificate in ${CA}`);
    const locked = refusal({ securityProtocol: 'SSL', ssl: { ...NO_SSL, certFile: CA, keyFile: ENCRYPTED_KEY, keyPassword: 'wrong-phrase' } });
    expect(locked).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'bus.kafka.ssl.keyFile' } });
    expect(locked.message).toContain(`${ENCRYPTED_KEY} cannot be decrypted with the passphrase given`);
    expect(locked.message).not.toContain('wrong-phrase');
  });
  it('refuses a bootstrap entry that is not host:port, naming the setting that takes a login or a protocol, never the password', () => {
    const refused = (brokers: string[]): unknown => {
      try {
        kafkaClientConfig({ brokers, clientId: 'flts' });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    // Before, kafkajs read alice:s3cret@b:9092 as host "alice", port NaN, and retried "Port should be >= 0 and < 65536" for 25 s.
    const login = refused(['b1:9092', 'alice:s3cret@b2:9092']);
    expect(login).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'bus.kafka.brokers' }, message: 'KAFKA_BOOTSTRAP_SERVERS (setting bus.kafka.brokers) item 2 of 2 = "***@b2:9092" is not host:port (a port from 1 to 65535): a user and password go in FLTS_KAFKA_SASL_USERNAME and FLTS_KAFKA_SASL_PASSWORD (with FLTS_KAFKA_SECURITY_PROTOCOL SASL_PLAINTEXT or SASL_SSL), never in the address.' });
    expect(refused(['SASL_SSL://b:9092'])).toMatchObject({ message: expect.stringContaining('"SASL_SSL://b:9092" is not host:port (a port from 1 to 65535): the protocol goes in FLTS_KAFKA_SECURITY_PROTOCOL') });
    for (const entry of ['b', 'b:', 'b:0', 'b:70000', 'b:90x', '[::1]:9092']) expect(refused([entry]), entry).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    for (const entry of ['b:9092', '127.0.0.1:9', 'kafka-0.kafka.svc.cluster.local:9093']) expect(refused([entry]), entry).toBeUndefined();
  });
});
