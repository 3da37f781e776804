import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import tls from 'node:tls';
import type { BucketItem } from 'minio';
import { FltsError } from '../errors.js';
import { retryWithBackoff, type RetryPolicy } from '../retry.js';
import { assertBucketName, assertKeyPrefix, assertObjectKey } from './keys.js';
import type { DeleteManyResult, ObjectBody, ObjectInfo, ObjectStore } from './object-store.js';
import { makeDirectory } from '../make-directory.js';
import { isTlsRefusal, readCertificates } from '../tls-files.js';
import { clientCredentials, type CredentialOptions, type DroppedSessionToken, type TokenlessVerdict } from './aws-credentials.js';
import { silentLogger, type Logger } from '../logger.js';
import { minio } from './minio-module.js';
import { redactSecrets } from '../redact.js';

/** Credentials: `accessKey` and `secretKey`, or with `credentials: 'aws'` a role's, found through `aws` (CredentialOptions). */
export interface S3StoreOptions extends CredentialOptions {
  /** `host:port`, `host`, or a URL (`http://host:9000`, `https://s3.example.com`). */
  endpoint: string;
  /** TLS; `null`/undefined = decided by the endpoint URL's scheme (plain host:port = no TLS). */
  secure?: boolean | null;
  region?: string;
  /** PEM file of the CA certificates trusted for an https endpoint instead of Node's public ones ("" = those). */
  caFile?: string;
  /** Longest silence within one request (connect, answer, between body chunks); default 10 s. */
  idleTimeoutMs?: number;
  /** Longest one whole request may take, body included; default 60 s. */
  requestTimeoutMs?: number;
  /** Where the one warning about a session token from the environment that is not sent goes. */
  logger?: Logger;
}

export interface S3Endpoint {
  host: string;
  port: number;
  useSSL: boolean;
}

/** Accepts the reference's `minio:9000` form as well as MLflow-style `http://minio:9000` URLs. */
export function parseS3Endpoint(endpoint: string, secure?: boolean | null): S3Endpoint {
  const text = endpoint.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `http://${text}`);
  } catch (cause) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `S3 endpoint ${JSON.stringify(endpoint)} is not valid: expected host:port or an http(s) URL.`, { cause, details: { setting: 'store.s3.endpoint' } });
  }
  // The client signs with store.s3.accessKey and secretKey alone: a user and password in the address were dropped
  // unsaid, and the server then refused the other key's signature (SignatureDoesNotMatch) as if the secret were wrong.
  if (url.username || url.password) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `S3 endpoint ${JSON.stringify(redactSecrets(endpoint))} is not valid: an access key id and its secret go in MINIO_ROOT_USER and MINIO_ROOT_PASSWORD (store.s3.accessKey, store.s3.secretKey), never in the address.`, { details: { setting: 'store.s3.endpoint' } });
  }
  if (!['http:', 'https:'].includes(url.protocol) || !url.hostname || (url.pathname !== '/' && url.pathname !== '')) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `S3 endpoint ${JSON.stringify(endpoint)} is not valid: expected host:port or an http(s) URL without a path.`, { details: { setting: 'store.s3.endpoint' } });
  }
  const useSSL = secure ?? (hasScheme && url.protocol === 'https:');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : useSSL ? 443 : hasScheme ? 80 : 9000;
  return { host, port, useSSL };
}

/** A request destroyed by one of the store's time limits; `setting` names the limit that ran out. */
export class S3TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(readonly setting: 'store.s3.idleTimeoutMs' | 'store.s3.requestTimeoutMs', readonly limitMs: number) {
    super(setting === 'store.s3.idleTimeoutMs' ? `no answer for ${limitMs} ms` : `the request took longer than ${limitMs} ms`);
    this.name = 'S3TimeoutError';
  }
}

type Transport = Pick<typeof http, 'request'>;

/**
 * A successful answer that is a web page: another HTTP server at the endpoint's address. MinIO's console (its
 * port 9001 beside the API's 9000) answers every path, HEAD and GET alike, 200 with its page; so do a proxy's landing
 * page and a single-page app. Taken as S3's, a bucket seemed to exist, an object read as "not valid JSON, restore it
 * from a backup", and a listing failed as an internal error. S3 answers its API in XML, and flts writes no web page.
 */
export class S3ForeignReplyError extends Error {
  constructor(
    readonly status: number,
    readonly contentType: string,
    /** A web page, or a reply in a format S3 never answers that request in (a proxy's JSON or text). */
    readonly page = true,
  ) {
    super(`HTTP ${status} with ${contentType}, not an S3 reply`);
    this.name = 'S3ForeignReplyError';
  }
}

/**
 * A successful answer S3 would not give: a web page to anything, or JSON or plain text to a write, a bucket's
 * creation or a bulk delete, which S3 answers empty or in XML. A GET or HEAD may be of an object, whose type is
 * whatever was stored (flts stores JSON), so only a page is refused there.
 */
function foreignReply(response: http.IncomingMessage, method: string): S3ForeignReplyError | undefined {
  const status = response.statusCode ?? 0;
  const contentType = String(response.headers['content-type'] ?? '');
  if (status < 200 || status > 299) return undefined;
  const type = contentType.split(';')[0].trim();
  if (/^\s*(text\/html|application\/xhtml\+xml)\b/i.test(contentType)) return new S3ForeignReplyError(status, type);
  if (method !== 'GET' && method !== 'HEAD' && /^(application\/([\w.+-]+\+)?json|text\/plain)$/i.test(type)) return new S3ForeignReplyError(status, type, false);
  return undefined;
}

/** fast-xml-parser's refusal of a body that is not XML at all ("readTagExp returned undefined ..."): a plain Error. */
function isUnreadableXml(error: unknown): boolean {
  return error instanceof Error && error.constructor === Error && !errorCode(error) && /[\\/]fast-xml-parser[\\/]/.test(error.stack ?? '');
}

