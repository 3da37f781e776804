import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { createS3Store, parseS3Endpoint, translateS3Error } from './s3-store.js';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('core > storage > s3-store', () => {
  it.each([
    ['minio:9000', undefined, { host: 'minio', port: 9000, useSSL: false }],
    ['127.0.0.1:19000', null, { host: '127.0.0.1', port: 19000, useSSL: false }],
    ['minio', undefined, { host: 'minio', port: 9000, useSSL: false }],
    ['http://minio:9000', undefined, { host: 'minio', port: 9000, useSSL: false }],
    ['https://s3.example.com', undefined, { host: 's3.example.com', port: 443, useSSL: true }],
    ['http://s3.example.com/', undefined, { host: 's3.example.com', port: 80, useSSL: false }],
    ['minio:9000', true, { host: 'minio', port: 9000, useSSL: true }],
    ['https://minio:9443', false, { host: 'minio', port: 9443, useSSL: false }],
  ])('parses the endpoint %j (secure %j)', (endpoint, secure, expected) => {
    expect(parseS3Endpoint(endpoint, secure)).toEqual(expected);
  });

  it.each(['ftp://minio:21', 'http://minio:9000/bucket', '::::'])('rejects the endpoint %j naming the setting', (endpoint) => {
    expect(() => parseS3Endpoint(endpoint)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'store.s3.endpoint' } }));
  });

  it('maps S3 codes to the catalogue and leaves other errors alone', () => {
    const where = { endpoint: 'http://x:1', bucket: 'b', key: 'k' };
    const s3Error = (code: string) => Object.assign(new Error(code), { code });
    expect((translateS3Error(s3Error('NoSuchKey'), where) as FltsError).code).toBe('FLTS_STORE_NOT_FOUND');
    expect((translateS3Error(s3Error('NotFound'), where) as FltsError).code).toBe('FLTS_STORE_NOT_FOUND');
    expect((translateS3Error(s3Error('SlowDown'), where) as FltsError).retriable).toBe(true);
    const other = new TypeError('bug');
    expect(translateS3Error(other, where)).toBe(other);
  });

  it('reports an unreachable server as retriable FLTS_STORE_UNAVAILABLE', async () => {
    const store = createS3Store({ endpoint: `127.0.0.1:${await closedPort()}`, accessKey: 'a', secretKey: 'b' });
    for (const attempt of [() => store.get('bucket-a', 'k.json'), () => store.put('bucket-a', 'k.json', 'x'), () => store.list('bucket-a')]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FltsError);
      expect((error as FltsError).code).toBe('FLTS_STORE_UNAVAILABLE');
      expect((error as FltsError).retriable).toBe(true);
    }
  });
});
