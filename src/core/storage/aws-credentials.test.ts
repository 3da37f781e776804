import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { forgetSecrets, redactSecrets } from '../redact.js';
import type { AwsCredentialSource, AwsCredentials } from './aws-credential-sources.js';
import { clientCredentials, EnvironmentSessionToken, RENEW_BEFORE_MS, RENEW_RETRY_MS, RenewingAwsCredentials, type DroppedSessionToken } from './aws-credentials.js';

const MINUTE = 60_000;

/** A source handing out numbered credentials that expire `lifetimeMs` after the clock; `fail` makes the next fetches fail. */
function fakeSource(clock: { now: number }, lifetimeMs: number | undefined) {
  const state = { fetches: 0, fail: false };
  const source: AwsCredentialSource = {
    name: 'test source',
    async fetch(): Promise<AwsCredentials> {
      state.fetches += 1;
      if (state.fail) throw new FltsError('FLTS_STORE_UNAVAILABLE', 'source down');
      const n = state.fetches;
      return { accessKeyId: `AKID${n}`, secretAccessKey: `secret-${n}`, sessionToken: `token-${n}`, expiration: lifetimeMs === undefined ? undefined : new Date(clock.now + lifetimeMs) };
    },
  };
  return { source, state };
}

describe('core > storage > aws-credentials', () => {
  it('answers from the credentials it holds until RENEW_BEFORE_MS before they expire, then fetches new ones', async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const { source, state } = fakeSource(clock, 60 * MINUTE);
    const provider = new RenewingAwsCredentials(source, () => clock.now);
    expect(provider.accessKeyId).toBeUndefined();
    const first = await provider.getCredentials();
    expect([first.getAccessKey(), first.getSecretKey(), first.getSessionToken()]).toEqual(['AKID1', 'secret-1', 'token-1']);
    expect(provider.accessKeyId).toBe('AKID1');
    clock.now += 60 * MINUTE - RENEW_BEFORE_MS - 1;
    expect((await provider.getCredentials()).getSessionToken()).toBe('token-1');
    clock.now += 1;
    expect((await provider.getCredentials()).getSessionToken()).toBe('token-2');
    expect(state.fetches).toBe(2);
  });

  it('knows the credentials it fetched as secrets from then on: every output masks them', async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const provider = new RenewingAwsCredentials(fakeSource(clock, 60 * MINUTE).source, () => clock.now);
    try {
      await provider.getCredentials();
      expect(redactSecrets('S3 said secret-1 and token-1 are wrong for AKID1')).toBe('S3 said *** and *** are wrong for AKID1');
    } finally {
      forgetSecrets();
    }
  });

  it('renews short-lived credentials halfway, and never renews credentials without an expiry', async () => {
    const clock = { now: 0 };
    const short = fakeSource(clock, 2 * MINUTE);
    const provider = new RenewingAwsCredentials(short.source, () => clock.now);
    await provider.getCredentials();
    clock.now += MINUTE - 1;
    await provider.getCredentials();
    expect(short.state.fetches).toBe(1);
    clock.now += 1;
    await provider.getCredentials();
    expect(short.state.fetches).toBe(2);

    const lasting = fakeSource(clock, undefined);
    const forever = new RenewingAwsCredentials(lasting.source, () => clock.now);
    await forever.getCredentials();
    clock.now += 365 * 24 * 60 * MINUTE;
    await forever.getCredentials();
    expect(lasting.state.fetches).toBe(1);
  });

  it('fetches once for every request waiting at the same moment', async () => {
    const clock = { now: 0 };
    const { source, state } = fakeSource(clock, 60 * MINUTE);
    const provider = new RenewingAwsCredentials(source, () => clock.now);
    const all = await Promise.all(Array.from({ length: 8 }, () => provider.getCredentials()));
    expect(new Set(all.map((c) => c.getSessionToken()))).toEqual(new Set(['token-1']));
    expect(state.fetches).toBe(1);
  });

  it('keeps credentials that still hold through a failed renewal, asking again RENEW_RETRY_MS later, and fails once they expired', async () => {
    const clock = { now: 0 };
    const { source, state } = fakeSource(clock, 60 * MINUTE);
    const provider = new RenewingAwsCredentials(source, () => clock.now);
    await provider.getCredentials();
    state.fail = true;
    clock.now = 56 * MINUTE;
    expect((await provider.getCredentials()).getSessionToken()).toBe('token-1');
    expect(state.fetches).toBe(2);
    clock.now += RENEW_RETRY_MS - 1;
    await provider.getCredentials();
    expect(state.fetches).toBe(2);
    clock.now += 1;
    await provider.getCredentials();
    expect(state.fetches).toBe(3);
    clock.now = 60 * MINUTE;
    await expect(provider.getCredentials()).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    state.fail = false;
    expect((await provider.getCredentials()).getSessionToken()).toBe('token-5');
  });

  it('drops credentials S3 refused and fetches once for all callers refused with them, fetching nothing for credentials already replaced', async () => {
    const clock = { now: 0 };
    const { source, state } = fakeSource(clock, 60 * MINUTE);
    const provider = new RenewingAwsCredentials(source, () => clock.now);
    const first = await provider.getCredentials();
    await Promise.all(Array.from({ length: 4 }, () => provider.renewRefused(first)));
    expect(state.fetches).toBe(2);
    await provider.renewRefused(first);
    expect(state.fetches).toBe(2);
    const second = await provider.getCredentials();
    expect([second.getSessionToken(), provider.accessKeyId]).toEqual(['token-2', 'AKID2']);
    // Refused credentials are no fallback while a source is down, though by the clock they still hold.
    state.fail = true;
    await expect(provider.renewRefused(second)).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    state.fail = false;
    expect((await provider.getCredentials()).getSessionToken()).toBe('token-4');
  });

  it('fails the first fetch with the source\'s error', async () => {
    const clock = { now: 0 };
    const { source, state } = fakeSource(clock, 60 * MINUTE);
    state.fail = true;
    await expect(new RenewingAwsCredentials(source, () => clock.now).getCredentials()).rejects.toThrow('source down');
  });

  describe('a session token from the environment', () => {
    const SOURCE = { region: 'us-east-1', timeoutMs: 1000 };
    const LONG_TERM = 'AKIAIOSFODNN7EXAMPLE';
    const TEMPORARY = 'ASIAIOSFODNN7EXAMPLE';
    const staticWith = (accessKey: string, sessionTokenEnv: string | undefined) => {
      const dropped: DroppedSessionToken[] = [];
      const made = clientCredentials({ accessKey, secretKey: 'secret-never-shown', sessionToken: 'stray-token-never-shown', sessionTokenEnv }, SOURCE, (d) => dropped.push(d));
      return { ...made, dropped };
    };

    it('is left out from the start with an AWS long-term key (AKIA...), which never takes one, and said once', () => {
      const { clientOptions, environmentToken, dropped } = staticWith(LONG_TERM, 'AWS_SESSION_TOKEN');
      expect(clientOptions).toEqual({ accessKey: LONG_TERM, secretKey: 'secret-never-shown' });
      expect(environmentToken).toBeUndefined();
      expect(dropped).toEqual([{ env: 'AWS_SESSION_TOKEN', accessKey: LONG_TERM }]);
    });

    it('is always sent with an AWS temporary key (ASIA...), and whenever it was set on purpose (config file, flag)', () => {
      for (const [key, env] of [[TEMPORARY, 'AWS_SESSION_TOKEN'], [LONG_TERM, undefined], ['minioadmin', undefined]] as const) {
        const { clientOptions, environmentToken, dropped } = staticWith(key, env);
        expect(clientOptions).toEqual({ accessKey: key, secretKey: 'secret-never-shown', sessionToken: 'stray-token-never-shown' });
        expect([environmentToken, dropped]).toEqual([undefined, []]);
      }
    });

    it('with another key is sent until S3 refuses it and answers the key without it, then never again', async () => {
      const { clientOptions, environmentToken, dropped } = staticWith('minioadmin', 'AWS_SESSION_TOKEN');
      expect(clientOptions.credentialsProvider).toBe(environmentToken);
      const provider = environmentToken as EnvironmentSessionToken;
      expect((await provider.getCredentials()).getSessionToken()).toBe('stray-token-never-shown');
      // Four requests refused at once: the first asks again without the token, the others wait for its answer.
      let release!: () => void;
      const answered = new Promise<void>((resolve) => (release = resolve));
      const tokensSent: Array<string | undefined> = [];
      const again = async () => {
        tokensSent.push((await provider.getCredentials()).getSessionToken() || undefined);
        await answered;
        return 'ok';
      };
      const all = Promise.all(Array.from({ length: 4 }, () => provider.tryWithout('InvalidTokenId', again, () => 'key-refused')));
      await new Promise((resolve) => setImmediate(resolve));
      expect(tokensSent).toEqual([undefined]);
      release();
      expect(await all).toEqual(Array(4).fill({ result: 'ok' }));
      expect(tokensSent).toEqual(Array(4).fill(undefined));
      expect(dropped).toEqual([{ env: 'AWS_SESSION_TOKEN', accessKey: 'minioadmin', s3Code: 'InvalidTokenId' }]);
      expect((await provider.getCredentials()).getSessionToken()).toBeFalsy();
    });

    it('is kept when S3 refuses the key without it too, and no request tries without it again', async () => {
      const { environmentToken, dropped } = staticWith('tempkey', 'AWS_SESSION_TOKEN');
      const provider = environmentToken as EnvironmentSessionToken;
      let asked = 0;
      const refusedToo = async () => {
        asked += 1;
        throw Object.assign(new Error('no such key'), { code: 'InvalidAccessKeyId' });
      };
      expect(await provider.tryWithout('InvalidToken', refusedToo, () => 'key-refused')).toBeUndefined();
      expect(await provider.tryWithout('InvalidToken', refusedToo, () => 'key-refused')).toBeUndefined();
      expect([asked, dropped]).toEqual([1, []]);
      expect((await provider.getCredentials()).getSessionToken()).toBe('stray-token-never-shown');
    });

    it('is dropped by an S3 answer that is an error of the request itself, and tried again after no answer at all', async () => {
      const provider = staticWith('minioadmin', 'AWS_SESSION_TOKEN').environmentToken as EnvironmentSessionToken;
      const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      await expect(provider.tryWithout('InvalidTokenId', () => Promise.reject(down), () => 'no-answer')).rejects.toBe(down);
      expect((await provider.getCredentials()).getSessionToken()).toBe('stray-token-never-shown');
      const missing = Object.assign(new Error('missing'), { code: 'NoSuchKey' });
      await expect(provider.tryWithout('InvalidTokenId', () => Promise.reject(missing), () => 'answered')).rejects.toBe(missing);
      expect((await provider.getCredentials()).getSessionToken()).toBeFalsy();
    });
  });
});
