import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../../src/core/config/settings.js';
import { FltsError } from '../../src/core/errors.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { createObjectStore, type ObjectStore } from '../../src/core/storage/index.js';
import { createS3Store } from '../../src/core/storage/s3-store.js';
import { runCli } from '../helpers/run-cli.js';
import { infraSkipReason, loadInfraEnv } from './infra-env.js';

const skipReason = infraSkipReason();
const infra = loadInfraEnv();
const AUTH_TOKEN = 'pod-identity-token-never-shown';
/** The static key settings point elsewhere: a request signed with them would be refused (SignatureDoesNotMatch). */
const WRONG_STATIC = { MINIO_ROOT_USER: 'not-the-key', MINIO_ROOT_PASSWORD: 'not-the-secret-never-shown' };

interface CredentialsServer {
  url: string;
  /** Requests answered so far: the number of times flts fetched credentials. */
  hits: () => number;
  /** Session tokens handed out, in order. */
  tokens: string[];
  close: () => Promise<void>;
}

/** Listens on 127.0.0.1; every request gets `answer`, whose result is the status and body. */
async function listen(answer: (req: http.IncomingMessage, body: string) => { status: number; body: string; type?: string }): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      hits += 1;
      const out = answer(req, body);
      res.writeHead(out.status, { 'content-type': out.type ?? 'application/json' }).end(out.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A container credentials endpoint like the EKS Pod Identity agent's: it checks the Authorization header against the
 * token and hands out S3Proxy's key as a role's temporary credentials, expiring `lifetimeMs` after the (test's) clock.
 */
async function containerEndpoint(lifetimeMs: number): Promise<CredentialsServer> {
  const tokens: string[] = [];
  const server = await listen((req) => {
    if (req.headers.authorization !== AUTH_TOKEN) return { status: 403, body: JSON.stringify({ code: 'AccessDeniedException', message: 'the token is not valid' }) };
    const token = `session-token-${randomUUID()}`;
    tokens.push(token);
    return { status: 200, body: JSON.stringify({ AccessKeyId: infra.s3.accessKey, SecretAccessKey: infra.s3.secretKey, Token: token, Expiration: new Date(Date.now() + lifetimeMs).toISOString(), RoleArn: 'arn:aws:iam::111122223333:role/flts' }) };
  });
  return { ...server, url: `${server.url}/v1/credentials`, tokens };
}

/** An S3 refusal of a request's session token: its HTTP status and S3 error. */
interface Refusal {
  status: number;
  code: string;
  message: string;
}
const EXPIRED_TOKEN: Refusal = { status: 400, code: 'ExpiredToken', message: 'The provided token has expired.' };
/** MinIO's answer to a session token it does not take (one it never issued, or one sent with a key that takes none). */
const INVALID_TOKEN_ID: Refusal = { status: 403, code: 'InvalidTokenId', message: 'The security token included in the request is invalid' };
/** AWS S3's answer to a session token sent with a long-term key, or one it cannot read. */
const INVALID_TOKEN: Refusal = { status: 400, code: 'InvalidToken', message: 'The provided token is malformed or otherwise invalid.' };
/** AWS S3's answer to a temporary key sent without its session token. */
const INVALID_ACCESS_KEY_ID: Refusal = { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
const STRAY_TOKEN = 'stray-session-token-never-shown';

/** A logger that keeps its warnings, for the assertions. */
function warningsLogger(): { logger: Logger; warnings: Array<{ fields: Record<string, unknown>; event?: string }> } {
  const warnings: Array<{ fields: Record<string, unknown>; event?: string }> = [];
  const logger: Logger = { ...silentLogger, warn: (fields, event) => void warnings.push({ fields: fields as Record<string, unknown>, event }), child: () => logger };
  return { logger, warnings };
}

interface SentRequest {
  method: string;
  url: string;
  token: string | undefined;
}

/**
 * A pass-through in front of S3Proxy that records the session token of every request (S3Proxy checks the signature
 * over it but does not validate it), so the test sees which credentials each request was signed with. A request
 * signed with a token that `refuses` names gets `refusal`, by default AWS S3's answer to a session it no longer accepts
 * (expired early, revoked, or a clock ahead of this host's): 400 ExpiredToken, without a body for a HEAD.
 */
async function tokenRecorder(): Promise<{ endpoint: string; sent: SentRequest[]; refuses: (token: string | undefined) => boolean; refusal: Refusal | ((token: string | undefined) => Refusal); close: () => Promise<void> }> {
  const [host, port] = infra.s3.endpoint.split(':');
  const recorder = { endpoint: '', sent: [] as SentRequest[], refuses: (_token: string | undefined): boolean => false, refusal: EXPIRED_TOKEN as Refusal | ((token: string | undefined) => Refusal), close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    const token = req.headers['x-amz-security-token'] as string | undefined;
    recorder.sent.push({ method: req.method ?? '', url: req.url ?? '', token });
    if (recorder.refuses(token)) {
      req.resume();
      const { status, code, message } = typeof recorder.refusal === 'function' ? recorder.refusal(token) : recorder.refusal;
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
      return void res.writeHead(status, { 'content-type': 'application/xml' }).end(req.method === 'HEAD' ? undefined : xml);
    }
    // Same method, path and headers (Host included): the signature covers them.
    const upstream = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  recorder.endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  recorder.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return recorder;
}

if (skipReason) {
  describe('integration > s3 store with AWS role credentials', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > s3 store with AWS role credentials', () => {
    let dir: string;
    let tokenFile: string;
    const direct = () => createS3Store(infra.s3);
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'flts-aws-credentials-'));
      tokenFile = path.join(dir, 'eks-pod-identity-token');
      await writeFile(tokenFile, `${AUTH_TOKEN}\n`);
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    /** Settings as a pod with EKS Pod Identity resolves them: the agent's URL and token file, no key of its own. */
    const podIdentityStore = async (url: string, extra: Record<string, string> = {}): Promise<ObjectStore> => {
      const env = { MINIO_ENDPOINT: infra.s3.endpoint, AWS_REGION: infra.s3.region, FLTS_STORE: 's3', FLTS_S3_CREDENTIALS: 'aws', AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile, ...WRONG_STATIC, ...extra };
      return createObjectStore(resolveSettings({ env }).settings);
    };

    it('reads and writes through the credentials of a container endpoint, and fetches new ones only as they near expiry', async () => {
      // Only Date is faked: the clock the credentials expire by (and S3 signs with) moves when the test says so.
      vi.useFakeTimers({ toFake: ['Date'] });
      const start = Date.now();
      vi.setSystemTime(start);
      const endpoint = await containerEndpoint(120_000);
      const recorder = await tokenRecorder();
      try {
        const store = await podIdentityStore(endpoint.url, { MINIO_ENDPOINT: recorder.endpoint });
        const bucket = `flts-role-${randomUUID().slice(0, 8)}`;
        await store.put(bucket, 'global/current.json', '{"run_id":"r1"}');
        expect((await direct().get(bucket, 'global/current.json')).toString()).toBe('{"run_id":"r1"}');
        expect((await store.get(bucket, 'global/current.json')).toString()).toBe('{"run_id":"r1"}');
        expect(await store.list(bucket)).toHaveLength(1);
        expect(endpoint.hits()).toBe(1);

        // 120 s credentials are renewed halfway (a 60 s lead, under the 5 min the AWS SDKs take for long-lived ones).
        vi.setSystemTime(start + 59_000);
        await store.put(bucket, 'a.json', '{"n":1}');
        expect(endpoint.hits()).toBe(1);
        vi.setSystemTime(start + 61_000);
        await store.put(bucket, 'a.json', '{"n":2}');
        expect(endpoint.hits()).toBe(2);
        expect((await store.get(bucket, 'a.json')).toString()).toBe('{"n":2}');
        expect(endpoint.hits()).toBe(2);

        // Past the expiry of every credential handed out, calls at once share one renewal.
        vi.setSystemTime(start + 400_000);
        const reads = await Promise.all(Array.from({ length: 5 }, () => store.get(bucket, 'a.json')));
        expect(reads.map(String)).toEqual(Array(5).fill('{"n":2}'));
        expect(endpoint.hits()).toBe(3);
        // Every request carried the session token of the credentials current when it was sent, in turn.
        expect(endpoint.tokens).toHaveLength(3);
        expect([...new Set(recorder.sent.map((r) => r.token))]).toEqual(endpoint.tokens);
      } finally {
        await Promise.all([endpoint.close(), recorder.close()]);
      }
    });

    it('renews credentials S3 refuses before they expire (ExpiredToken) and asks once more, one fetch for all callers refused at once', async () => {
      const endpoint = await containerEndpoint(3_600_000);
      const proxy = await tokenRecorder();
      const asked = () => proxy.sent.splice(0).map((r) => [r.method, r.url, endpoint.tokens.indexOf(r.token ?? '')]);
      try {
        const store = await podIdentityStore(endpoint.url, { MINIO_ENDPOINT: proxy.endpoint });
        const bucket = `flts-refused-${randomUUID().slice(0, 8)}`;
        const key = `/${bucket}/k.json`;
        await store.put(bucket, 'k.json', '{"v":1}');
        expect(endpoint.hits()).toBe(1);
        asked();

        // An hour left on session 0, but S3 calls it expired (revoked early, or S3's clock ahead of this host's).
        proxy.refuses = (token) => token === endpoint.tokens[0];
        expect((await store.get(bucket, 'k.json')).toString()).toBe('{"v":1}');
        expect(endpoint.hits()).toBe(2);
        expect(asked()).toEqual([['GET', key, 0], ['GET', key, 1]]);

        // Four reads refused at once share one fetch, and each is asked again once, with the new session.
        proxy.refuses = (token) => token === endpoint.tokens[1];
        expect((await Promise.all(Array.from({ length: 4 }, () => store.get(bucket, 'k.json')))).map(String)).toEqual(Array(4).fill('{"v":1}'));
        expect(endpoint.hits()).toBe(3);
        expect(asked().sort()).toEqual([...Array(4).fill(['GET', key, 1]), ...Array(4).fill(['GET', key, 2])]);

        // A HEAD gets S3's 400 without a body; the same as a GET says why.
        proxy.refuses = (token) => token === endpoint.tokens[2];
        expect(await store.stat(bucket, 'k.json')).toMatchObject({ key: 'k.json', size: 7 });
        expect(endpoint.hits()).toBe(4);
        expect(asked().map(([method, , session]) => [method, session])).toEqual([['HEAD', 2], ['GET', 2], ['HEAD', 3]]);

        // New credentials refused too: no second renewal, the store's auth error naming where they came from.
        proxy.refuses = (token) => token !== undefined;
        const error = await store.get(bucket, 'k.json').then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(FltsError);
        expect(error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', retriable: false, details: { s3Code: 'ExpiredToken', credentialSource: `container credentials endpoint ${endpoint.url}` } });
        expect((error as FltsError).message).toMatch(/its session token has expired \(ExpiredToken\), also with the new credentials the source handed out after the first refusal/);
        expect(endpoint.hits()).toBe(5);
        expect(asked()).toEqual([['GET', key, 3], ['GET', key, 4]]);
        expect(JSON.stringify((error as FltsError).toJSON())).not.toMatch(/session-token-|never-shown/);
      } finally {
        await Promise.all([endpoint.close(), proxy.close()]);
      }
    });

    it('renews role credentials whose session MinIO refuses as InvalidTokenId, and asks once more with the new ones', async () => {
      const endpoint = await containerEndpoint(3_600_000);
      const proxy = await tokenRecorder();
      const asked = () => proxy.sent.splice(0).map((r) => [r.method, r.url, endpoint.tokens.indexOf(r.token ?? '')]);
      try {
        const store = await podIdentityStore(endpoint.url, { MINIO_ENDPOINT: proxy.endpoint });
        const bucket = `flts-tokenid-${randomUUID().slice(0, 8)}`;
        const key = `/${bucket}/k.json`;
        await store.put(bucket, 'k.json', '{"v":1}');
        asked();

        proxy.refusal = INVALID_TOKEN_ID;
        proxy.refuses = (token) => token === endpoint.tokens[0];
        expect((await store.get(bucket, 'k.json')).toString()).toBe('{"v":1}');
        expect(endpoint.hits()).toBe(2);
        expect(asked()).toEqual([['GET', key, 0], ['GET', key, 1]]);

        // A HEAD gets MinIO's 403 without a body, which the client calls AccessDenied; the GET says InvalidTokenId.
        proxy.refuses = (token) => token === endpoint.tokens[1];
        expect(await store.stat(bucket, 'k.json')).toMatchObject({ key: 'k.json', size: 7 });
        expect(endpoint.hits()).toBe(3);
        expect(asked().map(([method, , session]) => [method, session])).toEqual([['HEAD', 1], ['GET', 1], ['HEAD', 2]]);

        proxy.refuses = (token) => token !== undefined;
        const error = await store.get(bucket, 'k.json').then(() => undefined, (e: unknown) => e);
        expect(error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', retriable: false, details: { s3Code: 'InvalidTokenId' } });
        expect((error as FltsError).message).toMatch(/the server knows no such session token \(InvalidTokenId\), also with the new credentials/);
        expect(JSON.stringify((error as FltsError).toJSON())).not.toMatch(/session-token-|never-shown/);
      } finally {
        await Promise.all([endpoint.close(), proxy.close()]);
      }
    });

    it('signs with temporary static credentials: the key and its AWS_SESSION_TOKEN, which S3Proxy checks the signature over', async () => {
      const proxy = await tokenRecorder();
      try {
        const env = { MINIO_ENDPOINT: proxy.endpoint, AWS_REGION: infra.s3.region, FLTS_STORE: 's3', AWS_ACCESS_KEY_ID: infra.s3.accessKey, AWS_SECRET_ACCESS_KEY: infra.s3.secretKey, AWS_SESSION_TOKEN: 'static-session-token' };
        const store = await createObjectStore(resolveSettings({ env }).settings);
        const bucket = `flts-static-token-${randomUUID().slice(0, 8)}`;
        await store.put(bucket, 'k.json', '{"v":1}');
        expect((await store.get(bucket, 'k.json')).toString()).toBe('{"v":1}');
        expect(proxy.sent.length).toBeGreaterThanOrEqual(2);
        expect(new Set(proxy.sent.map((r) => r.token))).toEqual(new Set(['static-session-token']));
      } finally {
        await proxy.close();
      }
    });

    describe('a session token from the environment (AWS_SESSION_TOKEN) that the key does not take', () => {
      /** Static settings as a shell resolves them: MinIO's root user, and the AWS session the shell still holds. */
      const staticStore = async (endpoint: string, extra: Record<string, string> = {}, file?: Record<string, unknown>) => {
        const { logger, warnings } = warningsLogger();
        const resolved = resolveSettings({ env: { MINIO_ENDPOINT: endpoint, FLTS_STORE: 's3', MINIO_ROOT_USER: infra.s3.accessKey, MINIO_ROOT_PASSWORD: infra.s3.secretKey, ...extra }, file });
        return { store: await createObjectStore(resolved.settings, { logger, envNames: resolved.envNames }), warnings };
      };

      it.each([
        ['MinIO', INVALID_TOKEN_ID],
        ['AWS S3', INVALID_TOKEN],
      ])('is dropped once %s refuses it and answers the key without it, with one warning naming the variable, never the token', async (_server, refusal) => {
        const proxy = await tokenRecorder();
        proxy.refusal = refusal;
        proxy.refuses = (token) => token !== undefined;
        try {
          const { store, warnings } = await staticStore(proxy.endpoint, { AWS_SESSION_TOKEN: STRAY_TOKEN });
          const bucket = `flts-stray-${randomUUID().slice(0, 8)}`;
          // The first write meets a bucket that is not there yet: S3 answering NoSuchBucket without the token settles it.
          await store.put(bucket, 'k.json', '{"v":1}');
          const reads = await Promise.all(Array.from({ length: 3 }, () => store.get(bucket, 'k.json')));
          expect(reads.map(String)).toEqual(Array(3).fill('{"v":1}'));
          expect(await store.stat(bucket, 'k.json')).toMatchObject({ size: 7 });
          expect(await store.list(bucket)).toHaveLength(1);
          // Only the first request carried the token.
          expect(proxy.sent.map((r) => r.token)).toEqual([STRAY_TOKEN, ...Array(proxy.sent.length - 1).fill(undefined)]);
          expect(warnings).toEqual([
            {
              event: 's3_session_token_ignored',
              fields: expect.objectContaining({ env: 'AWS_SESSION_TOKEN', access_key: infra.s3.accessKey, s3_code: refusal.code, reason: expect.stringContaining('unset AWS_SESSION_TOKEN') }),
            },
          ]);
          expect(JSON.stringify(warnings)).not.toMatch(/never-shown/);
        } finally {
          await proxy.close();
        }
      });

      it('is kept, and the refusal reported, when S3 refuses the key without it too; no later request tries without it', async () => {
        const proxy = await tokenRecorder();
        proxy.refusal = (token) => (token === undefined ? INVALID_ACCESS_KEY_ID : INVALID_TOKEN);
        proxy.refuses = () => true;
        try {
          const { store, warnings } = await staticStore(proxy.endpoint, { AWS_SESSION_TOKEN: STRAY_TOKEN });
          for (const attempt of [1, 2]) {
            const error = await store.get('flts-needed', 'k.json').then(() => undefined, (e: unknown) => e);
            expect(error, `attempt ${attempt}`).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', retriable: false, details: { s3Code: 'InvalidToken' } });
            expect((error as FltsError).message).toContain('unset it for a long-term key');
            expect(JSON.stringify((error as FltsError).toJSON())).not.toMatch(/never-shown/);
          }
          expect(proxy.sent.map((r) => r.token)).toEqual([STRAY_TOKEN, undefined, STRAY_TOKEN]);
          expect(warnings).toEqual([]);
        } finally {
          await proxy.close();
        }
      });

      it('is always sent when set on purpose (store.s3.sessionToken in the config file): S3 refusing it is the store\'s auth error', async () => {
        const proxy = await tokenRecorder();
        proxy.refusal = INVALID_TOKEN_ID;
        proxy.refuses = (token) => token !== undefined;
        try {
          const { store, warnings } = await staticStore(proxy.endpoint, {}, { store: { s3: { sessionToken: STRAY_TOKEN } } });
          const error = await store.get('flts-explicit', 'k.json').then(() => undefined, (e: unknown) => e);
          expect(error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', details: { s3Code: 'InvalidTokenId' } });
          expect(proxy.sent.map((r) => r.token)).toEqual([STRAY_TOKEN]);
          expect(warnings).toEqual([]);
        } finally {
          await proxy.close();
        }
      });

      it('is never sent with an AWS long-term key (AKIA...), which takes none, and said once at startup', async () => {
        const proxy = await tokenRecorder();
        try {
          const { logger, warnings } = warningsLogger();
          const env = { MINIO_ENDPOINT: proxy.endpoint, FLTS_STORE: 's3', AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'long-term-secret-never-shown', AWS_SESSION_TOKEN: STRAY_TOKEN };
          const resolved = resolveSettings({ env });
          const store = await createObjectStore(resolved.settings, { logger, envNames: resolved.envNames });
          expect(warnings).toEqual([{ event: 's3_session_token_ignored', fields: expect.objectContaining({ env: 'AWS_SESSION_TOKEN', access_key: 'AKIAIOSFODNN7EXAMPLE', s3_code: undefined }) }]);
          // S3Proxy knows no such key; what matters is what the requests carried.
          await store.list('flts-akia').catch(() => undefined);
          await store.list('flts-akia').catch(() => undefined);
          expect(proxy.sent.length).toBeGreaterThan(0);
          expect(proxy.sent.map((r) => r.token)).toEqual(Array(proxy.sent.length).fill(undefined));
          expect(warnings).toHaveLength(1);
          expect(JSON.stringify(warnings)).not.toMatch(/never-shown/);
        } finally {
          await proxy.close();
        }
      });

      it('lets `flts preprocess` run against MinIO\'s root key from a shell that holds an AWS session, one warning on stderr', async () => {
        const proxy = await tokenRecorder();
        proxy.refusal = INVALID_TOKEN_ID;
        proxy.refuses = (token) => token !== undefined;
        const home = await mkdtemp(path.join(dir, 'home-'));
        try {
          const env = { MINIO_ENDPOINT: proxy.endpoint, FLTS_STORE: 's3', FLTS_HOME: home, OUTPUT_BUCKET: `flts-stray-cli-${randomUUID().slice(0, 8)}`, MINIO_ROOT_USER: infra.s3.accessKey, MINIO_ROOT_PASSWORD: infra.s3.secretKey, AWS_SESSION_TOKEN: STRAY_TOKEN };
          const run = await runCli(['preprocess', '--dataset', 'example', '--json'], { env, timeoutMs: 90_000 });
          expect(run.exitCode, run.stderr).toBe(0);
          const warnings = run.stderr.split('\n').filter((line) => line.includes('s3_session_token_ignored'));
          expect(warnings).toHaveLength(1);
          expect(JSON.parse(warnings[0])).toMatchObject({ level: 40, env: 'AWS_SESSION_TOKEN', s3_code: 'InvalidTokenId' });
          expect((await direct().list(env.OUTPUT_BUCKET)).map((o) => o.key)).toEqual(expect.arrayContaining(['processed_data.parquet']));
          // (S3Proxy's secret is its key, which the warning names: only the token can be looked for.)
          expect(run.stdout + run.stderr).not.toContain(STRAY_TOKEN);
        } finally {
          await proxy.close();
        }
      });
    });

    it('exchanges a web identity token with a local STS endpoint (AWS_ENDPOINT_URL_STS), reading the rotated token file at each renewal', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const start = Date.now();
      vi.setSystemTime(start);
      const identityFile = path.join(dir, 'irsa-token');
      await writeFile(identityFile, 'jwt-one');
      const seen: Record<string, string>[] = [];
      const sts = await listen((req, body) => {
        const form = Object.fromEntries(new URLSearchParams(body));
        seen.push({ method: req.method ?? '', url: req.url ?? '', ...form });
        const xml = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${infra.s3.accessKey}</AccessKeyId><SecretAccessKey>${infra.s3.secretKey}</SecretAccessKey><SessionToken>sts-session-${seen.length}</SessionToken><Expiration>${new Date(Date.now() + 600_000).toISOString()}</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`;
        return { status: 200, body: xml, type: 'text/xml' };
      });
      try {
        const env = { MINIO_ENDPOINT: infra.s3.endpoint, AWS_REGION: infra.s3.region, FLTS_STORE: 's3', FLTS_S3_CREDENTIALS: 'aws', AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/flts', AWS_WEB_IDENTITY_TOKEN_FILE: identityFile, AWS_ENDPOINT_URL_STS: sts.url, ...WRONG_STATIC };
        const store = await createObjectStore(resolveSettings({ env }).settings);
        const bucket = `flts-irsa-${randomUUID().slice(0, 8)}`;
        await store.put(bucket, 'k.json', '{"v":1}');
        expect((await direct().get(bucket, 'k.json')).toString()).toBe('{"v":1}');
        // Kubernetes rewrites the projected token; the next renewal (10 min credentials: 5 min before) sends the new one.
        // (The clock moves less than the 15 min of skew S3 accepts: S3Proxy checks the signing time against its own.)
        await writeFile(identityFile, 'jwt-two\n');
        vi.setSystemTime(start + 6 * 60_000);
        expect((await store.get(bucket, 'k.json')).toString()).toBe('{"v":1}');
        expect(seen).toEqual([
          expect.objectContaining({ method: 'POST', url: '/', Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: 'arn:aws:iam::111122223333:role/flts', WebIdentityToken: 'jwt-one', RoleSessionName: expect.stringMatching(/^flts-\d+$/) }),
          expect.objectContaining({ WebIdentityToken: 'jwt-two' }),
        ]);
      } finally {
        await sts.close();
      }
    });

    it('fails with FLTS_STORE_AUTH_FAILED, not retried, when the endpoint refuses the token, and never shows the token', async () => {
      const endpoint = await containerEndpoint(120_000);
      const wrongFile = path.join(dir, 'wrong-token');
      await writeFile(wrongFile, 'stale-token-never-shown');
      try {
        const store = await podIdentityStore(endpoint.url, { AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: wrongFile });
        const error = await store.get('flts-refused', 'x.json').then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(FltsError);
        expect(error).toMatchObject({ code: 'FLTS_STORE_AUTH_FAILED', retriable: false, details: { status: 403, awsCode: 'AccessDeniedException' } });
        expect((error as FltsError).message).toContain(`container credentials endpoint ${endpoint.url} answered HTTP 403 (AccessDeniedException: the token is not valid)`);
        expect(JSON.stringify((error as FltsError).toJSON())).not.toMatch(/never-shown/);
      } finally {
        await endpoint.close();
      }
    });

    it('fails with FLTS_STORE_UNAVAILABLE (retriable) while the endpoint is down, and with a config error for a missing token file', async () => {
      const endpoint = await containerEndpoint(120_000);
      const url = endpoint.url;
      await endpoint.close();
      const down = await (await podIdentityStore(url)).list('flts-down').then(() => undefined, (e: unknown) => e);
      expect(down).toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE', retriable: true, message: expect.stringContaining('is unreachable (ECONNREFUSED)') });

      const missing = await (await podIdentityStore(url, { AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: path.join(dir, 'absent') })).list('flts-down').then(() => undefined, (e: unknown) => e);
      expect(missing).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', retriable: false, details: { setting: 'store.s3.aws.containerAuthorizationTokenFile' } });
      expect((missing as FltsError).message).toMatch(/^AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(setting store.s3.aws.containerAuthorizationTokenFile\) = .*absent cannot be read \(ENOENT\)/);
    });

    it('runs `flts preprocess` against S3 with the credentials of a container endpoint, printing no secret', async () => {
      const endpoint = await containerEndpoint(3_600_000);
      const home = await mkdtemp(path.join(dir, 'home-'));
      try {
        const env = { MINIO_ENDPOINT: infra.s3.endpoint, FLTS_STORE: 's3', FLTS_HOME: home, OUTPUT_BUCKET: `flts-cli-${randomUUID().slice(0, 8)}`, FLTS_S3_CREDENTIALS: 'aws', AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile, ...WRONG_STATIC };
        const run = await runCli(['preprocess', '--dataset', 'example', '--json'], { env, timeoutMs: 90_000 });
        expect(run.exitCode, run.stderr).toBe(0);
        expect(endpoint.hits()).toBe(1);
        const written = await direct().list(env.OUTPUT_BUCKET);
        expect(written.map((o) => o.key)).toEqual(expect.arrayContaining(['processed_data.parquet']));
        for (const secret of [infra.s3.secretKey, AUTH_TOKEN, ...endpoint.tokens, WRONG_STATIC.MINIO_ROOT_PASSWORD]) expect(run.stdout + run.stderr).not.toContain(secret);
      } finally {
        await endpoint.close();
      }
    });
  });
}
