import { maskingValues } from '../redact.js';

/*
 * The credentials of the MLflow calls: which are sent (a token, a user and password, or the URI's userinfo, as MLflow's
 * own client picks them), what a refusal's hint says of them, and their masking wherever an answer repeats them.
 */

/** The credentials a call carries, and where they came from (named in the hint of a 401 or 403). */
export interface Credentials {
  readonly header?: string;
  readonly source: 'token' | 'username' | 'uri' | 'none';
  /** What must never be shown: the token, the password, and the header made of them. */
  readonly secrets: readonly string[];
}

/**
 * The base URL the calls go to, and the `user:password@` written in the URI apart. MLflow's Python client (through
 * requests) sends those as basic auth, so a URI that works with `mlflow` must work here: left in, the URL's
 * userinfo is dropped by undici and the server sees an anonymous call.
 */
export function splitUserinfo(base: string): { base: string; username?: string; password?: string } {
  const url = new URL(base);
  if (url.username === '' && url.password === '') return { base };
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const username = decode(url.username);
  const password = decode(url.password);
  url.username = '';
  url.password = '';
  return { base: url.href.replace(/\/+$/, ''), username, password };
}

/**
 * A token first, then MLFLOW_TRACKING_USERNAME/PASSWORD, then the URI's userinfo: what is set explicitly beats what
 * the URI carries, as MLflow's client lets its explicit auth replace the URL's.
 */
export function credentialsOf(options: { readonly token?: string; readonly username?: string; readonly password?: string }, fromUri: { username?: string; password?: string }): Credentials {
  const basic = (username: string, password: string, source: Credentials['source']): Credentials => {
    const encoded = Buffer.from(`${username}:${password}`).toString('base64');
    return { header: `Basic ${encoded}`, source, secrets: [password, encoded] };
  };
  if (options.token) return { header: `Bearer ${options.token}`, source: 'token', secrets: [options.token] };
  if (options.username) return basic(options.username, options.password ?? '', 'username');
  if (fromUri.username !== undefined) return basic(fromUri.username, fromUri.password ?? '', 'uri');
  return { source: 'none', secrets: [] };
}

/**
 * Masks the credentials a call sent wherever the server's answer repeats them: a proxy's error page or an auth
 * plugin quoting the Authorization header it refused would otherwise carry the token into messages, logs and --json.
 */
export function masking(secrets: readonly string[]): (text: string) => string {
  return maskingValues(secrets);
}

export const CREDENTIALS_HINT: Record<Credentials['source'], string> = {
  none:
    'flts sent no credentials: set MLFLOW_TRACKING_TOKEN (bearer), or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or user:password@ in MLFLOW_TRACKING_URI) for basic auth.',
  token: 'flts sent the bearer token of MLFLOW_TRACKING_TOKEN (setting tracking.token): 401, the server does not accept it; 403, its user may not do what the message names.',
  username:
    'flts sent basic auth from MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (settings tracking.username, tracking.password): 401, the server does not accept them; 403, that user may not do what the message names.',
  uri: 'flts sent basic auth from the user:password@ of MLFLOW_TRACKING_URI: 401, the server does not accept them; 403, that user may not do what the message names.',
};
