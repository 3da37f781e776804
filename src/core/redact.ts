/**
 * Masks credentials that travel inside text: the secret values the process was given (its settings' passwords, keys
 * and tokens, in whatever form they appear), the user:password part of a URL (or of a bare host:port) and the values
 * of token-like query parameters (`?token=`, `access_token`, `X-Amz-Signature`, `password`, `api_key`, ...). Applied
 * to every log line (the CLI's logger) and wherever a configured URL or an error message can reach a terminal or a
 * JSON result.
 *
 * A URL's userinfo runs to the word's last `@`: a password typed without percent-encoding may hold `@` (the URL parser
 * too reads up to the last one), or `/`, `?` and `#`, which make the URL invalid, so that the error refusing it quotes
 * it whole. Each form is found in one pass, in time linear in the text (a text of many `a://` or `=a:b` is a hostile
 * value an error may quote), so no length bound cuts a long password in two.
 */

export const MASK = '***';

/**
 * Shorter values are left alone: masking every "ab" of a message would garble it and hide nothing (a password that
 * short is guessed, not read).
 */
export const SHORTEST_MASKED_VALUE = 4;

/** The forms a value takes on its way out: as written, in a JSON string (a log line), URL-encoded and in base64. */
function formsOf(value: string): string[] {
  const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), encodeURI(value), Buffer.from(value, 'utf8').toString('base64')];
  return forms.filter((form) => form.length >= SHORTEST_MASKED_VALUE);
}

/**
 * Below this length a secret is masked only as a whole token: where no letter, digit or `_` goes on from it on either
 * side. A common word given as a password ("admin", "model") was masked inside every word holding it, garbling
 * unrelated messages ("***istrator", "***_loaded", "no *** at runs:/x/***"); a value this short is typed by a person,
 * and where it goes out (a URL's userinfo, a header, a quoted setting) something other than a letter bounds it. A
 * longer one is masked wherever it appears, inside a word too: no word holds one by chance.
 */
export const WHOLE_TOKEN_BELOW = 12;

/** A form and whether it is masked only as a whole token (a short secret's). */
interface Form {
  readonly text: string;
  readonly whole: boolean;
}

const TOKEN_CHAR = /[\p{L}\p{N}_]/u;

function isTokenChar(char: string | undefined): boolean {
  return char !== undefined && TOKEN_CHAR.test(char);
}

/** `form` at `at` in `text` is a whole token: a token character at its own edge does not go on into the text's. */
function standsAlone(text: string, at: number, form: string): boolean {
  const end = at + form.length;
  return !(isTokenChar(form[0]) && isTokenChar(text[at - 1])) && !(isTokenChar(form[form.length - 1]) && isTokenChar(text[end]));
}

/** Every occurrence of each form of each value replaced by MASK; the longest first, so that one inside another goes whole. */
function maskForms(text: string, forms: readonly Form[]): string {
  let masked = text;
  for (const { text: form, whole } of forms) {
    if (!masked.includes(form)) continue;
    if (!whole) {
      masked = masked.split(form).join(MASK);
      continue;
    }
    let out = '';
    let from = 0;
    for (let at = masked.indexOf(form); at >= 0; at = masked.indexOf(form, at + 1)) {
      if (at < from || !standsAlone(masked, at, form)) continue;
      out += masked.slice(from, at) + MASK;
      from = at + form.length;
    }
    if (from > 0) masked = out + masked.slice(from);
  }
  return masked;
}

function sortedForms(values: Iterable<string>): Form[] {
  const forms = new Map<string, boolean>();
  for (const value of values) {
    if (value.length < SHORTEST_MASKED_VALUE) continue;
    const whole = value.length < WHOLE_TOKEN_BELOW;
    // A form shared by a short and a long value is masked anywhere, as the long one's.
    for (const form of formsOf(value)) forms.set(form, (forms.get(form) ?? true) && whole);
  }
  return [...forms].map(([text, whole]) => ({ text, whole })).sort((a, b) => b.text.length - a.text.length);
}

/** A masker of these values only (the credentials one call sent, wherever the answer repeats them). */
export function maskingValues(values: readonly string[]): (text: string) => string {
  const forms = sortedForms(values);
  return forms.length === 0 ? (text) => text : (text) => maskForms(text, forms);
}

