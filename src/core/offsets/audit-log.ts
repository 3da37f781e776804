import { randomBytes } from 'node:crypto';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';

export const OFFSET_AUDIT_PREFIX = 'audit/offset-resets';

/** One executed offset reset, as kept in the object store. */
export interface OffsetAuditEntry {
  /** Operator: FLTS_OPERATOR, else the OS user, as the command passes it in. */
  who: string;
  /** UTC ISO timestamp of the reset. */
  when: string;
  group: string;
  target: string;
  reason: string | null;
  partitions: Array<{ topic: string; partition: number; before: number | null; after: number | null; requested: number }>;
}

function safeSegment(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+$/, '_') || '_';
}

/**
 * Appends an entry as a new object (`audit/offset-resets/<group>/<when>-<random>.json`): appending never
 * reads or rewrites earlier entries, so concurrent operators cannot lose each other's records.
 */
export async function appendOffsetAudit(store: ObjectStore, bucket: string, entry: OffsetAuditEntry): Promise<string> {
  const key = `${OFFSET_AUDIT_PREFIX}/${safeSegment(entry.group)}/${entry.when.replace(/:/g, '-')}-${randomBytes(4).toString('hex')}.json`;
  await store.ensureBucket(bucket);
  await putJson(store, bucket, key, entry);
  return key;
}

/** Audit entries, oldest first; `group` limits them to one consumer group. */
export async function listOffsetAudit(store: ObjectStore, bucket: string, group?: string): Promise<OffsetAuditEntry[]> {
  const prefix = group === undefined ? `${OFFSET_AUDIT_PREFIX}/` : `${OFFSET_AUDIT_PREFIX}/${safeSegment(group)}/`;
  const keys = (await store.list(bucket, prefix).catch(() => [])).map((info) => info.key).filter((key) => key.endsWith('.json'));
  const entries = await Promise.all(keys.map((key) => getJsonIfExists<OffsetAuditEntry>(store, bucket, key)));
  return entries.filter((e): e is OffsetAuditEntry => e !== undefined && (group === undefined || e.group === group)).sort((a, b) => a.when.localeCompare(b.when));
}
