import { isIP } from 'node:net';
import type { AwsCredentialSettings } from '../config/specs/distributed.js';
import { clip, singleLine } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { readRegularFile } from '../read-regular-file.js';
import { redactSecrets, rememberFetchedSecrets } from '../redact.js';
import { isTlsRefusal } from '../tls-files.js';

/** A role's temporary credentials; no `expiration` = they do not expire. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** One place of the standard AWS chain that credentials are fetched from, named for messages. */
export interface AwsCredentialSource {
  /** e.g. `STS AssumeRoleWithWebIdentity at https://sts.eu-west-1.amazonaws.com` */
  readonly name: string;
  fetch(): Promise<AwsCredentials>;
}

export interface AwsCredentialSourceOptions {
  /** The region of the regional STS endpoint. */
  region: string;
  /** Limit of one request to the source: connect, answer and body. */
  timeoutMs: number;
}

type AwsSetting = keyof AwsCredentialSettings;

const ENV_NAMES: Readonly<Record<AwsSetting, string>> = {
  webIdentityTokenFile: 'AWS_WEB_IDENTITY_TOKEN_FILE',
  roleArn: 'AWS_ROLE_ARN',
  roleSessionName: 'AWS_ROLE_SESSION_NAME',
  stsEndpoint: 'AWS_ENDPOINT_URL_STS',
  containerCredentialsRelativeUri: 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  containerCredentialsFullUri: 'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  containerAuthorizationTokenFile: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  containerAuthorizationToken: 'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  imdsEndpoint: 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  imdsDisabled: 'AWS_EC2_METADATA_DISABLED',
};

function invalid(key: AwsSetting, message: string, cause?: unknown): FltsError {
  return new FltsError('FLTS_CONFIG_INVALID_VALUE', `${ENV_NAMES[key]} (setting store.s3.aws.${key}) ${message}`, { cause, details: { setting: `store.s3.aws.${key}` } });
}

function parseUrl(key: AwsSetting, text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw invalid(key, `= ${JSON.stringify(redactSecrets(text))} is not valid: expected an http:// or https:// URL.`);
  return url;
}

/** Where an http container endpoint may be, as the AWS SDKs allow it: the token must not travel in clear elsewhere. */
const CONTAINER_HOSTS = new Set(['169.254.170.2', '169.254.170.23', 'fd00:ec2::23', 'localhost', '::1']);

function isAllowedContainerHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return CONTAINER_HOSTS.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
}

/** A file read at every renewal (Kubernetes rotates projected tokens); unreadable or empty is a setting to fix. */
async function readTokenFile(key: AwsSetting, file: string): Promise<string> {
  let text: string;
  try {
    text = readRegularFile(file);
  } catch (cause) {
    throw invalid(key, `= ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}): the token file is mounted by the platform (a projected service account token); check the pod's volumes.`, cause);
  }
  const token = text.trim();
  if (token === '') throw invalid(key, `= ${file} is empty: expected a token.`);
  // Read at run time, not a setting: known from here on, so that every output masks it as it masks the settings' secrets.
  rememberFetchedSecrets([token]);
  return token;
}

/** What the source said, quoted in a message: one short line, never a credential. */
function quoted(text: string): string {
  return clip(singleLine(redactSecrets(text)).trim(), 200);
}

interface Answer {
  status: number;
  text: string;
}

const errorCode = (error: unknown): string | undefined => {
  const own = (error as { code?: unknown })?.code;
  const cause = ((error as { cause?: { code?: unknown } })?.cause)?.code;
  return typeof own === 'string' ? own : typeof cause === 'string' ? cause : undefined;
};

/** Sends one request to a credentials source; a failure to get any answer is FLTS_STORE_UNAVAILABLE (or TLS_FAILED). */
async function send(source: string, url: URL, init: { method: 'GET' | 'PUT' | 'POST'; headers?: Record<string, string>; body?: string }, timeoutMs: number): Promise<Answer> {
  try {
    // undici (~110 modules) loads on the first request, not with every command that reaches this module.
    const { request } = await import('undici');
    const response = await request(url, { ...init, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    return { status: response.statusCode, text: await response.body.text() };
  } catch (error) {
    const code = errorCode(error);
    const details = { source, networkCode: code };
    if (isTlsRefusal(code)) throw new FltsError('FLTS_STORE_TLS_FAILED', `TLS with the AWS credentials source ${source} failed (${code}).`, { cause: error, details });
    const timedOut = (error as Error)?.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    const why = timedOut ? `no answer within ${timeoutMs / 1000} s (store.s3.idleTimeoutMs)` : (code ?? quoted((error as Error)?.message ?? String(error)));
    throw new FltsError('FLTS_STORE_UNAVAILABLE', `The AWS credentials source ${source} is unreachable (${why}), so no S3 request can be signed.`, { cause: error, details });
  }
}

/** Codes of a source's refusal that waiting may mend: its own overload or its identity provider's. */
const TRANSIENT_CODES = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'IDPCommunicationError', 'ServiceUnavailable', 'InternalFailure']);