/**
 * The secret values this process knows, remembered as its settings resolve (rememberSecrets), so that every output
 * masks them whatever carries them: a setting quoted by a message nobody thought would, a library's error, a form no
 * pattern below knows. Bounded: a process resolves settings a few times; a test of many may not grow it without end.
 */
const KNOWN_LIMIT = 256;
const known = new Set<string>();
/**
 * Those fetched as the process runs (a role's temporary credentials, renewed every hour or so, a token file read
 * again): kept apart, and fewer, so that a service running for months forgets its expired ones, never its settings'.
 */
const FETCHED_LIMIT = 32;
const fetched = new Set<string>();
let knownForms: Form[] = [];

function remember(into: Set<string>, limit: number, values: Iterable<string>): void {
  let added = false;
  for (const value of values) {
    if (typeof value !== 'string' || value.length < SHORTEST_MASKED_VALUE || known.has(value) || fetched.has(value)) continue;
    into.add(value);
    added = true;
    if (into.size > limit) into.delete(into.values().next().value as string);
  }
  if (added) knownForms = sortedForms([...known, ...fetched]);
}

/** Remembers secrets the settings give (resolveSettings). */
export function rememberSecrets(values: Iterable<string>): void {
  remember(known, KNOWN_LIMIT, values);
}

/**
 * Remembers secrets read as the process runs rather than configured: credentials a source hands out (AWS container,
 * instance metadata, STS), a token read from a file, the userinfo of an address given on the command line.
 */
export function rememberFetchedSecrets(values: Iterable<string>): void {
  remember(fetched, FETCHED_LIMIT, values);
}

/** Forgets every remembered value (a test that seeded some, when it ends). */
export function forgetSecrets(): void {
  known.clear();
  fetched.clear();
  knownForms = [];
}

/**
 * Userinfo is found from each `@` of the text (most log lines and messages hold none, and cost one search): the word
 * or quoted value around it is read once, so the whole takes time linear in the text, whatever its length (a text of
 * many `a://` or `=a:b` is a hostile value an error may quote), and no length bound cuts a long password in two.
 *
 * A URL's userinfo: in a word (up to a space, a quote or an angle bracket), from its first scheme (`x://`) to its
 * last `@`. `file:` URLs hold paths, whose `@scope` packages are no userinfo.
 */
const URL_STOPS = stopTable('"\'<>');
/**
 * `user:password@host` without a scheme, as an address list takes it (KAFKA_BOOTSTRAP_SERVERS, a host:port endpoint):
 * a word of its own (after a space, a quote, a comma, a bracket or `=`) with a colon before its `@`, the password up
 * to the word's last `@` as in a URL (a host after it, or none: `user:pass@` alone is refused quoting it). A mail
 * address (no colon), `scheme://` and `models:/name@alias` (a slash after the colon) are not one.
 */
