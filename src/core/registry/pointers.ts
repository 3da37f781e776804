import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { getJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * The reference's promotion record (fields in the reference order), plus what flts adds: who decided
 * (`source`), which run it replaced, why, and whether it was a promotion or a rollback.
 */
export interface PromotionRecord {
  identifier: string;
  config_hash: string;
  run_id: string;
  model_type: string;
  experiment: string;
  /** `runs:/<run_id>/<model_type>`. */
  model_uri: string;
  rmse: number | null;
  mae: number | null;
  mse: number | null;
  score: number | null;
  /** UTC ISO with microseconds and "Z", e.g. 2025-11-03T19:16:41.896064Z. */
  timestamp: string;
  weights: { rmse: number; mae: number; mse: number };
  source: 'auto' | 'manual';
  previous_run_id: string | null;
  reason: string;
  action?: 'promote' | 'rollback';
}

export const ROOT_POINTER = 'current.json';

export function promotionScope(settings: Settings): string {
  return settings.identifier || 'global';
}

export function scopedPointerKey(settings: Settings): string {
  return `${promotionScope(settings)}/${ROOT_POINTER}`;
}

/** Where a pointer is looked for, in order: the identifier's own, then the reference's root and global ones. */
export function pointerCascade(settings: Settings): string[] {
  const keys = settings.identifier ? [`${settings.identifier}/${ROOT_POINTER}`] : [];
  return [...new Set([...keys, ROOT_POINTER, `global/${ROOT_POINTER}`])];
}

function isPromotionRecord(value: unknown): value is PromotionRecord {
  const record = value as Partial<PromotionRecord> | null;
  return record !== null && typeof record === 'object' && typeof record.run_id === 'string' && record.run_id !== '';
}

/** Reads one pointer; undefined when missing, unparsable or without a run id (a reference pointer may be any of these). */
export async function readPointerAt(store: ObjectStore, settings: Settings, key: string): Promise<PromotionRecord | undefined> {
  try {
    const value = await getJson<unknown>(store, settings.store.buckets.promotion, key);
    return isPromotionRecord(value) ? value : undefined;
  } catch (error) {
    if (error instanceof FltsError && (error.code === 'FLTS_STORE_NOT_FOUND' || error.code === 'FLTS_DATA_UNREADABLE')) return undefined;
    throw error;
  }
}

/** The promoted run and the key it was found at, following the pointer cascade. */
export async function readPromotionPointerWithSource(store: ObjectStore, settings: Settings): Promise<{ record: PromotionRecord; key: string } | undefined> {
  for (const key of pointerCascade(settings)) {
    const record = await readPointerAt(store, settings, key);
    if (record) return { record, key };
  }
  return undefined;
}

/** The promoted run: `<identifier>/current.json` (when set), then `current.json`, then `global/current.json`. */
export async function readPromotionPointer(store: ObjectStore, settings: Settings): Promise<PromotionRecord | undefined> {
  return (await readPromotionPointerWithSource(store, settings))?.record;
}
