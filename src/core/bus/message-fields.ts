import { clip, codePoint, misleadingCharacter, quotedText, shownText } from '../clip-text.js';
import { IDENTIFIER_PATTERN, identifierProblem } from '../config/specs/runtime.js';
import { FltsError } from '../errors.js';
import { parseLenientJson } from '../storage/json-objects.js';
import { bucketNameProblem, objectKeyProblem } from '../storage/keys.js';

/** A message that breaks its topic's contract: non-retriable, so it goes straight to the DLQ. */
export function invalidMessage(topic: string, reason: string, details: Record<string, unknown> = {}): FltsError {
  return new FltsError('FLTS_BUS_MESSAGE_INVALID', `Message on ${topic} is invalid: ${reason}.`, { details: { topic, ...details } });
}

/**
 * A field's value as an error message quotes it: JSON, clipped, so a 2 MB field makes a short log line, with every
 * character that shows as something other than itself escaped (shownText): the message goes to the log and the dead
 * letter, and a publisher's U+202E quoted as it is turns round the rest of the line that shows it.
 */
export function quoted(value: unknown): string {
  if (typeof value === 'string') return quotedText(clip(value));
  try {
    return shownText(clip(JSON.stringify(value) ?? String(value)));
  } catch {
    // Nested deeper than JSON.stringify recurses (JSON.parse takes arrays thousands deep): named by its type instead.
    return Array.isArray(value) ? 'an array' : 'an object';
  }
}

/** What a decoder needs from a received message. */
export interface EncodedMessage {
  topic?: string;
  key: string | null;
  value: string;
}

export type JsonRecord = Record<string, unknown>;

/**
 * Reads a message body the way the reference's consumers do: Python `json.dumps` output, so bare
 * NaN/Infinity tokens are tolerated (they become null).
 */
export function parseMessageBody(message: EncodedMessage, topic: string): JsonRecord {
  if (typeof message.value !== 'string') throw invalidMessage(topic, 'the value is not text');
  let body: unknown;
  try {
    body = parseLenientJson(message.value);
  } catch {
    throw invalidMessage(topic, 'the value is not JSON', { value: message.value.slice(0, 200) });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidMessage(topic, 'the value is not a JSON object');
  return body as JsonRecord;
}

export function requireString(body: JsonRecord, topic: string, ...names: string[]): string {
  for (const name of names) {
    const value = body[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  throw invalidMessage(topic, `field ${names.map((n) => JSON.stringify(n)).join(' or ')} must be a non-empty string`, { field: names[0], fields: names });
}

/** What a config_hash or run id may hold: it names store keys and lease files, so never a path. */
const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** A required field that names a store key segment (config_hash): letters, digits, "-" and "_", at most 128. */
export function requireKeySegment(body: JsonRecord, topic: string, name: string): string {
  const value = requireString(body, topic, name);
  if (!KEY_SEGMENT.test(value)) throw invalidMessage(topic, `field "${name}" must be letters, digits, "-" and "_" (at most 128), got ${quoted(value)}`, { field: name });
  return value;
}

/** A required bucket the consumer reads from: S3's bucket naming, which every store enforces. */
export function requireBucket(body: JsonRecord, topic: string, name: string): string {
  const value = requireString(body, topic, name);
  const problem = bucketNameProblem(value);
  if (problem) throw invalidMessage(topic, `field "${name}" must be a bucket name (${problem}), got ${quoted(value)}`, { field: name });
  return value;
}

/**
 * Half of a surrogate pair without its other half: no character, so no folder a store can name as it was sent (an
 * object key with one is refused by the store's own rules, objectKeyProblem).
 */
const LONE_SURROGATE = /\p{Cs}/u;

/** What is wrong with `value` as text a consumer names store keys with, beyond the store's rules; undefined when nothing. */
function keyTextProblem(value: string): string | undefined {
  const misleading = misleadingCharacter(value);
  return misleading ? `contains a control, line-separator or bidirectional character (${codePoint(misleading)})` : undefined;
}

/**
 * A required object key the consumer reads: a relative S3 key that stays inside its bucket with no lone surrogate (the
 * store's rules), and no character that shows as something other than itself (control, line-separator or
 * bidirectional), which no producer puts in a key and which would break or turn round the log line naming it.
 */
export function requireObjectKey(body: JsonRecord, topic: string, ...names: string[]): string {
  const value = requireString(body, topic, ...names);
  const name = names.find((candidate) => body[candidate] === value) ?? names[0];
  const problem = objectKeyProblem(value) ?? keyTextProblem(value);
  if (problem) throw invalidMessage(topic, `field "${name}" must be an object key inside its bucket, but it ${problem}: ${quoted(value)}`, { field: name });
  return value;
}

/**
 * A deployment identifier ("" or absent = global): it scopes store keys (the inference log's folder), so it follows
 * the `identifier` setting's rule (identifierProblem), one folder name of whole characters.
 */
export function optionalIdentifier(body: JsonRecord, topic: string, name = 'identifier'): string {
  const value = body[name];
  if (value === undefined || value === null || value === '') return '';
  // A claim carries its publisher's deployment identifier, which that deployment's setting took with a warning even
  // when it looks like another name (identifierLookalike): refusing it here would dead-letter the deployment's own claims.
  const problem = typeof value === 'string' ? identifierProblem(value, { lookalikes: 'allow' }) : 'is not text';
  // Quoted shorter than other fields: the rule and the problem come with it, and an identifier is 128 characters at most.
  const shown = typeof value === 'string' ? quotedText(clip(value, 60)) : quoted(value);
  if (problem !== undefined || typeof value !== 'string') throw invalidMessage(topic, `field "${name}" must be ${IDENTIFIER_PATTERN.text}, got ${shown}: it ${problem}`, { field: name });
  return value;
}

export function optionalString(body: JsonRecord, name: string, fallback = ''): string {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  return typeof value === 'string' ? value : String(value);
}

/** NaN tokens arrive as null; callers decide what a missing number means. */
export function optionalNumber(body: JsonRecord, topic: string, name: string): number | null {
  const value = body[name];
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw invalidMessage(topic, `field "${name}" must be a number`, { field: name });
}

/** JSON text with the fields in the order given (the reference's field order). */
export function encodeFields(fields: JsonRecord): string {
  return JSON.stringify(fields);
}