const REFUSED_HINT =
  'The AWS credentials source refused to hand out the role\'s credentials (FLTS_S3_CREDENTIALS=aws). IRSA: the service account\'s eks.amazonaws.com/role-arn annotation names the role, whose trust policy must allow the cluster\'s OIDC provider and this service account. EKS Pod Identity: a pod identity association must exist for this namespace and service account. EC2: the instance needs an instance profile. Restart after fixing it.';

/** A non-2xx answer: overload (5xx, 429, throttling) -> UNAVAILABLE; any other refusal -> AUTH_FAILED. */
function refusal(source: string, answer: Answer, awsCode: string | undefined, message: string | undefined): FltsError {
  const said = [awsCode, message && quoted(message)].filter(Boolean).join(': ');
  const text = `The AWS credentials source ${source} answered HTTP ${answer.status}${said ? ` (${said})` : ''}`;
  const details = { source, status: answer.status, awsCode };
  if (answer.status === 429 || answer.status >= 500 || (awsCode !== undefined && TRANSIENT_CODES.has(awsCode))) {
    return new FltsError('FLTS_STORE_UNAVAILABLE', `${text}, so no S3 request can be signed.`, { details });
  }
  return new FltsError('FLTS_STORE_AUTH_FAILED', `${text}: it refuses the role's credentials to this process.`, { details, hint: REFUSED_HINT });
}

function notCredentials(source: string, what: string): FltsError {
  return new FltsError('FLTS_STORE_UNAVAILABLE', `The AWS credentials source ${source} answered ${what}; check that it is a credentials endpoint.`, { details: { source } });
}

function expirationOf(source: string, text: string | undefined): Date | undefined {
  if (text === undefined || text === '') return undefined;
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw notCredentials(source, `an Expiration that is not a time (${quoted(text)})`);
  return at;
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    // JSON.parse quotes the text it fails on, credentials perhaps: its error is not kept.
    return undefined;
  }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The container and instance metadata format: AccessKeyId, SecretAccessKey, Token, Expiration (and Code on EC2). */
function containerCredentials(source: string, answer: Answer): AwsCredentials {
  const body = jsonObject(answer.text);
  if (answer.status < 200 || answer.status >= 300) throw refusal(source, answer, str(body?.code) ?? str(body?.Code), str(body?.message) ?? str(body?.Message));
  if (!body) throw notCredentials(source, 'something that is not a JSON object');
  if (body.Code !== undefined && body.Code !== 'Success') throw refusal(source, answer, str(body.Code), str(body.Message));
  const accessKeyId = str(body.AccessKeyId);
  const secretAccessKey = str(body.SecretAccessKey);
  if (!accessKeyId || !secretAccessKey) throw notCredentials(source, 'JSON without AccessKeyId and SecretAccessKey');
  return { accessKeyId, secretAccessKey, sessionToken: str(body.Token) || undefined, expiration: expirationOf(source, str(body.Expiration)) };
}

function xmlText(xml: string, element: string): string | undefined {
  const match = new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml);
  return match?.[1].replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function webIdentitySource(aws: AwsCredentialSettings, options: AwsCredentialSourceOptions): AwsCredentialSource {
  if (!aws.roleArn) throw invalid('roleArn', `is empty but AWS_WEB_IDENTITY_TOKEN_FILE is set: the web identity token is exchanged for the credentials of a role (EKS IRSA sets both from the service account's eks.amazonaws.com/role-arn annotation).`);
  const region = options.region || 'us-east-1';
  const endpoint = aws.stsEndpoint ? parseUrl('stsEndpoint', aws.stsEndpoint) : new URL(`https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}/`);
  const name = `STS AssumeRoleWithWebIdentity at ${redactSecrets(endpoint.origin)}`;
  return {
    name,
    async fetch() {
      const token = await readTokenFile('webIdentityTokenFile', aws.webIdentityTokenFile);
      // In the body, not the query string (as minio's provider sends it): a URL ends up in messages and access logs.
      const body = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: aws.roleArn, RoleSessionName: aws.roleSessionName || `flts-${Date.now()}`, WebIdentityToken: token });
      const answer = await send(name, endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/xml' }, body: body.toString() }, options.timeoutMs);
      if (answer.status < 200 || answer.status >= 300) throw refusal(name, answer, xmlText(answer.text, 'Code'), xmlText(answer.text, 'Message'));
      const accessKeyId = xmlText(answer.text, 'AccessKeyId');
      const secretAccessKey = xmlText(answer.text, 'SecretAccessKey');
      if (!accessKeyId || !secretAccessKey) throw notCredentials(name, 'without Credentials (AccessKeyId, SecretAccessKey)');
      return { accessKeyId, secretAccessKey, sessionToken: xmlText(answer.text, 'SessionToken') || undefined, expiration: expirationOf(name, xmlText(answer.text, 'Expiration')) };
    },
  };
}

