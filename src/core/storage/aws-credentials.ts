// The client's provider interface: a class the package exports by path only, not from its main entry.
import { CredentialProvider } from 'minio/dist/esm/CredentialProvider.mjs';
import { Credentials } from 'minio/dist/esm/Credentials.mjs';
import type { AwsCredentialSource, AwsCredentials } from './aws-credential-sources.js';

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