const BARE_STOPS = stopTable('"\'<>,;()[]');
const BARE_LEADS = ',;(["\'=';
const BARE_USER = /[^\s/?#@"'<>,;:()[\]=]+:(?!\/)/y;
/** What may follow a bare userinfo's `@`: a host, or the end of the word. */
const AFTER_BARE_AT = /[\w.[\-\s"',;)\]]/;
/**
 * A whole value (the text, or a quoted one) that is a URL or a bare `user:password@host`: it may hold a space before
 * its `@`, which the URL parser takes as part of the password. It runs to the closing quote (or the text's end).
 */
const VALUE_HEAD = /[a-z][a-z0-9+.-]*:\/\/|[^\s/?#@"'<>,;:()[\]=]+:(?!\/)/iy;
const SPACE = /\s/;

function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || (code > 127 && SPACE.test(String.fromCharCode(code)));
}

function isLetter(code: number): boolean {
  return (code | 32) >= 97 && (code | 32) <= 122;
}

function isWordChar(code: number): boolean {
  return isLetter(code) || (code >= 48 && code <= 57) || code === 95;
}

function isSchemeChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 43 || code === 45 || code === 46;
}

/** A table of the ASCII characters that end a word: white space and `stops`. */
function stopTable(stops: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const char of `${stops} \t\n\v\f\r`) table[char.charCodeAt(0)] = 1;
  return table;
}

function isStop(code: number, table: Uint8Array): boolean {
  return code < 128 ? table[code] === 1 : isSpace(code);
}

function wordStart(text: string, at: number, stops: Uint8Array): number {
  let start = at;
  while (start > 0 && !isStop(text.charCodeAt(start - 1), stops)) start--;
  return start;
}

function wordEnd(text: string, at: number, stops: Uint8Array): number {
  let end = at;
  while (end < text.length && !isStop(text.charCodeAt(end), stops)) end++;
  return end;
}

/** Called with each userinfo found (credentialsIn collects them); the maskers pass none. */
type Found = ((userinfo: string) => void) | undefined;
/** A span of the text [from, to) that MASK replaces. */
type Span = readonly [number, number];

function masked(text: string, spans: readonly Span[]): string {
  if (spans.length === 0) return text;
  let out = '';
  let from = 0;
  for (const [start, end] of spans) {
    out += text.slice(from, start) + MASK;
    from = end;
  }
  return out + text.slice(from);
}

function maskUrlWords(text: string, found: Found): string {
  const spans: Span[] = [];
  for (let at = text.indexOf('@'); at >= 0; ) {
    const start = wordStart(text, at, URL_STOPS);
    const end = wordEnd(text, at, URL_STOPS);
    const last = text.lastIndexOf('@', end - 1);
    // Searched in the word only: a search of the text from each word would be quadratic.
    const word = text.slice(start, last);
    for (let index = word.indexOf('://'); index >= 0; index = word.indexOf('://', index + 3)) {
      const sep = start + index;
      let scheme = sep;
      while (scheme > start && isSchemeChar(text.charCodeAt(scheme - 1))) scheme--;
      // It starts at a letter that no letter, digit or _ precedes (`x.http://` is http's).
      while (scheme < sep && !(isLetter(text.charCodeAt(scheme)) && (scheme === 0 || !isWordChar(text.charCodeAt(scheme - 1))))) scheme++;
      if (scheme === sep || text.slice(scheme, scheme + 5).toLowerCase() === 'file:') continue;
      found?.(text.slice(sep + 3, last));
      spans.push([sep + 3, last]);
      break;
    }
    at = text.indexOf('@', end);
  }
  return masked(text, spans);
}

/**
 * A password holding a slash and a space cannot be told from a path by its characters alone. `http://h:1/ is down,
 * write to ops@example.org` is a URL with a port, then a sentence; `http://u:pa ss/x@h/` a user and a password: the
 * userinfo is taken when a colon comes before its first slash and what follows the colon (to a space or a slash) is
 * no port number.
 */
function passwordBeforeSlash(userinfo: string): boolean {
  const colon = userinfo.indexOf(':');
  const slash = userinfo.indexOf('/');
  if (colon < 0 || (slash >= 0 && slash < colon) || /\s/.test(userinfo.slice(0, colon))) return false;
  return !/^\d*$/.test(userinfo.slice(colon + 1).split(/[\s/]/, 1)[0]);
}

function maskQuotedValues(text: string, found: Found): string {
  const spans: Span[] = [];
  for (let at = text.indexOf('@'); at >= 0; ) {
    const start = text.lastIndexOf('"', at) + 1;
    const close = text.indexOf('"', at);
    const end = close < 0 ? text.length : close;
    at = close < 0 ? -1 : text.indexOf('@', close);
    VALUE_HEAD.lastIndex = start;
    const head = VALUE_HEAD.exec(text)?.[0];
    if (head === undefined) continue;
    const url = head.endsWith('//');
    const rest = start + head.length;
    const last = text.lastIndexOf('@', end - 1);
    if (last < rest + (url ? 0 : 1) || SPACE.test(text.slice(last + 1, end))) continue;
    const userinfo = text.slice(url ? rest : start, last);
    if (/[<>\n]/.test(userinfo)) continue;
    // A bare one is a word's (below) unless it holds a space; nor does it hold a list separator or a bracket, which end
    // a broker of a list (`u:p@[::1]:9092, v:q@h`), and a host or nothing follows its `@`.
    if (!url && (!SPACE.test(userinfo) || /[,;()[\]']/.test(userinfo) || (last + 1 < end && !AFTER_BARE_AT.test(text[last + 1])))) continue;
    // A bare user:password with a space in it is a sentence as often ("note: see x@y"): taken as the URL's with a slash.
    if ((!url || userinfo.includes('/')) && !passwordBeforeSlash(userinfo)) continue;
    found?.(userinfo);
    spans.push([url ? rest : start, last]);
  }
  return masked(text, spans);
}

function maskBareWords(text: string, found: Found): string {
  const spans: Span[] = [];
  for (let at = text.indexOf('@'); at >= 0; ) {
    const start = wordStart(text, at, BARE_STOPS);
    const end = wordEnd(text, at, BARE_STOPS);
    at = text.indexOf('@', end);
    // Where a user may start: the word's start after a space, a quote, a comma or an opening bracket, or after an `=`.
    const word = text.slice(start, end);
    const afterEquals = (from: number): number => {
      const equals = word.indexOf('=', from - start);
      return equals < 0 ? -1 : start + equals + 1;
    };
    let lead = start === 0 || isSpace(text.charCodeAt(start - 1)) || BARE_LEADS.includes(text[start - 1]) ? start : afterEquals(start);
    while (lead >= 0) {
      BARE_USER.lastIndex = lead;
      const user = BARE_USER.exec(text)?.[0];
      if (user !== undefined && BARE_USER.lastIndex <= end) {
        const rest = lead + user.length;
        for (let last = text.lastIndexOf('@', end - 1); last > rest; last = text.lastIndexOf('@', last - 1)) {
          if (last + 1 < text.length && !AFTER_BARE_AT.test(text[last + 1])) continue;
          found?.(text.slice(lead, last));
          spans.push([lead, last]);
          break;
        }
        break;
      }
      lead = afterEquals(lead);
    }
  }
  return masked(text, spans);
}

const SECRET_QUERY_PARAM = /([?&;][a-z0-9_.-]*?(?:token|secret|password|passwd|pwd|key|signature|credential|auth|sig)=)[^&#\s"'<>]*/gi;

/**
 * The secret parts of AWS credentials as their sources write them: JSON fields (container and instance metadata
 * endpoints) and XML elements (STS), should an answer's text ever be quoted.
 */
const CREDENTIAL_FIELDS = 'SecretAccessKey|SessionToken|Token|WebIdentityToken';
const SECRET_JSON_FIELD = new RegExp(`("(?:${CREDENTIAL_FIELDS})"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*`, 'g');
const SECRET_XML_ELEMENT = new RegExp(`(<(${CREDENTIAL_FIELDS})>)[^<]*(?=</\\2>)`, 'g');

/**
 * The credential of an Authorization header wherever a message quotes one (a library's error listing the request's
 * headers, an auth proxy's answer echoing them): `authorization: Bearer x`, `"Authorization":"Basic x"`,
 * `authorization=x`. A client's wrong token is no known secret, and may hold the right one. A placeholder
 * (`Bearer <token>`, as hints write it) is left.
 */
const AUTH_SCHEME = 'Bearer|Basic|Token|Digest|Negotiate|AWS4-HMAC-SHA256';
const AUTHORIZATION_VALUE = new RegExp(`(\\b(?:proxy-)?authorization["']?\\s*[:=]\\s*["']?(?:(?:${AUTH_SCHEME})\\s+)?)(?![<(\`]|(?:${AUTH_SCHEME})\\b)[^\\s"',;\`]+`, 'gi');

function hasAuthorization(text: string): boolean {
  return text.includes('uthorization') || text.includes('UTHORIZATION');
}

function maskUserinfo(text: string, found?: Found): string {
  if (!text.includes('@')) return text;
  const urls = text.includes('://') ? maskUrlWords(text, found) : text;
  return maskBareWords(maskQuotedValues(urls, found), found);
}

export function redactSecrets(text: string): string {
  return redactWith(text, knownForms);
}

/** redactSecrets with these of the known forms only (those a line holds, for each of its values). */
function redactWith(text: string, forms: readonly Form[]): string {
  let masked = forms.length > 0 ? maskForms(text, forms) : text;
  masked = maskUserinfo(masked);
  if (hasAuthorization(masked)) masked = masked.replace(AUTHORIZATION_VALUE, `$1${MASK}`);
  if (masked.includes('=')) masked = masked.replace(SECRET_QUERY_PARAM, `$1${MASK}`);
  if (masked.includes('Token"') || masked.includes('Key"')) masked = masked.replace(SECRET_JSON_FIELD, `$1${MASK}`);
  if (masked.includes('<')) masked = masked.replace(SECRET_XML_ELEMENT, `$1${MASK}`);
  return masked;
}

/** Keys whose JSON string value is masked whole: the credential fields above, and request headers carrying one. */
const CREDENTIAL_KEYS = new Set([...CREDENTIAL_FIELDS.split('|'), 'authorization', 'Authorization', 'proxy-authorization', 'Proxy-Authorization', 'x-amz-security-token', 'X-Amz-Security-Token']);

function hasPatternMark(text: string): boolean {
  return text.includes('@') || text.includes('=') || text.includes('Token"') || text.includes('Key"') || text.includes('<') || hasAuthorization(text);
}

/** The index of the quote closing the JSON string opened at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  for (let close = text.indexOf('"', open + 1); close >= 0; close = text.indexOf('"', close + 1)) {
    let slashes = 0;
    while (text.charCodeAt(close - 1 - slashes) === 92) slashes++;
    if (slashes % 2 === 0) return close;
  }
  return -1;
}

function nextNonSpace(text: string, from: number): number {
  let at = from;
  while (at < text.length && (text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9 || text.charCodeAt(at) === 10 || text.charCodeAt(at) === 13)) at++;
  return at;
}

/** A JSON string's value, or undefined when the text is no JSON (it is then masked as text). */
function unescaped(raw: string): string | undefined {
  try {
    return JSON.parse(raw) as string;
  } catch {
    return undefined;
  }
}

/**
 * redactSecrets for JSON lines (a logger's): each string value is masked on its own, unescaped, and written back
 * escaped, while keys, numbers, booleans and the punctuation are copied as they were. Masking the finished line as
 * text would mask a short or numeric secret ("1701") inside a number (`"time":1701...`), a key, or across an escape,
 * leaving a line that is no JSON or whose fields changed, which a log pipeline drops. A line no masker would change is
 * returned as it is, after the same searches as redactSecrets makes; text that is no JSON is masked as text.
 */
export function redactJsonLines(text: string): string {
  // Each known form searched once, as redactSecrets does: a value without an escape can hold only the forms the line does.
  let found: Form[] | undefined;
  for (const form of knownForms) if (text.includes(form.text)) (found ??= []).push(form);
  if (found === undefined && !hasPatternMark(text)) return text;
  const first = text.charCodeAt(nextNonSpace(text, 0));
  if (first !== 123 && first !== 91) return redactSecrets(text);
  let out = '';
  let from = 0;
  let key = '';
  for (let open = text.indexOf('"'); open >= 0; ) {
    const close = stringEnd(text, open);
    if (close < 0) return redactSecrets(text);
    const after = nextNonSpace(text, close + 1);
    if (text.charCodeAt(after) === 58) {
      key = text.slice(open + 1, close);
    } else {
      const raw = text.slice(open, close + 1);
      const escaped = raw.includes('\\');
      const value = escaped ? unescaped(raw) : raw.slice(1, -1);
      if (value === undefined) return redactSecrets(text);
      // The fields AWS credentials are written in are masked whole, as SECRET_JSON_FIELD does in text.
      const shown = CREDENTIAL_KEYS.has(key) ? MASK : redactWith(value, escaped ? knownForms : (found ?? []));
      if (shown !== value) {
        out += text.slice(from, open) + JSON.stringify(shown);
        from = close + 1;
      }
    }
    open = text.indexOf('"', close + 1);
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * The credentials an address carries (a URL's or a broker's `user:password@`), as the maskers above find them: the
 * userinfo and its password, each also percent-decoded (as a client sends them), for rememberSecrets.
 */
export function credentialsIn(text: string): string[] {
  if (!text.includes('@')) return [];
  const userinfos: string[] = [];
  // Each form on the text as given: one masked first would hide part of what another finds whole.
  for (const find of [maskUrlWords, maskQuotedValues, maskBareWords]) find(text, (userinfo) => userinfos.push(userinfo));
  const decoded = (value: string): string => {
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  };
  const parts = userinfos.flatMap((userinfo) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? [userinfo] : [userinfo, userinfo.slice(colon + 1)];
  });
  return [...new Set(parts.flatMap((part) => [part, decoded(part)]))].filter((part) => !part.includes(MASK));
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
