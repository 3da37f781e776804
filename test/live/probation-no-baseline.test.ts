import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Settings } from '../../src/core/config/settings.js';
import { readProbationDecision } from '../../src/core/live/live-reports.js';
import { readPromotionPointer } from '../../src/core/registry/pointers.js';
import { RUN_FILES } from '../../src/core/registry/run-record.js';
import { runKey, runsBucket } from '../../src/core/registry/run-store.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createRollbackAction } from '../../src/core/workflows/auto-rollback.js';
import { promote } from '../../src/core/workflows/promote.js';
import { trainModels } from '../../src/core/workflows/train.js';
import { createSliceHome, rawTestRows } from '../helpers/poblesec-slice.js';
import { postJson } from '../serve/serve-fixtures.js';

describe('live > probation whose previous run cannot be loaded', () => {
  let store: ObjectStore;
  let settings: Settings;
  let remove: (() => void) | undefined;
  let service: InferenceService;
  let previous: string;
  let current: string;

  const healthLive = async (): Promise<any> => ((await (await fetch(`${service.url}/healthz`)).json()) as any).live;

  beforeAll(async () => {
    ({ store, settings, remove } = createSliceHome('flts-probation-no-baseline-', {
      'data.sampleTestRows': 60,
      'serve.port': 0,
      'serve.pollIntervalMs': 0,
      'serve.predictionLog.enabled': false,
      'live.probationPoints': 20,
      'live.reportIntervalMs': 60_000,
    }));
    await runPreprocess(settings, { store });
    previous = (await trainModels({ models: ['NAIVE'] }, settings, { store })).runs[0].run_id;
    current = (await trainModels({ models: ['NAIVE'] }, settings, { store })).runs[0].run_id;
    await promote({ runId: previous, source: 'manual', actor: 'test', reason: 'first', force: true }, settings, { store });
    await promote({ runId: current, source: 'auto', actor: 'daemon:test', reason: 'second', force: true }, settings, { store });
    // The previous run loses an artifact its loader needs: it can no longer be served, nor shadowed.
    await store.delete(runsBucket(settings), runKey(previous, RUN_FILES.scaler));
    service = await startInferenceService(settings, { store, rollback: createRollbackAction({ store, settings }) });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    remove?.();
  });

  it('ends the probation with a reason, keeps the new run and counts it, instead of waiting for good', async () => {
    expect(service.holder.status().current?.runId).toBe(current);
    let next = 0;
    // Traffic and looks until the shadow load has failed and been reported: a few ticks, never the probation window.
    await vi.waitFor(
      async () => {
        await postJson(`${service.url}/predict`, { data: rawTestRows(12, next++) });
        await service.live!.tick();
        expect((await healthLive()).probation?.decision).not.toBeNull();
      },
      { timeout: 30_000, interval: 20 },
    );
    const live = await healthLive();
    expect(live.probation).toMatchObject({ run_id: current, previous_run_id: previous, active: false, shadowing: false, decision: { verdict: 'no-baseline', action: 'none', candidate_rmse: null, baseline_rmse: null } });
    expect(live.probation.decision.reason).toMatch(new RegExp(`^no baseline to compare: the previous run ${previous} could not be loaded \\(FLTS_[A-Z_]+\\); run ${current} stays in service`));
    expect(await readProbationDecision(store, settings, { run_id: current, previous_run_id: previous, timestamp: live.probation.promoted_at })).toMatchObject({ verdict: 'no-baseline', action: 'none' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe(current);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('flts_live_no_baseline_total 1');
    expect(metrics).toContain('flts_live_rollbacks_total 0');
    expect(metrics).not.toMatch(/^flts_live_probation_(rmse|points)\{/m);
  });
});
