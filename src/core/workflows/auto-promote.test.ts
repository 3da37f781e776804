import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../config/settings.js';
import { CANDIDATE_LIST_LIMIT, readPromotionPointer, type PromotionRecord } from '../registry/pointers.js';
import { appendHistory, listPromotionHistory, syncPointers } from '../registry/promotion-history.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import { sweepCandidateLists } from '../registry/candidate-lists.js';
import { readRunRecord, saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { autoPromote, findAutoPromotion, missingModelTypes } from './auto-promote.js';
import { addLoadableRun } from './loadable-run.fixture.js';
import { createRollbackAction } from './auto-rollback.js';
import { buildPromotionRecord, promote, rollback } from './promote.js';

const HASH = 'a'.repeat(64);
const metrics = { rmse: 0.1, mae: 0.1, mse: 0.01 };

function promotion(timestamp: string, source: 'auto' | 'manual', configHash = HASH): PromotionRecord {
  return { identifier: '', config_hash: configHash, run_id: 'r1', model_type: 'LSTM', experiment: 'Default', model_uri: 'runs:/r1/LSTM', rmse: 0.1, mae: 0.1, mse: 0.01, score: 0.1, timestamp, weights: { rmse: 0.5, mae: 0.3, mse: 0.2 }, source, previous_run_id: null, reason: '' };
}

function finished(id: string, type: 'LSTM' | 'NAIVE', at: string) {
  const run = fakeRun(id, type, metrics, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
  return { ...run, timings: { ...run.timings, finished_at: at } };
}

describe('core > workflows > auto-promote', () => {
  it('names the expected types without a SUCCESS run, case-insensitively', () => {
    expect(missingModelTypes(['gru', 'LSTM', 'NAIVE'], [finished('a', 'LSTM', '2026-01-01T00:01:00.000Z')])).toEqual(['GRU', 'NAIVE']);
    expect(missingModelTypes(['LSTM'], [finished('a', 'LSTM', '2026-01-01T00:01:00.000Z')])).toEqual([]);
  });

  it('finds the automatic promotion made after the newest SUCCESS run of the hash, comparing microsecond timestamps as times', () => {
    const runs = [finished('a', 'LSTM', '2026-01-01T00:01:00.500Z'), finished('b', 'NAIVE', '2026-01-01T00:02:00.250Z')];
    const after = promotion('2026-01-01T00:02:00.250001Z', 'auto');
    expect(findAutoPromotion([after], HASH, runs)).toBe(after);
    // Same millisecond as the run: still after it (the promoter reads the run before promoting).
    expect(findAutoPromotion([promotion('2026-01-01T00:02:00.250000Z', 'auto')], HASH, runs)).toBeDefined();
  });

  it('does not count manual promotions, other hashes, or promotions older than a newer SUCCESS run', () => {
    const runs = [finished('a', 'LSTM', '2026-01-01T00:05:00.000Z')];
    expect(findAutoPromotion([promotion('2026-01-01T00:06:00.000000Z', 'manual')], HASH, runs)).toBeUndefined();
    expect(findAutoPromotion([promotion('2026-01-01T00:06:00.000000Z', 'auto', 'b'.repeat(64))], HASH, runs)).toBeUndefined();
    expect(findAutoPromotion([promotion('2026-01-01T00:04:59.999999Z', 'auto')], HASH, runs)).toBeUndefined();
  });

  it('keeps a promotion record of a config_hash of thousands of runs small, and still knows which runs it chose from', () => {
    // Trained on a host whose clock runs a year ahead: only the candidates can tell the runs were considered.
    const runs = Array.from({ length: 5000 }, (_, at) => finished(`run-${String(at).padStart(5, '0')}`, 'LSTM', '2027-01-01T00:00:00.000Z'));
    const record = (candidates: readonly RunRecord[]): PromotionRecord =>
      buildPromotionRecord(candidates[0], defaultSettings(), { source: 'auto', reason: 'best', action: 'promote', previousRunId: null, candidateRuns: candidates.map((run) => run.run_id).reverse() });
    const few = record(runs.slice(0, 10));
    const many = record(runs);
    // What every history read, pointer and model-selected notice carries: no longer one id per run.
    expect(JSON.stringify(many).length).toBeLessThan(JSON.stringify(few).length + 200);
    expect(few.candidate_runs).toHaveLength(10);
    expect(many.candidate_runs).toBeUndefined();
    expect(findAutoPromotion([many], HASH, runs)).toBe(many);
    expect(findAutoPromotion([many], HASH, [...runs, finished('late', 'LSTM', '2027-01-01T00:00:00.000Z')])).toBeUndefined();
    expect(findAutoPromotion([few], HASH, runs.slice(0, 10))).toBe(few);
    // Records written before the set was kept list every candidate: they still count.
    const listed = { ...promotion('2026-01-01T00:00:00.000000Z', 'auto'), candidate_runs: runs.map((run) => run.run_id) };
    expect(findAutoPromotion([listed], HASH, runs)).toBe(listed);
    expect(findAutoPromotion([listed], HASH, [...runs, finished('late', 'LSTM', '2027-01-01T00:00:00.000Z')])).toBeUndefined();
  });
});

/** A SUCCESS run of `configHash`, whose processed data was created at `dataCreatedAt`, finished now. */
function trained(id: string, type: 'LSTM' | 'GRU' | 'NAIVE', configHash: string, dataCreatedAt: string, rmse = 0.1): RunRecord {
  const run = fakeRun(id, type, { rmse, mae: rmse, mse: rmse * rmse }, new Date().toISOString(), 'SUCCESS', configHash);
  return { ...run, data: { ...run.data, processed_created_at: dataCreatedAt }, timings: { ...run.timings, finished_at: new Date().toISOString() } };
}

async function withStore(test: (store: ObjectStore, settings: Settings) => Promise<void>): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'flts-auto-promote-'));
  try {
    const settings = defaultSettings();
    settings.daemon.expectedModelTypes = ['NAIVE', 'LSTM'];
    await test(createFsStore(root), settings);
  } finally {
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

const OLD = '1'.repeat(64);
const NEW = '2'.repeat(64);
const NEWER = '3'.repeat(64);

describe('core > workflows > auto-promote > semantics', () => {
  it('only moves forward in data versions: a late SUCCESS for older data is recorded, never promoted', async () => {
    await withStore(async (store, settings) => {
      const deps = { store };
      for (const run of [trained('old-naive', 'NAIVE', OLD, '2025-01-01T00:00:00Z'), trained('old-lstm', 'LSTM', OLD, '2025-01-01T00:00:00Z')]) await addLoadableRun(store, settings, run);
      expect(await autoPromote(OLD, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted' });
      for (const run of [trained('new-naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z'), trained('new-lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z')]) await addLoadableRun(store, settings, run);
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { config_hash: NEW, data_created_at: '2025-02-01T00:00:00Z' } });
      // A new model type joins later: the trainer reads old claims again and the old hash gets a (better) GRU SUCCESS.
      settings.daemon.expectedModelTypes = ['NAIVE', 'LSTM', 'GRU'];
      await addLoadableRun(store, settings, trained('old-gru', 'GRU', OLD, '2025-01-01T00:00:00Z', 0.01));
      expect(await autoPromote(OLD, 'daemon:a', settings, deps)).toMatchObject({ result: 'superseded' });
      expect((await readPromotionPointer(store, settings))?.config_hash).toBe(NEW);
      await addLoadableRun(store, settings, trained('new-gru', 'GRU', NEW, '2025-02-01T00:00:00Z', 0.01));
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { run_id: 'new-gru', source: 'auto', actor: 'daemon:a' } });
      expect((await listPromotionHistory(store, settings)).map((r) => r.config_hash)).toEqual([OLD, NEW, NEW]);
    });
  });

  it('keeps the run in service when a newer SUCCESS ties its score: no promotion, no reload, no new probation', async () => {
    await withStore(async (store, settings) => {
      const deps = { store };
      const startedAt = (run: RunRecord, time: string): RunRecord => ({ ...run, timings: { ...run.timings, started_at: time } });
      for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2), startedAt(trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05), '2026-01-01T00:00:00.000Z')]) await addLoadableRun(store, settings, run);
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { run_id: 'lstm' } });
      // Ranked first, as ties go to the newest run: before, the daemon promoted it over the run in service.
      await addLoadableRun(store, settings, startedAt(trained('lstm-tie', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05), '2026-01-02T00:00:00.000Z'));
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'already-promoted', record: { run_id: 'lstm' } });
      // One that scores better is still promoted.
      await addLoadableRun(store, settings, trained('lstm-better', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.04));
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { run_id: 'lstm-better' } });
      expect((await listPromotionHistory(store, settings)).map((record) => record.run_id)).toEqual(['lstm', 'lstm-better']);
    });
  });

  it('promotes once whatever the clocks of the trainers and the promoter say', async () => {
    await withStore(async (store, settings) => {
      const deps = { store };
      const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
      const finishedAt = (run: RunRecord, time: string): RunRecord => ({ ...run, timings: { ...run.timings, finished_at: time } });
      // The trainers' clock is ten minutes ahead of the promoter's: their runs finish "after" any promotion made now.
      for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2), trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05)]) {
        await addLoadableRun(store, settings, finishedAt(run, at(600_000)));
      }
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { run_id: 'lstm' } });
      expect(await autoPromote(NEW, 'daemon:b', settings, deps)).toMatchObject({ result: 'already-promoted' });
      expect((await readPromotionPointer(store, settings))?.candidate_runs?.sort()).toEqual(['lstm', 'naive']);
      // A retrained model from a trainer whose clock is ten minutes behind: new, so the data is promoted again.
      await addLoadableRun(store, settings, finishedAt(trained('lstm-2', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.01), at(-600_000)));
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { run_id: 'lstm-2' } });
      expect(await autoPromote(NEW, 'daemon:b', settings, deps)).toMatchObject({ result: 'already-promoted' });
      expect((await listPromotionHistory(store, settings)).map((record) => record.run_id)).toEqual(['lstm', 'lstm-2']);
    });
  });

  it('a new SUCCESS that does not beat the run it promoted changes nothing: no second record of the same run', async () => {
    await withStore(async (store, settings) => {
      const deps = { store };
      for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2), trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05)]) await addLoadableRun(store, settings, run);
      const promoted = await autoPromote(NEW, 'daemon:a', settings, deps);
      expect(promoted).toMatchObject({ result: 'promoted', record: { run_id: 'lstm' } });
      await addLoadableRun(store, settings, trained('lstm-worse', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.3));
      for (const promoter of ['daemon:a', 'daemon:b']) {
        expect(await autoPromote(NEW, promoter, settings, deps)).toEqual({ result: 'already-promoted', record: (promoted as { record: PromotionRecord }).record });
      }
      expect((await listPromotionHistory(store, settings)).map((record) => record.run_id)).toEqual(['lstm']);
    });
  });

  it('refuses a winner whose files are damaged as an outcome, and leaves the pointer alone', async () => {
    await withStore(async (store, settings) => {
      for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2), trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05)]) await addLoadableRun(store, settings, run);
      const weights = await store.get('runs', 'lstm/model/weights.bin');
      await store.put('runs', 'lstm/model/weights.bin', weights.subarray(0, 8));
      expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toMatchObject({ result: 'refused', code: 'FLTS_RUN_CORRUPT' });
      expect(await readPromotionPointer(store, settings)).toBeUndefined();
    });
  });

  it('lets a chosen run stand against automatic promotion of the same data, until newer data arrives', async () => {
    await withStore(async (store, settings) => {
      const deps = { store };
      for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.05), trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.2)]) await addLoadableRun(store, settings, run);
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { run_id: 'naive' } });
      await promote({ runId: 'lstm', source: 'manual', actor: 'ana', reason: 'LSTM handles holidays' }, settings, deps);
      // Another SUCCESS for the same data (trained outside the daemon): a resync must not undo the manual choice.
      await addLoadableRun(store, settings, trained('naive-2', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.04));
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'chosen-run-stands' });
      expect(await autoPromote(NEW, 'daemon:b', settings, deps)).toMatchObject({ result: 'chosen-run-stands' });
      expect((await readPromotionPointer(store, settings))?.run_id).toBe('lstm');
      // A rollback stands the same way (a person's: an automatic one never undoes the choice above).
      await rollback({ source: 'rollback', actor: 'ana', reason: 'LSTM drifts after all' }, settings, deps);
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'chosen-run-stands' });
      expect((await readPromotionPointer(store, settings))?.run_id).toBe('naive');
      // Newer data is promoted automatically over any earlier choice.
      for (const run of [trained('naive-3', 'NAIVE', NEWER, '2025-03-01T00:00:00Z'), trained('lstm-3', 'LSTM', NEWER, '2025-03-01T00:00:00Z')]) await addLoadableRun(store, settings, run);
      expect(await autoPromote(NEWER, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { config_hash: NEWER, previous_run_id: 'naive' } });
    });
  });
  it('past 50 candidates, a run gone since the promotion is no reason to choose again; a run it did not see is', async () => {
    await withStore(async (store, settings) => {
      const deps = { store };
      for (const run of [trained('old-naive', 'NAIVE', OLD, '2025-01-01T00:00:00Z', 0.3), trained('old-lstm', 'LSTM', OLD, '2025-01-01T00:00:00Z', 0.3)]) await addLoadableRun(store, settings, run);
      expect(await autoPromote(OLD, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted' });
      const fillers = Array.from({ length: CANDIDATE_LIST_LIMIT }, (_, at) => trained(`naive-${String(at).padStart(2, '0')}`, 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2 + at / 1000));
      for (const run of [...fillers, trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05)]) await addLoadableRun(store, settings, run);
      const promoted = await autoPromote(NEW, 'daemon:a', settings, deps);
      expect(promoted).toMatchObject({ result: 'promoted', record: { run_id: 'lstm', candidate_set: { count: CANDIDATE_LIST_LIMIT + 1 } } });
      expect((promoted as { record: PromotionRecord }).record.candidate_runs).toBeUndefined();
      // Someone rolls the newer data back: the promoter leaves that alone while the runs it chose from are all it sees.
      await rollback({ source: 'rollback', actor: 'ana', reason: 'the LSTM drifts' }, settings, deps);
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'already-promoted' });

      // One candidate disappears (its run.json deleted): the set differs, yet no run is new to the promotion.
      await store.delete(settings.store.buckets.runs, 'naive-07/run.json');
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'already-promoted' });
      expect((await readPromotionPointer(store, settings))?.run_id).toBe('old-lstm');

      // A run it did not see: the data is promoted again.
      await addLoadableRun(store, settings, trained('lstm-2', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.01));
      expect(await autoPromote(NEW, 'daemon:a', settings, deps)).toMatchObject({ result: 'promoted', record: { run_id: 'lstm-2' } });
    });
  });

  describe("a person's choice of older data, against newer data's runs it saw", () => {
    /** OLD promoted automatically, then NEW from its two runs; `lstm-2` of NEW finishes after that promotion. */
    async function newerDataWithAnUnchosenSuccess(store: ObjectStore, settings: Settings): Promise<void> {
      for (const run of [trained('old-naive', 'NAIVE', OLD, '2025-01-01T00:00:00Z', 0.3), trained('old-lstm', 'LSTM', OLD, '2025-01-01T00:00:00Z', 0.2)]) await addLoadableRun(store, settings, run);
      expect(await autoPromote(OLD, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'old-lstm' } });
      for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2), trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.1)]) await addLoadableRun(store, settings, run);
      expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'lstm' } });
      await addLoadableRun(store, settings, trained('lstm-2', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05));
    }

    it('stands when every SUCCESS of the newer data had finished before it, and gives way to one that finishes after', async () => {
      await withStore(async (store, settings) => {
        await newerDataWithAnUnchosenSuccess(store, settings);
        // Ana has seen lstm-2 (unchosen by the promoter) and goes back to the older data on purpose.
        const chosen = await promote({ runId: 'old-lstm', source: 'manual', actor: 'ana', reason: 'the new inputs are broken' }, settings, { store });
        for (const promoter of ['daemon:a', 'daemon:b']) {
          expect(await autoPromote(NEW, promoter, settings, { store })).toMatchObject({ result: 'chosen-run-stands', current: { run_id: 'old-lstm', source: 'manual' } });
        }
        expect(chosen.record.seen_runs?.sort()).toEqual(['lstm', 'lstm-2', 'naive', 'old-lstm', 'old-naive']);
        // Runs that are no candidates of the newer data are no news either: other targets, a FAILED run, a run gone.
        const otherTargets = trained('gru-both', 'GRU', NEW, '2025-02-01T00:00:00Z', 0.001);
        await saveRunRecord(store, settings, { ...otherTargets, window: { ...otherTargets.window, features: ['down', 'up'], targets: ['down', 'up'] } });
        await saveRunRecord(store, settings, { ...trained('lstm-failed', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.001), status: 'FAILED' });
        await store.delete(settings.store.buckets.runs, 'lstm/run.json');
        expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toMatchObject({ result: 'chosen-run-stands' });
        expect((await listPromotionHistory(store, settings)).map((record) => `${record.run_id}:${record.source}`)).toEqual(['old-lstm:auto', 'lstm:auto', 'old-lstm:manual']);

        // A SUCCESS of the newer data that Ana's promotion did not see: the newer data is promoted again.
        await addLoadableRun(store, settings, trained('naive-2', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.3));
        expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'lstm-2', source: 'auto', previous_run_id: 'old-lstm' } });
        expect(await autoPromote(NEW, 'daemon:b', settings, { store })).toMatchObject({ result: 'already-promoted' });
      });
    });

    it('past 50 runs in the registry, knows what the choice saw from the kept list of its set, which no sweep removes', async () => {
      await withStore(async (store, settings) => {
        await newerDataWithAnUnchosenSuccess(store, settings);
        const fillers = Array.from({ length: CANDIDATE_LIST_LIMIT }, (_, at) => trained(`naive-${String(at).padStart(2, '0')}`, 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.5 + at / 1000));
        for (const run of fillers) await addLoadableRun(store, settings, run);
        const chosen = await promote({ runId: 'old-lstm', source: 'manual', actor: 'ana', reason: 'the new inputs are broken' }, settings, { store });
        // A sweep that takes every list no record names, however young, leaves it: the record names it.
        expect((await sweepCandidateLists(store, settings, 0)).removed).toEqual([]);
        expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toMatchObject({ result: 'chosen-run-stands' });
        expect(chosen.record.seen_runs).toBeUndefined();
        expect(chosen.record.seen_set).toMatchObject({ count: CANDIDATE_LIST_LIMIT + 5 });
        await addLoadableRun(store, settings, trained('lstm-3', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.01));
        expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'lstm-3', previous_run_id: 'old-lstm' } });
      });
    });

    it('a person\'s record of an older flts, which names no runs it saw, gives way to an unchosen SUCCESS as before', async () => {
      await withStore(async (store, settings) => {
        await newerDataWithAnUnchosenSuccess(store, settings);
        // Two scopes choose the same older run by hand, one as an older flts wrote it (no seen_runs, no seen_set).
        const older = { ...settings, identifier: 'site-older' };
        const current = { ...settings, identifier: 'site-current' };
        const oldLstm = await readRunRecord(store, settings, 'old-lstm');
        await appendHistory(store, older, buildPromotionRecord(oldLstm, older, { source: 'manual', actor: 'ana', reason: 'by hand', action: 'promote', previousRunId: null }));
        await syncPointers(store, older);
        await promote({ runId: 'old-lstm', source: 'manual', actor: 'ana', reason: 'by hand' }, current, { store });
        expect(await autoPromote(NEW, 'daemon:a', older, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'lstm-2', previous_run_id: 'old-lstm' } });
        expect(await autoPromote(NEW, 'daemon:a', current, { store })).toMatchObject({ result: 'chosen-run-stands', current: { run_id: 'old-lstm' } });
      });
    });
  });

  describe('an automatic rollback (a failed live probation), against the runs the registry held as it was made', () => {
    /**
     * OLD promoted automatically, then NEW's lstm over it (its probation starts); NEW's `lstm-slow` finishes after that
     * promotion and does not beat lstm, so the promoter keeps lstm; then the probation fails and rolls back to old-lstm.
     */
    async function rolledBackFromNewerData(store: ObjectStore, settings: Settings, identifier = ''): Promise<Settings> {
      const scoped = { ...settings, identifier };
      for (const run of [trained('old-naive', 'NAIVE', OLD, '2025-01-01T00:00:00Z', 0.3), trained('old-lstm', 'LSTM', OLD, '2025-01-01T00:00:00Z', 0.2)]) await addLoadableRun(store, scoped, run);
      expect(await autoPromote(OLD, 'daemon:a', scoped, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'old-lstm' } });
      for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2), trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.1)]) await addLoadableRun(store, scoped, run);
      expect(await autoPromote(NEW, 'daemon:a', scoped, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'lstm', previous_run_id: 'old-lstm' } });
      await addLoadableRun(store, scoped, trained('lstm-slow', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.15));
      expect(await autoPromote(NEW, 'daemon:a', scoped, { store })).toMatchObject({ result: 'already-promoted', record: { run_id: 'lstm' } });
      return scoped;
    }

    it('stands: the promoter does not put back the run it rolled back from on runs that finished before it; a later SUCCESS is news', async () => {
      await withStore(async (store, settings) => {
        await rolledBackFromNewerData(store, settings);
        const rollBack = createRollbackAction({ store, settings, actor: 'replica-1' });
        await rollBack({ source: 'auto-rollback', reason: 'live RMSE 2x the previous run', fromRunId: 'lstm', toRunId: 'old-lstm' });
        const rolledBack = (await listPromotionHistory(store, settings)).at(-1)!;
        expect(rolledBack).toMatchObject({ run_id: 'old-lstm', source: 'auto-rollback', action: 'rollback' });
        for (const promoter of ['daemon:a', 'daemon:b']) {
          expect(await autoPromote(NEW, promoter, settings, { store })).toMatchObject({ result: 'chosen-run-stands', current: { run_id: 'old-lstm', source: 'auto-rollback' } });
        }
        expect(rolledBack.seen_runs?.slice().sort()).toEqual(['lstm', 'lstm-slow', 'naive', 'old-lstm', 'old-naive']);
        expect((await readPromotionPointer(store, settings))?.run_id).toBe('old-lstm');
        // A SUCCESS of the newer data that finished after the rollback: the newer data is promoted again.
        await addLoadableRun(store, settings, trained('lstm-2', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05));
        expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'lstm-2', source: 'auto', previous_run_id: 'old-lstm' } });
      });
    });

    it('an automatic rollback an older flts recorded (no seen runs) gives way as before', async () => {
      await withStore(async (store, settings) => {
        const scoped = await rolledBackFromNewerData(store, settings, 'site-older');
        const oldLstm = await readRunRecord(store, scoped, 'old-lstm');
        await appendHistory(store, scoped, buildPromotionRecord(oldLstm, scoped, { source: 'auto-rollback', actor: 'replica-1', reason: 'worse live', action: 'rollback', previousRunId: 'lstm' }));
        await syncPointers(store, scoped);
        expect(await autoPromote(NEW, 'daemon:a', scoped, { store })).toMatchObject({ result: 'promoted', record: { run_id: 'lstm', previous_run_id: 'old-lstm' } });
      });
    });
  });

  describe('runs of other targets than the configured ones (training.targets)', () => {
    /** `run` trained by hand to forecast `down` and `up`; only its record (this store's test data has no `up`). */
    const bothTargets = (run: RunRecord): RunRecord => ({ ...run, window: { ...run.window, features: ['down', 'up'], targets: ['down', 'up'] } });

    it('a NAIVE of other targets does not stand in for the configured NAIVE still training', async () => {
      await withStore(async (store, settings) => {
        await addLoadableRun(store, settings, trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05));
        await saveRunRecord(store, settings, bothTargets(trained('naive-both', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2)));
        expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toEqual({ result: 'waiting', missing: ['NAIVE'] });
        expect(await readPromotionPointer(store, settings)).toBeUndefined();
        // Expecting no particular type: a SUCCESS of other targets alone is still nothing to promote.
        settings.daemon.expectedModelTypes = [];
        await saveRunRecord(store, settings, bothTargets(trained('naive-old-both', 'NAIVE', OLD, '2025-01-01T00:00:00Z', 0.2)));
        expect(await autoPromote(OLD, 'daemon:a', settings, { store })).toEqual({ result: 'waiting', missing: [] });
        expect(await readPromotionPointer(store, settings)).toBeUndefined();
      });
    });

    it('never promotes a better run of other targets, at the first promotion or as a new SUCCESS later', async () => {
      await withStore(async (store, settings) => {
        const deps = { store };
        for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2), trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05)]) await addLoadableRun(store, settings, run);
        await saveRunRecord(store, settings, bothTargets(trained('gru-both', 'GRU', NEW, '2025-02-01T00:00:00Z', 0.001)));
        const promoted = await autoPromote(NEW, 'daemon:a', settings, deps);
        expect(promoted).toMatchObject({ result: 'promoted', record: { run_id: 'lstm' } });
        expect((promoted as { record: PromotionRecord }).record.candidate_runs?.sort()).toEqual(['lstm', 'naive']);
        await saveRunRecord(store, settings, bothTargets(trained('gru-both-2', 'GRU', NEW, '2025-02-01T00:00:00Z', 0.0001)));
        expect(await autoPromote(NEW, 'daemon:b', settings, deps)).toMatchObject({ result: 'already-promoted', record: { run_id: 'lstm' } });
        expect((await listPromotionHistory(store, settings)).map((record) => record.run_id)).toEqual(['lstm']);
      });
    });

    it('a run of other targets promoted by name stands against automatic promotion of the same data', async () => {
      await withStore(async (store, settings) => {
        for (const run of [trained('naive', 'NAIVE', NEW, '2025-02-01T00:00:00Z', 0.2), trained('lstm', 'LSTM', NEW, '2025-02-01T00:00:00Z', 0.05)]) await addLoadableRun(store, settings, run);
        const chosen = bothTargets(trained('gru-both', 'GRU', NEW, '2025-02-01T00:00:00Z', 0.3));
        await saveRunRecord(store, settings, chosen);
        await appendHistory(store, settings, buildPromotionRecord(chosen, settings, { source: 'manual', actor: 'ana', reason: 'both columns', action: 'promote', previousRunId: null }));
        await syncPointers(store, settings);
        expect(await autoPromote(NEW, 'daemon:a', settings, { store })).toMatchObject({ result: 'chosen-run-stands' });
        expect((await readPromotionPointer(store, settings))?.run_id).toBe('gru-both');
      });
    });
  });
});
