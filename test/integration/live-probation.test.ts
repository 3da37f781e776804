import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodePromotion } from '../../src/core/bus/messages.js';
import type { MessageBus } from '../../src/core/bus/message-bus.js';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { listLiveReports } from '../../src/core/live/live-report-reader.js';
import { readPromotionPointer } from '../../src/core/registry/pointers.js';
import { promote as promoteRun } from '../../src/core/workflows/promote.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import { trainModels } from '../../src/core/workflows/train.js';
import { DATASETS, rawTestRows } from '../helpers/poblesec-slice.js';
import { postJson } from '../serve/serve-fixtures.js';
import { createPipeline, getJson, waitUntil, type FltsProcess } from './daemon-harness.js';
import { infraSkipReason } from './infra-env.js';

vi.setConfig({ testTimeout: 300_000 });

const skipReason = infraSkipReason();
if (skipReason) {
  describe('integration > live probation on Kafka + S3', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > live probation on Kafka + S3', () => {
    // The promoter waits for a GRU that is never trained, so it never promotes on its own: promotions here are manual,
    // but for the one a person pins, which the test makes as the promoter would (source auto).
    const pipeline = createPipeline('live', { FLTS_LIVE_PROBATION_POINTS: '40', FLTS_LIVE_REPORT_INTERVAL_MS: '200', EXPECTED_MODEL_TYPES: 'GRU' });
    /**
     * The promoter set to a probation ten times the size the replicas pair up to (40 each): it decides by the size
     * each promotion fixed (the promoting process's 40), or it would wait for points that never come.
     */
    const PROMOTER = { FLTS_DAEMON_ROLES: 'promoter', FLTS_LIVE_PROBATION_POINTS: '400' };
    let settings: Settings;
    let bus: MessageBus;
    let daemon: FltsProcess;
    let daemonUrl = '';
    const replicas: Array<{ id: string; url: string; proc: FltsProcess }> = [];
    let runs: { naive: string; naiveTwin: string; lstm: string };
    let next = 0;

    /** Promotes like `flts promote --run` (or the daemon's promoter) and announces it on model-selected, as every promotion path does. */
    async function promote(runId: string, reason: string, by: { source: 'manual' | 'auto'; actor: string } = { source: 'manual', actor: 'test' }): Promise<void> {
      const { record } = await promoteRun({ runId, ...by, reason: reason, force: true }, settings, { store: pipeline.store });
      await bus.publish(settings.bus.topics.modelSelected, encodePromotion({ ...record }));
      for (const replica of replicas) await waitUntil(async () => (await getJson(`${replica.url}/healthz`)).json.run_id === runId, `${replica.id} serving ${runId}`, 60_000);
    }

    /** Each replica serves its own series (sticky routing); a request scores the previous forecast of its series. */
    async function trafficUntil(done: () => Promise<boolean>, maxRounds: number): Promise<void> {
      for (let round = 0; round < maxRounds; round++) {
        for (const replica of replicas) {
          const response = await postJson(`${replica.url}/predict`, { identifier: `series-${replica.id}`, data: rawTestRows(12, next) });
          expect(response.status, JSON.stringify(response.json)).toBe(200);
        }
        next++;
        if (round % 5 === 4 && (await done())) return;
      }
      await waitUntil(async () => done(), 'the expected state after the traffic', 20_000);
    }

    beforeAll(async () => {
      settings = resolveSettings({ env: pipeline.env, flags: { 'data.dataDir': DATASETS, 'data.trainFile': 'PobleSec.csv', 'data.testFile': 'PobleSec_test.csv' } }).settings;
      bus = pipeline.bus();
      await runPreprocess(settings, { store: pipeline.store });
      const trained = await trainModels({ models: ['NAIVE', 'LSTM'] }, settings, { store: pipeline.store });
      const twin = await trainModels({ models: ['NAIVE'] }, settings, { store: pipeline.store });
      runs = { naive: trained.runs[0].run_id, lstm: trained.runs[1].run_id, naiveTwin: twin.runs[0].run_id };
      await promoteRun({ runId: runs.naive, source: 'manual', actor: 'test', reason: 'promoted by the test', force: true }, settings, { store: pipeline.store });

      daemon = pipeline.start(['daemon', '--port', '0'], PROMOTER);
      daemonUrl = (await daemon.waitForOutput(/Daemon listening on (http:\/\/\S+)[^]*Roles started: /))[1];
      for (const id of ['a', 'b']) {
        const proc = pipeline.start(['serve', '--port', '0'], { FLTS_REPLICA_ID: id });
        const url = (await proc.waitForOutput(/Listening on (http:\/\/\S+)/))[1];
        await proc.waitForOutput(/Following \S+ as group/);
        replicas.push({ id, url, proc });
      }
    }, 240_000);

    afterAll(() => pipeline.close());

    it('rolls back a clearly worse run once, decided by the promoter from both replicas, and every replica switches back', async () => {
      await promote(runs.lstm, 'a barely trained LSTM over persistence');
      await trafficUntil(async () => (await readPromotionPointer(pipeline.store, settings))?.run_id === runs.naive, 120);
      const pointer = (await readPromotionPointer(pipeline.store, settings))!;
      expect(pointer).toMatchObject({ action: 'rollback', source: 'auto-rollback', run_id: runs.naive, previous_run_id: runs.lstm });
      expect(pointer.reason).toMatch(new RegExp(`live RMSE [\\d.e+]+ of run ${runs.lstm} vs [\\d.e+]+ of the previous run ${runs.naive} over \\d+ matched points`));
      // model-selected from the promoter's rollback reaches both replicas (they do not poll the pointer).
      for (const replica of replicas) await waitUntil(async () => (await getJson(`${replica.url}/healthz`)).json.run_id === runs.naive, `${replica.id} back on ${runs.naive}`, 60_000);

      // Each replica reads the final decision at its next report (the decider records "rolled-back" after the rollback).
      const health = await Promise.all(
        replicas.map((replica) =>
          waitUntil(async () => {
            const live = (await getJson(`${replica.url}/healthz`)).json.live;
            return live.previous_probation?.decision?.action === 'rolled-back' && live;
          }, `${replica.id} showing the final decision`, 30_000),
        ),
      );
      for (const live of health) {
        // The run restored has no probation: the one rolled back is the previous one.
        expect(live.probation).toBeNull();
        expect(live.previous_probation).toMatchObject({ run_id: runs.lstm, previous_run_id: runs.naive, active: false, decision: { verdict: 'rollback', action: 'rolled-back' } });
        expect(live.previous_probation.points).toBeGreaterThan(0);
        expect(live.runs.find((run: { run_id: string }) => run.run_id === runs.lstm).targets.down.rmse).toBeGreaterThan(0);
      }
      const reports = await listLiveReports(pipeline.store, settings);
      expect(reports.map((report) => report.replica).sort()).toEqual(['a', 'b']);
      const daemonMetrics = await (await fetch(`${daemonUrl}/metrics`)).text();
      expect(daemonMetrics).toContain('flts_live_rollbacks_total 1');
      const replicaMetrics = await (await fetch(`${replicas[0].url}/metrics`)).text();
      expect(replicaMetrics).toMatch(new RegExp(`flts_live_rmse\\{run_id="${runs.lstm}",target="down"\\} [\\d.e+]+`));
      expect(replicaMetrics).toContain('flts_live_rollbacks_total 0');
    });

    it('keeps an identical run: the promoter decides "keep" and nothing moves', async () => {
      await promote(runs.naiveTwin, 'an identical model');
      // S3Proxy's filesystem backend lists an object still being written under its name plus a suffix, so
      // only finished `.json` keys count (as in listLiveReports).
      const decisionKeys = async (): Promise<string[]> =>
        (await pipeline.store.list(settings.store.buckets.runs, 'live/global/decisions/')).map((info) => info.key).filter((key) => key.includes(runs.naiveTwin) && key.endsWith('.json'));
      await trafficUntil(async () => (await decisionKeys()).length > 0, 120);
      const [decisionKey] = await decisionKeys();
      const decision = JSON.parse((await pipeline.store.get(settings.store.buckets.runs, decisionKey)).toString());
      expect(decision).toMatchObject({ verdict: 'keep', action: 'none' });
      expect(decision.candidate_rmse).toBe(decision.baseline_rmse);
      expect(decision.decided_by).toMatch(/^promoter /);
      expect((await readPromotionPointer(pipeline.store, settings))?.run_id).toBe(runs.naiveTwin);
      expect((await pipeline.promotions()).filter((record) => record.source === 'auto-rollback')).toHaveLength(1);
    });

    it('never rolls back a run a person pinned, over a daemon restart: the promoter decides, reports and keeps it', async () => {
      await promote(runs.lstm, 'the worse run again, then pinned', { source: 'auto', actor: 'daemon:test' });
      const pin = await promoteRun({ runId: runs.lstm, source: 'manual', actor: 'ana', reason: 'LSTM for the holidays' }, settings, { store: pipeline.store });
      expect(pin).toMatchObject({ changed: true, pinned: true });
      // The pin lives in the history and the pointers only: a restarted promoter knows it from there.
      expect(await daemon.stop('SIGTERM')).toBe(0);
      daemon = pipeline.start(['daemon', '--port', '0'], PROMOTER);
      daemonUrl = (await daemon.waitForOutput(/Daemon listening on (http:\/\/\S+)[^]*Roles started: /))[1];

      const decided = async (): Promise<boolean> => (await getJson(`${replicas[0].url}/healthz`)).json.live.probation?.decision?.kept_by !== undefined;
      await trafficUntil(decided, 120);
      const live = (await getJson(`${replicas[0].url}/healthz`)).json.live;
      expect(live.probation).toMatchObject({ run_id: runs.lstm, previous_run_id: runs.naiveTwin, decision: { verdict: 'rollback', action: 'none', kept_by: { action: 'pin', source: 'manual', actor: 'ana', timestamp: pin.record.timestamp } } });
      expect(live.probation.decision.decided_by).toMatch(/^promoter /);
      expect(live.probation.decision.reason).toContain(`not rolled back: run ${runs.lstm} was pinned ${pin.record.timestamp} by manual ana`);
      expect(daemon.logs()).toContain('"msg":"live_probation_worse_kept"');
      expect((await readPromotionPointer(pipeline.store, settings))?.run_id).toBe(runs.lstm);
      expect((await pipeline.promotions()).filter((record) => record.source === 'auto-rollback')).toHaveLength(1);
      const daemonMetrics = await (await fetch(`${daemonUrl}/metrics`)).text();
      expect(daemonMetrics).toContain('flts_live_rollbacks_total 0');
      // The promoter that kept the worse run counts it, for FltsLiveWorseRunKept.
      expect(daemonMetrics).toContain('flts_live_worse_kept_total 1');
      for (const replica of replicas) expect((await getJson(`${replica.url}/healthz`)).json.run_id).toBe(runs.lstm);
    });
  });
}
