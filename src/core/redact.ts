/**
 * Masks credentials that travel inside text: the user:password part of a URL (or of a bare host:port) and the values of token-like
 * query parameters (`?token=`, `access_token`, `X-Amz-Signature`, `password`, `api_key`, ...). Applied wherever
 * a configured URL or an error message can reach a terminal, a log line or a JSON result.
 *
 * A URL's userinfo runs to the word's last `@`: a password typed without percent-encoding may hold `@` (the URL parser
 * too reads up to the last one), or `/`, `?` and `#`, which make the URL invalid, so that the error refusing it quotes
 * it whole.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>]{0,1024}@/gi;
/**
 * The same without / ? # @ in it, and so of any length in linear time (the bound above keeps a text of many `a://`
 * from costing seconds).
 */
const LONG_URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;
/**
 * A URL that is a whole value (or a quoted one) may hold a space before its `@`, which the URL parser takes as part of
 * the password: up to the last `@` before the value's end, if what follows it has no space and what precedes it no
 * slash (a sentence that starts with a URL and ends with a mail address is not one).
 */
const WHOLE_URL_USERINFO = /((?:^|")[a-z][a-z0-9+.-]*:\/\/)[^"<>\n/]{0,1024}@(?=[^\s"]*(?:"|$))/gi;
/**
 * `user:password@host` without a scheme, as an address list takes it (KAFKA_BOOTSTRAP_SERVERS, a host:port endpoint):
 * a word of its own (after a space, a quote, a comma, a bracket or `=`) with a colon before its `@`, the password up
 * to the word's last `@` as in a URL (a host after it, or none: `user:pass@` alone is refused quoting it). A mail address (no colon), `scheme://` and `models:/name@alias` (a slash after
 * the colon) are not one.
 */
const BARE_USERINFO = /(^|[\s,;(\["'=])[^\s/?#@"'<>,;:()[\]=]+:(?!\/)[^\s"'<>,;()[\]]{1,1024}@(?=[\w.[-]|[\s"',;)\]]|$)/g;
const SECRET_QUERY_PARAM = /([?&;][a-z0-9_.-]*?(?:token|secret|password|passwd|pwd|key|signature|credential|auth|sig)=)[^&#\s"'<>]*/gi;

/**
 * The secret parts of AWS credentials as their sources write them: JSON fields (container and instance metadata
 * endpoints) and XML elements (STS), should an answer's text ever be quoted.
 */
const CREDENTIAL_FIELDS = 'SecretAccessKey|SessionToken|Token|WebIdentityToken';
const SECRET_JSON_FIELD = new RegExp(`("(?:${CREDENTIAL_FIELDS})"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*`, 'g');
const SECRET_XML_ELEMENT = new RegExp(`(<(${CREDENTIAL_FIELDS})>)[^<]*(?=</\\2>)`, 'g');

export const MASK = '***';

export function redactSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=') && !text.includes('"') && !text.includes('<') && !text.includes('@')) return text;
  return text
    .replace(URL_USERINFO, `$1${MASK}@`)
    .replace(LONG_URL_USERINFO, `$1${MASK}@`)
    .replace(WHOLE_URL_USERINFO, `$1${MASK}@`)
    .replace(BARE_USERINFO, `$1${MASK}@`)
    .replace(SECRET_QUERY_PARAM, `$1${MASK}`)
    .replace(SECRET_JSON_FIELD, `$1${MASK}`)
    .replace(SECRET_XML_ELEMENT, `$1${MASK}`);
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
