import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AwsCredentialSettings } from '../config/specs/distributed.js';
import { FltsError } from '../errors.js';
import { forgetSecrets, redactSecrets } from '../redact.js';
import { selectAwsCredentialSource } from './aws-credential-sources.js';

const NONE: AwsCredentialSettings = {
  webIdentityTokenFile: '', roleArn: '', roleSessionName: '', stsEndpoint: '', containerCredentialsRelativeUri: '', containerCredentialsFullUri: '',
  containerAuthorizationTokenFile: '', containerAuthorizationToken: '', imdsEndpoint: '', imdsDisabled: true,
};
const OPTIONS = { region: 'eu-west-1', timeoutMs: 2_000 };
const SECRET = 'wJalrXUtnFEMI-secret-never-shown';
const SESSION = 'session-token-never-shown';
const CREDENTIALS = { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: SECRET, Token: SESSION, Expiration: '2030-01-01T00:00:00Z' };

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A server on 127.0.0.1 answering each request with `answer` (undefined: never); every request is recorded. Closed after each test. */
const open: http.Server[] = [];
async function serve(answer: (seen: Seen) => { status: number; body: string } | undefined): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const request = { method: req.method, url: req.url, headers: req.headers, body };
      seen.push(request);
      const out = answer(request);
      if (out) res.writeHead(out.status).end(out.body);
    });
  });
  open.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections())));
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'flts-aws-sources-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function failure(promise: Promise<unknown>): Promise<FltsError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FltsError);
  const json = JSON.stringify((error as FltsError).toJSON());
  for (const secret of [SECRET, SESSION]) expect(json).not.toContain(secret);
  return error as FltsError;
}

