import type { ClientOptions } from 'minio';
import type { AwsCredentialSettings } from '../config/specs/distributed.js';
import { FltsError } from '../errors.js';
import { rememberFetchedSecrets } from '../redact.js';
import { CredentialProvider, Credentials } from './minio-module.js';
import { selectAwsCredentialSource, type AwsCredentialSource, type AwsCredentials, type AwsCredentialSourceOptions } from './aws-credential-sources.js';

/** Renewal starts this long before the credentials expire (the AWS SDKs' window), or half their life when shorter. */
export const RENEW_BEFORE_MS = 5 * 60_000;
/** After a failed renewal, credentials that still hold are used this long before the source is asked again. */
export const RENEW_RETRY_MS = 10_000;

interface Held {
  credentials: Credentials;
  accessKeyId: string;
  expiresAt: number;
  renewAt: number;
}

/**
 * The minio client's credentials provider for a role's temporary credentials: the client asks before every request,
 * this answers from what it holds until the renewal time, then fetches once for all callers waiting at that moment.
 * A renewal that fails while the held credentials still hold keeps them (a credentials endpoint restarting must not
 * fail S3 calls) and asks again RENEW_RETRY_MS later; once they have expired, the failure is the caller's.
 * Credentials S3 refuses before their time (revoked, or a clock ahead of this host's) are dropped by renewRefused.
 */
export class RenewingAwsCredentials extends CredentialProvider {
  #held: Held | undefined;
  #renewing: Promise<Held> | undefined;

  constructor(
    readonly source: AwsCredentialSource,
    private readonly now: () => number = Date.now,
  ) {
    super({ accessKey: '', secretKey: '' });
  }

  /** The access key id in use (not a secret: S3 and CloudTrail show it), for messages; undefined before the first fetch. */
  get accessKeyId(): string | undefined {
    return this.#held?.accessKeyId;
  }

