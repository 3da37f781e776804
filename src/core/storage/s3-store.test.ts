import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FltsError } from '../errors.js';
import { selfSignedCertificate } from '../tracking/self-signed.fixture.js';
import { createS3Store, parseS3Endpoint, translateS3Error } from './s3-store.js';
import { freePort } from '../free-port.fixture.js';

/** A TCP server on 127.0.0.1 that does `onConnection` to every connection; closed (with its sockets) after each test. */
const servers: Array<{ server: net.Server; sockets: Set<net.Socket> }> = [];
async function misbehavingServer(onConnection: (socket: net.Socket) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {}).on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  servers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

afterEach(async () => {
  for (const { server, sockets } of servers.splice(0)) {
    sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const SECRET = 'secret-key-never-shown';

/** The store call's error and how long it took to come. */
async function failure(endpoint: string, action: (store: ReturnType<typeof createS3Store>) => Promise<unknown>): Promise<{ error: FltsError; ms: number }> {
  const store = createS3Store({ endpoint, accessKey: 'a', secretKey: SECRET, idleTimeoutMs: 200, requestTimeoutMs: 600 });
  const started = Date.now();
  const error = await action(store).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FltsError);
  return { error: error as FltsError, ms: Date.now() - started };
}

function expectUnavailable(error: FltsError, endpoint: string): void {
  expect(error.code).toBe('FLTS_STORE_UNAVAILABLE');
  expect(error.retriable).toBe(true);
  expect(error.message).toContain(`http://${endpoint}`);
  expect(JSON.stringify(error.toJSON())).not.toContain(SECRET);
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

  it.each(['http://flts:pw-in-url@127.0.0.1:9000', 'flts:pw-in-url@minio:9000', 'https://:pw-in-url@s3.example.com'])('refuses the credentials in the endpoint %j, which the client would drop unsaid, naming the settings that take them and masking the secret', (endpoint) => {
    const error = (() => {
      try {
        parseS3Endpoint(endpoint);
      } catch (e) {
        return e as FltsError;
      }
      return undefined;
    })();
    expect(error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'store.s3.endpoint' } });
    expect(error?.message).toMatch(/never in the address\.$/);
    expect(error?.message).toContain('MINIO_ROOT_USER and MINIO_ROOT_PASSWORD');
    expect(JSON.stringify(error?.toJSON())).not.toContain('pw-in-url');
  });

  it.each(['ftp://minio:21', 'http://minio:9000/bucket', '::::'])('rejects the endpoint %j naming the setting', (endpoint) => {
    expect(() => parseS3Endpoint(endpoint)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'store.s3.endpoint' } }));
  });

  it('trusts a CA file only for an https endpoint, and refuses an unreadable one by its path', () => {
    expect(() => createS3Store({ endpoint: 'minio:9000', accessKey: 'a', secretKey: SECRET, caFile: '/etc/flts/tls/ca.crt' })).toThrow(
      expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'store.s3.caFile' }, message: expect.stringContaining('endpoint http://minio:9000 has no TLS') }),
    );
    expect(() => createS3Store({ endpoint: 'https://minio:9000', accessKey: 'a', secretKey: SECRET, caFile: '/nonexistent/ca.crt' })).toThrow(
      expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringMatching(/^FLTS_S3_CA_FILE \(setting store.s3.caFile\) = \/nonexistent\/ca.crt cannot be read/) }),
    );
  });

  it('signs with static credentials only when both the key and its secret are set, and needs neither with credentials aws', () => {
    // Without them the client would send every request unsigned, as anonymous, and S3 would answer AccessDenied.
    expect(() => createS3Store({ endpoint: 'minio:9000', accessKey: '', secretKey: SECRET })).toThrow(
      expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'store.s3.accessKey' }, message: expect.stringMatching(/^store.s3.accessKey \(MINIO_ROOT_USER, MINIO_ACCESS_KEY or AWS_ACCESS_KEY_ID\) is empty but FLTS_S3_CREDENTIALS \(setting store.s3.credentials\) is static.*or FLTS_S3_CREDENTIALS=aws/) }),
    );
    expect(() => createS3Store({ endpoint: 'minio:9000', credentials: 'static', accessKey: 'a' })).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'store.s3.secretKey' } }));
    expect(createS3Store({ endpoint: 'minio:9000', credentials: 'aws', aws: { containerCredentialsFullUri: 'http://127.0.0.1:9/creds' } }).kind).toBe('s3');
    expect(() => createS3Store({ endpoint: 'minio:9000', credentials: 'aws', aws: { imdsDisabled: true } })).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'store.s3.credentials' } }));
  });

  it.each([
    ['an access key id ending with a line break', { accessKey: 'flts-app\n', secretKey: SECRET }, 'store.s3.accessKey', /^store.s3.accessKey \(MINIO_ROOT_USER, MINIO_ACCESS_KEY or AWS_ACCESS_KEY_ID\) ends with a line break \(a file or Secret written with echo, say\), which the Authorization header cannot carry: remove it\.$/],
    ['an access key id beyond Latin-1', { accessKey: 'flts-\u65e5', secretKey: SECRET }, 'store.s3.accessKey', /holds a character beyond Latin-1, which the Authorization header cannot carry/],
    ['a secret ending with a line break', { accessKey: 'flts-app', secretKey: `${SECRET}\r\n` }, 'store.s3.secretKey', /^store.s3.secretKey \(MINIO_ROOT_PASSWORD, MINIO_SECRET_KEY or AWS_SECRET_ACCESS_KEY\) ends with a line break .*which no S3 secret key holds: remove it\.$/],
  ])('refuses %s as the setting to fix, never showing the secret, where S3 was asked with it', async (_what, key, setting, message) => {
    let asked = 0;
    const server = http.createServer((request, response) => {
      asked += 1;
      request.resume();
      response.writeHead(403, { 'Content-Type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const error = await (async () => createS3Store({ endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, ...key }).get('bucket-a', 'k.json'))().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FltsError);
      expect(error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting } });
      expect((error as FltsError).message).toMatch(message);
      expect(JSON.stringify((error as FltsError).toJSON())).not.toContain(SECRET);
      expect(asked).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends a static session token (store.s3.sessionToken) with every request, never in a message, and never renews it', async () => {
    const TOKEN = 'static-session-token-never-shown';
    const sent: unknown[] = [];
    const server = http.createServer((request, response) => {
      sent.push(request.headers['x-amz-security-token']);
      request.resume();
      response.writeHead(400, { 'Content-Type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const store = createS3Store({ endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, accessKey: 'ASIASTATIC', secretKey: SECRET, sessionToken: TOKEN });
      const error = (await store.get('bucket-a', 'k.json').catch((e: unknown) => e)) as FltsError;
      expect(error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', details: { s3Code: 'ExpiredToken', accessKey: 'ASIASTATIC' } });
      expect(error.message).toMatch(/its session token has expired \(ExpiredToken\); a static session token \(store.s3.sessionToken: AWS_SESSION_TOKEN\) is not renewed/);
      expect(sent).toEqual([TOKEN]);
      expect(JSON.stringify(error.toJSON())).not.toMatch(/never-shown/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    const broken = (() => {
      try {
        return createS3Store({ endpoint: 'minio:9000', accessKey: 'ASIASTATIC', secretKey: SECRET, sessionToken: `${TOKEN}\nsecond-line-never-shown` });
      } catch (e) {
        return e as FltsError;
      }
    })();
    expect(broken).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'store.s3.sessionToken' } });
    expect(JSON.stringify((broken as FltsError).toJSON())).not.toMatch(/never-shown/);
  });

  it('passes on what the credentials provider threw, and names the role credentials where S3 refuses them', () => {
    const refused = new FltsError('FLTS_STORE_AUTH_FAILED', 'The AWS credentials source ... answered HTTP 403');
    const wrapped = new Error(`Unable to get credentials: ${refused}`, { cause: refused });
    expect(translateS3Error(wrapped, { endpoint: 'http://x:1', bucket: 'b' })).toBe(refused);
    const where = { endpoint: 'https://s3.eu-west-1.amazonaws.com:443', bucket: 'b', accessKey: 'ASIAEXAMPLE', credentialSource: 'container credentials endpoint http://169.254.170.23/v1/credentials' };
    const expired = translateS3Error(Object.assign(new Error('Forbidden'), { name: 'S3Error', code: 'ExpiredToken' }), where) as FltsError;
    expect(expired).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', details: { accessKey: 'ASIAEXAMPLE', credentialSource: where.credentialSource }, hint: expect.stringContaining("this host's clock is off") });
    expect(expired.message).toContain("access key id 'ASIAEXAMPLE' (the role credentials from the container credentials endpoint http://169.254.170.23/v1/credentials, FLTS_S3_CREDENTIALS=aws)");
    const denied = translateS3Error(Object.assign(new Error('Forbidden'), { name: 'S3Error', code: 'AccessDenied' }), where) as FltsError;
    expect(denied).toMatchObject({ code: 'FLTS_STORE_ACCESS_DENIED', hint: expect.stringContaining('s3:PutObject') });
  });

  it('maps a refused certificate to FLTS_STORE_TLS_FAILED, which no wait fixes', () => {
    const where = { endpoint: 'https://minio:9000', bucket: 'b' };
    const error = translateS3Error(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), where) as FltsError;
    expect(error).toMatchObject({ code: 'FLTS_STORE_TLS_FAILED', retriable: false, kind: 'usage' });
    expect(error.message).toContain('TLS with S3 endpoint https://minio:9000 failed (SELF_SIGNED_CERT_IN_CHAIN');
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

  it.each([
    ['InvalidAccessKeyId', 'FLTS_STORE_AUTH_FAILED', /refused the credentials of access key id 'flts-app' \(store.s3.accessKey\) while accessing object 'k' in bucket 'b': the server knows no such access key id \(InvalidAccessKeyId\)/],
    ['SignatureDoesNotMatch', 'FLTS_STORE_AUTH_FAILED', /the secret key \(store.s3.secretKey\) is not the one of this access key id \(SignatureDoesNotMatch\)/],
    ['ExpiredToken', 'FLTS_STORE_AUTH_FAILED', /session token has expired/],
    ['RequestTimeTooSkewed', 'FLTS_STORE_AUTH_FAILED', /clock differs from the server's .* \(RequestTimeTooSkewed\)/],
    ['AuthorizationHeaderMalformed', 'FLTS_STORE_AUTH_FAILED', /signed for another region .*store.s3.region.* \(AuthorizationHeaderMalformed\)/],
    ['AccessDenied', 'FLTS_STORE_ACCESS_DENIED', /denied access key id 'flts-app' \(store.s3.accessKey\) access to object 'k' in bucket 'b' \(AccessDenied\): a bucket policy/],
    ['AllAccessDisabled', 'FLTS_STORE_ACCESS_DENIED', /\(AllAccessDisabled\)/],
  ])('maps the S3 refusal %s to %s: a usage error naming the endpoint and the access key id, which no wait fixes', (s3Code, code, message) => {
    const error = translateS3Error(Object.assign(new Error('Forbidden'), { name: 'S3Error', code: s3Code }), { endpoint: 'http://x:1', bucket: 'b', key: 'k', accessKey: 'flts-app' }) as FltsError;
    expect(error).toMatchObject({ code, kind: 'usage', retriable: false, details: { endpoint: 'http://x:1', bucket: 'b', key: 'k', accessKey: 'flts-app', s3Code } });
    expect(error.message).toMatch(/^S3 endpoint http:\/\/x:1 /);
    expect(error.message).toMatch(message);
  });

  it.each([
    ['a wrong secret', 'SignatureDoesNotMatch', 'FLTS_STORE_AUTH_FAILED', 403],
    ['an unknown access key id', 'InvalidAccessKeyId', 'FLTS_STORE_AUTH_FAILED', 403],
    ['a policy', 'AccessDenied', 'FLTS_STORE_ACCESS_DENIED', 403],
    ['an expired session token', 'ExpiredToken', 'FLTS_STORE_AUTH_FAILED', 400],
  ])('tells %s from the body-less answer a HEAD gets, by asking the same as a GET', async (_cause, s3Code, code, status) => {
    const methods: string[] = [];
    const server = http.createServer((request, response) => {
      methods.push(request.method ?? '');
      request.resume();
      if (request.method === 'HEAD') return void response.writeHead(status).end();
      response.writeHead(status, { 'Content-Type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${s3Code}</Code><Message>refused</Message></Error>`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const store = createS3Store({ endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, accessKey: 'flts-app', secretKey: SECRET });
      for (const action of [() => store.ensureBucket('bucket-a'), () => store.stat('bucket-a', 'k.json'), () => store.getVersioned('bucket-a', 'k.json')]) {
        methods.length = 0;
        const error = (await action().catch((e: unknown) => e)) as FltsError;
        expect(error).toMatchObject({ code, retriable: false, details: { s3Code, accessKey: 'flts-app' } });
        expect(JSON.stringify(error.toJSON())).not.toContain(SECRET);
        expect(methods).toEqual(['HEAD', 'GET']);
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('writes an IPv6 endpoint in brackets, as a URL, in its location (the endpoint its messages name)', () => {
    const store = createS3Store({ endpoint: '[::1]:19000', accessKey: 'a', secretKey: SECRET });
    expect(store.location).toBe('http://[::1]:19000');
    expect(new URL(store.location).port).toBe('19000');
    expect(createS3Store({ endpoint: 'https://[fd00:ec2::5]', accessKey: 'a', secretKey: SECRET }).location).toBe('https://[fd00:ec2::5]:443');
    expect(createS3Store({ endpoint: 'minio:9000', accessKey: 'a', secretKey: SECRET }).location).toBe('http://minio:9000');
  });

  it('refuses a key with a lone surrogate as an invalid key before any request: no URL can carry it', async () => {
    const store = createS3Store({ endpoint: `127.0.0.1:${await freePort()}`, accessKey: 'a', secretKey: 'b' });
    const key = 'day\ud800.csv';
    for (const attempt of [() => store.get('bucket-a', key), () => store.getStream('bucket-a', key), () => store.stat('bucket-a', key), () => store.put('bucket-a', key, 'x'), () => store.delete('bucket-a', key), () => store.listFolders('bucket-a', 'a\udc00/'), () => store.list('bucket-a', 'a\udc00/'), () => store.list('bucket-a', 'day\ud800')]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'FLTS_STORE_KEY_INVALID', message: expect.stringContaining('lone surrogate') });
    }
  });

  it('reports an unreachable server as retriable FLTS_STORE_UNAVAILABLE', async () => {
    const store = createS3Store({ endpoint: `127.0.0.1:${await freePort()}`, accessKey: 'a', secretKey: 'b' });
    for (const attempt of [() => store.get('bucket-a', 'k.json'), () => store.put('bucket-a', 'k.json', 'x'), () => store.list('bucket-a')]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FltsError);
      expect((error as FltsError).code).toBe('FLTS_STORE_UNAVAILABLE');
      expect((error as FltsError).retriable).toBe(true);
    }
  });

  it('gives up on a server that accepts connections and never answers after store.s3.idleTimeoutMs', async () => {
    const endpoint = await misbehavingServer((socket) => socket.resume());
    for (const action of [(store: ReturnType<typeof createS3Store>) => store.get('bucket-a', 'k.json'), (store: ReturnType<typeof createS3Store>) => store.put('bucket-a', 'k.json', 'x'), (store: ReturnType<typeof createS3Store>) => store.list('bucket-a')]) {
      const { error, ms } = await failure(endpoint, action);
      expectUnavailable(error, endpoint);
      expect(error.message).toContain('store.s3.idleTimeoutMs');
      expect(ms).toBeLessThan(5_000);
    }
  });

  it('gives up on an answer that drips in after store.s3.requestTimeoutMs', async () => {
    const endpoint = await misbehavingServer((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
        const drip = setInterval(() => socket.write(' '), 20);
        socket.on('close', () => clearInterval(drip));
      }),
    );
    const { error, ms } = await failure(endpoint, (store) => store.get('bucket-a', 'k.json'));
    expectUnavailable(error, endpoint);
    expect(error.message).toContain('store.s3.requestTimeoutMs');
    expect(ms).toBeLessThan(5_000);
  });

  it('stops reading a body that stops coming after store.s3.idleTimeoutMs', async () => {
    const endpoint = await misbehavingServer((socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"half":')));
    const { error } = await failure(endpoint, (store) => store.get('bucket-a', 'k.json'));
    expectUnavailable(error, endpoint);
    expect(error.message).toContain('store.s3.idleTimeoutMs');
  });

  it.each([
    ['bytes that are not HTTP', '\u0000garbage, not http\r\n\r\n', /did not answer in HTTP/],
    ['HTTP 500 with a web page', 'HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<h1>oops</h1>', /answered HTTP 500/],
    ['HTTP 400 with a web page', 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<h1>what</h1>', /not an S3 reply/],
  ])('reports a server answering %s as FLTS_STORE_UNAVAILABLE naming the endpoint', async (_name, answer, message) => {
    const endpoint = await misbehavingServer((socket) => socket.on('data', () => socket.write(answer)));
    const { error } = await failure(endpoint, (store) => store.get('bucket-a', 'k.json'));
    expectUnavailable(error, endpoint);
    expect(error.message).toMatch(message);
  });

  it('reports a server answering every path 200 with its web page (MinIO\'s console port) as not S3, for reads, HEADs, listings, writes and bucket checks alike', async () => {
    const page = '<!doctype html><html><head><title>MinIO Console</title></head><body><div id="root"></div></body></html>';
    const server = http.createServer((request, response) => void request.resume().on('end', () => response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(Buffer.byteLength(page)) }).end(request.method === 'HEAD' ? undefined : page)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const actions: Array<(store: ReturnType<typeof createS3Store>) => Promise<unknown>> = [
        (store) => store.get('bucket-a', 'processed_data.meta.json'),
        (store) => store.stat('bucket-a', 'k.json'),
        (store) => store.exists('bucket-a', 'k.json'),
        (store) => store.list('bucket-a', 'leases/'),
        (store) => store.put('bucket-a', 'k.json', '{}'),
        (store) => store.ensureBucket('bucket-a'),
      ];
      for (const action of actions) {
        const { error } = await failure(endpoint, action);
        expectUnavailable(error, endpoint);
        expect(error.message).toMatch(/answered with a web page \(HTTP 200, text\/html\), not an S3 reply, while accessing .*bucket 'bucket-a'; check that it is the S3 API's address/);
        expect(error.details).toMatchObject({ setting: 'store.s3.endpoint', status: 200 });
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it.each([
    ['text that is not XML', 'text/plain', '<<<not xml'],
    ['a proxy\'s JSON', 'application/json', '{"status":"ok","service":"gateway"}'],
  ])('reports a server answering 200 with %s as not S3, naming store.s3.endpoint, for listings, writes, bulk deletes and bucket creation alike', async (_name, type, body) => {
    const server = http.createServer((request, response) => void request.resume().on('end', () => {
      // HEAD of a bucket unknown: the bucket check goes on to create it.
      if (request.method === 'HEAD') return void response.writeHead(404).end();
      response.writeHead(200, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) }).end(body);
    }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const actions: Array<(store: ReturnType<typeof createS3Store>) => Promise<unknown>> = [
        (store) => store.list('bucket-a', 'leases/'),
        (store) => store.listFolders('bucket-a', 'runs/'),
        (store) => store.deleteMany('bucket-a', ['k.json']),
        (store) => store.put('bucket-a', 'k.json', '{}'),
        (store) => store.putIfAbsent('bucket-a', 'k.json', '{}'),
        (store) => store.ensureBucket('bucket-a'),
      ];
      for (const action of actions) {
        const { error } = await failure(endpoint, action);
        expectUnavailable(error, endpoint);
        expect(error.message).toMatch(/not S3's|not an S3 reply/);
        expect(error.message).toContain("bucket 'bucket-a'");
        expect(error.details).toMatchObject({ setting: 'store.s3.endpoint' });
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reports an https endpoint whose port answers plain HTTP as FLTS_STORE_TLS_FAILED saying so, never FLTS_INTERNAL', async () => {
    const server = http.createServer((request, response) => void request.resume().on('end', () => response.end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const store = createS3Store({ endpoint: `https://127.0.0.1:${port}`, accessKey: 'a', secretKey: SECRET });
      for (const action of [() => store.get('bucket-a', 'k.json'), () => store.stat('bucket-a', 'k.json'), () => store.put('bucket-a', 'k.json', 'x')]) {
        const error = (await action().catch((e: unknown) => e)) as FltsError;
        expect(error).toBeInstanceOf(FltsError);
        expect(error).toMatchObject({ code: 'FLTS_STORE_TLS_FAILED', retriable: false, details: { endpoint: `https://127.0.0.1:${port}`, bucket: 'bucket-a', s3Code: 'EPROTO' } });
        expect(error.message).toMatch(/^TLS with S3 endpoint https:\/\/127\.0\.0\.1:\d+ failed \(EPROTO: wrong version number\) while accessing .*: the server there does not speak TLS: an endpoint without TLS takes http:\/\/ \(or MINIO_SECURE=false\)\.$/);
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('a plain http:// endpoint whose port speaks TLS', () => {
    const { cert, key } = selfSignedCertificate();
    /** Node's TLS server on a socket: it closes a connection whose first bytes are no TLS handshake, without a word. */
    const tlsServer = (): tls.Server => tls.createServer({ cert, key }).on('tlsClientError', () => {});
    const ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
    let clientHellos = 0;
    const servers: Array<[string, () => Promise<string>, RegExp, number]> = [
      ['resets the request (Node)', () => {
        const server = tlsServer();
        return misbehavingServer((socket) => void server.emit('connection', socket));
      }, /closed the connection of a plain HTTP request without an answer \(ECONNRESET\)/, 0],
      ['answers 400 "Client sent an HTTP request to an HTTPS server" (Go, MinIO)', () => {
        const server = tlsServer();
        return misbehavingServer((socket) =>
          socket.once('data', (first: Buffer) => {
            if (first[0] !== 0x16) return void socket.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
            clientHellos += 1;
            socket.pause().unshift(first);
            server.emit('connection', socket);
          }),
        );
      }, /answered a plain HTTP request with an error page that is not S3's/, 1],
      ['answers with a TLS alert record', () => misbehavingServer((socket) => socket.once('data', () => socket.end(ALERT))), /answered a plain HTTP request with a TLS alert/, 0],
    ];

    it.each(servers)('is FLTS_STORE_TLS_FAILED, never retried, saying to use https:// when it %s', async (_name, start, how, handshakes) => {
      clientHellos = 0;
      const endpoint = await start();
      const store = createS3Store({ endpoint: `http://${endpoint}`, accessKey: 'a', secretKey: SECRET });
      const actions = [() => store.get('bucket-a', 'k.json'), () => store.stat('bucket-a', 'k.json'), () => store.list('bucket-a'), () => store.put('bucket-a', 'k.json', 'x'), () => store.putIfAbsent('bucket-a', 'lease.json', '{}')];
      for (const action of actions) {
        const error = (await action().catch((e: unknown) => e)) as FltsError;
        expect(error).toBeInstanceOf(FltsError);
        expect(error).toMatchObject({ code: 'FLTS_STORE_TLS_FAILED', retriable: false, details: { endpoint: `http://${endpoint}`, bucket: 'bucket-a', setting: 'store.s3.endpoint' } });
        expect(error.message).toMatch(how);
        expect(error.message).toMatch(new RegExp(`^S3 endpoint http://${endpoint} speaks TLS: .* while accessing .*; give it as https://${endpoint} \\(or set MINIO_SECURE=true\\)\\.$`));
        expect(error.hint).toContain('https://');
        expect(JSON.stringify(error.toJSON())).not.toContain(SECRET);
      }
      // The handshake that told is sent once (counted where the server tells it apart): its answer holds for the store's life.
      expect(clientHellos).toBe(handshakes);
    });

    it('is the same endpoint answered over https:// with its CA', async () => {
      const server = https.createServer({ cert, key }, (request, response) => void request.resume().on('end', () => response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '8', ETag: '"x"' }).end('{"a": 1}')));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const ca = path.join(mkdtempSync(path.join(tmpdir(), 'flts-s3-ca-')), 'ca.pem');
      writeFileSync(ca, cert);
      try {
        const port = (server.address() as net.AddressInfo).port;
        const plain = await createS3Store({ endpoint: `http://127.0.0.1:${port}`, accessKey: 'a', secretKey: SECRET }).get('bucket-a', 'k.json').catch((e: unknown) => e);
        expect(plain).toMatchObject({ code: 'FLTS_STORE_TLS_FAILED', message: expect.stringContaining(`give it as https://127.0.0.1:${port}`) });
        const secure = createS3Store({ endpoint: `https://127.0.0.1:${port}`, accessKey: 'a', secretKey: SECRET, caFile: ca });
        expect((await secure.get('bucket-a', 'k.json')).toString()).toBe('{"a": 1}');
        secure.close?.();
      } finally {
        rmSync(path.dirname(ca), { recursive: true, force: true });
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('leaves a plain server that resets every request, the handshake too, retriable FLTS_STORE_UNAVAILABLE, and asks the handshake again next time', async () => {
      let connections = 0;
      const endpoint = await misbehavingServer((socket) => {
        connections += 1;
        socket.once('data', () => socket.destroy());
      });
      const store = createS3Store({ endpoint, accessKey: 'a', secretKey: SECRET });
      for (const expected of [3, 6]) {
        expect(await store.get('bucket-a', 'k.json').catch((e: unknown) => e)).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', retriable: true, details: { s3Code: 'ECONNRESET' } });
        // The request, once more on a new connection, and one handshake that met a reset too: nothing told.
        expect(connections).toBe(expected);
      }
    });

    it('drops its handshake when the store is closed: a stopping process is not held for the probe\'s time limit', async () => {
      let probed!: (socket: net.Socket) => void;
      const probe = new Promise<net.Socket>((resolve) => (probed = resolve));
      // Resets a plain request; a handshake it holds unanswered, as a server gone silent does.
      const endpoint = await misbehavingServer((socket) => socket.once('data', (first: Buffer) => (first[0] === 0x16 ? probed(socket) : socket.destroy())));
      const store = createS3Store({ endpoint, accessKey: 'a', secretKey: SECRET, idleTimeoutMs: 60_000, requestTimeoutMs: 120_000 });
      const pending = store.get('bucket-a', 'k.json').catch((e: unknown) => e);
      const held = await probe;
      const probeClosed = new Promise((resolve) => held.once('close', resolve));
      store.close?.();
      let timer: NodeJS.Timeout | undefined;
      const stillWaiting = new Promise((resolve) => (timer = setTimeout(() => resolve('still waiting after 20 s'), 20_000)));
      try {
        expect(await Promise.race([pending, stillWaiting])).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', details: { s3Code: 'ECONNRESET' } });
        await probeClosed;
      } finally {
        clearTimeout(timer);
      }
    });

    it('asks a transient reset again on a new connection and sends no handshake when that is answered', async () => {
      let connections = 0;
      let handshakes = 0;
      const endpoint = await misbehavingServer((socket) => {
        connections += 1;
        socket.once('data', (first: Buffer) => {
          if (first[0] === 0x16) return void (handshakes += 1);
          if (connections === 1) return void socket.destroy();
          socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{"a": 1}');
        });
      });
      const store = createS3Store({ endpoint, accessKey: 'a', secretKey: SECRET });
      expect((await store.get('bucket-a', 'k.json')).toString()).toBe('{"a": 1}');
      expect(connections).toBe(2);
      expect(handshakes).toBe(0);
      store.close?.();
    });
  });

  it('reports a bucket in another region (S3 redirects) as a refusal naming the bucket\'s region and the one signed for, GET and HEAD alike', async () => {
    const seen: string[] = [];
    const server = http.createServer((request, response) => {
      seen.push(request.method ?? '');
      request.resume();
      // AWS S3: a HEAD gets the status and the region header only; anything else an XML body naming the endpoint.
      response.writeHead(301, { 'Content-Type': 'application/xml', 'x-amz-bucket-region': 'eu-west-1' });
      if (request.method === 'HEAD') return void response.end();
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Endpoint>bucket-a.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>bucket-a</Bucket></Error>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const store = createS3Store({ endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, accessKey: 'a', secretKey: SECRET, region: 'us-east-1' });
      const get = (await store.get('bucket-a', 'k.json').catch((e: unknown) => e)) as FltsError;
      expect(get).toBeInstanceOf(FltsError);
      expect(get).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', retriable: false, details: { bucket: 'bucket-a', key: 'k.json', s3Code: 'PermanentRedirect', region: 'us-east-1', bucketRegion: 'eu-west-1', setting: 'store.s3.region' } });
      expect(get.message).toContain("redirected the request for object 'k.json' in bucket 'bucket-a' (PermanentRedirect): the bucket is in region eu-west-1 but requests are signed for store.s3.region 'us-east-1'; set AWS_DEFAULT_REGION (AWS_REGION, MINIO_REGION) to eu-west-1 and store.s3.endpoint to bucket-a.s3.eu-west-1.amazonaws.com.");
      const head = (await store.ensureBucket('bucket-a').catch((e: unknown) => e)) as FltsError;
      expect(head).toBeInstanceOf(FltsError);
      expect(head).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', details: { s3Code: 'MovedPermanently', bucketRegion: 'eu-west-1' } });
      expect(head.message).toContain("bucket 'bucket-a' (MovedPermanently): the bucket is in region eu-west-1");
      expect(seen).toContain('HEAD');
      expect(JSON.stringify([get.toJSON(), head.toJSON()])).not.toContain(SECRET);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.each([
    ['an object a lifecycle rule archived', 403, 'InvalidObjectState', 'The operation is not valid for the object storage class'],
    ['a feature the server lacks', 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented'],
  ])('reports %s (S3 code %s) as a coded refusal naming the code and the object, for reads, HEADs and writes alike', async (_what, status, s3Code, s3Message) => {
    const server = http.createServer((request, response) => {
      request.resume();
      response.writeHead(status, { 'Content-Type': 'application/xml' });
      if (request.method === 'HEAD') return void response.end();
      response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${s3Code}</Code><Message>${s3Message}</Message></Error>`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const store = createS3Store({ endpoint, accessKey: 'flts-app', secretKey: SECRET });
      for (const action of [() => store.get('bucket-a', 'k.json'), () => store.stat('bucket-a', 'k.json'), () => store.getVersioned('bucket-a', 'k.json'), () => store.put('bucket-a', 'k.json', 'x')]) {
        const error = (await action().catch((e: unknown) => e)) as FltsError;
        expect(error).toBeInstanceOf(FltsError);
        expect(error).toMatchObject({ code: 'FLTS_STORE_ACCESS_DENIED', retriable: false, details: { endpoint: `http://${endpoint}`, bucket: 'bucket-a', key: 'k.json', s3Code } });
        expect(error.message).toBe(`S3 endpoint http://${endpoint} refused the request for object 'k.json' in bucket 'bucket-a' (${s3Code}: ${s3Message}).`);
        expect(JSON.stringify(error.toJSON())).not.toContain(SECRET);
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a server out of room (XMinioStorageFull) as a retriable unavailability naming the code and the object, for reads, HEADs and writes alike', async () => {
    const server = http.createServer((request, response) => {
      request.resume();
      response.writeHead(507, { 'Content-Type': 'application/xml' });
      if (request.method === 'HEAD') return void response.end();
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>XMinioStorageFull</Code><Message>Storage backend has reached its minimum free drive threshold.</Message></Error>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const store = createS3Store({ endpoint, accessKey: 'flts-app', secretKey: SECRET });
      for (const action of [() => store.get('bucket-a', 'k.json'), () => store.stat('bucket-a', 'k.json'), () => store.put('bucket-a', 'k.json', 'x')]) {
        const error = (await action().catch((e: unknown) => e)) as FltsError;
        expect(error).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', retriable: true, details: { bucket: 'bucket-a', key: 'k.json', s3Code: 'XMinioStorageFull' } });
        expect(error.message).toBe(`S3 endpoint http://${endpoint} has no room for object 'k.json' in bucket 'bucket-a' (XMinioStorageFull: Storage backend has reached its minimum free drive threshold.).`);
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('asks again once, on a new connection, a request whose connection broke before its answer, but never a conditional write', async () => {
    const requests: string[] = [];
    let drop = 0;
    const server = http.createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      // A keep-alive socket the server (or a load balancer) closes as the request goes out.
      if (drop > 0) {
        drop -= 1;
        return void request.socket.destroy();
      }
      request.resume().on('end', () => {
        const headers = { ETag: '"0123456789abcdef0123456789abcdef"', 'Last-Modified': 'Mon, 07 Dec 2026 12:00:00 GMT' };
        if (request.url?.includes('list-type=2')) {
          return void response.writeHead(200, { 'Content-Type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k.json</Key><Size>8</Size><LastModified>2026-12-07T12:00:00.000Z</LastModified><ETag>"x"</ETag></Contents></ListBucketResult>');
        }
        if (request.method !== 'GET' && request.method !== 'HEAD') return void response.writeHead(request.method === 'DELETE' ? 204 : 200, headers).end();
        response.writeHead(200, { ...headers, 'Content-Type': 'application/json', 'Content-Length': '8' }).end(request.method === 'GET' ? '{"a": 1}' : undefined);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const store = createS3Store({ endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, accessKey: 'a', secretKey: SECRET });
      const asked = async <T>(action: () => Promise<T>): Promise<{ result: T | FltsError; requests: number }> => {
        requests.length = 0;
        drop = 1;
        const result = await action().catch((e: unknown) => e as FltsError);
        return { result, requests: requests.length };
      };
      expect(await asked(async () => (await store.get('bucket-a', 'k.json')).toString())).toEqual({ result: '{"a": 1}', requests: 2 });
      expect(await asked(async () => (await store.stat('bucket-a', 'k.json'))?.size)).toEqual({ result: 8, requests: 2 });
      expect(await asked(async () => (await store.list('bucket-a')).map((info) => info.key))).toEqual({ result: ['k.json'], requests: 2 });
      expect(await asked(() => store.put('bucket-a', 'k.json', 'x'))).toEqual({ result: undefined, requests: 2 });
      expect(await asked(() => store.delete('bucket-a', 'k.json'))).toEqual({ result: undefined, requests: 2 });
      // Its first attempt may have been applied: asked again, it would be refused as if another writer had come first.
      const conditional = await asked(() => store.putIfAbsent('bucket-a', 'lease.json', '{}'));
      expect(conditional.requests).toBe(1);
      expect(conditional.result).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', details: { s3Code: 'ECONNRESET', key: 'lease.json' } });
      // Broken twice: asked once more only.
      requests.length = 0;
      drop = 2;
      expect(await store.get('bucket-a', 'k.json').catch((e: unknown) => e)).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', retriable: true });
      expect(requests).toHaveLength(2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('asks nothing again once closed: a request cut by close() fails at once, on its one connection', async () => {
    let connections = 0;
    let received!: () => void;
    const asked = new Promise<void>((resolve) => (received = resolve));
    const endpoint = await misbehavingServer((socket) => {
      connections += 1;
      socket.once('data', () => received());
    });
    const store = createS3Store({ endpoint, accessKey: 'a', secretKey: SECRET });
    const pending = store.get('bucket-a', 'k.json').catch((e: unknown) => e);
    await asked;
    store.close?.();
    expect(await pending).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', details: { s3Code: 'ECONNRESET' } });
    expect(connections).toBe(1);
  });

  it('names the region a signature refusal says the server expects', () => {
    const refusal = Object.assign(new Error('The authorization header is malformed'), { name: 'S3Error', code: 'AuthorizationHeaderMalformed', region: 'eu-central-1' });
    const error = translateS3Error(refusal, { endpoint: 'https://s3.amazonaws.com:443', bucket: 'b', region: 'us-east-1', accessKey: 'AKIAEXAMPLE' }) as FltsError;
    expect(error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', details: { s3Code: 'AuthorizationHeaderMalformed' } });
    expect(error.message).toContain('it expects region eu-central-1, the request was signed for us-east-1 (AuthorizationHeaderMalformed)');
  });

  it('asks a busy server (HTTP 503) again once, saying nothing on the console', async () => {
    let answered = 0;
    const endpoint = await misbehavingServer((socket) =>
      socket.on('data', () => {
        answered += 1;
        socket.write(
          answered === 1
            ? 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'
            : 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{"a": 1}',
        );
      }),
    );
    const warn = vi.spyOn(console, 'warn');
    try {
      const store = createS3Store({ endpoint, accessKey: 'a', secretKey: SECRET });
      expect((await store.get('bucket-a', 'k.json')).toString()).toBe('{"a": 1}');
      expect(answered).toBe(2);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});

/** A fake S3 on 127.0.0.1 answering `handle(method, url, body)`, closed after the test. */
async function fakeS3(handle: (method: string, url: URL, body: string) => { status?: number; xml: string }): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const answer = handle(request.method ?? '', new URL(request.url ?? '/', 'http://s3'), body);
      response.writeHead(answer.status ?? 200, { 'Content-Type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?>${answer.xml}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('core > storage > s3-store bulk deletes and bounded listings', () => {
  it('deletes 2,500 keys in three DeleteObjects requests of at most 1000 keys, and reports each refused key under the store\'s codes', async () => {
    const asked: string[][] = [];
    const refusals: Record<string, string> = { 'logs/denied.jsonl': 'AccessDenied', 'logs/busy.jsonl': 'InternalError', 'logs/locked.jsonl': 'InvalidRequest', 'logs/gone.jsonl': 'NoSuchKey', '0042': 'AccessDenied' };
    const s3 = await fakeS3((method, url, body) => {
      expect([method, url.searchParams.has('delete')]).toEqual(['POST', true]);
      const keys = [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) => match[1]);
      asked.push(keys);
      const errors = keys.filter((key) => key in refusals).map((key) => `<Error><Key>${key}</Key><Code>${refusals[key]}</Code><Message>no</Message></Error>`);
      return { xml: `<DeleteResult>${errors.join('')}</DeleteResult>` };
    });
    try {
      const store = createS3Store({ endpoint: s3.endpoint, accessKey: 'flts-app', secretKey: SECRET });
      const keys = [...Array.from({ length: 2495 }, (_, i) => `logs/${i}.jsonl`), ...Object.keys(refusals)];
      const result = await store.deleteMany('bucket-a', keys);
      expect(asked.map((batch) => batch.length).sort()).toEqual([1000, 1000, 500]);
      expect(asked.flat().sort()).toEqual([...keys].sort());
      expect(result.deleted).toEqual(keys.filter((key) => !['logs/denied.jsonl', 'logs/busy.jsonl', 'logs/locked.jsonl', '0042'].includes(key)));
      expect(result.failed.map(({ key, error }) => [key, error.code, error.details.s3Code])).toEqual([
        ['logs/denied.jsonl', 'FLTS_STORE_ACCESS_DENIED', 'AccessDenied'],
        ['logs/busy.jsonl', 'FLTS_STORE_UNAVAILABLE', 'InternalError'],
        ['logs/locked.jsonl', 'FLTS_STORE_ACCESS_DENIED', 'InvalidRequest'],
        ['0042', 'FLTS_STORE_ACCESS_DENIED', 'AccessDenied'],
      ]);
      expect(result.failed[2].error.message).toBe("S3 endpoint http://" + s3.endpoint + " refused to delete object 'logs/locked.jsonl' in bucket 'bucket-a' (InvalidRequest: no).");
      expect(JSON.stringify(result.failed.map(({ error }) => error.toJSON()))).not.toContain(SECRET);
    } finally {
      await s3.close();
    }
  });

  it('lists with a limit one page after another, asking for no entry past the limit', async () => {
    const all = Array.from({ length: 2500 }, (_, i) => `day/${String(i).padStart(5, '0')}.jsonl`);
    const pages: Array<{ maxKeys: number; token: string }> = [];
    const s3 = await fakeS3((method, url) => {
      expect([method, url.searchParams.get('list-type')]).toEqual(['GET', '2']);
      const maxKeys = Number(url.searchParams.get('max-keys'));
      const token = url.searchParams.get('continuation-token') ?? '';
      pages.push({ maxKeys, token });
      const from = Number(token || 0);
      const page = all.slice(from, from + maxKeys);
      const truncated = from + page.length < all.length;
      const contents = page.map((key) => `<Contents><Key>${key}</Key><Size>3</Size><LastModified>2026-12-05T00:00:00.000Z</LastModified><ETag>"x"</ETag></Contents>`).join('');
      return { xml: `<ListBucketResult><IsTruncated>${truncated}</IsTruncated>${truncated ? `<NextContinuationToken>${from + page.length}</NextContinuationToken>` : ''}${contents}</ListBucketResult>` };
    });
    try {
      const store = createS3Store({ endpoint: s3.endpoint, accessKey: 'a', secretKey: SECRET });
      const bounded = await store.list('bucket-a', 'day/', { limit: 1500 });
      expect(bounded.map((info) => info.key)).toEqual(all.slice(0, 1500));
      expect(pages).toEqual([{ maxKeys: 1000, token: '' }, { maxKeys: 500, token: '1000' }]);
      pages.length = 0;
      expect(await store.list('bucket-a', 'day/')).toHaveLength(2500);
      expect(pages.map((page) => page.maxKeys)).toEqual([1000, 1000, 1000]);
    } finally {
      await s3.close();
    }
  });
});
