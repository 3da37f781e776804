import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodePromotion } from '../../src/core/bus/messages.js';
import type { Settings } from '../../src/core/config/settings.js';
import type { PromotionRecord } from '../../src/core/registry/pointers.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { getJson as getStoredJson, putJson } from '../../src/core/storage/json-objects.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { promote } from '../../src/core/workflows/promote.js';
import { readJsonResponse } from '../serve/serve-fixtures.js';
import { runCli } from '../helpers/run-cli.js';
import { createPipeline, getJson, waitUntil, type FltsProcess, type Pipeline } from './daemon-harness.js';
import { infraSkipReason } from './infra-env.js';

// These tests poll durable state and replicas with their own deadlines (long on a loaded machine).
vi.setConfig({ testTimeout: 300_000 });

const skipReason = infraSkipReason();
const HASH = 'c'.repeat(64);

interface Replica {
  process: FltsProcess;
  url: string;
}

/** How many times `replica` logged `message` about `runId` (structured JSON lines on stderr). */
function loggedAbout(replica: Replica, message: string, runId: string): number {
  return replica.process
    .logs()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${message}"`) && line.includes(`"notice_run_id":"${runId}"`)).length;
}

/**
 * What replicas see of promotions, through `flts serve` processes with polling off
 * (FLTS_SERVE_POLL_INTERVAL_MS=0): only a `model-selected` message can move them, so a replica that switches
 * proves the entry point published it. Runs are fixture runs a replica can really load (one with NaN weights).
 */