/** Hands the client only answers that may be S3's: a web page fails its request with an S3ForeignReplyError instead. */
function s3RepliesOnly(base: Transport): Transport {
  const request = ((...args: unknown[]) => {
    const at = args.findIndex((arg) => typeof arg === 'function');
    const callback = at >= 0 ? (args[at] as (response: http.IncomingMessage) => void) : undefined;
    let req: http.ClientRequest;
    const method = String((args[0] as { method?: unknown } | undefined)?.method ?? 'GET').toUpperCase();
    const guarded = (response: http.IncomingMessage): void => {
      const foreign = foreignReply(response, method);
      if (!foreign) return callback?.(response);
      response.resume();
      req.destroy(foreign);
    };
    const forwarded = at >= 0 ? args.map((arg, index) => (index === at ? guarded : arg)) : [...args, guarded];
    req = (base.request as (...a: unknown[]) => http.ClientRequest)(...forwarded);
    return req;
  }) as typeof http.request;
  return { request };
}

/**
 * The minio client has no time limits of its own: against a server that accepts connections and never answers,
 * or drips its answer, every call would wait forever. Each request gets an idle limit (on the socket, so a body
 * that stops flowing counts too) and a limit on the whole; either destroys the request and its response with an
 * S3TimeoutError, which reaches whoever is waiting: the client's promise, or the reader of a body stream.
 */
function timedTransport(base: Transport, limits: { idleTimeoutMs: number; requestTimeoutMs: number }): Transport {
  const request = ((...args: Parameters<typeof http.request>) => {
    const req = (base.request as (...a: Parameters<typeof http.request>) => http.ClientRequest)(...args);
    let response: http.IncomingMessage | undefined;
    const fail = (error: S3TimeoutError): void => {
      response?.destroy(error);
      req.destroy(error);
    };
    const whole = setTimeout(() => fail(new S3TimeoutError('store.s3.requestTimeoutMs', limits.requestTimeoutMs)), limits.requestTimeoutMs);
    whole.unref();
    req.setTimeout(limits.idleTimeoutMs, () => fail(new S3TimeoutError('store.s3.idleTimeoutMs', limits.idleTimeoutMs)));
    req.once('response', (res: http.IncomingMessage) => {
      response = res;
      res.once('close', () => clearTimeout(whole));
    });
    req.once('close', () => {
      if (!response) clearTimeout(whole);
    });
    return req;
  }) as typeof http.request;
  return { request };
}

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'NoSuchObject']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const SERVER_BUSY_CODES = new Set(['InternalError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout', 'XMinioServerNotInitialized']);
/** The server out of room (its drives past their free threshold, a bucket quota): retriable as a full local disk is, a daemon waits for space. */
const STORAGE_FULL_CODES = new Set(['XMinioStorageFull', 'XMinioAdminBucketQuotaExceeded']);
/** The credentials themselves are refused: what S3 says about each, for the message. */
const AUTH_REASONS: Readonly<Record<string, string>> = {
  InvalidAccessKeyId: 'the server knows no such access key id',
  SignatureDoesNotMatch: 'the secret key (store.s3.secretKey) is not the one of this access key id',
  InvalidToken: 'its session token is not valid',
  ExpiredToken: 'its session token has expired',
  ExpiredTokenException: 'its session token has expired',
  TokenRefreshRequired: 'its session token must be refreshed',
  // MinIO's answer to a session token it never issued (AWS_SESSION_TOKEN left over from another account, say).
  InvalidTokenId: 'the server knows no such session token',
  InvalidSecurity: 'the server finds the security credentials invalid',
  // Signed requests are refused the same way when the signature's time or region is wrong, and no wait fixes either.
  RequestTimeTooSkewed: "this host's clock differs from the server's by more than S3 allows (15 minutes): set the clock (NTP)",
  AuthorizationHeaderMalformed: 'the request was signed for another region than the server expects (store.s3.region: AWS_REGION / MINIO_REGION)',
};
/**
 * S3 no longer takes the session of temporary credentials, though by this host's clock they still hold: revoked
 * early, or clocks apart; MinIO says InvalidTokenId of any session token it does not take. Role credentials are
 * renewed at once and the request asked again (createS3Store's send).
 */
