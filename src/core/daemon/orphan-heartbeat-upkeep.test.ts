import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { evaluateRuns } from '../eval/evaluate-runs.js';
import { ORPHAN_HEARTBEAT_STALE_MS } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { addProcessedData } from '../workflows/loadable-run.fixture.js';
import { trainModels } from '../workflows/train.js';
import { promotionCandidates } from './promoter-role.js';
import type { RoleContext } from './role-registry.js';

const HASH = 'e'.repeat(64);
const { settings } = resolveSettings({ env: { INPUT_SEQ_LEN: '4' } });
const bucket = settings.store.buckets.runs;
/** Another host's trainer killed between its first beat and its RUNNING record, its beat older than any live one's. */
const STALE = '4'.repeat(32);
/** Another host's trainer that beat a moment ago, its record still to come. */
const FRESH = '3'.repeat(32);
let root: string;
let store: ObjectStore;

beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-orphan-upkeep-'));
  store = createFsStore(root);
  for (const [id, ageMs] of [[STALE, ORPHAN_HEARTBEAT_STALE_MS + 60_000], [FRESH, 0]] as const) {
    await store.put(bucket, `${id}/heartbeat.json`, JSON.stringify({ run_id: id, owner: { host: `${os.hostname()}-elsewhere`, pid: 4242 }, beats: 0, heartbeat_at: new Date().toISOString() }));
    const at = new Date(Date.now() - ageMs);
    utimesSync(path.join(root, bucket, id, 'heartbeat.json'), at, at);
  }
});
afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const heartbeats = async (): Promise<string[]> => (await store.list(bucket, '')).map((info) => info.key).filter((key) => key.endsWith('/heartbeat.json')).sort();

describe('core > daemon > the upkeep of heartbeats killed trainers left alone', () => {
  it("is the promoter resync's: the stale one goes, the fresh one stays", async () => {
    expect(await promotionCandidates({ store, settings } as unknown as RoleContext)).toEqual([]);
    expect(await heartbeats()).toEqual([`${FRESH}/heartbeat.json`]);
  });

  it("is a training's as it reads the registry", async () => {
    await addProcessedData(store, settings, HASH);
    const { runs } = await trainModels({ models: ['NAIVE'], configHash: HASH }, settings, { store });
    expect(runs.map((run) => run.status)).toEqual(['SUCCESS']);
    expect(await heartbeats()).toEqual([`${FRESH}/heartbeat.json`]);
  });

  it("is never an evaluation's, which only reads: with no processed data it lists the whole registry for a config_hash", async () => {
    await expect(evaluateRuns({}, settings, { store })).rejects.toMatchObject({ code: 'FLTS_EVAL_NO_RUNS' });
    expect(await heartbeats()).toEqual([`${FRESH}/heartbeat.json`, `${STALE}/heartbeat.json`]);
  });
});
