import { createHash } from 'node:crypto';
import type { RunRecord } from './run-record.js';

/**
 * `value` as JSON with every object's keys sorted and no whitespace, read as JSON.stringify reads it (undefined
 * properties left out, NaN and Infinity as null): the text a record has whichever writer indented it or ordered its
 * keys, and the same before it was written and after it was read back.
 */
export function canonicalJson(value: unknown): string {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON: () => unknown }).toJSON());
  // Array.from, not map: a hole of a sparse array is written as null, as JSON.stringify writes it.
  if (Array.isArray(value)) return `[${Array.from(value, (item: unknown) => (item === undefined || typeof item === 'function' ? 'null' : canonicalJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const fields = Object.keys(object)
      .filter((key) => object[key] !== undefined && typeof object[key] !== 'function')
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The SHA-256 of a run record's canonical JSON, its own `record_sha256` left out: what training seals a finished
 * record with and loading and every listing of runs check, one function for all so that they can never hash differently.
 */
export function runRecordDigest(record: RunRecord): string {
  const { record_sha256: _seal, ...content } = record;
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}

/** `record` sealed with its runRecordDigest, as training writes a finished run. */
export function sealRunRecord(record: RunRecord): RunRecord {
  return { ...record, record_sha256: runRecordDigest(record) };
}

/**
 * Why `record`'s content is not what training sealed, or undefined: it matches its seal, or carries none (a run
 * trained before records were sealed, or written by another system).
 */
export function runRecordSealProblem(record: RunRecord): string | undefined {
  if (record.record_sha256 === undefined || runRecordDigest(record) === record.record_sha256) return undefined;
  return 'does not have the SHA-256 its training sealed it with (edited since training)';
}
