import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { candidateListKey, ensureCandidateList, readCandidateList, saveCandidateList, sweepCandidateLists } from './candidate-lists.js';
import { CANDIDATE_LIST_LIMIT, candidateSet, type PromotionRecord } from './pointers.js';
import { appendHistory } from './promotion-history.js';

const settings = defaultSettings();
const BUCKET = settings.store.buckets.promotion;
const HOUR = 60 * 60 * 1000;
const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })));

function freshStore(): { store: ObjectStore; root: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'flts-candidate-lists-'));
  roots.push(root);
  return { store: createFsStore(root), root };
}

const ids = (count: number, prefix = 'run'): string[] => Array.from({ length: count }, (_, at) => `${prefix}-${String(at).padStart(3, '0')}`);
const many = (prefix: string): string[] => ids(CANDIDATE_LIST_LIMIT + 1, prefix);

/** A history record choosing among `runIds`, as a promotion past CANDIDATE_LIST_LIMIT writes it (the set alone). */
function recordNaming(runIds: readonly string[], timestamp: string, identifier = ''): PromotionRecord {
  return { identifier, config_hash: 'c'.repeat(64), run_id: runIds[0], timestamp, source: 'auto', candidate_set: candidateSet(runIds) } as PromotionRecord;
}

/** Sets when the list of `runIds` was last written, `ageMs` before now (the fs store's write time is the file's). */
function ageList(root: string, runIds: readonly string[], ageMs: number): void {
  const when = new Date(Date.now() - ageMs);
  utimesSync(path.join(root, BUCKET, ...candidateListKey(candidateSet(runIds)).split('/')), when, when);
}

const kept = async (store: ObjectStore, runIds: readonly string[]): Promise<boolean> => (await readCandidateList(store, settings, candidateSet(runIds))) !== undefined;

describe('core > registry > candidate lists', () => {
  it('keeps the ids of a set too large for its record in one object, and gives them back only for that very set', async () => {
    const { store } = freshStore();
    const runIds = many('run').reverse();
    const set = candidateSet(runIds);
    await saveCandidateList(store, settings, runIds);
    await saveCandidateList(store, settings, [...runIds].reverse());
    expect(await readCandidateList(store, settings, set)).toEqual([...runIds].sort());
    expect(await store.list(BUCKET)).toHaveLength(1);

    // A list edited by hand is not the set its name says: no list, and the record names its set alone.
    await putJson(store, BUCKET, candidateListKey(set), { run_ids: runIds.slice(1) });
    expect(await readCandidateList(store, settings, set)).toBeUndefined();

    // A set its record lists keeps no other copy.
    const few = ids(CANDIDATE_LIST_LIMIT);
    await saveCandidateList(store, settings, few);
    expect(await readCandidateList(store, settings, candidateSet(few))).toBeUndefined();
  });

  it('sweeps the lists no record names once older than the grace period, and keeps named ones and young ones', async () => {
    const { store, root } = freshStore();
    const [named, orphan, young, reused, elsewhere] = [many('named'), many('orphan'), many('young'), many('reused'), many('elsewhere')];
    for (const runIds of [named, orphan, young, reused, elsewhere]) await saveCandidateList(store, settings, runIds);
    await appendHistory(store, settings, recordNaming(named, '2026-12-06T10:00:00.000000Z'));
    // Named by a promotion of another identifier only: lists are shared by every scope.
    await appendHistory(store, settings, recordNaming(elsewhere, '2026-12-06T09:00:00.000000Z', 'site2'));
    ageList(root, named, 5 * HOUR);
    ageList(root, elsewhere, 5 * HOUR);
    ageList(root, orphan, 2 * HOUR);
    // Written a minute ago, its record not there yet: a promotion on its way.
    ageList(root, young, 60_000);
    // An old list nobody names, which a promotion of the same set has just written again on its way to its record.
    ageList(root, reused, 2 * HOUR);
    await saveCandidateList(store, settings, reused);

    expect(await sweepCandidateLists(store, settings, HOUR)).toEqual({ removed: [candidateListKey(candidateSet(orphan))], restored: [] });
    expect([await kept(store, named), await kept(store, orphan), await kept(store, young), await kept(store, reused), await kept(store, elsewhere)]).toEqual([true, false, true, true, true]);
    // The next sweep finds nothing more to remove.
    expect(await sweepCandidateLists(store, settings, HOUR)).toEqual({ removed: [], restored: [] });
  });

  it('a list removed while its record is being written comes back, from the sweep or from the promotion, whichever sees the other', async () => {
    // The sweep looks at the history before the record lands; the record lands before its second look.
    const early = freshStore();
    const runIds = many('race');
    const recordLanding: ObjectStore = {
      ...early.store,
      async deleteMany(bucket, keys) {
        const result = await early.store.deleteMany(bucket, keys);
        await appendHistory(early.store, settings, recordNaming(runIds, '2026-12-06T11:00:00.000000Z'));
        return result;
      },
    };
    await saveCandidateList(early.store, settings, runIds);
    // No grace: the list just written is fair game, as one a promotion wrote again after a sweep listed it would be.
    const sweep = await sweepCandidateLists(recordLanding, settings, 0);
    expect(sweep).toEqual({ removed: [], restored: [candidateListKey(candidateSet(runIds))] });
    expect(await kept(early.store, runIds)).toBe(true);
    expect(await ensureCandidateList(early.store, settings, runIds)).toBe(false);

    // The record lands after the sweep's second look: the promotion's check after its record puts the list back.
    const late = freshStore();
    await saveCandidateList(late.store, settings, runIds);
    expect(await sweepCandidateLists(late.store, settings, 0)).toEqual({ removed: [candidateListKey(candidateSet(runIds))], restored: [] });
    await appendHistory(late.store, settings, recordNaming(runIds, '2026-12-06T11:00:00.000000Z'));
    expect(await ensureCandidateList(late.store, settings, runIds)).toBe(true);
    expect(await kept(late.store, runIds)).toBe(true);
  });
});