function promotionReplicas(kind: 'kafka' | 'fs', pipelineFor: (name: string) => Pipeline): void {
  describe(`integration > promotion reaches replicas (${kind})`, () => {
    const p = pipelineFor('replicas');
    const cli = (args: string[], env: Record<string, string> = {}) => runCli([...args, '--json'], { env: { ...p.env, FLTS_OPERATOR: 'ana', ...env }, timeoutMs: 120_000 });
    const run = (id: string, type: RunRecord['model_type'], rmse: number, day: number, configHash = HASH): RunRecord => {
      const record = fakeRun(id, type, { rmse, mae: rmse, mse: rmse * rmse }, `2025-01-0${day}T00:00:00.000Z`, 'SUCCESS', configHash);
      return { ...record, data: { ...record.data, processed_bucket: p.settings.store.buckets.processed } };
    };
    let replicaCount = 0;
    const replica = async (args: string[] = [], env: Record<string, string> = {}): Promise<Replica> => {
      const proc = p.start(['serve', '--port', '0', ...args], { FLTS_REPLICA_ID: `r${++replicaCount}`, ...env });
      const url = (await proc.waitForOutput(/Listening on (http:\/\/\S+)/))[1];
      if (!args.includes('--run')) await proc.waitForOutput(/Following \S+ as group/);
      return { process: proc, url };
    };
    const health = async (r: Replica, route = '/healthz') => (await getJson(`${r.url}${route}`)).json;
    const serves = (r: Replica, runId: string, what: string, timeoutMs = 60_000) => waitUntil(async () => (await health(r)).run_id === runId, `${what} on run ${runId}`, timeoutMs, 50);
    const scoped = (identifier: string): Settings => ({ ...p.settings, identifier });

    beforeAll(async () => {
      await addLoadableRun(p.store, p.settings, run('runA', 'LSTM', 0.05, 1));
      await addLoadableRun(p.store, p.settings, run('runB', 'GRU', 0.04, 2));
      await addLoadableRun(p.store, p.settings, run('runC', 'NAIVE', 0.042, 3));
      await addLoadableRun(p.store, p.settings, run('runNaN', 'LSTM', 0.001, 4, 'd'.repeat(64)), { nanWeights: true });
    });
    afterAll(() => p.close());

    it('every entry point\'s promotion reaches a polling-free replica through the bus', async () => {
      const r = await replica();
      const bus = p.bus();
      const steps: Array<{ entry: string; expected: string; act: () => Promise<unknown> }> = [
        { entry: 'library promote()', expected: 'runA', act: () => promote({ runId: 'runA', source: 'manual', actor: 'test', reason: 'library' }, p.settings, { store: p.store, bus }) },
        { entry: 'flts promote --run', expected: 'runC', act: () => cli(['promote', '--run', 'runC', '--reason', 'by hand']) },
        { entry: 'flts promote --best', expected: 'runB', act: () => cli(['promote', '--best', '--config-hash', HASH]) },
        { entry: 'flts promote --rollback', expected: 'runC', act: () => cli(['promote', '--rollback']) },
        { entry: 'flts promote-manual --yes', expected: 'runA', act: () => cli(['promote-manual', '--yes', '--run', 'runA', '--reason', 'by hand again']) },
      ];
      for (const step of steps) {
        const outcome = (await step.act()) as { exitCode?: number; stdout?: string; stderr?: string; json?: { result: { published: unknown } } };
        if (outcome.exitCode !== undefined) {
          expect(outcome.exitCode, `${step.entry}: ${outcome.stdout} ${outcome.stderr}`).toBe(0);
          expect(outcome.json?.result.published, step.entry).toEqual({ topic: p.settings.bus.topics.modelSelected, ok: true });
        }
        await serves(r, step.expected, step.entry);
      }
      expect((await p.promotions()).map((record) => `${record.run_id}:${record.source}`)).toEqual(['runA:manual', 'runC:manual', 'runB:best', 'runC:rollback', 'runA:manual']);

      // The daemon's automatic promotion of newer data (a real preprocess, NAIVE trained by the daemon).
      const daemon = p.start(['daemon', '--port', '0'], { EXPECTED_MODEL_TYPES: 'NAIVE', FLTS_TRAINER_MODELS: 'NAIVE' });
      await daemon.waitForOutput(/Roles started: /);
      expect((await p.preprocess()).exitCode).toBe(0);
      const auto = await waitUntil(async () => (await p.promotions()).find((record) => record.source === 'auto'), 'the automatic promotion', 150_000);
      await serves(r, auto.run_id, 'the daemon\'s automatic promotion');
      expect(await daemon.stop()).toBe(0);
      // That run promoted by hand is pinned where it is: nothing published, so no replica reloads it.
      await waitUntil(async () => loggedAbout(r, 'serve_promotion_received', auto.run_id) > 0, 'the notice of the automatic promotion', 60_000, 50);
      const noticesOfAuto = loggedAbout(r, 'serve_promotion_received', auto.run_id);
      const pinned = await cli(['promote', '--run', auto.run_id, '--reason', 'keep it']);
      expect(pinned.exitCode, pinned.stderr).toBe(0);
      expect(pinned.json.result).toMatchObject({ changed: true, pinned: true, published: null, record: { run_id: auto.run_id, action: 'pin' } });
      // Back to the fixture runs for the next tests.
      await promote({ runId: 'runA', source: 'manual', actor: 'test', reason: 'reset' }, p.settings, { store: p.store, bus });
      await serves(r, 'runA', 'the reset');
      // Notices arrive in order: by the reset, a notice of the pin would have been received too.
      expect(loggedAbout(r, 'serve_promotion_received', auto.run_id)).toBe(noticesOfAuto);
      expect(await r.process.stop()).toBe(0);
    });

    it('promoting for one identifier moves only that identifier\'s replicas', async () => {
      // Started and stopped together: each start or stop alone is a process start or a group leave of a second or two.
      const [site1, site2, global] = await Promise.all([replica([], { IDENTIFIER: 'site1' }), replica([], { IDENTIFIER: 'site2' }), replica()]);
      // Identifiers never promoted fall back to the root pointer.
      for (const r of [site1, site2, global]) await serves(r, 'runA', 'every replica');
      await promote({ runId: 'runC', source: 'manual', actor: 'test', reason: 'site2 baseline' }, scoped('site2'), { store: p.store, bus: p.bus() });
      await serves(site2, 'runC', 'the site2 replica');
      const promoted = await cli(['promote', '--run', 'runB', '--identifier', 'site1', '--reason', 'site1 only']);
      expect(promoted.exitCode, promoted.stderr).toBe(0);
      expect(promoted.json.result.pointers).toEqual(['site1/current.json']);
      await serves(site1, 'runB', 'the site1 replica');
      // The others received the same message, reloaded their own pointer and stayed.
      for (const r of [site2, global]) await waitUntil(async () => loggedAbout(r, 'serve_promotion_received', 'runB') > 0, 'the notice of the site1 promotion', 60_000, 50);
      expect((await health(site2)).run_id).toBe('runC');
      expect((await health(global)).run_id).toBe('runA');
      await Promise.all([site1, site2, global].map((r) => r.process.stop()));
    });

    it('a pinned replica stays on its run through promotions and /reload_latest', async () => {
      const pinned = await replica(['--run', 'runC']);
      await serves(pinned, 'runC', 'the pinned replica');
      expect(await health(pinned)).toMatchObject({ run_id: 'runC', pinned_run_id: 'runC' });
      const promoted = await cli(['promote', '--run', 'runB', '--reason', 'not for the pinned one']);
      expect(promoted.exitCode, promoted.stderr).toBe(0);
      await waitUntil(async () => loggedAbout(pinned, 'serve_promotion_ignored_pinned', 'runB') > 0, 'the pinned replica ignoring the promotion', 60_000, 50);
      const reload = await readJsonResponse(await fetch(`${pinned.url}/reload_latest`, { method: 'POST' }));
      expect(reload.json).toMatchObject({ status: 'loaded', run_id: 'runC' });
      expect(await health(pinned)).toMatchObject({ run_id: 'runC', pinned_run_id: 'runC' });
      await pinned.process.stop();
    });

    it('falls back along the cascade from a missing or broken run, degraded with the coded cause on /healthz and /readyz', async () => {
      const bucket = p.settings.store.buckets.promotion;
      const good = await getStoredJson<PromotionRecord>(p.store, bucket, 'global/current.json');
      // A pointer to a run that does not exist where the cascade starts (what a deleted run or a reference writer leaves).
      await putJson(p.store, bucket, 'current.json', { ...good, run_id: 'gone' });
      const r = await replica();
      for (const route of ['/healthz', '/readyz']) {
        expect(await health(r, route), route).toMatchObject({ run_id: good.run_id, degraded: true, degraded_code: 'FLTS_RUN_NOT_FOUND', degraded_reason: expect.stringContaining('names run gone') });
      }
      // A pointer to a run whose weights are NaN, announced on the bus: the replica refuses it and keeps serving.
      await putJson(p.store, bucket, 'current.json', { ...good, run_id: 'runNaN' });
      await p.bus().publish(p.settings.bus.topics.modelSelected, encodePromotion({ ...good, run_id: 'runNaN' }));
      await waitUntil(async () => (await health(r, '/readyz')).degraded_code === 'FLTS_SERVE_MODEL_INVALID', 'the broken run refused', 60_000, 50);
      for (const route of ['/healthz', '/readyz']) {
        expect(await health(r, route), route).toMatchObject({ run_id: good.run_id, degraded: true, degraded_code: 'FLTS_SERVE_MODEL_INVALID' });
      }
      await r.process.stop();
    });
  });
}

if (skipReason) {
  describe('integration > promotion reaches replicas (kafka)', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  promotionReplicas('kafka', (name) => createPipeline(name));
}
promotionReplicas('fs', (name) => createPipeline(name, {}, { embedded: true }));