const REFUSED_SESSION_CODES = new Set(['ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'ExpiredTokenException', 'InvalidTokenId']);
/** The credentials are good but the operation is not allowed to them. */
const DENIED_CODES = new Set(['AccessDenied', 'AllAccessDisabled', 'AccountProblem']);

/** S3 refuses the session token itself: one that belongs to no session, or is sent with a key that takes none. */
const REFUSED_TOKEN_CODES = new Set(['InvalidTokenId', 'InvalidToken']);

/** The warning that a session token from the environment is not sent: what it names and why (never the token). */
function droppedTokenWarning(dropped: DroppedSessionToken, endpoint: string): [object, string] {
  const why = dropped.s3Code
    ? `S3 endpoint ${endpoint} refused it (${dropped.s3Code}) and answered access key id '${dropped.accessKey}' without it`
    : `access key id '${dropped.accessKey}' is an AWS long-term key, which never takes a session token`;
  const reason = `${dropped.env} is set but not sent: ${why}. It belongs to another key (an AWS session the shell still holds, say): unset ${dropped.env} (or set store.s3.sessionToken in the config file, which is always sent) to silence this.`;
  return [{ env: dropped.env, access_key: dropped.accessKey, endpoint, s3_code: dropped.s3Code, reason }, 's3_session_token_ignored'];
}

const ROLE_REFUSED_HINT = 'The S3 server refuses the role credentials flts was handed (FLTS_S3_CREDENTIALS=aws): store.s3.endpoint must be AWS S3 (or a server that trusts the role), in the region of AWS_REGION; a session token it calls expired means this host\'s clock is off.';
const ROLE_DENIED_HINT = 'The role\'s permissions or the bucket policy refuse the operation: flts lists, reads and writes objects in its buckets and creates a missing bucket. Grant the role (the service account\'s IAM role, EKS Pod Identity association or instance profile) s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject and s3:CreateBucket on them.';

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A 5xx (or 408, 429) answer, as minio reports it: a plain Error that only its message tells apart. */
const RETRIES_EXHAUSTED = /^Request failed after \d+ retries: Error: Retryable HTTP status: (\d+)/;

/**
 * A busy server's answer (5xx, 408, 429) is asked again once, as minio's own retry would; minio's retry is off
 * because it announces itself with console.warn, a stray line among the JSON logs on stderr.
 */
const BUSY_ANSWER_RETRY: RetryPolicy = { retries: 1, baseDelayMs: 200, maxDelayMs: 200 };
const isBusyAnswer = (error: unknown): boolean => error instanceof Error && RETRIES_EXHAUSTED.test(error.message);

/**
 * A connection that broke before the answer was whole: a pooled keep-alive socket the server (or a load balancer)
 * closed as the request went out, a proxy restarting. Asked again once on a new connection when asking again is
 * harmless, which every request is but a conditional write's: its first attempt may have been applied, and the
 * second would then be refused as if another writer had come first. A time limit's end is not asked again: it has
 * already waited its full length, and a second would wait as long.
 */
const DROPPED_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const isDroppedConnection = (error: unknown): boolean => !(error instanceof S3TimeoutError) && DROPPED_CONNECTION_CODES.has(errorCode(error) ?? '');

/** Where a store call went, for messages and details; the access key id names the credentials (never the secret). */
export interface S3CallPlace {
  endpoint: string;
  /** The region requests are signed for (store.s3.region). */
  region?: string;
  bucket?: string;
  key?: string;
  accessKey?: string;
  /** Where the credentials came from, when not store.s3.accessKey: the AWS credentials source. */
  credentialSource?: string;
  /** The credentials were fetched anew because S3 had refused the session of the ones before. */
  renewed?: boolean;
}

/** What a store call named, as a message says it: `object 'k' in bucket 'b'`, or `bucket 'b'`. */
function targetOf(where: Pick<S3CallPlace, 'bucket' | 'key'>): string {
  return where.key ? `object '${where.key}' in bucket '${where.bucket}'` : `bucket '${where.bucket}'`;
}

/**
 * S3 and socket errors -> the catalogue: missing -> NOT_FOUND; unreachable or overloaded -> UNAVAILABLE (retriable);
 * credentials refused -> AUTH_FAILED, operation refused to them -> ACCESS_DENIED, certificate refused -> TLS_FAILED
 * (settings to fix, not retriable).
 */
export function translateS3Error(error: unknown, where: S3CallPlace): unknown {
  const known = translateKnownS3Error(error, where);
  if (known !== error || (error as Error)?.name !== 'S3Error') return known;
  // An S3 code of the server's own for this request (an object a lifecycle rule archived, a full disk, a feature it
  // lacks): a refusal the server explains, where it was FLTS_INTERNAL, or under orUnlessUnavailable an absence.
  const code = errorCode(error) ?? '';
  const target = targetOf(where);
  return new FltsError('FLTS_STORE_ACCESS_DENIED', `S3 endpoint ${where.endpoint} refused the request for ${target} (${code}: ${(error as Error).message}).`, {
    cause: error,
    details: { endpoint: where.endpoint, bucket: where.bucket, key: where.key, s3Code: code },
    hint: "The S3 server refuses the request for a reason of its own, named by its code: an object a lifecycle rule archived (InvalidObjectState: restore it), a feature it does not implement (NotImplemented); see the server's documentation of the code.",
  });
}

/** The S3 and socket errors the catalogue names one by one; anything else is returned as it came. */
function translateKnownS3Error(error: unknown, where: S3CallPlace): unknown {
  if (error instanceof FltsError) return error;
  // The client wraps what its credentials provider threw ("Unable to get credentials: ..."): that is the reason.
  if (error instanceof Error && error.cause instanceof FltsError) return error.cause;
  const code = errorCode(error);
  const { accessKey, credentialSource, region: _region, ...place } = where;
  const details = { ...place, s3Code: code };
  const target = targetOf(where);
  if (error instanceof S3TimeoutError) {
    const what = error.setting === 'store.s3.idleTimeoutMs' ? `did not answer for ${error.limitMs / 1000} s` : `did not finish a request within ${error.limitMs / 1000} s`;
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} ${what} (${error.setting}) while accessing ${target}.`, {
      cause: error,
      details: { ...details, setting: error.setting, limitMs: error.limitMs },
    });
  }
  // Node's HTTP parser refusing the answer (HPE_*): something that is not an HTTP server listens there.
  if (code?.startsWith('HPE_')) {
    if (where.endpoint.startsWith('http://') && isTlsRecord((error as { rawPacket?: unknown }).rawPacket)) return speaksTlsError(error, where, 'answered a plain HTTP request with a TLS alert');
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} did not answer in HTTP (${code}) while accessing ${target}; check that it is the S3 server's address.`, { cause: error, details });
  }
  const exhausted = error instanceof Error ? RETRIES_EXHAUSTED.exec(error.message) : null;
  if (exhausted) {
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} answered HTTP ${exhausted[1]}, also when asked again, while accessing ${target}.`, { cause: error, details: { ...details, status: Number(exhausted[1]) } });
  }
  if (error instanceof S3ForeignReplyError && !error.page) {
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} answered HTTP ${error.status} with ${error.contentType}, not an S3 reply, while accessing ${target}; check that it is the S3 server's address, not a proxy's or another service's.`, {
      cause: error,
      details: { ...details, status: error.status, setting: 'store.s3.endpoint' },
    });
  }
  if (error instanceof S3ForeignReplyError) {
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} answered with a web page (HTTP ${error.status}, ${error.contentType}), not an S3 reply, while accessing ${target}; check that it is the S3 API's address, not a console's or a proxy's page (MinIO's console, on port 9001 by default, answers every path with its page; its S3 API is on port 9000).`, {
      cause: error,
      details: { ...details, status: error.status, setting: 'store.s3.endpoint' },
    });
  }
  // A successful answer whose body is not the XML its operation returns (a listing's ListBucketResult): not S3's.
  if ((error as Error)?.name === 'InvalidXMLError' || isUnreadableXml(error)) {
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} answered with a reply that is not S3's (${(error as Error).message}) while accessing ${target}; check that it is the S3 server's address.`, { cause: error, details: { ...details, setting: 'store.s3.endpoint' } });
  }
  // An error answer without an S3 error code: its body was not S3's XML (a proxy's or another server's page).
  if ((error as Error)?.name === 'S3Error' && !code) {
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} answered an error that is not an S3 reply while accessing ${target}; check that it is the S3 server's address.`, { cause: error, details });
  }
  if (code && NOT_FOUND_CODES.has(code)) {
    return new FltsError('FLTS_STORE_NOT_FOUND', where.key ? `Object '${where.key}' not found in bucket '${where.bucket}'.` : `Bucket '${where.bucket}' not found.`, { cause: error, details });
  }
  if (code && (NETWORK_CODES.has(code) || SERVER_BUSY_CODES.has(code))) {
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} is unavailable (${code}) while accessing ${target}.`, { cause: error, details });
  }
  if (code && STORAGE_FULL_CODES.has(code)) {
    return new FltsError('FLTS_STORE_UNAVAILABLE', `S3 endpoint ${where.endpoint} has no room for ${target} (${code}: ${(error as Error).message}).`, {
      cause: error,
      details,
      hint: "Free space on the S3 server's drives or raise the bucket's quota; the store's own documentation of the code says which.",
    });
  }
  if (isTlsRefusal(code)) {
    return new FltsError('FLTS_STORE_TLS_FAILED', `TLS with S3 endpoint ${where.endpoint} failed (${code}: ${(error as Error).message}) while accessing ${target}.`, { cause: error, details });
  }
  // OpenSSL refusing the handshake's bytes: most often an https endpoint whose port answers plain HTTP. Left as it
  // came it was FLTS_INTERNAL, and a read with a fallback (orUnlessUnavailable) took it for a missing object.
  if (code === 'EPROTO') {
    const reason = /:SSL routines:[^:]*:([^:]+):/.exec((error as Error).message)?.[1] ?? 'protocol error';
    const why = /wrong version number|packet length too long|http request/i.test(reason) ? 'the server there does not speak TLS: an endpoint without TLS takes http:// (or MINIO_SECURE=false)' : 'the handshake broke off';
    return new FltsError('FLTS_STORE_TLS_FAILED', `TLS with S3 endpoint ${where.endpoint} failed (EPROTO: ${reason}) while accessing ${target}: ${why}.`, { cause: error, details });
  }
  const redirect = regionRedirect(error, code, where);
  if (redirect) return redirect;
  const keyId = accessKey === undefined ? 'the access key id' : `access key id '${accessKey}'`;
  const origin = credentialSource ? `the role credentials from the ${credentialSource}, FLTS_S3_CREDENTIALS=aws` : 'store.s3.accessKey';
  const sourceDetails = credentialSource ? { credentialSource } : {};
  if (code && code in AUTH_REASONS) {
    // AWS names the region it expected in the refusal's body: the value to set.
    const expected = (error as { region?: unknown }).region;
    const reason =
      credentialSource && code === 'SignatureDoesNotMatch'
        ? 'the server does not take the secret key the credentials source handed out'
        : code === 'AuthorizationHeaderMalformed' && typeof expected === 'string' && expected !== ''
          ? `${AUTH_REASONS[code]}: it expects region ${expected}, the request was signed for ${where.region ?? 'store.s3.region'}`
          : AUTH_REASONS[code];
    const again = where.renewed
      ? ', also with the new credentials the source handed out after the first refusal'
      : !credentialSource && REFUSED_SESSION_CODES.has(code)
        ? '; a static session token (store.s3.sessionToken: AWS_SESSION_TOKEN) is not renewed: restart with new credentials, or unset it for a long-term key'
        : '';
    return new FltsError('FLTS_STORE_AUTH_FAILED', `S3 endpoint ${where.endpoint} refused the credentials of ${keyId} (${origin}) while accessing ${target}: ${reason} (${code})${again}.`, {
      cause: error,
      details: { ...details, accessKey, ...sourceDetails },
      ...(credentialSource ? { hint: ROLE_REFUSED_HINT } : {}),
    });
  }
  if (code && DENIED_CODES.has(code)) {
    return new FltsError('FLTS_STORE_ACCESS_DENIED', `S3 endpoint ${where.endpoint} denied ${keyId} (${origin}) access to ${target} (${code}): a bucket policy or the key's permissions refuse it.`, {
      cause: error,
      details: { ...details, accessKey, ...sourceDetails },
      ...(credentialSource ? { hint: ROLE_DENIED_HINT } : {}),
    });
  }
  return error;
}