function containerSource(aws: AwsCredentialSettings, options: AwsCredentialSourceOptions): AwsCredentialSource {
  let url: URL;
  if (aws.containerCredentialsRelativeUri) {
    const relative = aws.containerCredentialsRelativeUri;
    url = new URL(`http://169.254.170.2${relative.startsWith('/') ? '' : '/'}${relative}`);
  } else {
    url = parseUrl('containerCredentialsFullUri', aws.containerCredentialsFullUri);
    if (url.protocol === 'http:' && !isAllowedContainerHost(url.hostname)) {
      throw invalid('containerCredentialsFullUri', `= ${JSON.stringify(redactSecrets(url.href))} is not allowed: over http only a loopback address, 169.254.170.2 (ECS) or 169.254.170.23 / fd00:ec2::23 (EKS Pod Identity) may be asked, since the authorization token would travel in clear; use https.`);
    }
  }
  if (/[\r\n]/.test(aws.containerAuthorizationToken)) throw invalid('containerAuthorizationToken', 'holds a line break, which an HTTP header cannot carry.');
  const name = `container credentials endpoint ${redactSecrets(`${url.origin}${url.pathname}`)}`;
  return {
    name,
    async fetch() {
      const token = aws.containerAuthorizationTokenFile ? await readTokenFile('containerAuthorizationTokenFile', aws.containerAuthorizationTokenFile) : aws.containerAuthorizationToken;
      if (/[\r\n]/.test(token)) throw invalid('containerAuthorizationTokenFile', `= ${aws.containerAuthorizationTokenFile} holds more than one line: expected one token.`);
      const answer = await send(name, url, { method: 'GET', headers: { accept: 'application/json', ...(token ? { authorization: token } : {}) } }, options.timeoutMs);
      return containerCredentials(name, answer);
    },
  };
}

/** IMDSv2: a session token (PUT), the role name, then the role's credentials. */
function imdsSource(aws: AwsCredentialSettings, options: AwsCredentialSourceOptions): AwsCredentialSource {
  const base = aws.imdsEndpoint ? parseUrl('imdsEndpoint', aws.imdsEndpoint) : new URL('http://169.254.169.254');
  const name = `EC2 instance metadata service ${redactSecrets(base.origin)}`;
  const at = (path: string) => new URL(path, base);
  return {
    name,
    async fetch() {
      const session = await send(name, at('/latest/api/token'), { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' } }, options.timeoutMs);
      if (session.status !== 200) throw refusal(name, session, undefined, undefined);
      rememberFetchedSecrets([session.text.trim()]);
      const headers = { 'x-aws-ec2-metadata-token': session.text.trim() };
      const roles = await send(name, at('/latest/meta-data/iam/security-credentials/'), { method: 'GET', headers }, options.timeoutMs);
      const role = roles.text.split(/\r?\n/)[0]?.trim();
      if (roles.status === 404 || (roles.status === 200 && !role)) {
        throw new FltsError('FLTS_STORE_AUTH_FAILED', `The ${name} names no IAM role: this instance has no instance profile, so it has no credentials to hand out.`, { details: { source: name, status: roles.status }, hint: REFUSED_HINT });
      }
      if (roles.status !== 200) throw refusal(name, roles, undefined, undefined);
      const answer = await send(name, at(`/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`), { method: 'GET', headers }, options.timeoutMs);
      return containerCredentials(name, answer);
    },
  };
}

/**
 * The first source of the standard AWS chain that the environment configures (the SDKs' order, static keys aside):
 * a web identity token (EKS IRSA), a container endpoint (ECS, EKS Pod Identity), then the instance metadata service.
 * Settings that cannot work are refused here, before any request.
 */
export function selectAwsCredentialSource(aws: AwsCredentialSettings, options: AwsCredentialSourceOptions): AwsCredentialSource {
  if (aws.webIdentityTokenFile) return webIdentitySource(aws, options);
  if (aws.containerCredentialsRelativeUri || aws.containerCredentialsFullUri) return containerSource(aws, options);
  if (!aws.imdsDisabled) return imdsSource(aws, options);
  throw new FltsError(
    'FLTS_CONFIG_INVALID_VALUE',
    'FLTS_S3_CREDENTIALS (setting store.s3.credentials) is aws but the environment names no source of AWS credentials: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (EKS IRSA), AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI (EKS Pod Identity, ECS) are unset and AWS_EC2_METADATA_DISABLED is true; use FLTS_S3_CREDENTIALS=static with an access key otherwise.',
    { details: { setting: 'store.s3.credentials' } },
  );
}
