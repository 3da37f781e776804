import type { ClientOptions } from 'minio';
// The client's provider interface: a class the package exports by path only, not from its main entry.
import { CredentialProvider } from 'minio/dist/esm/CredentialProvider.mjs';
import { Credentials } from 'minio/dist/esm/Credentials.mjs';
import type { AwsCredentialSettings } from '../config/specs/distributed.js';
import { FltsError } from '../errors.js';
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
  if (!options.sessionToken) return key;
  // It travels as the x-amz-security-token header, which Node refuses to send with a control character in it.
  if (/[\x00-\x1f\x7f]/.test(options.sessionToken)) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', 'store.s3.sessionToken (AWS_SESSION_TOKEN) holds a line break or another control character, which an HTTP header cannot carry: expected one token.', { details: { setting: 'store.s3.sessionToken' } });
  }
  return { ...key, sessionToken: options.sessionToken };
}

/** The credentials part of the minio client's options, and the role provider when the credentials are aws. */
export function clientCredentials(options: CredentialOptions, source: AwsCredentialSourceOptions): { role?: RenewingAwsCredentials; clientOptions: Pick<ClientOptions, 'accessKey' | 'secretKey' | 'sessionToken' | 'credentialsProvider'> } {
  if (options.credentials !== 'aws') return { clientOptions: staticKey(options) };
  const role = new RenewingAwsCredentials(selectAwsCredentialSource({ ...NO_AWS_SETTINGS, ...options.aws }, source));
  // The same class at run time; the package's types for its main entry declare it a second time, for CommonJS.
  return { role, clientOptions: { credentialsProvider: role as unknown as ClientOptions['credentialsProvider'] } };
}