/** The first bytes of a TLS record (an alert, 0x15, or a handshake, 0x16, of TLS version 3.x), where HTTP was awaited. */
function isTlsRecord(packet: unknown): boolean {
  return Buffer.isBuffer(packet) && packet.length >= 2 && (packet[0] === 0x15 || packet[0] === 0x16) && packet[1] === 0x03;
}

const SPEAKS_TLS_HINT = 'The port of store.s3.endpoint (MINIO_ENDPOINT, FLTS_S3_ENDPOINT) speaks TLS: give the endpoint as https://host:port, or set MINIO_SECURE=true (store.s3.secure); FLTS_S3_CA_FILE names the CA of a certificate no public CA signed. Settings are read at startup: restart after fixing them.';

/**
 * A plain http:// endpoint whose port speaks TLS: a setting to change, which no wait mends. Left as the reset or the
 * page it looks like, it was FLTS_STORE_UNAVAILABLE, and the daemon and the server waited for it for ever.
 */
function speaksTlsError(error: unknown, where: S3CallPlace, how: string): FltsError {
  const target = targetOf(where);
  const secure = where.endpoint.replace(/^http:/, 'https:');
  return new FltsError('FLTS_STORE_TLS_FAILED', `S3 endpoint ${where.endpoint} speaks TLS: it ${how} while accessing ${target}; give it as ${secure} (or set MINIO_SECURE=true).`, {
    cause: error,
    details: { endpoint: where.endpoint, bucket: where.bucket, key: where.key, s3Code: errorCode(error), setting: 'store.s3.endpoint' },
    hint: SPEAKS_TLS_HINT,
  });
}

