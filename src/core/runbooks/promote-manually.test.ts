import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import { waitFor } from '../bus/message-bus.contract.js';
import { decodePromotion } from '../bus/messages.js';
import { defaultSettings, type Settings } from '../config/settings.js';
import { readPromotionPointer } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import { promote } from '../workflows/promote.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { readRunRecord, runKey, saveRunRecord } from '../registry/run-store.js';
import { RUN_FILES } from '../registry/run-record.js';
import { addLoadableRun } from '../workflows/loadable-run.fixture.js';
import { createFsStore } from '../storage/fs-store.js';
import { getJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { listPromotionCandidates } from './promotion-candidates.js';
import { promoteManually } from './promote-manually.js';
import { addRunWithArtifacts, RUNBOOK_HASH, seedRunbookRegistry } from './runbook-registry.fixture.js';

let root: string;
let store: ObjectStore;
let settings: Settings;

beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'flts-runbook-'));
  store = createFsStore(path.join(root, 'store'));
  settings = defaultSettings();
  await seedRunbookRegistry(store, settings);
});
afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > runbooks > promote-manually', () => {
  it('records source manual, the reason and the operator, moves both pointers and publishes model-selected', async () => {
    await promote({ runId: 'runA', source: 'auto', actor: 'daemon:test', reason: 'initial' }, settings, { store });
    const bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
    try {
      const result = await promoteManually({ runId: 'runC', reason: '  GRU drifts on holidays  ', operator: 'ana' }, settings, { store, bus });
      expect(result.record).toMatchObject({ run_id: 'runC', source: 'manual', reason: 'GRU drifts on holidays', actor: 'ana', previous_run_id: 'runA', forced: false, forced_over: [] });
      expect(result.published).toEqual({ topic: 'model-selected', ok: true });
      expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
      const received: unknown[] = [];
      const subscription = await bus.subscribe({ group: 'serve-test', topics: ['model-selected'] }, async (message) => void received.push(decodePromotion(message)));
      await waitFor(() => received.length === 1, 'the model-selected message');
      await subscription.stop();
      expect(received).toEqual([expect.objectContaining({ run_id: 'runC', source: 'manual', reason: 'GRU drifts on holidays', model_type: 'NAIVE' })]);
    } finally {
      await bus.close();
    }
  });

  it('is the one promote workflow: the same record, pointers, history and model-selected message as promote --run', async () => {
    const other = createFsStore(path.join(root, 'other-store'));
    await seedRunbookRegistry(other, settings);
    const now = () => new Date('2025-06-01T12:00:00.000Z');
    const outcomes = [];
    for (const [target, viaScreen] of [[store, true], [other, false]] as const) {
      await promote({ runId: 'runA', source: 'auto', actor: 'daemon:test', reason: 'initial' }, settings, { store: target, now: () => new Date('2025-05-01T12:00:00.000Z') });
      const bus = createFsBus({ root: path.join(root, viaScreen ? 'bus' : 'other-bus'), pollIntervalMs: 10 });
      try {
        const deps = { store: target, bus, now };
        const result = viaScreen
          ? await promoteManually({ runId: 'runB', reason: 'weekend regression', operator: 'ana', expectedCurrentRunId: 'runA' }, settings, deps)
          : await promote({ runId: 'runB', source: 'manual', actor: 'ana', reason: 'weekend regression' }, settings, deps);
        const received: unknown[] = [];
        const subscription = await bus.subscribe({ group: 'serve-test', topics: ['model-selected'] }, async (message) => void received.push(decodePromotion(message)));
        await waitFor(() => received.length === 1, 'the model-selected message');
        await subscription.stop();
        const withoutTime = <T extends { timestamp: string }>(record: T) => ({ ...record, timestamp: record.timestamp.slice(0, 23) });
        const { diff: _diff, ...shared } = result as typeof result & { diff?: unknown };
        outcomes.push({
          result: { ...shared, record: withoutTime(shared.record), history_key: shared.history_key.slice(0, -12) },
          history: (await listPromotionHistory(target, settings)).map(withoutTime),
          pointers: [(await readPromotionPointer(target, settings))?.run_id, (await getJson<{ run_id: string }>(target, 'model-promotion', 'global/current.json')).run_id],
          published: (received as Array<{ timestamp: string }>).map(withoutTime),
        });
      } finally {
        await bus.close();
      }
    }
    expect(outcomes[0]).toEqual(outcomes[1]);
    expect(outcomes[0].result.record).toMatchObject({ run_id: 'runB', source: 'manual', actor: 'ana', previous_run_id: 'runA', action: 'promote' });
  });

  it('refuses, writing nothing, when the run in service is no longer the one the choice was compared with', async () => {
    await expect(promoteManually({ runId: 'runB', reason: 'x', expectedCurrentRunId: 'runA' }, settings, { store })).rejects.toMatchObject({
      code: 'FLTS_PROMOTE_CURRENT_CHANGED',
      details: { runId: 'runB', expectedCurrentRunId: 'runA', currentRunId: null },
    });
    await promote({ runId: 'runA', source: 'auto', actor: 'daemon:test', reason: 'initial' }, settings, { store });
    await expect(promoteManually({ runId: 'runB', reason: 'x', expectedCurrentRunId: null }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_PROMOTE_CURRENT_CHANGED', details: { currentRunId: 'runA' } });
    await expect(promoteManually({ runId: 'runB', reason: 'x', expectedCurrentRunId: 'runC' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_PROMOTE_CURRENT_CHANGED' });
    expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA']);
    const done = await promoteManually({ runId: 'runB', reason: 'x', expectedCurrentRunId: 'runA' }, settings, { store });
    expect(done.record).toMatchObject({ run_id: 'runB', previous_run_id: 'runA' });
  });

  it('shows and checks the run a promotion stopped before its pointers put in service, which the promotion replaces', async () => {
    await promote({ runId: 'runA', source: 'auto', actor: 'daemon:test', reason: 'initial' }, settings, { store });
    const noPointers: ObjectStore = {
      ...store,
      put: async (bucket, key, body, options) => {
        if (key.endsWith('current.json')) throw new Error('killed before the pointers');
        return store.put(bucket, key, body, options);
      },
    };
    await expect(promote({ runId: 'runC', source: 'manual', actor: 'ana', reason: 'stopped' }, settings, { store: noPointers })).rejects.toThrow('killed before the pointers');
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runA');

    const listed = await listPromotionCandidates({ configHash: RUNBOOK_HASH }, settings, { store });
    expect(listed.current?.run_id).toBe('runC');
    expect(listed.candidates.filter((c) => c.is_current).map((c) => c.run_id)).toEqual(['runC']);
    expect(listed.candidates.find((c) => c.run_id === 'runB')?.diff.current_run_id).toBe('runC');
    // A choice compared with the pointers' run would replace another one: refused, nothing written.
    await expect(promoteManually({ runId: 'runB', reason: 'x', expectedCurrentRunId: 'runA' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_PROMOTE_CURRENT_CHANGED', details: { currentRunId: 'runC' } });
    expect((await listPromotionHistory(store, settings)).map((r) => r.run_id)).toEqual(['runA', 'runC']);
    const done = await promoteManually({ runId: 'runB', reason: 'x', expectedCurrentRunId: listed.current?.run_id }, settings, { store });
    expect(done.record).toMatchObject({ run_id: 'runB', previous_run_id: 'runC' });
    expect(done.diff.current_run_id).toBe('runC');
  });

  it('refuses non-SUCCESS runs, missing artifacts and an empty reason, writing nothing', async () => {
    await addRunWithArtifacts(store, settings, fakeRun('runNoWeights', 'GRU', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '2025-01-05T00:00:00.000Z'), ['weights.bin']);
    await expect(promoteManually({ runId: 'runF', reason: 'x' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_SUCCESSFUL', message: expect.stringContaining('--force') });
    await expect(promoteManually({ runId: 'runNoWeights', reason: 'x' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_MODEL_ARTIFACT_MISSING', message: expect.stringContaining('runNoWeights/model/weights.bin is missing') });
    await expect(promoteManually({ runId: 'runB', reason: '   ' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG' });
    await expect(promoteManually({ runId: 'nope', reason: 'x' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
    expect(await listPromotionHistory(store, settings)).toEqual([]);
  });

  it('with force, promotes anyway and keeps what was overridden in the record', async () => {
    settings.eval.minImprovementPct = 50;
    const result = await promoteManually({ runId: 'runA', reason: 'rollback target for a demo', force: true }, settings, { store });
    expect(result.record).toMatchObject({ forced: true, forced_over: [expect.stringMatching(/^quality gate: RMSE improvement over the best baseline \(NAIVE\) -19\.05% < 50%/)] });
    const [stored] = await listPromotionHistory(store, settings);
    expect(stored).toMatchObject({ run_id: 'runA', forced: true });
  });

  it('names, instead of listing or promoting, a run whose run.json was edited since training to rank first', async () => {
    await addLoadableRun(store, settings, fakeRun('runEdited', 'NAIVE', { rmse: 0.06, mae: 0.05, mse: 0.0036 }, '2025-01-05T00:00:00.000Z'), { digests: true });
    const sealed = await readRunRecord(store, settings, 'runEdited');
    await saveRunRecord(store, settings, { ...sealed, metrics: fakeRun('runEdited', 'NAIVE', { rmse: 0.001, mae: 0.001, mse: 0.000001 }, '').metrics });

    const listed = await listPromotionCandidates({ configHash: RUNBOOK_HASH }, settings, { store });
    expect(listed.candidates.map((c) => c.run_id)).toEqual(['runB', 'runC', 'runA', 'runF']);
    expect(listed.corrupt).toEqual([{ run_id: 'runEdited', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('edited since training') }]);
    await expect(promoteManually({ runId: 'runEdited', reason: 'x', force: true }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT' });
    expect(await listPromotionHistory(store, settings)).toEqual([]);
  });

  it('lists candidates by score with problems, the current run marked and a diff even when the promoted run is gone', async () => {
    await promote({ runId: 'runA', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store });
    await store.delete('runs', 'runA/run.json');
    const listed = await listPromotionCandidates({ configHash: RUNBOOK_HASH }, settings, { store });
    expect(listed.candidates.map((c) => c.run_id)).toEqual(['runB', 'runC', 'runF']);
    expect(listed.candidates[2].problems).toEqual([{ kind: 'status', message: 'status is FAILED, not SUCCESS' }]);
    const diff = listed.candidates[0].diff;
    expect(diff).toMatchObject({ current_run_id: 'runA', model_type: { current: 'LSTM', selected: 'GRU', changed: true }, params: [] });
    expect(diff.metrics.find((m) => m.name === 'rmse')).toMatchObject({ current: 0.05, selected: 0.04 });
    expect(diff.metrics.find((m) => m.name === 'rmse')?.delta).toBeCloseTo(-0.01, 12);
  });

  it('names the run in service whose run.json is gone as `promote` does: nothing changes, or --pin pins it', async () => {
    // Two scopes of one store, each serving runA by automatic promotion; its run.json goes missing afterwards.
    const scoped = (identifier: string): Settings => ({ ...settings, identifier });
    for (const id of ['cli', 'tui']) await promote({ runId: 'runA', source: 'auto', actor: 'daemon:test', reason: 'initial' }, scoped(id), { store });
    await store.delete(settings.store.buckets.runs, runKey('runA', RUN_FILES.record));
    const byPromote = await promote({ runId: 'runA', source: 'manual', actor: 'ana', reason: 'keep it', pin: true }, scoped('cli'), { store });
    const byRunbook = await promoteManually({ runId: 'runA', reason: 'keep it', operator: 'ana', pin: true }, scoped('tui'), { store });
    const { diff, ...rest } = byRunbook;
    const comparable = (result: typeof byPromote) => ({ changed: result.changed, pinned: result.pinned, published: result.published, tracking: result.tracking, action: result.record.action, source: result.record.source, actor: result.record.actor, previous_run_id: result.record.previous_run_id });
    expect(comparable(rest)).toEqual(comparable(byPromote));
    expect(comparable(rest)).toMatchObject({ changed: true, pinned: true, action: 'pin' });
    expect(diff).toMatchObject({ selected_run_id: 'runA', current_run_id: 'runA', same_run: true, params: [] });
    // Named again, pinned already: nothing changes from either.
    const [again, againRunbook] = [await promote({ runId: 'runA', source: 'manual', actor: 'ana', reason: 'again' }, scoped('cli'), { store }), await promoteManually({ runId: 'runA', reason: 'again', operator: 'ana' }, scoped('tui'), { store })];
    expect([again.changed, againRunbook.changed]).toEqual([false, false]);
    // A run that is not in service and has no run.json is refused by both alike.
    await store.delete(settings.store.buckets.runs, runKey('runB', RUN_FILES.record));
    const refusals = await Promise.all([promote({ runId: 'runB', source: 'manual', actor: 'ana', reason: 'r' }, scoped('cli'), { store }).catch((e: { code: string }) => e.code), promoteManually({ runId: 'runB', reason: 'r', operator: 'ana' }, scoped('tui'), { store }).catch((e: { code: string }) => e.code)]);
    expect(refusals).toEqual(['FLTS_RUN_NOT_FOUND', 'FLTS_RUN_NOT_FOUND']);
  });
});
