import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Settings } from '../../src/core/config/settings.js';
import { createRollbackAction } from '../../src/core/workflows/auto-rollback.js';
import { readPromotionPointer } from '../../src/core/registry/pointers.js';
import { listPromotionHistory } from '../../src/core/registry/promotion-history.js';
import { promote } from '../../src/core/workflows/promote.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { trainModels } from '../../src/core/workflows/train.js';
import { createSliceHome, rawTestRows } from '../helpers/poblesec-slice.js';
import { runCli } from '../helpers/run-cli.js';
import { postJson } from '../serve/serve-fixtures.js';

describe('live > probation in an embedded flts serve', () => {
  let store: ObjectStore;
  let settings: Settings;
  let home: string;
  let remove: (() => void) | undefined;
  let service: InferenceService;
  let runs: { naive: string; naiveTwin: string; lstm: string };
  let next = 0;

  /** Sends the next consecutive requests until `done()` holds (each one scores the previous one's forecast). */
  async function trafficUntil(done: () => Promise<boolean>, maxRequests: number): Promise<number> {
    for (let sent = 0; sent < maxRequests; sent++) {
      const response = await postJson(`${service.url}/predict`, { data: rawTestRows(12, next++) });
      expect(response.status).toBe(200);
      if (sent % 10 === 9) {
        await service.live!.tick();
        if (await done()) return sent + 1;
      }
    }
    throw new Error(`condition not reached after ${maxRequests} requests`);
  }

  const healthLive = async (): Promise<any> => ((await (await fetch(`${service.url}/healthz`)).json()) as any).live;

  beforeAll(async () => {
    ({ store, settings, home, remove } = createSliceHome('flts-probation-', {
      'data.sampleTestRows': 60,
      'serve.port': 0,
      'serve.pollIntervalMs': 0,
      'serve.predictionLog.enabled': false,
      'live.probationPoints': 40,
      'live.reportIntervalMs': 60_000,
    }));
    await runPreprocess(settings, { store });
    const trained = await trainModels({ models: ['NAIVE', 'LSTM'] }, settings, { store });
    const twin = await trainModels({ models: ['NAIVE'] }, settings, { store });
    runs = { naive: trained.runs[0].run_id, lstm: trained.runs[1].run_id, naiveTwin: twin.runs[0].run_id };
    await promote({ runId: runs.naive, source: 'manual', actor: 'test', reason: 'promoted by the test', force: true }, settings, { store });
    // A person's promotion, as every promotion of an embedded serve is: its probation rolls it back all the same.
    await promote({ runId: runs.lstm, source: 'manual', actor: 'test', reason: 'a barely trained LSTM over persistence', force: true }, settings, { store });
    service = await startInferenceService(settings, { store, rollback: createRollbackAction({ store, settings }) });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    remove?.();
  });

  it('rolls back a clearly worse run after the probation window, with both figures in the record', async () => {
    expect(service.holder.status().current?.runId).toBe(runs.lstm);
    await service.live!.tick();
    const started = await healthLive();
    expect(started.probation).toMatchObject({ run_id: runs.lstm, previous_run_id: runs.naive, needed: 40 });

    // While the probation runs, /metrics shows it.
    await trafficUntil(async () => (await healthLive()).probation.points >= 10, 100);
    const running = await (await fetch(`${service.url}/metrics`)).text();
    expect(running).toMatch(new RegExp(`flts_live_probation_rmse\\{run_id="${runs.lstm}",role="candidate"\\} [\\d.e+]+`));
    expect(running).toMatch(new RegExp(`flts_live_probation_points\\{run_id="${runs.lstm}"\\} \\d+`));

    await trafficUntil(async () => (await readPromotionPointer(store, settings))?.run_id === runs.naive, 200);
    const history = await listPromotionHistory(store, settings, 'global');
    const last = history.at(-1)!;
    expect(last).toMatchObject({ action: 'rollback', source: 'auto-rollback', run_id: runs.naive, previous_run_id: runs.lstm });
    expect(last.reason).toMatch(new RegExp(`live RMSE [\\d.e+]+ of run ${runs.lstm} vs [\\d.e+]+ of the previous run ${runs.naive} over 40 matched points`));

    // The run restored has no probation; the one rolled back stays on show as previous_probation, with the pooled figures.
    const live = await healthLive();
    expect(live.probation).toBeNull();
    expect(live.previous_probation).toMatchObject({ run_id: runs.lstm, previous_run_id: runs.naive, active: false, decision: { verdict: 'rollback', action: 'rolled-back', points: 40 } });
    expect(live.previous_probation.candidate_rmse).toBeGreaterThan(live.previous_probation.baseline_rmse * 1.1);
    expect(live.previous_probation.decision.candidate_rmse).toBeGreaterThan(live.previous_probation.decision.baseline_rmse * 1.1);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('flts_live_rollbacks_total 1');
    expect(metrics).toContain('flts_live_worse_kept_total 0');
    // A finished probation leaves /metrics (its figures stay in /healthz with the decision): no stale one shown as running.
    expect(metrics).not.toMatch(/^flts_live_probation_(rmse|points)\{/m);
    // The server that rolled back serves the restored run without waiting for its pointer poll.
    await vi.waitFor(() => expect(service.holder.status().current?.runId).toBe(runs.naive), { timeout: 30_000, interval: 50 });
  });

  it('keeps an identical run: no false rollback on equal live errors', async () => {
    await promote({ runId: runs.naiveTwin, source: 'auto', actor: 'daemon:test', reason: 'an identical model', force: true }, settings, { store });
    await service.holder.reloadFromPointer({ force: true });
    await service.live!.tick();
    expect((await healthLive()).probation).toMatchObject({ run_id: runs.naiveTwin, previous_run_id: runs.naive });
    await trafficUntil(async () => (await healthLive()).probation?.decision !== null, 200);
    const live = await healthLive();
    expect(live.probation).toMatchObject({ active: false, decision: { verdict: 'keep', action: 'none' } });
    expect(live.probation.candidate_rmse).toBe(live.probation.baseline_rmse);
    expect(live.probation.shadowing).toBe(false);
    expect(await (await fetch(`${service.url}/metrics`)).text()).not.toMatch(/^flts_live_probation_(rmse|points)\{/m);
    expect((await readPromotionPointer(store, settings))?.run_id).toBe(runs.naiveTwin);
    expect((await listPromotionHistory(store, settings, 'global')).filter((record) => record.source === 'auto-rollback')).toHaveLength(1);
  });

  it('with FLTS_LIVE_ROLLBACK=false decides and reports, but leaves the promotion in place', async () => {
    settings.live.rollback = false;
    await promote({ runId: runs.lstm, source: 'auto', actor: 'daemon:test', reason: 'the worse run again, rollback off', force: true }, settings, { store });
    await service.holder.reloadFromPointer({ force: true });
    await trafficUntil(async () => (await healthLive()).probation?.decision !== null, 200);
    const live = await healthLive();
    expect(live.probation).toMatchObject({ run_id: runs.lstm, previous_run_id: runs.naiveTwin, decision: { verdict: 'rollback', action: 'none' } });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe(runs.lstm);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('flts_live_rollbacks_total 1');
    // Worse and left in service: the one series an alert can see once the probation's own series are gone.
    expect(metrics).toContain('flts_live_worse_kept_total 1');
  });

  it('decides the probation of a run pinned while the server runs, and keeps it in service however it does live', async () => {
    settings.live.rollback = true;
    await promote({ runId: runs.naive, source: 'auto', actor: 'daemon:test', reason: 'back to persistence', force: true }, settings, { store });
    await promote({ runId: runs.lstm, source: 'auto', actor: 'daemon:test', reason: 'the worse run, then pinned', force: true }, settings, { store });
    await service.holder.reloadFromPointer({ force: true });
    await service.live!.tick();
    expect((await healthLive()).probation).toMatchObject({ run_id: runs.lstm, previous_run_id: runs.naive, active: true, decision: null });
    const pin = await promote({ runId: runs.lstm, source: 'manual', actor: 'ana', reason: 'LSTM for the holidays' }, settings, { store });
    expect(pin).toMatchObject({ changed: true, pinned: true });

    await trafficUntil(async () => (await healthLive()).probation?.decision !== null, 200);
    const live = await healthLive();
    expect(live.probation).toMatchObject({ run_id: runs.lstm, previous_run_id: runs.naive, decision: { verdict: 'rollback', action: 'none', kept_by: { action: 'pin', source: 'manual', actor: 'ana', timestamp: pin.record.timestamp } } });
    expect(live.probation.decision.reason).toContain(`not rolled back: run ${runs.lstm} was pinned ${pin.record.timestamp} by manual ana`);
    expect(live.probation.candidate_rmse).toBeGreaterThan(live.probation.baseline_rmse * 1.1);
    expect((await readPromotionPointer(store, settings))?.run_id).toBe(runs.lstm);
    expect(service.holder.status().current?.runId).toBe(runs.lstm);
    expect((await listPromotionHistory(store, settings, 'global')).filter((record) => record.source === 'auto-rollback')).toHaveLength(1);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('flts_live_rollbacks_total 1');
    expect(metrics).toContain('flts_live_worse_kept_total 2');
  });

  it('flts eval --live ranks the runs by the live error the server reported', async () => {
    await service.live!.tick();
    const run = await runCli(['eval', '--live', '--home', home, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const rows: Array<{ rank: number; run_id: string; live_rmse: number; points: number }> = run.json.result.rows;
    const rank = (runId: string): number => rows.find((row) => row.run_id === runId)!.rank;
    expect(rows.map((row) => row.run_id).sort()).toEqual([runs.naive, runs.naiveTwin, runs.lstm].sort());
    expect(rank(runs.lstm)).toBe(3);
    expect(rows.every((row, i) => i === 0 || row.live_rmse >= rows[i - 1].live_rmse)).toBe(true);
  });
});