/** What a TLS ClientHello met: a TLS server, something answering in another protocol, or nothing that tells. */
type TlsProbeVerdict = 'tls' | 'plain' | 'unknown';

/**
 * Sends a TLS ClientHello to the endpoint and closes once it is answered; nothing is read or sent past the handshake,
 * so the certificate is not checked (whether it is trusted is for an https:// endpoint's own requests to say). A
 * ServerHello or a TLS alert is a TLS server; bytes that are no TLS record (an HTTP server's 400) a plain one; a
 * reset, a refusal or silence tells nothing.
 */
function probeTls(endpoint: S3Endpoint, timeoutMs: number, signal: AbortSignal): Promise<TlsProbeVerdict> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: endpoint.host, port: endpoint.port, rejectUnauthorized: false, ...(net.isIP(endpoint.host) ? {} : { servername: endpoint.host }) });
    // The store closed: its process is stopping, and a probe left open would hold it until its time limit.
    const abandon = (): void => settle('unknown');
    const settle = (verdict: TlsProbeVerdict): void => {
      signal.removeEventListener('abort', abandon);
      resolve(verdict);
      socket.destroy();
    };
    signal.addEventListener('abort', abandon, { once: true });
    socket.setTimeout(timeoutMs, () => settle('unknown'));
    socket.once('secureConnect', () => settle('tls'));
    socket.on('error', (error) => {
      const code = errorCode(error) ?? '';
      if (/^ERR_SSL_.*ALERT|^ERR_SSL_UNSUPPORTED_PROTOCOL$/.test(code)) return settle('tls');
      settle(code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(error.message) ? 'plain' : 'unknown');
    });
    socket.once('close', () => settle('unknown'));
  });
}

/** S3's answers for a request sent to the endpoint or region the bucket is not in (a HEAD's 301 has no body: MovedPermanently). */
const REDIRECT_CODES = new Set(['PermanentRedirect', 'MovedPermanently', 'TemporaryRedirect', 'IllegalLocationConstraintException']);

/**
 * AWS S3 answers a request signed for another region than its bucket's with a redirect naming that region
 * (x-amz-bucket-region) and, in the body, the endpoint to use. minio follows no redirect: it is a setting to change,
 * like a signature for the wrong region (AuthorizationHeaderMalformed), so it is a refusal of the same code, which
 * no wait mends and which a read with a fallback does not take for a missing object.
 */
function regionRedirect(error: unknown, code: string | undefined, where: S3CallPlace): FltsError | undefined {
  if (!code || !REDIRECT_CODES.has(code)) return undefined;
  const fields = error as { amzBucketRegion?: unknown; region?: unknown; endpoint?: unknown };
  const bucketRegion = [fields.amzBucketRegion, fields.region].find((value): value is string => typeof value === 'string' && value !== '');
  const to = typeof fields.endpoint === 'string' && fields.endpoint !== '' ? fields.endpoint : undefined;
  const target = targetOf(where);
  const signed = where.region ? `requests are signed for store.s3.region '${where.region}'` : 'requests are signed for store.s3.region';
  const fix = bucketRegion
    ? `set AWS_DEFAULT_REGION (AWS_REGION, MINIO_REGION) to ${bucketRegion}${to ? ` and store.s3.endpoint to ${to}` : ', with that region\'s endpoint'}`
    : `set store.s3.endpoint to the bucket's own endpoint${to ? ` (${to})` : ''} and store.s3.region to its region`;
  const lies = bucketRegion ? `is in region ${bucketRegion}` : 'is elsewhere';
  return new FltsError('FLTS_STORE_AUTH_FAILED', `S3 endpoint ${where.endpoint} redirected the request for ${target} (${code}): the bucket ${lies} but ${signed}; ${fix}.`, {
    cause: error,
    details: { endpoint: where.endpoint, bucket: where.bucket, key: where.key, s3Code: code, region: where.region, bucketRegion, redirectEndpoint: to, setting: 'store.s3.region' },
    hint: 'The bucket lives in another region (or behind another endpoint) than the settings say: store.s3.region (AWS_DEFAULT_REGION, AWS_REGION, MINIO_REGION) and store.s3.endpoint must be the bucket\'s. Settings are read at startup: restart after fixing them.',
  });
}

/** One key's refusal in a DeleteObjects reply, as minio hands it over (its typings say otherwise). */
interface DeleteRefusal {
  Code?: unknown;
  Message?: unknown;
  Key?: unknown;
}

/** The key a refusal names, as it was asked: minio's XML parser trims text and turns digits into numbers ("0042" -> 42). */
function requestedKey(reported: unknown, batch: readonly string[]): string {
  if (typeof reported === 'string' && batch.includes(reported)) return reported;
  return batch.find((key) => (typeof reported === 'number' ? Number(key) === reported : key.trim() === reported)) ?? String(reported);
}

/**
 * A key's refusal in a DeleteObjects reply -> the catalogue, like a refusal of the whole request; a code of S3's own
 * for this one object (an object lock's InvalidRequest, say) is a refusal of the operation too, never FLTS_INTERNAL.
 */
