import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../bus/message-bus.contract.js';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { decodePromotion } from '../bus/messages.js';
import { defaultSettings, type Settings } from '../config/settings.js';
import type { FltsEvent } from '../events.js';
import { readPromotionPointer, type PromotionRecord } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import { readRunRecord, saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import { getJson } from '../storage/json-objects.js';
import { keeperOf, promotionRefOf } from '../live/live-reports.js';
import type { ObjectStore } from '../storage/object-store.js';
import { completeInterruptedPromotion } from './announce-promotion.js';
import { autoPromote } from './auto-promote.js';
import { addLoadableRun } from './loadable-run.fixture.js';
import { promote, promoteBest, rollback, type PromotionDeps } from './promote.js';

const HASH = 'e'.repeat(64);
let root: string;
let store: ObjectStore;
let bus: MessageBus;
let settings: Settings;

/** A NAIVE SUCCESS of the one data version, finished now, with test RMSE `rmse` (lower wins the scoreboard). */
function trained(id: string, rmse: number): RunRecord {
  const run = fakeRun(id, 'NAIVE', { rmse, mae: rmse, mse: rmse * rmse }, new Date().toISOString(), 'SUCCESS', HASH);
  return { ...run, data: { ...run.data, processed_created_at: '2025-02-01T00:00:00.000Z' }, timings: { ...run.timings, finished_at: new Date().toISOString() } };
}

const byHand = (runId: string, deps: Partial<PromotionDeps> = {}) => promote({ runId, source: 'manual', actor: 'ana', reason: `keep ${runId}` }, settings, { store, bus, ...deps });
const daemon = () => autoPromote(HASH, 'daemon:a', settings, { store, bus });

/** What replicas following the bus were told, in order: `run_id:source` of each `model-selected`. */
async function announced(count: number): Promise<string[]> {
  const received: string[] = [];
  const subscription = await bus.subscribe({ group: `replica-${count}`, topics: ['model-selected'] }, async (message) => {
    const notice = decodePromotion(message);
    received.push(`${notice.run_id}:${String(notice.source)}`);
  });
  await waitFor(() => received.length >= count, `${count} model-selected messages`);
  await subscription.stop();
  return received;
}

/** runW, then runX (a better SUCCESS of the same data) promoted by the daemon: runX is in service, automatically. */
async function daemonPromotedRunX(): Promise<PromotionRecord> {
  await addLoadableRun(store, settings, trained('runW', 0.1));
  expect(await daemon()).toMatchObject({ result: 'promoted', record: { run_id: 'runW' } });
  await addLoadableRun(store, settings, trained('runX', 0.05));
  const outcome = await daemon();
  expect(outcome).toMatchObject({ result: 'promoted', record: { run_id: 'runX', source: 'auto', previous_run_id: 'runW' } });
  return (outcome as { record: PromotionRecord }).record;
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'flts-promote-pin-'));
  store = createFsStore(path.join(root, 'store'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
  settings = defaultSettings();
  settings.daemon.expectedModelTypes = ['NAIVE'];
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

describe('core > workflows > promote > pin', () => {
  it('pins the run the daemon promoted when someone promotes it by hand, and a newer SUCCESS of the same data no longer replaces it', async () => {
    const auto = await daemonPromotedRunX();
    const events: FltsEvent[] = [];
    const pin = await byHand('runX', { onEvent: (event) => events.push(event) });

    expect(pin).toMatchObject({ changed: true, pinned: true, gate: null, validation: null, published: null, tracking: { status: 'unchanged' } });
    expect(pin.record).toMatchObject({ run_id: 'runX', model_uri: auto.model_uri, config_hash: HASH, source: 'manual', actor: 'ana', reason: 'keep runX', action: 'pin', previous_run_id: 'runW', pinned_timestamp: auto.timestamp, forced: false });
    expect(pin.record.timestamp > auto.timestamp).toBe(true);
    expect(events).toEqual([{ type: 'promote.pinned', runId: 'runX', configHash: HASH, modelType: 'NAIVE', source: 'manual', pinnedTimestamp: auto.timestamp }]);
    // The reference's layout and field order: a reference reader sees one more promotion of the same run.
    const stored = await getJson<PromotionRecord>(store, 'model-promotion', pin.history_key.slice('model-promotion/'.length));
    expect(Object.keys(stored).slice(0, 12)).toEqual(['identifier', 'config_hash', 'run_id', 'model_type', 'experiment', 'model_uri', 'rmse', 'mae', 'mse', 'score', 'timestamp', 'weights']);
    expect(await getJson(store, 'model-promotion', 'current.json')).toEqual(stored);
    expect(await getJson(store, 'model-promotion', 'global/current.json')).toEqual(stored);
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.source}:${r.action}`)).toEqual(['runW:auto:promote', 'runX:auto:promote', 'runX:manual:pin']);

    // Before the pin, this SUCCESS (a better one the daemon did not choose from) was promoted over runX.
    await addLoadableRun(store, settings, trained('runZ', 0.01));
    expect(await daemon()).toMatchObject({ result: 'chosen-run-stands', current: { run_id: 'runX', action: 'pin' } });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runX');
  });

  it('refuses to pin the run in service once its run.json was edited since training, writing nothing', async () => {
    await addLoadableRun(store, settings, trained('runW', 0.1), { digests: true });
    expect(await daemon()).toMatchObject({ result: 'promoted', record: { run_id: 'runW' } });
    const sealed = await readRunRecord(store, settings, 'runW');
    await saveRunRecord(store, settings, { ...sealed, params: { edited: true } });
    for (const pin of [false, true]) {
      await expect(promote({ runId: 'runW', source: 'manual', actor: 'ana', reason: 'keep runW', pin }, settings, { store, bus })).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT' });
    }
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.source}:${r.action}`)).toEqual(['runW:auto:promote']);
  });

  it('tells no replica to reload, and a rollback from the pin returns to the run before the pinned promotion', async () => {
    await daemonPromotedRunX();
    expect(await byHand('runX')).toMatchObject({ changed: true, pinned: true, published: null, record: { action: 'pin' } });
    const back = await rollback({ source: 'rollback', actor: 'ana' }, settings, { store, bus });
    expect(back.record).toMatchObject({ run_id: 'runW', previous_run_id: 'runX', action: 'rollback', reason: 'rollback from run runX' });
    // The pin is no step back: one rollback goes past it, and model-selected carried the real promotions only.
    expect(await announced(3)).toEqual(['runW:auto', 'runX:auto', 'runW:rollback']);
  });

  it('promote --best whose winner is the daemon\'s run in service pins it too, with the runs it chose from', async () => {
    await daemonPromotedRunX();
    const pin = await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store, bus });
    expect(pin).toMatchObject({ changed: true, pinned: true, published: null, record: { run_id: 'runX', source: 'best', action: 'pin', candidate_runs: expect.arrayContaining(['runW', 'runX']) } });
  });

  it('changes nothing for a second promotion of the pinned run, by hand or by the daemon, nor for a run someone chose', async () => {
    await daemonPromotedRunX();
    const pin = await byHand('runX');
    const again = [await byHand('runX'), await promote({ runId: 'runX', source: 'manual', actor: 'bob', reason: 'mine', force: true }, settings, { store, bus }), await promoteBest({ configHash: HASH, source: 'auto', actor: 'daemon:a' }, settings, { store, bus })];
    // Nothing written, and the run in service stands pinned.
    for (const result of again) expect(result).toMatchObject({ changed: false, pinned: true, record: pin.record, published: null });
    // The daemon re-promoting its own choice is no pin either.
    await byHand('runW');
    expect(await promoteBest({ configHash: HASH, source: 'auto', actor: 'daemon:a' }, settings, { store, bus })).toMatchObject({ changed: true, pinned: false, record: { run_id: 'runX', source: 'auto' } });
    expect(await promoteBest({ configHash: HASH, source: 'auto', actor: 'daemon:a' }, settings, { store, bus })).toMatchObject({ changed: false, pinned: false });
    // runW, chosen by hand and in service again after a rollback: promoting it by hand is still nothing.
    await rollback({ source: 'rollback', actor: 'ana' }, settings, { store, bus });
    expect(await byHand('runW')).toMatchObject({ changed: false, pinned: false, record: { run_id: 'runW', source: 'rollback' } });
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.source}:${r.action}`)).toEqual(['runW:auto:promote', 'runX:auto:promote', 'runX:manual:pin', 'runW:manual:promote', 'runX:auto:promote', 'runW:rollback:rollback']);
  });

  it('announces and marks a pin that put its run back in service, when another promotion came in between', async () => {
    await daemonPromotedRunX();
    let raced = false;
    const racing: ObjectStore = {
      ...store,
      exists: async (bucket, key) => {
        // Just before the pin is written, someone else's promotion lands.
        if (!raced && key.includes('/promotion-2099-')) {
          raced = true;
          await byHand('runW');
        }
        return store.exists(bucket, key);
      },
    };
    const pin = await byHand('runX', { store: racing, now: () => new Date('2099-01-01T00:00:00.000Z') });
    expect(raced).toBe(true);
    expect(pin).toMatchObject({ changed: true, pinned: true, published: { topic: 'model-selected', ok: true }, tracking: { status: 'disabled' } });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runX');
    expect(await announced(4)).toEqual(['runW:auto', 'runX:auto', 'runW:manual', 'runX:manual']);
  });
});

describe('core > workflows > promote > pin (asked for)', () => {
  const pinned = (runId: string, deps: Partial<PromotionDeps> = {}) => promote({ runId, source: 'manual', actor: 'bob', reason: `pin ${runId}`, pin: true }, settings, { store, bus, ...deps });
  const trail = async () => (await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.source}:${r.action}${r.pinned ? ':pinned' : ''}`);

  it('promotes a run by hand and pins it: one promotion record that is the pin, announced once', async () => {
    await addLoadableRun(store, settings, trained('runW', 0.1));
    await addLoadableRun(store, settings, trained('runX', 0.05));
    await byHand('runW');
    const events: FltsEvent[] = [];
    const result = await pinned('runX', { onEvent: (event) => events.push(event) });

    const promotion = (await listPromotionHistory(store, settings)).at(-1)!;
    expect(promotion).toMatchObject({ run_id: 'runX', action: 'promote', pinned: true, source: 'manual', actor: 'bob', reason: 'pin runX', previous_run_id: 'runW', forced: false });
    expect(result).toMatchObject({ changed: true, pinned: true, record: promotion, published: { topic: 'model-selected', ok: true } });
    expect(result.validation?.windows).toBeGreaterThan(0);
    expect(await readPromotionPointer(store, settings)).toEqual(promotion);
    // The reference fields stay first, in the reference order; `pinned` is one more field a reference reader skips.
    expect(Object.keys(promotion).slice(0, 12)).toEqual(['identifier', 'config_hash', 'run_id', 'model_type', 'experiment', 'model_uri', 'rmse', 'mae', 'mse', 'score', 'timestamp', 'weights']);
    expect(events).toEqual([expect.objectContaining({ type: 'promote.done' }), expect.objectContaining({ type: 'promote.pinned', pinnedTimestamp: promotion.timestamp })]);
    expect(await announced(2)).toEqual(['runW:manual', 'runX:manual']);
    expect(await trail()).toEqual(['runW:manual:promote', 'runX:manual:promote:pinned']);
  });

  it('leaves no promotion unpinned when the process dies after the promotion\'s first write: that record is the pin', async () => {
    await addLoadableRun(store, settings, trained('runW', 0.1));
    await addLoadableRun(store, settings, trained('runX', 0.05));
    await byHand('runW');
    // The process dies after one object of the promotion is in the store: every later write fails.
    let writes = 0;
    const dying: ObjectStore = {
      ...store,
      put: async (bucket, key, body, options) => {
        if (bucket === settings.store.buckets.promotion && ++writes > 1) throw new Error('killed after the first write');
        return store.put(bucket, key, body, options);
      },
    };
    await expect(pinned('runX', { store: dying })).rejects.toThrow('killed after the first write');
    expect(writes).toBe(2);

    // Every reader of the pin sees it at once: the automatic rollback refuses, whatever the lagging pointers say...
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runW');
    await expect(rollback({ source: 'auto-rollback', actor: 'live-accuracy', reason: 'worse live' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_PROMOTE_CHOSEN_RUN_STANDS' });
    const newest = (await listPromotionHistory(store, settings)).at(-1)!;
    expect(newest).toMatchObject({ run_id: 'runX', action: 'promote', pinned: true, previous_run_id: 'runW' });
    // ...and once the next process finishes the promotion, the pointer the probation decider reads keeps the run too.
    expect(await completeInterruptedPromotion(settings, { store })).toEqual(newest);
    const pointer = (await readPromotionPointer(store, settings))!;
    expect(keeperOf(pointer)).toEqual({ action: 'pin', source: 'manual', actor: 'bob', timestamp: newest.timestamp });
    expect(promotionRefOf(pointer)).toEqual({ run_id: 'runX', previous_run_id: 'runW', timestamp: newest.timestamp });
    // Nothing is left to mend.
    expect(await pinned('runX')).toMatchObject({ changed: false, pinned: true, record: newest });
    expect(await trail()).toEqual(['runW:manual:promote', 'runX:manual:promote:pinned']);
  });

  it('pins the run in service whoever promoted it, without a reload, then changes nothing; without pin nothing is pinned', async () => {
    await addLoadableRun(store, settings, trained('runW', 0.1));
    const promotion = (await byHand('runW')).record;
    expect(await byHand('runW')).toMatchObject({ changed: false, pinned: false, record: promotion });
    // Pinned where it is: the pin is written (a change), with nothing announced or marked.
    const pin = await pinned('runW');
    expect(pin).toMatchObject({ changed: true, pinned: true, published: null, tracking: { status: 'unchanged' }, record: { run_id: 'runW', action: 'pin', actor: 'bob', pinned_timestamp: promotion.timestamp, previous_run_id: null } });
    expect(await pinned('runW')).toMatchObject({ changed: false, pinned: true, record: pin.record, published: null });
    expect(await promoteBest({ configHash: HASH, source: 'best', actor: 'ana', pin: true }, settings, { store, bus })).toMatchObject({ changed: false, pinned: true, record: pin.record });
    expect(await trail()).toEqual(['runW:manual:promote', 'runW:manual:pin']);
    expect(await announced(1)).toEqual(['runW:manual']);
  });

  it('pins the winner of promote --best, and a forced promotion\'s pin says what was forced over', async () => {
    await addLoadableRun(store, settings, trained('runW', 0.1));
    await addLoadableRun(store, settings, trained('runX', 0.05));
    const best = await promoteBest({ configHash: HASH, source: 'best', actor: 'ana', pin: true }, settings, { store, bus });
    expect(best).toMatchObject({ changed: true, pinned: true, record: { run_id: 'runX', source: 'best', action: 'promote', pinned: true, candidate_runs: expect.arrayContaining(['runW', 'runX']) } });
    for (const { key } of await store.list('processed-data', `${HASH}/`)) await store.delete('processed-data', key);
    const forced = await promote({ runId: 'runW', source: 'manual', actor: 'ana', reason: 'data archived', force: true, pin: true }, settings, { store });
    expect(forced.record).toMatchObject({ run_id: 'runW', action: 'promote', pinned: true, forced: true, forced_over: [expect.stringContaining('cannot be checked')] });
  });

  it('fixes the terms of the probation a promotion starts in its record, and a pin carries those of the promotion it pins', async () => {
    settings.live.probationPoints = 40;
    const auto = await daemonPromotedRunX();
    expect(auto.probation).toEqual({ points: 40, margin: 0.1 });
    const first = (await listPromotionHistory(store, settings))[0];
    expect(first).toMatchObject({ run_id: 'runW' });
    // A first promotion compares with nothing: no probation, no terms.
    expect(first.probation).toBeUndefined();
    // Pinned from a process set otherwise: the probation goes on under the terms it started with.
    settings.live.probationPoints = 900;
    settings.live.rollbackMargin = 0.3;
    const pin = await byHand('runX');
    expect(pin.record).toMatchObject({ action: 'pin', pinned_timestamp: auto.timestamp, probation: { points: 40, margin: 0.1 } });
    const back = await rollback({ source: 'rollback', actor: 'ana' }, settings, { store });
    expect(back.record.action).toBe('rollback');
    expect(back.record.probation).toBeUndefined();
  });

  it('pins a run a rollback restored without starting a probation, and leaves the pin to a person\'s promotion or rollback', async () => {
    await addLoadableRun(store, settings, trained('runW', 0.1));
    await addLoadableRun(store, settings, trained('runX', 0.05));
    await byHand('runW');
    await pinned('runX');
    const back = await rollback({ source: 'rollback', actor: 'ana' }, settings, { store });
    expect(back).toMatchObject({ pinned: false, record: { run_id: 'runW', action: 'rollback' } });
    const pin = await pinned('runW');
    expect(pin).toMatchObject({ changed: true, pinned: true, record: { run_id: 'runW', action: 'pin', previous_run_id: 'runX' } });
    expect(pin.record.pinned_timestamp).toBeUndefined();
    expect(promotionRefOf(pin.record)).toBeUndefined();
    expect(await byHand('runX')).toMatchObject({ changed: true, pinned: false, record: { run_id: 'runX', action: 'promote' } });
  });

  it('refuses a pin from the daemon or a rollback (sources auto, rollback, auto-rollback), writing nothing', async () => {
    await addLoadableRun(store, settings, trained('runW', 0.1));
    for (const source of ['auto', 'rollback', 'auto-rollback'] as const) {
      await expect(promote({ runId: 'runW', source, actor: 'daemon:a', reason: 'x', pin: true }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { source } });
    }
    expect(await listPromotionHistory(store, settings)).toEqual([]);
  });
});
