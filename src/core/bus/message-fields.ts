import { clip } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { parseLenientJson } from '../storage/json-objects.js';

/** A message that breaks its topic's contract: non-retriable, so it goes straight to the DLQ. */
export function invalidMessage(topic: string, reason: string, details: Record<string, unknown> = {}): FltsError {
  return new FltsError('FLTS_BUS_MESSAGE_INVALID', `Message on ${topic} is invalid: ${reason}.`, { details: { topic, ...details } });
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
  throw invalidMessage(topic, `field ${names.map((n) => JSON.stringify(n)).join(' or ')} must be a non-empty string`, { fields: names });
}

/** What a config_hash or run id may hold: it names store keys and lease files, so never a path. */
const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** A required field that names a store key segment (config_hash): letters, digits, "-" and "_", at most 128. */
export function requireKeySegment(body: JsonRecord, topic: string, name: string): string {
  const value = requireString(body, topic, name);
  if (!KEY_SEGMENT.test(value)) throw invalidMessage(topic, `field "${name}" must be letters, digits, "-" and "_" (at most 128), got ${JSON.stringify(clip(value))}`, { field: name });
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
