import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { getJson, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { candidateListKey, readCandidateList, saveCandidateList, sweepCandidateLists } from '../registry/candidate-lists.js';
import { CANDIDATE_LIST_LIMIT, candidateSet, readPromotionPointer, readPromotionPointerWithSource, type PromotionRecord } from '../registry/pointers.js';
import { appendHistory, listPromotionHistory, syncPointers } from '../registry/promotion-history.js';
import { createFsBus } from '../bus/fs-bus.js';
import { waitFor } from '../bus/message-bus.contract.js';
import { decodePromotion } from '../bus/messages.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import { readRunRecord, saveRunRecord, scanRunRecords } from '../registry/run-store.js';
import { recordingStore, type StoreCall } from '../storage/recording-store.fixture.js';
import type { Logger } from '../logger.js';
import { addLoadableRun } from './loadable-run.fixture.js';
import { FltsError } from '../errors.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import type { FltsEvent } from '../events.js';
import { buildPromotionRecord, promote, promoteBest, rollback, type PromotionDeps } from './promote.js';

const HASH = 'c'.repeat(64);
let root: string;
let store: ObjectStore;
let settings: Settings;

async function addRun(run: RunRecord, options: { nanWeights?: boolean } = {}): Promise<void> {
  await addLoadableRun(store, settings, run, options);
}

/**
 * Saves a loadable run sealed as training seals it, then edits its stored test metrics to `metrics` as a hand edit of
 * run.json would, the seal left as it was.
 */
async function addEditedRun(run: RunRecord, metrics: { rmse: number; mae: number; mse: number }): Promise<void> {
  await addLoadableRun(store, settings, run, { digests: true });
  const sealed = await readRunRecord(store, settings, run.run_id);
  expect(sealed.record_sha256).toMatch(/^[0-9a-f]{64}$/);
  await saveRunRecord(store, settings, { ...sealed, metrics: fakeRun(run.run_id, run.model_type, metrics, '').metrics });
}

const byHand = (runId: string, deps: Partial<PromotionDeps> = {}) => promote({ runId, source: 'manual', actor: 'ana', reason: `run ${runId} by hand` }, settings, { store, ...deps });

beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'flts-promote-'));
  store = createFsStore(root);
  settings = defaultSettings();
  await addRun(fakeRun('runA', 'LSTM', { rmse: 0.05, mae: 0.04, mse: 0.0025 }, '2025-01-01T00:00:00.000Z'));
  await addRun(fakeRun('runB', 'GRU', { rmse: 0.04, mae: 0.03, mse: 0.0016 }, '2025-01-02T00:00:00.000Z'));
  await addRun(fakeRun('runC', 'NAIVE', { rmse: 0.042, mae: 0.03, mse: 0.0018 }, '2025-01-03T00:00:00.000Z'));
  await addRun(fakeRun('runF', 'LSTM', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '2025-01-04T00:00:00.000Z', 'FAILED'));
});
afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > workflows > promote', () => {
  it('writes the history record, then the pointers, in the reference layout and field order plus who, why and the data time', async () => {
    const result = await promote({ runId: 'runA', source: 'manual', actor: 'ana', reason: 'hotfix' }, settings, { store, now: () => new Date('2025-11-03T19:16:41.896Z') });
    const record = result.record;
    expect(record.timestamp).toMatch(/^2025-11-03T19:16:41\.896\d{3}Z$/);
    const key = `global/${HASH}/promotion-${record.timestamp.replace(/:/g, '-')}.json`;
    expect(result.history_key).toBe(`model-promotion/${key}`);
    const stored = await getJson<PromotionRecord>(store, 'model-promotion', key);
    expect(Object.keys(stored)).toEqual([
      'identifier', 'config_hash', 'run_id', 'model_type', 'experiment', 'model_uri', 'rmse', 'mae', 'mse', 'score', 'timestamp', 'weights',
      'source', 'previous_run_id', 'reason', 'action', 'actor', 'data_created_at', 'seen_runs', 'seen_set', 'forced', 'forced_over',
    ]);
    expect(stored).toMatchObject({ identifier: '', run_id: 'runA', model_uri: 'runs:/runA/LSTM', experiment: 'Default', weights: { rmse: 0.5, mae: 0.3, mse: 0.2 }, source: 'manual', actor: 'ana', reason: 'hotfix', previous_run_id: null, forced: false });
    expect(stored.score).toBeCloseTo(0.5 * 0.05 + 0.3 * 0.04 + 0.2 * 0.0025, 12);
    expect(result.validation?.windows).toBeGreaterThan(0);
    expect(result.published).toBeNull();
    const text = (await store.get('model-promotion', 'current.json')).toString();
    expect(JSON.parse(text)).toEqual(stored);
    expect(await getJson(store, 'model-promotion', 'global/current.json')).toEqual(stored);
  });

  it('says with its code why MLflow did not take the mark, so a refusal is told from a server that did not answer', async () => {
    const tracked = { ...settings, tracking: { ...settings.tracking, uri: 'http://127.0.0.1:9' } };
    const mlflow = new MemoryMlflow();
    const refusing = { ...mlflow.client, searchExperiments: async () => Promise.reject(new FltsError('FLTS_TRACKING_REJECTED', 'MLflow says 403.')) } as unknown as MlflowClient;
    const result = await promote({ runId: 'runA', source: 'manual', actor: 'ana', reason: 'hotfix' }, tracked, { store, tracking: { client: refusing } });
    expect(result.changed).toBe(true);
    expect(result.tracking).toEqual({ status: 'unavailable', code: 'FLTS_TRACKING_REJECTED', message: 'MLflow says 403.' });
  });

  it('runs the history record and its pointers as one write through deps.uninterrupted, which a stopped caller refuses', async () => {
    const stop = new Error('stopped');
    await expect(byHand('runA', { uninterrupted: () => Promise.reject(stop) })).rejects.toBe(stop);
    expect(await listPromotionHistory(store, settings)).toEqual([]);
    expect(await readPromotionPointer(store, settings)).toBeUndefined();
    const seen: Array<string | undefined> = [];
    const { record } = await byHand('runB', {
      uninterrupted: async (write) => {
        const written = await write();
        // Inside the one write (pointers that agree with the history need no catch-up): the record and every pointer after it.
        seen.push((await listPromotionHistory(store, settings)).at(-1)?.run_id, (await readPromotionPointer(store, settings))?.run_id);
        return written;
      },
    });
    expect(record.run_id).toBe('runB');
    expect(seen).toEqual(['runB', 'runB']);
  });

  it('stores the reason and the actor as one line of text: line breaks, tabs and terminal escapes become spaces', async () => {
    const { record } = await promote({ runId: 'runA', source: 'manual', actor: 'ana\u001B[2J', reason: ' weekend\r\nregression\t\u001B[31mred\u0007 ' }, settings, { store });
    expect(record).toMatchObject({ reason: 'weekend regression [31mred', actor: 'ana [2J' });
    expect((await listPromotionHistory(store, settings)).at(-1)).toMatchObject({ reason: 'weekend regression [31mred', actor: 'ana [2J' });
    await expect(promote({ runId: 'runB', source: 'manual', actor: 'ana', reason: '\r\n\t' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG' });
  });

  it('refuses unknown and unsuccessful runs', async () => {
    await expect(byHand('nope')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
    await expect(byHand('runF')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_SUCCESSFUL' });
    await expect(byHand('../x')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
    expect(await readPromotionPointer(store, settings)).toBeUndefined();
  });

  it('refuses, even forced, a run serving could not load: no model files, or not SUCCESS', async () => {
    await byHand('runC');
    const bare = fakeRun('runBare', 'LSTM', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '2025-01-05T00:00:00.000Z', 'FAILED');
    await saveRunRecord(store, settings, bare);
    const force = (runId: string) => promote({ runId, source: 'manual', actor: 'ana', reason: 'force it', force: true }, settings, { store });
    await expect(force('runBare')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_SUCCESSFUL', message: expect.stringMatching(/model\.json is missing.*--force does not apply/) });
    await expect(force('runF')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_SUCCESSFUL', message: expect.stringContaining('--force does not apply') });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
    expect(await listPromotionHistory(store, settings)).toHaveLength(1);
  });

  it('refuses a run whose weights are all NaN with a coded error, even forced, and leaves the pointer alone', async () => {
    await byHand('runC');
    await addRun(fakeRun('runNaN', 'LSTM', { rmse: 0.001, mae: 0.001, mse: 0.000001 }, '2025-01-05T00:00:00.000Z'), { nanWeights: true });
    await expect(byHand('runNaN')).rejects.toMatchObject({ code: 'FLTS_PROMOTE_CANDIDATE_INVALID', message: expect.stringContaining('NaN') });
    await expect(promote({ runId: 'runNaN', source: 'manual', actor: 'ana', reason: 'force it', force: true }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_PROMOTE_CANDIDATE_INVALID' });
    // The scoreboard winner is the broken run: --best refuses it the same way.
    await expect(promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_PROMOTE_CANDIDATE_INVALID' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
    expect(await listPromotionHistory(store, settings)).toHaveLength(1);
  });

  it('refuses, even forced, a run whose interval calibration is gone or damaged, and promotes it whole', async () => {
    await byHand('runC');
    const banded = fakeRun('runBands', 'NAIVE', { rmse: 0.001, mae: 0.001, mse: 0.000001 }, '2025-01-05T00:00:00.000Z');
    await addLoadableRun(store, settings, banded, { intervals: true });
    const force = () => promote({ runId: 'runBands', source: 'manual', actor: 'ana', reason: 'force it', force: true }, settings, { store });
    // Gone: serving would answer without the bands the run was trained with.
    await store.delete('runs', 'runBands/intervals.json');
    await expect(force()).rejects.toMatchObject({ code: 'FLTS_MODEL_ARTIFACT_MISSING', message: expect.stringMatching(/runBands\/intervals\.json is missing.*--force does not apply/) });
    // Upside down: the candidate check loads the run as serving does, calibration included.
    await addLoadableRun(store, settings, banded, { intervals: true });
    await putJson(store, 'runs', 'runBands/intervals.json', { ...(await getJson<object>(store, 'runs', 'runBands/intervals.json')), errors: { down: [[-1]] } });
    await expect(force()).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('runBands/intervals.json has errors') });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
    await addLoadableRun(store, settings, banded, { intervals: true });
    expect((await byHand('runBands')).record.run_id).toBe('runBands');
  });

  it('refuses a run whose processed test data is gone unless forced, and records what was forced over', async () => {
    const orphan = { ...fakeRun('runOrphan', 'NAIVE', { rmse: 0.04, mae: 0.03, mse: 0.0016 }, '2025-01-05T00:00:00.000Z'), config_hash: 'd'.repeat(64) };
    await addRun(orphan);
    for (const { key } of await store.list('processed-data', `${'d'.repeat(64)}/`)) await store.delete('processed-data', key);
    await expect(byHand('runOrphan')).rejects.toMatchObject({ code: 'FLTS_PROMOTE_NO_TEST_WINDOWS' });
    const forced = await promote({ runId: 'runOrphan', source: 'manual', actor: 'ana', reason: 'data archived', force: true }, settings, { store });
    expect(forced.record).toMatchObject({ forced: true, forced_over: [expect.stringContaining('cannot be checked')] });
    expect(forced.validation).toBeNull();
  });

  it('refuses a run whose run.json was edited since training, even forced with its test data gone, before anything is written', async () => {
    await byHand('runC');
    const orphan = { ...fakeRun('runEdited', 'NAIVE', { rmse: 0.04, mae: 0.03, mse: 0.0016 }, '2025-01-05T00:00:00.000Z'), config_hash: 'd'.repeat(64) };
    await addEditedRun(orphan, { rmse: 0.001, mae: 0.001, mse: 0.000001 });
    // Without test windows nothing loads the run to check it: the seal alone can tell.
    for (const { key } of await store.list('processed-data', `${'d'.repeat(64)}/`)) await store.delete('processed-data', key);
    for (const force of [false, true]) {
      await expect(promote({ runId: 'runEdited', source: 'manual', actor: 'ana', reason: 'by hand', force }, settings, { store })).rejects.toMatchObject({
        code: 'FLTS_RUN_CORRUPT',
        message: expect.stringContaining('runs/runEdited/run.json does not have the SHA-256 its training sealed it with'),
      });
    }
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
    expect(await listPromotionHistory(store, settings)).toHaveLength(1);
  });

  it('--best keeps the run in service when its score ties the best, and takes the newest of a tie otherwise', async () => {
    expect((await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store })).record.run_id).toBe('runB');
    // runTie scores exactly as runB and is newer, so it ranks first: before, --best swapped it in (changed, a reload
    // and a new probation) for nothing.
    await addRun(fakeRun('runTie', 'GRU', { rmse: 0.04, mae: 0.03, mse: 0.0016 }, '2025-01-05T00:00:00.000Z'));
    const kept = await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store });
    expect(kept).toMatchObject({ changed: false, record: { run_id: 'runB' } });
    expect((await listPromotionHistory(store, settings)).map((record) => record.run_id)).toEqual(['runB']);
    // With another run in service, the tie goes to the newest as before.
    await byHand('runA');
    expect((await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store })).record.run_id).toBe('runTie');
  });

  it('--best leaves out, and says so, a run whose run.json was edited since training to rank first; runs recorded unsealed still compete', async () => {
    await addEditedRun(fakeRun('runEdited', 'LSTM', { rmse: 0.06, mae: 0.05, mse: 0.0036 }, '2025-01-05T00:00:00.000Z'), { rmse: 0.001, mae: 0.001, mse: 0.000001 });
    const warnings: Array<{ fields: object; msg?: string }> = [];
    const logger: Logger = { trace() {}, debug() {}, info() {}, error() {}, warn: (fields, msg) => void warnings.push({ fields, msg }), child: () => logger };

    const best = await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store, logger });

    // runA, runB and runC carry no seal (recorded before records were sealed): they rank as they always did.
    expect(best.record).toMatchObject({ run_id: 'runB', candidate_runs: ['runA', 'runB', 'runC'] });
    expect(best.corrupt_runs).toEqual([{ run_id: 'runEdited', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('edited since training') }]);
    expect(warnings).toContainEqual({ fields: { config_hash: HASH, runs: [{ run_id: 'runEdited', code: 'FLTS_RUN_CORRUPT' }] }, msg: 'promotion_runs_left_out' });
    // Asked again with the winner in service, the answer still names the run left out.
    expect((await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store })).corrupt_runs?.map((run) => run.run_id)).toEqual(['runEdited']);
  });

  it('--best with only edited runs left promotes nothing and names them', async () => {
    const hash = 'e'.repeat(64);
    await addEditedRun(fakeRun('runEdited', 'NAIVE', { rmse: 0.06, mae: 0.05, mse: 0.0036 }, '2025-01-05T00:00:00.000Z', 'SUCCESS', hash), { rmse: 0.001, mae: 0.001, mse: 0.000001 });
    await expect(promoteBest({ configHash: hash, source: 'best', actor: 'ana' }, settings, { store })).rejects.toMatchObject({
      code: 'FLTS_EVAL_NO_RUNS',
      message: expect.stringContaining('(left out, damaged: runEdited)'),
      details: { corrupt_runs: [{ run_id: 'runEdited', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('edited since training') }] },
    });
    expect(await listPromotionHistory(store, settings)).toEqual([]);
  });


  describe('the quality gate over a config_hash with an edited run', () => {
    const hash = 'e'.repeat(64);

    it('refuses a run whose only baseline was edited since training, and says that run was left out of its scoreboard', async () => {
      await addRun(fakeRun('runL', 'LSTM', { rmse: 0.05, mae: 0.04, mse: 0.0025 }, '2025-01-01T00:00:00.000Z', 'SUCCESS', hash));
      await addEditedRun(fakeRun('naiveEdited', 'NAIVE', { rmse: 0.2, mae: 0.2, mse: 0.04 }, '2025-01-02T00:00:00.000Z', 'SUCCESS', hash), { rmse: 0.3, mae: 0.3, mse: 0.09 });
      settings.eval.minImprovementPct = 10;
      const refused = await byHand('runL').catch((error: unknown) => error);
      expect(refused).toMatchObject({
        code: 'FLTS_EVAL_GATE_FAILED',
        message: expect.stringContaining('no baseline run (NAIVE, SNAIVE or MSTL) to compare with (judged without damaged run(s) left out of its scoreboard: naiveEdited)'),
        details: { problems: [{ kind: 'gate', corrupt_runs: [{ run_id: 'naiveEdited', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('edited since training') }] }] },
      });
      // Forced over, the record keeps the reason as it was given.
      const forced = await promote({ runId: 'runL', source: 'manual', actor: 'ana', reason: 'by hand', force: true }, settings, { store });
      expect(forced.record.forced_over).toEqual([expect.stringContaining('left out of its scoreboard: naiveEdited')]);
      expect(forced.corrupt_runs?.map((run) => run.run_id)).toEqual(['naiveEdited']);
    });

    it('passes a run over the baseline left, and the result names the edited baseline its scoreboard was built without', async () => {
      await addRun(fakeRun('runL', 'LSTM', { rmse: 0.05, mae: 0.04, mse: 0.0025 }, '2025-01-01T00:00:00.000Z', 'SUCCESS', hash));
      await addRun(fakeRun('naiveOld', 'NAIVE', { rmse: 0.2, mae: 0.2, mse: 0.04 }, '2025-01-02T00:00:00.000Z', 'SUCCESS', hash));
      // The newest NAIVE, which the gate compares with (runL beats its 0.051 by 2% only), edited since training.
      await addEditedRun(fakeRun('naiveEdited', 'NAIVE', { rmse: 0.051, mae: 0.05, mse: 0.0026 }, '2025-01-03T00:00:00.000Z', 'SUCCESS', hash), { rmse: 0.3, mae: 0.3, mse: 0.09 });
      settings.eval.minImprovementPct = 10;
      const promoted = await byHand('runL');
      expect(promoted.gate).toEqual({ passed: true, reason: 'passes the quality gate (judged without damaged run(s) left out of its scoreboard: naiveEdited)' });
      expect(promoted.corrupt_runs).toEqual([{ run_id: 'naiveEdited', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('edited since training') }]);
    });

    it('says nothing more of a gate over clean runs', async () => {
      settings.eval.minImprovementPct = 1;
      const promoted = await byHand('runB');
      expect(promoted.gate).toEqual({ passed: true, reason: 'passes the quality gate' });
      expect(promoted).not.toHaveProperty('corrupt_runs');
    });
  });
  it('promotes the scoreboard winner and respects the quality gate unless forced', async () => {
    const best = await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store });
    expect(best.record).toMatchObject({ run_id: 'runB', source: 'best', actor: 'ana' });
    await byHand('runA');
    settings.eval.minImprovementPct = 10; // runB beats NAIVE by ~4.8% only
    await expect(promoteBest({ configHash: HASH, source: 'auto', actor: 'daemon:x' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_EVAL_GATE_FAILED' });
    const forced = await promoteBest({ configHash: HASH, source: 'best', actor: 'ana', force: true }, settings, { store });
    expect(forced.record).toMatchObject({ run_id: 'runB', previous_run_id: 'runA', forced: true });
  });

  describe('runs of several target sets under one config_hash', () => {
    /** A SUCCESS run forecasting `down` and `up`, far better on its pooled metrics than any run of `down` alone. */
    const both = (): RunRecord => {
      const run = fakeRun('runBoth', 'GRU', { rmse: 0.001, mae: 0.001, mse: 0.000001 }, '2025-01-05T00:00:00.000Z');
      return { ...run, window: { ...run.window, features: ['down', 'up'], targets: ['down', 'up'] } };
    };

    it('--best chooses among the runs of the configured targets only, and records only them as candidates', async () => {
      await saveRunRecord(store, settings, both());
      const best = await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store });
      expect(best.record).toMatchObject({ run_id: 'runB', source: 'best' });
      expect(best.record.candidate_runs?.sort()).toEqual(['runA', 'runB', 'runC']);
      expect(best.record.reason).toBe('best score 0.0293200 of 3 run(s) of targets down for config_hash ' + HASH);
    });

    it('--best without a run of the configured targets names the target sets that have runs, and promotes nothing', async () => {
      await saveRunRecord(store, settings, both());
      settings.training.targets = ['up'];
      await expect(promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store })).rejects.toMatchObject({
        code: 'FLTS_EVAL_NO_RUNS',
        message: expect.stringContaining('with targets up (runs of other targets: down 3; down,up 1;'),
        details: { targets: ['up'], otherTargetSets: [{ targets: ['down'], runs: 3 }, { targets: ['down', 'up'], runs: 1 }] },
      });
      expect(await listPromotionHistory(store, settings)).toEqual([]);
    });

    it('gates a run against the baselines of its own targets, never against a newer NAIVE of other targets', async () => {
      const naiveBoth = fakeRun('naiveBoth', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-06T00:00:00.000Z');
      await saveRunRecord(store, settings, { ...naiveBoth, window: { ...naiveBoth.window, features: ['down', 'up'], targets: ['down', 'up'] } });
      settings.eval.minImprovementPct = 10; // runB beats runC, the NAIVE of `down`, by ~4.8% only (the NAIVE of `down,up` by 60%)
      await expect(byHand('runB')).rejects.toMatchObject({ code: 'FLTS_EVAL_GATE_FAILED', message: expect.stringContaining('4.76% < 10%') });
    });

    it('a run of other targets than the run in service is promoted by name, and the result says the targets changed', async () => {
      await saveRunRecord(store, settings, both());
      // runBoth in service (its record written as a promotion would: this store's test data has no `up` to forecast).
      await appendHistory(store, settings, buildPromotionRecord(both(), settings, { source: 'manual', reason: 'both targets', action: 'promote', previousRunId: null }));
      await syncPointers(store, settings);
      const promoted = await byHand('runA');
      expect(promoted.record).toMatchObject({ run_id: 'runA', previous_run_id: 'runBoth' });
      expect(promoted.targets_changed).toEqual({ previous_run_id: 'runBoth', from: ['down', 'up'], to: ['down'] });
      expect(await byHand('runB')).not.toHaveProperty('targets_changed');
    });
  });

  it("records on a person's choice and on an automatic rollback the SUCCESS runs the registry held, of every config_hash and target set; on no other", async () => {
    const otherHash = fakeRun('runOther', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-06T00:00:00.000Z', 'SUCCESS', 'd'.repeat(64));
    await saveRunRecord(store, settings, { ...otherHash, window: { ...otherHash.window, features: ['down', 'up'], targets: ['down', 'up'] } });
    const success = ['runA', 'runB', 'runC', 'runOther'];
    const seen = (record: PromotionRecord) => ({ runs: record.seen_runs?.slice().sort(), set: record.seen_set });
    const all = { runs: success, set: candidateSet(success) };
    const none = { runs: undefined, set: undefined };
    expect(seen((await byHand('runA')).record)).toEqual(all);
    expect(seen((await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store })).record)).toEqual(all);
    expect(seen((await promote({ runId: 'runC', source: 'auto', actor: 'daemon:x', reason: 'best score' }, settings, { store })).record)).toEqual(none);
    // A live probation's rollback took the run out of service with these runs there to choose from: the promoter is not to undo it on them.
    expect(seen((await rollback({ source: 'auto-rollback', actor: 'live-accuracy', reason: 'worse live' }, settings, { store })).record)).toEqual(all);
    expect(seen((await rollback({ source: 'rollback', actor: 'ana' }, settings, { store })).record)).toEqual(all);
    // A pin of the daemon's run in service is a person's choice as well.
    await promote({ runId: 'runC', source: 'auto', actor: 'daemon:x', reason: 'best score' }, settings, { store });
    const pin = await byHand('runC');
    expect(pin.record.action).toBe('pin');
    expect(seen(pin.record)).toEqual(all);
  });

  describe('the SUCCESS runs a hand promotion saw, read from the SUCCESS index', () => {
    const runJsonReads = (calls: StoreCall[]) => calls.filter((call) => call.key?.endsWith('/run.json') && call.method !== 'put').map((call) => call.key!.split('/')[0]);
    /** Every SUCCESS run of the registry, as a read of every record finds them. */
    const everySuccess = async () => (await scanRunRecords(store, settings)).records.filter((run) => run.status === 'SUCCESS').map((run) => run.run_id);

    it('past 50 SUCCESS runs, reads no record of a run the index lists, and records what a read of every record finds', async () => {
      for (let at = 0; at < CANDIDATE_LIST_LIMIT + 10; at++) await saveRunRecord(store, settings, fakeRun(`fill-${String(at).padStart(2, '0')}`, 'GRU', { rmse: 0.5, mae: 0.5, mse: 0.25 }, '2025-01-05T00:00:00.000Z'));
      const recorded = recordingStore(store);
      const chosen = await byHand('runA', { store: recorded.store });
      expect(chosen.record.seen_runs).toBeUndefined();
      expect(chosen.record.seen_set).toEqual(candidateSet(await everySuccess()));
      // runA's own checks read runA; runF (FAILED) has no entry and is read; no SUCCESS run the index lists is.
      expect(new Set(runJsonReads(recorded.calls))).toEqual(new Set(['runA', 'runF']));
    });

    it('reads the SUCCESS runs an older flts left out of the index, records them, and lists them for the next promotion', async () => {
      for (let at = 0; at < CANDIDATE_LIST_LIMIT + 10; at++) await saveRunRecord(store, settings, fakeRun(`fill-${String(at).padStart(2, '0')}`, 'GRU', { rmse: 0.5, mae: 0.5, mse: 0.25 }, '2025-01-05T00:00:00.000Z'));
      // A home an flts before the index trained: no entries at all.
      rmSync(path.join(root, settings.store.buckets.runs, 'success-runs'), { recursive: true });
      const first = recordingStore(store);
      const chosen = await byHand('runA', { store: first.store });
      expect(chosen.record.seen_set).toEqual(candidateSet(await everySuccess()));
      expect(runJsonReads(first.calls)).toEqual(expect.arrayContaining(['fill-00', 'fill-59', 'runB']));
      const next = recordingStore(store);
      expect((await byHand('runB', { store: next.store })).record.seen_set).toEqual(candidateSet(await everySuccess()));
      // runB's checks, runA's record (the run it replaces: do the targets change?), runF (FAILED, no entry).
      expect(new Set(runJsonReads(next.calls))).toEqual(new Set(['runA', 'runB', 'runF']));
    });

    it('a registry that cannot be read leaves the record without seen runs, and says so at warn with its code', async () => {
      const warnings: Array<{ fields: object; msg?: string }> = [];
      const logger: Logger = { trace() {}, debug() {}, info() {}, error() {}, warn: (fields, msg) => void warnings.push({ fields, msg }), child: () => logger };
      const broken: ObjectStore = { ...store, listFolders: async (bucket, prefix) => (bucket === settings.store.buckets.runs && !prefix ? Promise.reject(new Error('EIO: i/o error, scandir')) : store.listFolders(bucket, prefix)) };
      const chosen = await byHand('runA', { store: broken, logger });
      expect(chosen.record).not.toHaveProperty('seen_runs');
      expect(chosen.record).not.toHaveProperty('seen_set');
      expect(warnings).toContainEqual({ fields: { source: 'manual', code: expect.stringMatching(/^FLTS_/), reason: expect.stringContaining('EIO') }, msg: 'promotion_seen_runs_unknown' });
    });
  });

  it('rolls back through the history one promotion at a time, recording who asked', async () => {
    await byHand('runA');
    await byHand('runB');
    await promote({ runId: 'runC', source: 'auto', actor: 'daemon:x', reason: 'best score' }, settings, { store });
    const auto = await rollback({ source: 'auto-rollback', actor: 'live-accuracy', reason: 'live MAE 3x the test MAE' }, settings, { store });
    expect(auto.record).toMatchObject({ run_id: 'runB', previous_run_id: 'runC', source: 'auto-rollback', actor: 'live-accuracy', reason: 'live MAE 3x the test MAE', action: 'rollback' });
    // runB is in service by an automatic rollback now: a live-accuracy check may walk back further, so may a person.
    expect((await rollback({ source: 'rollback', actor: 'ana' }, settings, { store })).record).toMatchObject({ run_id: 'runA', previous_run_id: 'runB', action: 'rollback', source: 'rollback', actor: 'ana' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runA');
    await expect(rollback({ source: 'rollback', actor: 'ana' }, settings, { store })).rejects.toMatchObject({
      code: 'FLTS_PROMOTE_NOTHING_TO_ROLLBACK',
      // runB and runC, above runA in --history, were rolled back: said, so that a second rollback expected to undo the
      // first does not read as 'nothing before runA' beside a history listing them.
      message: "No earlier promotion in scope 'global' to return to: nothing was promoted before run runA (the promotions of runs runB, runC in its history came after it and were rolled back; a rollback never steps forward).",
      hint: expect.stringContaining('flts promote --history'),
      details: { scope: 'global', current: 'runA', rolledBackRuns: ['runB', 'runC'] },
    });
    expect((await listPromotionHistory(store, settings, 'global')).map((r) => r.run_id)).toEqual(['runA', 'runB', 'runC', 'runB', 'runA']);
  });

  it('publishes model-selected from promote, best and rollback when a bus is configured', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
    try {
      await byHand('runA', { bus });
      await promoteBest({ configHash: HASH, source: 'best', actor: 'ana' }, settings, { store, bus });
      const rolled = await rollback({ source: 'rollback', actor: 'ana' }, settings, { store, bus });
      expect(rolled.published).toEqual({ topic: 'model-selected', ok: true });
      const received: Array<{ run_id: string; source: unknown }> = [];
      const subscription = await bus.subscribe({ group: 'serve-test', topics: ['model-selected'] }, async (message) => void received.push(decodePromotion(message) as never));
      await waitFor(() => received.length === 3, 'three model-selected messages');
      await subscription.stop();
      expect(received.map((r) => `${r.run_id}:${String(r.source)}`)).toEqual(['runA:manual', 'runB:best', 'runA:rollback']);
    } finally {
      await bus.close();
    }
  });

  it('leaves the run in service as it is, whoever asks, forced or with another reason: nothing written, announced or told', async () => {
    const bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
    try {
      const first = await byHand('runB', { bus });
      expect(first.changed).toBe(true);
      const events: FltsEvent[] = [];
      const deps = { store, bus, onEvent: (event: FltsEvent) => events.push(event) };
      const again = [
        await byHand('runB', deps),
        await promote({ runId: 'runB', source: 'manual', actor: 'bob', reason: 'another reason', force: true }, settings, deps),
        // runB is the scoreboard winner: what the daemon's promoter and `flts promote --best` would promote.
        await promoteBest({ configHash: HASH, source: 'auto', actor: 'daemon:x' }, settings, deps),
      ];
      for (const result of again) {
        expect(result).toMatchObject({ changed: false, record: first.record, history_key: first.history_key, published: null, validation: null });
      }
      expect(events).toEqual([]);
      expect(await listPromotionHistory(store, settings)).toEqual([first.record]);
      expect(await getJson(store, 'model-promotion', 'current.json')).toEqual(first.record);
      // The next real promotion follows runB's on the bus, nothing in between.
      await byHand('runA', { bus });
      const received: string[] = [];
      const subscription = await bus.subscribe({ group: 'serve-test', topics: ['model-selected'] }, async (message) => void received.push(decodePromotion(message).run_id));
      await waitFor(() => received.length >= 2, 'two model-selected messages');
      await subscription.stop();
      expect(received).toEqual(['runB', 'runA']);
    } finally {
      await bus.close();
    }
  });

  it('says changed when promoting the run in service finished its promotion an earlier process left before its pointers', async () => {
    await byHand('runA');
    const noPointers: ObjectStore = {
      ...store,
      put: async (bucket, key, body, options) => {
        if (key.endsWith('current.json')) throw new Error('killed before the pointers');
        return store.put(bucket, key, body, options);
      },
    };
    await expect(byHand('runB', { store: noPointers })).rejects.toThrow('killed before the pointers');
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runA');
    const interrupted = (await listPromotionHistory(store, settings)).at(-1)!;
    // The pointers moved in this call: replicas following them switch now, so it is a change, with nothing more written.
    expect(await byHand('runB')).toMatchObject({ changed: true, pinned: false, record: interrupted });
    expect(await readPromotionPointer(store, settings)).toEqual(interrupted);
    expect(await byHand('runB')).toMatchObject({ changed: false, record: interrupted });
    expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA', 'runB']);
  });

  it('rolls back past a record an older flts wrote when the run in service was promoted again (its previous run itself)', async () => {
    await byHand('runA');
    const runB = await byHand('runB');
    const again = { ...runB.record, timestamp: '2099-01-01T00:00:00.000000Z', previous_run_id: 'runB', reason: 'promoted again' };
    await putJson(store, 'model-promotion', `global/${HASH}/promotion-2099-01-01T00-00-00.000000Z.json`, again);
    // Written beside the pointers, so this call moves them to it (changed), and writes nothing more.
    expect(await byHand('runB')).toMatchObject({ changed: true, record: again });
    expect(await byHand('runB')).toMatchObject({ changed: false, record: again });
    expect((await rollback({ source: 'rollback', actor: 'ana' }, settings, { store })).record).toMatchObject({ run_id: 'runA', previous_run_id: 'runB' });
  });

  it('scopes pointers: promoting for an identifier never changes the root, global or another identifier\'s pointer', async () => {
    await byHand('runA');
    const site2 = { ...settings, identifier: 'site2' };
    await promote({ runId: 'runC', source: 'manual', actor: 'ana', reason: 'site2 baseline' }, site2, { store });
    const site1 = { ...settings, identifier: 'site1' };
    const result = await promote({ runId: 'runB', source: 'manual', actor: 'ana', reason: 'site1 only' }, site1, { store });
    expect(result.pointers).toEqual(['site1/current.json']);
    expect((await getJson<PromotionRecord>(store, 'model-promotion', 'current.json')).run_id).toBe('runA');
    expect((await getJson<PromotionRecord>(store, 'model-promotion', 'global/current.json')).run_id).toBe('runA');
    expect((await getJson<PromotionRecord>(store, 'model-promotion', 'site2/current.json')).run_id).toBe('runC');
    expect((await readPromotionPointer(store, site1))?.run_id).toBe('runB');
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runA');
    // An identifier that was never promoted falls back to the root pointer.
    expect((await readPromotionPointer(store, { ...settings, identifier: 'site3' }))?.run_id).toBe('runA');
  });

  it('leaves the pointers on the newest history record after concurrent promotions', async () => {
    // Six runs: a promotion of the run in service changes nothing, so the same run twice could be one record.
    for (const id of ['runD', 'runE', 'runG']) await addRun(fakeRun(id, 'NAIVE', { rmse: 0.05, mae: 0.04, mse: 0.0025 }, '2025-01-05T00:00:00.000Z'));
    await Promise.all(['runA', 'runB', 'runC', 'runD', 'runE', 'runG'].map((id) => byHand(id)));
    const history = await listPromotionHistory(store, settings);
    expect(history).toHaveLength(6);
    const newest = history[history.length - 1];
    expect(await getJson(store, 'model-promotion', 'current.json')).toEqual(newest);
    expect(await getJson(store, 'model-promotion', 'global/current.json')).toEqual(newest);
  });

  it('removes, once its record is written, the candidate lists no record names, and keeps its own even when a sweep took it before the record landed', async () => {
    const candidates = (prefix: string): string[] => Array.from({ length: CANDIDATE_LIST_LIMIT + 1 }, (_, at) => `${prefix}-${at}`);
    // The list of a promotion cut short before its record, two hours ago.
    const orphan = candidates('gone');
    await saveCandidateList(store, settings, orphan);
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(path.join(root, 'model-promotion', ...candidateListKey(candidateSet(orphan)).split('/')), twoHoursAgo, twoHoursAgo);

    // Another process sweeps, without a grace period, just before the record lands: it finds the list unnamed.
    let swept: Awaited<ReturnType<typeof sweepCandidateLists>> | undefined;
    const racing: ObjectStore = {
      ...store,
      async put(bucket, key, body, options) {
        if (!swept && key.includes('/promotion-')) swept = await sweepCandidateLists(store, settings, 0);
        return store.put(bucket, key, body, options);
      },
    };
    const chosenFrom = ['runA', ...candidates('seen')];
    const result = await promote({ runId: 'runA', source: 'best', actor: 'ana', reason: 'best of many', candidateRuns: chosenFrom }, settings, { store: racing });
    expect(swept?.removed).toContain(candidateListKey(candidateSet(chosenFrom)));
    expect(result.record.candidate_set).toEqual(candidateSet(chosenFrom));
    expect(await readCandidateList(store, settings, candidateSet(chosenFrom))).toEqual([...chosenFrom].sort());

    // The next promotion, of any size, sweeps what no record names and leaves what one does.
    const another = candidates('later');
    await saveCandidateList(store, settings, another);
    utimesSync(path.join(root, 'model-promotion', ...candidateListKey(candidateSet(another)).split('/')), twoHoursAgo, twoHoursAgo);
    utimesSync(path.join(root, 'model-promotion', ...candidateListKey(candidateSet(chosenFrom)).split('/')), twoHoursAgo, twoHoursAgo);
    await byHand('runB');
    expect(await store.exists('model-promotion', candidateListKey(candidateSet(another)))).toBe(false);
    expect(await store.exists('model-promotion', candidateListKey(candidateSet(orphan)))).toBe(false);
    expect(await readCandidateList(store, settings, candidateSet(chosenFrom))).toEqual([...chosenFrom].sort());
  });

  it('skips history records that are not promotions (null, a list, cut short) in history, rollback and new promotions', async () => {
    await byHand('runA');
    await byHand('runB');
    for (const [name, body] of [['null', 'null'], ['list', '[]'], ['cut', '{"run_id": "runC", "timest']]) {
      await store.put('model-promotion', `global/${HASH}/promotion-2099-01-01T00-00-00.000000Z-${name}.json`, body);
    }
    expect((await listPromotionHistory(store, settings, 'global')).map((r) => r.run_id)).toEqual(['runA', 'runB']);
    await byHand('runC');
    expect((await rollback({ source: 'rollback', actor: 'ana' }, settings, { store })).record).toMatchObject({ run_id: 'runB', previous_run_id: 'runC' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runB');
  });

  it('reads pointers through the cascade, tolerating reference multipart JSON and skipping garbage', async () => {
    const wrapped = '--b\r\nContent-Disposition: form-data; name="file"\r\n\r\n{"run_id": "runB", "config_hash": "x", "rmse": NaN}\r\n--b--\r\n';
    await store.put('model-promotion', 'current.json', wrapped);
    expect(await readPromotionPointerWithSource(store, settings)).toMatchObject({ key: 'current.json', record: { run_id: 'runB', rmse: null } });
    await store.put('model-promotion', 'current.json', 'not json at all');
    await putJson(store, 'model-promotion', 'global/current.json', { run_id: 'runA' });
    expect(await readPromotionPointerWithSource(store, settings)).toMatchObject({ key: 'global/current.json', skipped: ['current.json is not valid JSON'] });
    settings.identifier = 'site1';
    await putJson(store, 'model-promotion', 'site1/current.json', { run_id: 'runC' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
  });

  describe('after a promotion killed between its history record and its pointers', () => {
    /** What SIGKILL leaves: the record of runB is in the history, the pointers still name runA. */
    async function killedPromotion(): Promise<void> {
      await byHand('runA');
      const dies: ObjectStore = {
        ...store,
        put: async (bucket, key, body, options) => {
          if (key.endsWith('current.json')) throw new Error('killed');
          return store.put(bucket, key, body, options);
        },
      };
      await expect(byHand('runB', { store: dies })).rejects.toThrow('killed');
      expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA', 'runB']);
      expect((await readPromotionPointer(store, settings))?.run_id).toBe('runA');
    }

    it('a rollback returns from the run the history names, and says so', async () => {
      await killedPromotion();
      const result = await rollback({ source: 'rollback', actor: 'ana' }, settings, { store });
      expect(result.record).toMatchObject({ run_id: 'runA', previous_run_id: 'runB', reason: 'rollback from run runB' });
      expect((await readPromotionPointer(store, settings))?.run_id).toBe('runA');
    });

    it('the next promotion replaces the run the history names', async () => {
      await killedPromotion();
      const result = await byHand('runC');
      expect(result.record.previous_run_id).toBe('runB');
      expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
      // Its own rollback goes to runB, where the history says the service was.
      expect((await rollback({ source: 'rollback', actor: 'ana' }, settings, { store })).record.run_id).toBe('runB');
    });
  });
});