function translateDeleteRefusal(refusal: DeleteRefusal, where: S3CallPlace): FltsError {
  const code = String(refusal.Code ?? '');
  const message = String(refusal.Message ?? code);
  const error = Object.assign(new Error(message), { name: 'S3Error', code });
  const translated = translateKnownS3Error(error, where);
  if (translated instanceof FltsError) return translated;
  return new FltsError('FLTS_STORE_ACCESS_DENIED', `S3 endpoint ${where.endpoint} refused to delete object '${where.key}' in bucket '${where.bucket}' (${code}: ${message}).`, {
    cause: error,
    details: { endpoint: where.endpoint, bucket: where.bucket, key: where.key, s3Code: code },
    hint: 'The server keeps this object for a reason of its own (an object lock, a legal hold, a retention rule): lift it, or leave the object.',
  });
}

/**
 * A HEAD answer has no body, so minio calls any 403 to one AccessDenied, whatever S3 meant: a wrong secret looks like
 * a policy. A 400 it gives no code at all, and AWS S3 answers an expired session token with one. The same request as
 * a GET, which needs the same permission, carries S3's reason; its S3 error is thrown instead (anything else it meets,
 * the HEAD's own error).
 */
async function headOrReason<T>(head: () => Promise<T>, get: () => Promise<unknown>): Promise<T> {
  try {
    return await head();
  } catch (error) {
    const code = errorCode(error);
    // The codes minio makes up from a bodiless status (403, 405 and 501, any other it has no name for).
    if (code !== 'AccessDenied' && code !== 'MethodNotAllowed' && !(code === '' && (error as Error).name === 'S3Error')) throw error;
    const reason = await get().then(
      () => undefined,
      (e: unknown) => e,
    );
    // Any S3 code the GET carries is the server's reason (InvalidObjectState, XMinioStorageFull, NoSuchKey...),
    // where the HEAD's status alone would call it a policy or a server that does not speak S3.
    throw errorCode(reason) && (reason as Error).name === 'S3Error' ? reason : error;
  }
}

/** Refusals of a signed request that say nothing of its key: its time or its region is wrong. */
const SIGNING_CODES = new Set(['RequestTimeTooSkewed', 'AuthorizationHeaderMalformed']);

/**
 * What a request asked without the session token showed (EnvironmentSessionToken): S3 refusing the credentials, that
 * the key needs the token; any other S3 error, that S3 took the key; no answer, or a refusal of the signature's time
 * or region, nothing either way (that error is the caller's, and the token stays until S3 says more).
 */
function tokenlessVerdict(error: unknown): TokenlessVerdict {
  const code = errorCode(error);
  if (!code || (error as Error)?.name !== 'S3Error' || SIGNING_CODES.has(code)) return 'no-answer';
  return code in AUTH_REASONS ? 'key-refused' : 'answered';
}

function toBuffer(body: ObjectBody): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Most keys S3 takes in one DeleteObjects request, and most entries one listing page holds. */
const S3_PAGE = 1000;
/** DeleteObjects requests in flight at once. */
const DELETE_CONCURRENCY = 4;