  override async getCredentials(): Promise<Credentials> {
    const held = this.#held;
    if (held && this.now() < held.renewAt) return held.credentials;
    try {
      return (await this.#renew()).credentials;
    } catch (error) {
      if (held && this.now() < held.expiresAt) {
        held.renewAt = Math.min(held.expiresAt, this.now() + RENEW_RETRY_MS);
        return held.credentials;
      }
      throw error;
    }
  }

  /**
   * S3 refused the session of `refused` (ExpiredToken and the like): unless they were replaced meanwhile, drops them
   * and fetches new ones. Callers refused at the same time share that fetch; one refused after it finds the new
   * credentials held and fetches nothing. A failed fetch is the caller's: the refused credentials are no fallback.
   */
  async renewRefused(refused: Credentials): Promise<void> {
    if (this.#held?.credentials === refused) this.#held = undefined;
    else if (this.#held) return;
    await this.#renew();
  }

  #renew(): Promise<Held> {
    this.#renewing ??= this.source
      .fetch()
      .then((fresh) => (this.#held = this.#hold(fresh)))
      .finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  #hold(fresh: AwsCredentials): Held {
    // Fetched, not configured: known from here on, so that every output masks them as it masks the settings' secrets.
    rememberFetchedSecrets([fresh.secretAccessKey, fresh.sessionToken ?? '']);
    const fetchedAt = this.now();
    const expiresAt = fresh.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    const lead = Math.min(RENEW_BEFORE_MS, Math.max(0, (expiresAt - fetchedAt) / 2));
    return {
      credentials: new Credentials({ accessKey: fresh.accessKeyId, secretKey: fresh.secretAccessKey, sessionToken: fresh.sessionToken }),
      accessKeyId: fresh.accessKeyId,
      expiresAt,
      renewAt: expiresAt - lead,
    };
  }
}

/** What store.s3 says about credentials (S3StoreOptions' part of it). */
export interface CredentialOptions {
  /** static (default) = accessKey and secretKey; aws = a role's temporary credentials, found through `aws`. */
  credentials?: 'static' | 'aws';
  /** The standard AWS environment (store.s3.aws.*), read with credentials aws; unset fields are empty. */
  aws?: Partial<AwsCredentialSettings>;
  accessKey?: string;
  secretKey?: string;
  /** With temporary static credentials: the session token issued with accessKey; empty or unset = none. */
  sessionToken?: string;
  /**
   * The environment variable sessionToken was read from (AWS_SESSION_TOKEN), when it came from there and not from a
   * setting or a flag: a shell may keep it from another AWS session, so it is dropped when it cannot belong to
   * accessKey (clientCredentials). Undefined = the token was asked for, and is always sent.
   */
  sessionTokenEnv?: string;
}

/** AWS's long-term access key ids (an IAM user's or the root account's); they never take a session token. */
const LONG_TERM_AWS_KEY = /^AKIA[A-Z0-9]{16}$/;
/** AWS's temporary access key ids (from STS); they never work without their session token. */
const TEMPORARY_AWS_KEY = /^ASIA[A-Z0-9]{16}$/;

/** What asking again without the session token showed: S3 answered (the key holds), refused the key, or did not answer. */
export type TokenlessVerdict = 'answered' | 'key-refused' | 'no-answer';

/** A session token from the environment is not sent: the key never takes one, or S3 answered the key without it. */
export interface DroppedSessionToken {
  env: string;
  accessKey: string;
  /** The code S3 refused the token with; undefined = an AWS long-term key, left without it from the start. */
  s3Code?: string;
}

/**
 * Static credentials whose session token came from the environment: S3 refusing the token itself (MinIO's
 * InvalidTokenId, AWS's InvalidToken) may mean it belongs to another key, as when a shell that holds an AWS session
 * runs flts against a local MinIO with its root user. The refused request is then asked once without the token
 * (tryWithout): if S3 answers, the token is never sent again and `onDropped` told once; if S3 refuses the key without
 * it, the token was needed and is kept, and no request tries without it again. Requests refused while one tries wait
 * for its outcome.
 */
export class EnvironmentSessionToken extends CredentialProvider {
  readonly #with: Credentials;
  readonly #without: Credentials;
  #state: 'sending' | 'trying' | 'dropped' | 'needed' = 'sending';
  #trial: Promise<void> = Promise.resolve();

  constructor(
    private readonly key: { accessKey: string; secretKey: string; sessionToken: string; env: string },
    private readonly onDropped: (dropped: DroppedSessionToken) => void,
  ) {
    super({ accessKey: '', secretKey: '' });
    this.#with = new Credentials(key);
    this.#without = new Credentials({ accessKey: key.accessKey, secretKey: key.secretKey });
  }

  override async getCredentials(): Promise<Credentials> {
    return this.#state === 'trying' || this.#state === 'dropped' ? this.#without : this.#with;
  }

  /**
   * S3 refused a request's session token with `s3Code`: asks `again` without the token, its result in `result`;
   * undefined when the token is needed (found now or before), the refusal then being the caller's to report.
   */
  async tryWithout<T>(s3Code: string, again: () => Promise<T>, verdict: (error: unknown) => TokenlessVerdict): Promise<{ result: T } | undefined> {
    while (this.#state === 'trying') await this.#trial;
    if (this.#state === 'needed') return undefined;
    if (this.#state === 'dropped') return { result: await again() };
    this.#state = 'trying';
    let settled!: () => void;
    this.#trial = new Promise<void>((resolve) => (settled = resolve));
    try {
      const result = await again();
      this.#drop(s3Code);
      return { result };
    } catch (error) {
      const outcome = verdict(error);
      if (outcome === 'key-refused') {
        this.#state = 'needed';
        return undefined;
      }
      // An S3 error about the request itself (NoSuchKey, AccessDenied) still took the key; no answer proves nothing.
      if (outcome === 'answered') this.#drop(s3Code);
      else this.#state = 'sending';
      throw error;
    } finally {
      settled();
    }
  }

  #drop(s3Code: string): void {
    this.#state = 'dropped';
    this.onDropped({ env: this.key.env, accessKey: this.key.accessKey, s3Code });
  }
}

const NO_AWS_SETTINGS: AwsCredentialSettings = {
  webIdentityTokenFile: '', roleArn: '', roleSessionName: '', stsEndpoint: '', containerCredentialsRelativeUri: '', containerCredentialsFullUri: '',
  containerAuthorizationTokenFile: '', containerAuthorizationToken: '', imdsEndpoint: '', imdsDisabled: false,
};

/** The key pair of static credentials; without one the client would send every request unsigned, as anonymous. */
function staticKey(options: CredentialOptions): { accessKey: string; secretKey: string; sessionToken?: string } {
  const missing = !options.accessKey ? 'store.s3.accessKey (MINIO_ROOT_USER, MINIO_ACCESS_KEY or AWS_ACCESS_KEY_ID)' : !options.secretKey ? 'store.s3.secretKey (MINIO_ROOT_PASSWORD, MINIO_SECRET_KEY or AWS_SECRET_ACCESS_KEY)' : undefined;
  if (missing) {
    const setting = missing.split(' ')[0];
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `${missing} is empty but FLTS_S3_CREDENTIALS (setting store.s3.credentials) is static, which signs every S3 request with an access key and its secret: set both, or FLTS_S3_CREDENTIALS=aws to take an IAM role's credentials from the AWS environment.`, {
      details: { setting },
    });
  }
  const key = { accessKey: options.accessKey as string, secretKey: options.secretKey as string };
  // A key read from a file or a Kubernetes Secret written with `echo` ends with a line break. In the access key id
  // (sent in the Authorization header) Node refused the request, FLTS_INTERNAL; in the secret (only hashed) S3 refused
  // the signature, which read as the wrong secret. Neither value is shown: the secret never is.
  if (/[^\t\x20-\x7e\x80-\xff]/.test(key.accessKey)) throw unsendableKey('store.s3.accessKey (MINIO_ROOT_USER, MINIO_ACCESS_KEY or AWS_ACCESS_KEY_ID)', key.accessKey, 'which the Authorization header cannot carry');
  if (/[\x00-\x1f\x7f]/.test(key.secretKey)) throw unsendableKey('store.s3.secretKey (MINIO_ROOT_PASSWORD, MINIO_SECRET_KEY or AWS_SECRET_ACCESS_KEY)', key.secretKey, 'which no S3 secret key holds');
  if (!options.sessionToken) return key;
  // It travels as the x-amz-security-token header, which Node refuses to send with a control character in it.
  if (/[\x00-\x1f\x7f]/.test(options.sessionToken)) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', 'store.s3.sessionToken (AWS_SESSION_TOKEN) holds a line break or another control character, which an HTTP header cannot carry: expected one token.', { details: { setting: 'store.s3.sessionToken' } });
  }
  return { ...key, sessionToken: options.sessionToken };
}

function unsendableKey(setting: string, value: string, why: string): FltsError {
  const what = /[\r\n]$/.test(value)
    ? 'ends with a line break (a file or Secret written with echo, say)'
    : /[\x00-\x1f\x7f]/.test(value)
      ? 'holds a line break or another control character'
      : 'holds a character beyond Latin-1';
  return new FltsError('FLTS_CONFIG_INVALID_VALUE', `${setting} ${what}, ${why}: remove it.`, { details: { setting: setting.split(' ')[0] } });
}

type ClientCredentialOptions = Pick<ClientOptions, 'accessKey' | 'secretKey' | 'sessionToken' | 'credentialsProvider'>;

/** What clientCredentials makes of the settings. */
export interface ClientCredentials {
  clientOptions: ClientCredentialOptions;
  /** The renewing provider of credentials aws. */
  role?: RenewingAwsCredentials;
  /** Static credentials with a session token from the environment that S3 may show to belong to another key. */
  environmentToken?: EnvironmentSessionToken;
}

/**
 * Static credentials with a session token from the environment, where nothing says it was meant for this key: an AWS
 * long-term key (AKIA...) never takes one, so it is left out from the start; an AWS temporary key (ASIA...) never works
 * without one, so it is always sent; any other key (MinIO's, say) sends it until S3 refuses it (EnvironmentSessionToken).
 */
function staticCredentials(options: CredentialOptions, onDropped: (dropped: DroppedSessionToken) => void): ClientCredentials {
  const key = staticKey(options);
  const env = options.sessionTokenEnv;
  if (!key.sessionToken || !env || TEMPORARY_AWS_KEY.test(key.accessKey)) return { clientOptions: key };
  if (LONG_TERM_AWS_KEY.test(key.accessKey)) {
    onDropped({ env, accessKey: key.accessKey });
    return { clientOptions: { accessKey: key.accessKey, secretKey: key.secretKey } };
  }
  const environmentToken = new EnvironmentSessionToken({ ...key, sessionToken: key.sessionToken, env }, onDropped);
  return { environmentToken, clientOptions: { credentialsProvider: environmentToken } };
}

/**
 * The credentials part of the minio client's options, and the role provider when the credentials are aws.
 * `onDropped` hears (once at most) that a session token from the environment is not sent.
 */
export function clientCredentials(options: CredentialOptions, source: AwsCredentialSourceOptions, onDropped: (dropped: DroppedSessionToken) => void = () => {}): ClientCredentials {
  if (options.credentials !== 'aws') return staticCredentials(options, onDropped);
  const role = new RenewingAwsCredentials(selectAwsCredentialSource({ ...NO_AWS_SETTINGS, ...options.aws }, source));
  return { role, clientOptions: { credentialsProvider: role } };
}