describe('core > storage > aws-credential-sources', () => {
  describe('choosing the source', () => {
    it('takes the web identity token first, then a container endpoint (relative before full), then the instance metadata service', () => {
      const irsa = { ...NONE, webIdentityTokenFile: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token', roleArn: 'arn:aws:iam::1:role/r', containerCredentialsFullUri: 'http://169.254.170.23/v1/credentials' };
      expect(selectAwsCredentialSource(irsa, OPTIONS).name).toBe('STS AssumeRoleWithWebIdentity at https://sts.eu-west-1.amazonaws.com');
      expect(selectAwsCredentialSource(irsa, { ...OPTIONS, region: 'cn-north-1' }).name).toBe('STS AssumeRoleWithWebIdentity at https://sts.cn-north-1.amazonaws.com.cn');
      const ecs = { ...NONE, containerCredentialsRelativeUri: '/v2/credentials/1234', containerCredentialsFullUri: 'http://127.0.0.1:9/creds' };
      expect(selectAwsCredentialSource(ecs, OPTIONS).name).toBe('container credentials endpoint http://169.254.170.2/v2/credentials/1234');
      const podIdentity = { ...NONE, containerCredentialsFullUri: 'http://169.254.170.23/v1/credentials' };
      expect(selectAwsCredentialSource(podIdentity, OPTIONS).name).toBe('container credentials endpoint http://169.254.170.23/v1/credentials');
      expect(selectAwsCredentialSource({ ...NONE, containerCredentialsFullUri: 'http://[fd00:ec2::23]/v1/credentials' }, OPTIONS).name).toContain('[fd00:ec2::23]');
      expect(selectAwsCredentialSource({ ...NONE, containerCredentialsFullUri: 'https://creds.example.com/x' }, OPTIONS).name).toContain('https://creds.example.com/x');
      expect(selectAwsCredentialSource({ ...NONE, imdsDisabled: false }, OPTIONS).name).toBe('EC2 instance metadata service http://169.254.169.254');
    });

    it('refuses, before any request, settings that cannot work', () => {
      const refused = (aws: Partial<AwsCredentialSettings>, setting: string, message: RegExp) =>
        expect(() => selectAwsCredentialSource({ ...NONE, ...aws }, OPTIONS)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting }, message: expect.stringMatching(message) }));
      refused({}, 'store.s3.credentials', /^FLTS_S3_CREDENTIALS \(setting store.s3.credentials\) is aws but the environment names no source of AWS credentials/);
      refused({ webIdentityTokenFile: '/t' }, 'store.s3.aws.roleArn', /^AWS_ROLE_ARN \(setting store.s3.aws.roleArn\) is empty but AWS_WEB_IDENTITY_TOKEN_FILE is set/);
      refused({ webIdentityTokenFile: '/t', roleArn: 'arn', stsEndpoint: 'sts.local' }, 'store.s3.aws.stsEndpoint', /AWS_ENDPOINT_URL_STS .* is not valid: expected an http/);
      refused({ containerCredentialsFullUri: 'http://creds.example.com/x' }, 'store.s3.aws.containerCredentialsFullUri', /is not allowed: over http only a loopback address, 169.254.170.2 \(ECS\)/);
      refused({ containerCredentialsFullUri: 'http://10.0.0.5/x' }, 'store.s3.aws.containerCredentialsFullUri', /is not allowed/);
      refused({ containerCredentialsFullUri: 'http://127.0.0.1/x', containerAuthorizationToken: 'a\nb' }, 'store.s3.aws.containerAuthorizationToken', /holds a line break/);
      refused({ imdsDisabled: false, imdsEndpoint: 'not a url' }, 'store.s3.aws.imdsEndpoint', /AWS_EC2_METADATA_SERVICE_ENDPOINT/);
    });
  });

  describe('a container endpoint (ECS, EKS Pod Identity)', () => {
    it('sends the token of the file, which wins over the variable and is read at every fetch, and takes the ECS answer (no Code)', async () => {
      const endpoint = await serve(() => ({ status: 200, body: JSON.stringify(CREDENTIALS) }));
      const tokenFile = await fileWith('pod-identity-token', 'token-one\n');
      const source = selectAwsCredentialSource({ ...NONE, containerCredentialsFullUri: `${endpoint.url}/v1/credentials`, containerAuthorizationTokenFile: tokenFile, containerAuthorizationToken: 'from-variable' }, OPTIONS);
      expect(await source.fetch()).toEqual({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: SECRET, sessionToken: SESSION, expiration: new Date('2030-01-01T00:00:00Z') });
      await writeFile(tokenFile, 'token-two');
      await source.fetch();
      expect(endpoint.seen.map((s) => [s.method, s.url, s.headers.authorization])).toEqual([
        ['GET', '/v1/credentials', 'token-one'],
        ['GET', '/v1/credentials', 'token-two'],
      ]);
      const fromVariable = selectAwsCredentialSource({ ...NONE, containerCredentialsFullUri: endpoint.url, containerAuthorizationToken: 'from-variable' }, OPTIONS);
      await fromVariable.fetch();
      expect(endpoint.seen[2].headers.authorization).toBe('from-variable');
    });

    it('calls a refusal FLTS_STORE_AUTH_FAILED, an overload FLTS_STORE_UNAVAILABLE, and an answer without credentials UNAVAILABLE, quoting no secret', async () => {
      const answers = [
        { status: 403, body: JSON.stringify({ code: 'AccessDeniedException', message: 'no association for this service account' }) },
        { status: 500, body: 'oops' },
        { status: 200, body: `not json ${SECRET}` },
        { status: 200, body: JSON.stringify({ SecretAccessKey: SECRET, Token: SESSION }) },
        { status: 200, body: JSON.stringify({ ...CREDENTIALS, Expiration: 'soon' }) },
      ];
      const endpoint = await serve(() => answers.shift()!);
      const source = selectAwsCredentialSource({ ...NONE, containerCredentialsFullUri: endpoint.url }, OPTIONS);
      expect(await failure(source.fetch())).toMatchObject({
        code: 'FLTS_STORE_AUTH_FAILED', retriable: false, details: { status: 403, awsCode: 'AccessDeniedException' },
        message: `The AWS credentials source container credentials endpoint ${endpoint.url}/ answered HTTP 403 (AccessDeniedException: no association for this service account): it refuses the role's credentials to this process.`,
        hint: expect.stringContaining('pod identity association'),
      });
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', retriable: true, details: { status: 500 } });
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', message: expect.stringContaining('answered something that is not a JSON object') });
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', message: expect.stringContaining('JSON without AccessKeyId and SecretAccessKey') });
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', message: expect.stringContaining('an Expiration that is not a time (soon)') });
    });

    it('refuses a token file that is missing or empty as a setting to fix, without asking the endpoint', async () => {
      const endpoint = await serve(() => ({ status: 200, body: JSON.stringify(CREDENTIALS) }));
      const missing = selectAwsCredentialSource({ ...NONE, containerCredentialsFullUri: endpoint.url, containerAuthorizationTokenFile: path.join(dir, 'absent') }, OPTIONS);
      expect(await failure(missing.fetch())).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', retriable: false, details: { setting: 'store.s3.aws.containerAuthorizationTokenFile' }, message: expect.stringContaining('absent cannot be read (ENOENT)') });
      const empty = selectAwsCredentialSource({ ...NONE, containerCredentialsFullUri: endpoint.url, containerAuthorizationTokenFile: await fileWith('empty', '\n') }, OPTIONS);
      expect(await failure(empty.fetch())).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringContaining('is empty: expected a token') });
      expect(endpoint.seen).toEqual([]);
    });

    it('calls an endpoint that does not answer FLTS_STORE_UNAVAILABLE after the time limit', async () => {
      const endpoint = await serve(() => undefined);
      const source = selectAwsCredentialSource({ ...NONE, containerCredentialsFullUri: endpoint.url }, { ...OPTIONS, timeoutMs: 200 });
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', retriable: true, message: expect.stringContaining('is unreachable (no answer within 0.2 s (store.s3.idleTimeoutMs))') });
    });
  });

  describe('a web identity token (EKS IRSA)', () => {
    const xml = (inner: string) => `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>${inner}</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`;
    const ok = xml(`<Credentials><AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>${SECRET}</SecretAccessKey><SessionToken>${SESSION}</SessionToken><Expiration>2030-01-01T01:00:00Z</Expiration></Credentials>`);
    const stsError = (code: string, message: string) => `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`;

    it('posts AssumeRoleWithWebIdentity with the token in the body, never the URL, and reads the credentials', async () => {
      const sts = await serve(() => ({ status: 200, body: ok }));
      const tokenFile = await fileWith('irsa-token', 'eyJhbGciOi.jwt\n');
      const source = selectAwsCredentialSource({ ...NONE, webIdentityTokenFile: tokenFile, roleArn: 'arn:aws:iam::111122223333:role/flts', roleSessionName: 'flts-serve', stsEndpoint: sts.url }, OPTIONS);
      expect(await source.fetch()).toEqual({ accessKeyId: 'ASIASTS', secretAccessKey: SECRET, sessionToken: SESSION, expiration: new Date('2030-01-01T01:00:00Z') });
      const [request] = sts.seen;
      expect([request.method, request.url, request.headers['content-type']]).toEqual(['POST', '/', 'application/x-www-form-urlencoded']);
      expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: 'arn:aws:iam::111122223333:role/flts', RoleSessionName: 'flts-serve', WebIdentityToken: 'eyJhbGciOi.jwt' });
    });

    it('knows the token it read and the credentials it was handed as secrets from then on: every output masks them', async () => {
      const sts = await serve(() => ({ status: 200, body: ok }));
      const tokenFile = await fileWith('irsa-token-known', 'eyJhbGciOi.cnryJwtPart\n');
      const source = selectAwsCredentialSource({ ...NONE, webIdentityTokenFile: tokenFile, roleArn: 'arn:aws:iam::1:role/r', stsEndpoint: sts.url }, OPTIONS);
      try {
        await source.fetch();
        // The token is a setting's file's text, not a setting: no pattern knew it.
        expect(redactSecrets('STS refused eyJhbGciOi.cnryJwtPart')).toBe('STS refused ***');
      } finally {
        forgetSecrets();
      }
    });

    it('calls a refused token FLTS_STORE_AUTH_FAILED with STS\'s code and message, and throttling FLTS_STORE_UNAVAILABLE', async () => {
      const answers = [
        { status: 400, body: stsError('InvalidIdentityToken', 'No OpenIDConnect provider found in your account for https://oidc.eks.eu-west-1.amazonaws.com/id/X') },
        { status: 403, body: stsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity') },
        { status: 400, body: stsError('Throttling', 'Rate exceeded') },
      ];
      const sts = await serve(() => answers.shift()!);
      const source = selectAwsCredentialSource({ ...NONE, webIdentityTokenFile: await fileWith('t', 'jwt'), roleArn: 'arn:aws:iam::1:role/r', stsEndpoint: sts.url }, OPTIONS);
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', details: { status: 400, awsCode: 'InvalidIdentityToken' }, message: expect.stringContaining('(InvalidIdentityToken: No OpenIDConnect provider found') });
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', message: expect.stringContaining('answered HTTP 403 (AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity)') });
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', retriable: true, details: { awsCode: 'Throttling' } });
    });

    it('refuses a missing token file as a setting to fix', async () => {
      const source = selectAwsCredentialSource({ ...NONE, webIdentityTokenFile: path.join(dir, 'no-token'), roleArn: 'arn:aws:iam::1:role/r', stsEndpoint: 'http://127.0.0.1:9' }, OPTIONS);
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringMatching(/^AWS_WEB_IDENTITY_TOKEN_FILE \(setting store.s3.aws.webIdentityTokenFile\) = .*no-token cannot be read \(ENOENT\)/) });
    });
  });

  describe('a token file that is not a regular file', () => {
    it('refuses a named pipe at once instead of waiting for a writer', async () => {
      const pipe = path.join(dir, 'token-pipe');
      await promisify(execFile)('mkfifo', [pipe]);
      const source = selectAwsCredentialSource({ ...NONE, webIdentityTokenFile: pipe, roleArn: 'arn:aws:iam::1:role/r', stsEndpoint: 'http://127.0.0.1:9' }, OPTIONS);
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringContaining('token-pipe cannot be read (not a regular file') });
    });
  });

  describe('the EC2 instance metadata service (IMDSv2)', () => {
    it('takes a session token, the role name, then the role\'s credentials', async () => {
      const imds = await serve((seen) => {
        if (seen.method === 'PUT' && seen.url === '/latest/api/token') return { status: 200, body: 'imds-session' };
        if (seen.headers['x-aws-ec2-metadata-token'] !== 'imds-session') return { status: 401, body: '' };
        if (seen.url === '/latest/meta-data/iam/security-credentials/') return { status: 200, body: 'flts-node-role\n' };
        if (seen.url === '/latest/meta-data/iam/security-credentials/flts-node-role') return { status: 200, body: JSON.stringify({ Code: 'Success', Type: 'AWS-HMAC', ...CREDENTIALS }) };
        return { status: 404, body: '' };
      });
      const source = selectAwsCredentialSource({ ...NONE, imdsDisabled: false, imdsEndpoint: imds.url }, OPTIONS);
      expect(await source.fetch()).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', sessionToken: SESSION });
      expect(imds.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/iam/security-credentials/', 'GET /latest/meta-data/iam/security-credentials/flts-node-role']);
      expect(imds.seen[0].headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('300');
    });

    it('calls an instance without a role FLTS_STORE_AUTH_FAILED', async () => {
      const imds = await serve((seen) => (seen.method === 'PUT' ? { status: 200, body: 'imds-session' } : { status: 404, body: '' }));
      const source = selectAwsCredentialSource({ ...NONE, imdsDisabled: false, imdsEndpoint: imds.url }, OPTIONS);
      expect(await failure(source.fetch())).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', message: expect.stringContaining('names no IAM role: this instance has no instance profile') });
    });
  });
});