/** ObjectStore on any S3-compatible server (MinIO, S3Proxy, AWS S3) through the minio client. */
export function createS3Store(options: S3StoreOptions): ObjectStore {
  const endpoint = parseS3Endpoint(options.endpoint, options.secure);
  const region = options.region || 'us-east-1';
  // An IPv6 address in brackets, as in a URL: "http://::1:9000" names no port a reader can tell apart.
  const location = `${endpoint.useSSL ? 'https' : 'http'}://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
  if (options.caFile && !endpoint.useSSL) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `FLTS_S3_CA_FILE (setting store.s3.caFile) is set but the S3 endpoint ${location} has no TLS: give an https:// endpoint (or MINIO_SECURE=true), or leave it empty.`, { details: { setting: 'store.s3.caFile' } });
  }
  const ca = options.caFile ? readCertificates({ setting: 'store.s3.caFile', env: 'FLTS_S3_CA_FILE' }, options.caFile).pem : undefined;
  const limits = { idleTimeoutMs: options.idleTimeoutMs ?? 10_000, requestTimeoutMs: options.requestTimeoutMs ?? 60_000 };
  const logger = options.logger ?? silentLogger;
  const { role, environmentToken, clientOptions } = clientCredentials(options, { region, timeoutMs: limits.idleTimeoutMs }, (dropped) => logger.warn(...droppedTokenWarning(dropped, location)));
  const agent = endpoint.useSSL ? new https.Agent({ keepAlive: true, maxSockets: 32, ca }) : new http.Agent({ keepAlive: true, maxSockets: 32 });
  const client = new (minio().Client)({
    endPoint: endpoint.host,
    port: endpoint.port,
    useSSL: endpoint.useSSL,
    ...clientOptions,
    region,
    transport: timedTransport(s3RepliesOnly(endpoint.useSSL ? https : http), limits),
    retryOptions: { disableRetry: true },
    // Keep-alive: the daemon and the server issue many small requests; a fresh TCP connection each is wasteful.
    transportAgent: agent,
  });
  const knownBuckets = new Set<string>();
  // close(): no request is asked again after it, and a wait before asking again ends at once.
  const closing = new AbortController();

  const place = (where: { bucket: string; key?: string }): S3CallPlace =>
    role ? { endpoint: location, region, accessKey: role.accessKeyId, credentialSource: role.source.name, ...where } : { endpoint: location, region, accessKey: options.accessKey, ...where };

  /**
   * A TLS server met with plain HTTP resets the request (Node's) or answers it with a page that is not S3's (Go's,
   * MinIO's: 400 "Client sent an HTTP request to an HTTPS server"), and so does a plain server restarting, or a proxy
   * whose backend is gone. A ClientHello sent once tells them apart: only for a plain endpoint, once the request has
   * failed as asked again (a transient reset is asked again first, and never probed when that answers), and never
   * once the store is closed (its own requests then fail as reset). Its answer holds for the store's life; a probe
   * that met nothing telling is tried again at the next such failure.
   */
  let tlsProbe: Promise<TlsProbeVerdict> | undefined;
  async function plainPortExplained(error: unknown, where: { bucket: string; key?: string }): Promise<unknown> {
    if (endpoint.useSSL || closing.signal.aborted) return error;
    const reset = isDroppedConnection(error);
    if (!reset && !((error as Error)?.name === 'S3Error' && !errorCode(error))) return error;
    tlsProbe ??= probeTls(endpoint, limits.idleTimeoutMs, closing.signal).then((verdict) => {
      if (verdict === 'unknown') tlsProbe = undefined;
      return verdict;
    });
    if ((await tlsProbe) !== 'tls' || closing.signal.aborted) return error;
    return speaksTlsError(error, place(where), reset ? `closed the connection of a plain HTTP request without an answer (${errorCode(error)})` : "answered a plain HTTP request with an error page that is not S3's");
  }

  async function send<T>(where: { bucket: string; key?: string }, action: () => Promise<T>, replayable: boolean): Promise<T> {
    try {
      return await sendAsking(where, action, replayable);
    } catch (error) {
      throw await plainPortExplained(error, where);
    }
  }

  /**
   * One request, asked again once when the server is busy. With role credentials whose session S3 refuses before they
   * expire, asked once more with new ones (role.renewRefused: one fetch for every request refused meanwhile); a second
   * refusal is the store's auth error, saying the new credentials were refused too.
   */
  async function sendAsking<T>(where: { bucket: string; key?: string }, action: () => Promise<T>, replayable: boolean): Promise<T> {
    const isRetriable = (error: unknown): boolean => isBusyAnswer(error) || (replayable && isDroppedConnection(error));
    const busyOnce = () => retryWithBackoff(action, BUSY_ANSWER_RETRY, { isRetriable, signal: closing.signal });
    if (environmentToken) return sendTrying(busyOnce);
    if (!role) return busyOnce();
    // The client asks the provider just before signing and gets these same credentials, unless they are renewed meanwhile.
    const signing = await role.getCredentials();
    try {
      return await busyOnce();
    } catch (error) {
      if (!REFUSED_SESSION_CODES.has(errorCode(error) ?? '')) throw error;
    }
    await role.renewRefused(signing);
    try {
      return await busyOnce();
    } catch (error) {
      throw REFUSED_SESSION_CODES.has(errorCode(error) ?? '') ? translateS3Error(error, { ...place(where), renewed: true }) : error;
    }
  }

  /**
   * Static credentials whose session token came from the environment: a request whose token S3 refuses is asked once
   * more without it (EnvironmentSessionToken.tryWithout); if the key is refused without it too, the first refusal is
   * the caller's.
   */
  async function sendTrying<T>(busyOnce: () => Promise<T>): Promise<T> {
    try {
      return await busyOnce();
    } catch (error) {
      const code = errorCode(error) ?? '';
      if (!environmentToken || !REFUSED_TOKEN_CODES.has(code)) throw error;
      const tokenless = await environmentToken.tryWithout(code, busyOnce, tokenlessVerdict);
      if (!tokenless) throw error;
      return tokenless.result;
    }
  }

  /** `replayable` false: the action must not run twice (a conditional write, a stream already being read). */
  async function call<T>(where: { bucket: string; key?: string }, action: () => Promise<T>, replayable = true): Promise<T> {
    try {
      return await send(where, action, replayable);
    } catch (error) {
      throw translateS3Error(error, place(where));
    }
  }

  // HeadBucket needs s3:ListBucket like a one-key listing; HeadObject needs s3:GetObject like a one-byte read.
  const bucketExists = (bucket: string): Promise<boolean> => headOrReason(() => client.bucketExists(bucket), () => client.listObjectsV2Query(bucket, '', '', '', 1, ''));
  const statObject = (bucket: string, key: string) => headOrReason(() => client.statObject(bucket, key), async () => (await client.getPartialObject(bucket, key, 0, 1)).destroy());

  async function ensureBucket(bucket: string): Promise<void> {
    assertBucketName(bucket);
    if (knownBuckets.has(bucket)) return;
    await call({ bucket }, async () => {
      if (!(await bucketExists(bucket))) {
        try {
          await client.makeBucket(bucket, region);
        } catch (error) {
          // Another process created it between our check and our create: that is the outcome we wanted.
          if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(errorCode(error) ?? '')) throw error;
        }
      }
    });
    knownBuckets.add(bucket);
  }

  /** Writes create the bucket on first use, so a fresh server needs no setup step. */
  async function write(bucket: string, key: string, action: () => Promise<unknown>, replayable = true): Promise<void> {
    assertBucketName(bucket);
    assertObjectKey(key);
    try {
      await send({ bucket, key }, action, replayable);
    } catch (error) {
      if (errorCode(error) !== 'NoSuchBucket') throw translateS3Error(error, place({ bucket, key }));
      knownBuckets.delete(bucket);
      await ensureBucket(bucket);
      await call({ bucket, key }, action, replayable);
    }
  }

  /** A PUT with a precondition; undefined when S3 answers 412 PreconditionFailed (or 409 for a concurrent write). */
  async function conditionalPut(bucket: string, key: string, body: ObjectBody, condition: Record<string, string>): Promise<string | undefined> {
    const buffer = toBuffer(body);
    let etag: string | undefined;
    try {
      await write(bucket, key, async () => {
        etag = (await client.putObject(bucket, key, buffer, buffer.length, { 'Content-Type': 'application/json', ...condition })).etag;
      }, false);
    } catch (error) {
      const code = errorCode(error instanceof FltsError ? error.cause : error) ?? errorCode(error);
      if (code === 'PreconditionFailed' || code === 'ConditionalRequestConflict' || code === 'NoSuchKey') return undefined;
      throw error;
    }
    return etag?.replace(/"/g, '');
  }

  function checked(bucket: string, key: string): void {
    assertBucketName(bucket);
    assertObjectKey(key);
  }

  const store: ObjectStore = {
    kind: 's3',
    location,
    ensureBucket,
    close() {
      // Destroys the sockets of the requests still running too: each fails at once, as a connection the server reset.
      closing.abort(Object.assign(new Error('the store was closed'), { code: 'ECONNRESET' }));
      agent.destroy();
    },
    async put(bucket, key, body, putOptions) {
      const buffer = toBuffer(body);
      const meta = { 'Content-Type': putOptions?.contentType ?? 'application/octet-stream' };
      await write(bucket, key, () => client.putObject(bucket, key, buffer, buffer.length, meta));
    },
    async putIfAbsent(bucket, key, body) {
      return conditionalPut(bucket, key, body, { 'If-None-Match': '*' });
    },
    async putIfVersion(bucket, key, body, version) {
      return conditionalPut(bucket, key, body, { 'If-Match': `"${version}"` });
    },
    async getVersioned(bucket, key) {
      checked(bucket, key);
      // The version first: if the object changes in between, the version is older than the body, and a
      // conditional write with it fails instead of overwriting a change nobody read.
      const info = await call({ bucket, key }, () => statObject(bucket, key)).catch((error: unknown) => {
        if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return undefined;
        throw error;
      });
      if (!info) return undefined;
      try {
        return { body: await store.get(bucket, key), version: info.etag.replace(/"/g, '') };
      } catch (error) {
        if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return undefined;
        throw error;
      }
    },
    async putFile(bucket, key, filePath, putOptions) {
      const meta = { 'Content-Type': putOptions?.contentType ?? 'application/octet-stream' };
      await write(bucket, key, () => client.fPutObject(bucket, key, filePath, meta));
    },
    async get(bucket, key) {
      checked(bucket, key);
      return call({ bucket, key }, async () => collect(await client.getObject(bucket, key)));
    },
    async getStream(bucket, key) {
      checked(bucket, key);
      return call({ bucket, key }, () => client.getObject(bucket, key));
    },
    async getFile(bucket, key, filePath) {
      const source = await store.getStream(bucket, key);
      const target = path.resolve(filePath);
      await makeDirectory(path.dirname(target));
      // Download beside the target and rename, so a failed transfer never leaves a truncated file in place.
      const temp = `${target}.${randomUUID()}.part`;
      try {
        await call({ bucket, key }, () => pipeline(source, createWriteStream(temp)), false);
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
    async stat(bucket, key): Promise<ObjectInfo | undefined> {
      checked(bucket, key);
      try {
        const info = await call({ bucket, key }, () => statObject(bucket, key));
        return { key, size: info.size, lastModified: info.lastModified };
      } catch (error) {
        if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return undefined;
        throw error;
      }
    },
    async exists(bucket, key) {
      return (await store.stat(bucket, key)) !== undefined;
    },
    async list(bucket, prefix = '', listOptions) {
      assertBucketName(bucket);
      assertKeyPrefix(prefix);
      const items = await listPages(bucket, prefix, '', listOptions?.limit ?? Infinity);
      const out = items.flatMap((item) => (item.name ? [{ key: item.name, size: item.size, lastModified: item.lastModified }] : []));
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async listFolders(bucket, prefix = '') {
      assertBucketName(bucket);
      assertKeyPrefix(prefix);
      // With the delimiter the listing stops at the next "/" and names each folder once, as a common prefix.
      const items = await listPages(bucket, prefix, '/', Infinity);
      return items.flatMap((item) => (item.prefix ? [item.prefix] : [])).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    },
    async delete(bucket, key) {
      checked(bucket, key);
      try {
        await call({ bucket, key }, () => client.removeObject(bucket, key));
      } catch (error) {
        if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return;
        throw error;
      }
    },
    async deleteMany(bucket, keys) {
      for (const key of keys) checked(bucket, key);
      const batches: string[][] = [];
      for (let at = 0; at < keys.length; at += S3_PAGE) batches.push(keys.slice(at, at + S3_PAGE));
      const refused = new Map<string, FltsError>();
      for (let at = 0; at < batches.length; at += DELETE_CONCURRENCY) {
        for (const answer of await Promise.all(batches.slice(at, at + DELETE_CONCURRENCY).map((batch) => deleteBatch(bucket, batch)))) {
          for (const [key, error] of answer) refused.set(key, error);
        }
      }
      const result: DeleteManyResult = { deleted: [], failed: [] };
      for (const key of keys) {
        const error = refused.get(key);
        if (error) result.failed.push({ key, error });
        else result.deleted.push(key);
      }
      return result;
    },
  };

  /** One DeleteObjects request: the keys it refused, by key. A bucket that is not there has nothing to delete. */
  async function deleteBatch(bucket: string, batch: string[]): Promise<Map<string, FltsError>> {
    const refused = new Map<string, FltsError>();
    let refusals: DeleteRefusal[];
    try {
      refusals = (await call({ bucket }, () => client.removeObjects(bucket, batch))) as DeleteRefusal[];
    } catch (error) {
      if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return refused;
      throw error;
    }
    for (const refusal of refusals) {
      const key = requestedKey(refusal.Key, batch);
      // Deleting what is not there is no error here either (S3 itself never reports it; other servers might).
      if (refusal.Code === 'NoSuchKey') continue;
      refused.set(key, translateDeleteRefusal(refusal, place({ bucket, key })));
    }
    return refused;
  }

  /**
   * A listing one page after another, each page asked (and asked again when the server is busy) on its own, until
   * `limit` entries: a bounded listing asks for no page beyond its bound. A bucket nobody wrote to yet is empty,
   * as on the filesystem.
   */
  async function listPages(bucket: string, prefix: string, delimiter: '' | '/', limit: number): Promise<BucketItem[]> {
    const items: BucketItem[] = [];
    if (limit < 1) return items;
    let token = '';
    try {
      do {
        const page = await call({ bucket }, () => client.listObjectsV2Query(bucket, prefix, token, delimiter, Math.min(S3_PAGE, limit - items.length), ''));
        items.push(...page.objects);
        token = page.isTruncated ? String(page.nextContinuationToken) : '';
      } while (token !== '' && items.length < limit);
    } catch (error) {
      if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return [];
      throw error;
    }
    return items.slice(0, limit);
  }
  return store;
}
