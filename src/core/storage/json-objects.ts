import { FltsError } from '../errors.js';
import type { ObjectStore } from './object-store.js';

export async function putJson(store: ObjectStore, bucket: string, key: string, value: unknown): Promise<void> {
  await store.put(bucket, key, `${JSON.stringify(value, null, 2)}\n`, { contentType: 'application/json' });
}

/**
 * Reads JSON written by flts or by the reference system, which stored some objects as multipart/form-data
 * envelopes around the JSON and wrote bare NaN/Infinity tokens.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const first = text.indexOf('{');
    const last = text.lastIndexOf('}');
    const body = first >= 0 && last > first ? text.slice(first, last + 1) : text;
    return JSON.parse(withNonFiniteAsNull(body));
  }
}

/**
 * The bare NaN, Infinity and -Infinity values of a text written as null, as parseLenientJson reads them. Which
 * token is replaced depends on the characters around it up to the nearest one that is not whitespace, so a part
 * of a text cut at such characters and given with them on either side is replaced as within the whole.
 */
export function withNonFiniteAsNull(text: string): string {
  return text.replace(/(?<=[:,[]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, 'null');
}

export interface GetJsonOptions {
  /**
   * Largest object read, checked by its size before reading: a file another writer made absurdly large would
   * otherwise be read whole and parsed (FLTS_DATA_TOO_LARGE beyond it).
   */
  maxBytes?: number;
}

export async function getJson<T>(store: ObjectStore, bucket: string, key: string, options: GetJsonOptions = {}): Promise<T> {
  if (options.maxBytes !== undefined) {
    const info = await store.stat(bucket, key);
    if (info && info.size > options.maxBytes) {
      throw new FltsError('FLTS_DATA_TOO_LARGE', `Object ${bucket}/${key} is ${info.size} bytes, over the ${options.maxBytes} read as JSON.`, {
        details: { bucket, key, bytes: info.size, maxBytes: options.maxBytes },
        hint: 'The object in the store was made larger than flts ever writes it; restore it from a backup, or have flts write it again.',
      });
    }
  }
  const text = (await store.get(bucket, key)).toString('utf8');
  try {
    return parseLenientJson(text) as T;
  } catch (cause) {
    throw new FltsError('FLTS_DATA_UNREADABLE', `Object ${bucket}/${key} is not valid JSON.`, {
      cause,
      details: { bucket, key },
      hint: 'The object in the store was cut short or edited; restore it from a backup, or have flts write it again (preprocess, train or promote, whichever wrote it).',
    });
  }
}

export async function getJsonIfExists<T>(store: ObjectStore, bucket: string, key: string, options: GetJsonOptions = {}): Promise<T | undefined> {
  try {
    return await getJson<T>(store, bucket, key, options);
  } catch (error) {
    if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return undefined;
    throw error;
  }
}
