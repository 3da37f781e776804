import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { putJson } from '../storage/json-objects.js';
import { candidateListKey, readCandidateList, saveCandidateList } from './candidate-lists.js';
import { CANDIDATE_LIST_LIMIT, candidateSet } from './pointers.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-candidate-lists-'));
const store = createFsStore(root);
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const ids = (count: number): string[] => Array.from({ length: count }, (_, at) => `run-${String(at).padStart(3, '0')}`);

describe('core > registry > candidate lists', () => {
  it('keeps the ids of a set too large for its record once, and gives them back only for that very set', async () => {
    const many = ids(CANDIDATE_LIST_LIMIT + 1).reverse();
    const set = candidateSet(many);
    await saveCandidateList(store, settings, many);
    await saveCandidateList(store, settings, [...many].reverse());
    expect(await readCandidateList(store, settings, set)).toEqual([...many].sort());
    expect(await store.list(settings.store.buckets.promotion)).toHaveLength(1);

    // A list edited by hand is not the set its name says: no list, and the record names its set alone.
    await putJson(store, settings.store.buckets.promotion, candidateListKey(set), { run_ids: many.slice(1) });
    expect(await readCandidateList(store, settings, set)).toBeUndefined();

    // A set its record lists keeps no other copy.
    const few = ids(CANDIDATE_LIST_LIMIT);
    await saveCandidateList(store, settings, few);
    expect(await readCandidateList(store, settings, candidateSet(few))).toBeUndefined();
  });
});
