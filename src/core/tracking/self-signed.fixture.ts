import { generateKeyPairSync, sign } from 'node:crypto';

/*
 * A self-signed CA certificate for 127.0.0.1, made in memory (node:crypto signs, but writes no certificates): tests of
 * TLS against a local server need one, and need no openssl on the machine that runs them.
 */

const length = (n: number): Buffer => (n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]));
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

function objectId(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const n of rest) {
    const groups: number[] = [];
    let value = n;
    do {
      groups.unshift(value & 0x7f);
      value >>= 7;
    } while (value > 0);
    bytes.push(...groups.map((group, at) => (at < groups.length - 1 ? group | 0x80 : group)));
  }
  return tlv(0x06, Buffer.from(bytes));
}

const generalizedTime = (at: Date): Buffer => tlv(0x18, Buffer.from(`${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`));
const commonName = (cn: string): Buffer => sequence(tlv(0x31, sequence(objectId('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
const extension = (id: string, critical: boolean, value: Buffer): Buffer => sequence(objectId(id), ...(critical ? [TRUE] : []), tlv(0x04, value));

/** A certificate (PEM) valid from an hour ago for a day, CA and issued for IP 127.0.0.1, with its private key (PEM). */
export function selfSignedCertificate(cn = 'flts test CA'): { cert: string; key: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = sequence(objectId('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
  const now = Date.now();
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, Buffer.from([0x01, 0x23])),
    sha256WithRsa,
    commonName(cn),
    sequence(generalizedTime(new Date(now - 3600_000)), generalizedTime(new Date(now + 24 * 3600_000))),
    commonName(cn),
    publicKey.export({ type: 'spki', format: 'der' }),
    // basicConstraints CA:TRUE (critical), so that trusting it makes it an anchor; subjectAltName IP 127.0.0.1.
    tlv(0xa3, sequence(extension('2.5.29.19', true, sequence(TRUE)), extension('2.5.29.17', false, sequence(tlv(0x87, Buffer.from([127, 0, 0, 1])))))),
  );
  const der = sequence(tbs, sha256WithRsa, tlv(0x03, Buffer.concat([Buffer.from([0]), sign('sha256', tbs, privateKey)])));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
