/**
 * Masks credentials that travel inside text: the user:password part of a URL and the values of token-like
 * query parameters (`?token=`, `access_token`, `X-Amz-Signature`, `password`, `api_key`, ...). Applied wherever
 * a configured URL or an error message can reach a terminal, a log line or a JSON result.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;
const SECRET_QUERY_PARAM = /([?&;][a-z0-9_.-]*?(?:token|secret|password|passwd|pwd|key|signature|credential|auth|sig)=)[^&#\s"'<>]*/gi;

export const MASK = '***';

export function redactSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text;
  return text.replace(URL_USERINFO, `$1${MASK}@`).replace(SECRET_QUERY_PARAM, `$1${MASK}`);
}

/** `redactSecrets` applied to every string inside a JSON-safe value. */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactValue(item)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item)])) as T;
  }
  return value;
}
