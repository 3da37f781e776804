import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodePromotion } from '../../src/core/bus/messages.js';
import type { PromotionRecord } from '../../src/core/registry/pointers.js';
import { readPromotionPointer } from '../../src/core/registry/pointers.js';
import { runCli } from '../helpers/run-cli.js';
import { createPipeline, getJson, ofType, waitUntil, type Pipeline } from './daemon-harness.js';
import { infraSkipReason } from './infra-env.js';

// These tests poll durable state with their own deadlines (up to several minutes on a loaded machine).
vi.setConfig({ testTimeout: 420_000 });

const skipReason = infraSkipReason();

/** The promotion semantics of docs/promotion.md, end to end through `flts` processes, on Kafka + S3 and on the embedded bus and store. */
function promotionSemantics(kind: 'kafka' | 'fs', pipelineFor: (name: string, overrides?: Record<string, string>) => Pipeline): void {
  describe(`integration > promotion semantics (${kind})`, () => {
    const pipelines: Pipeline[] = [];
    const pipeline = (name: string, overrides: Record<string, string> = {}): Pipeline => {
      const created = pipelineFor(name, overrides);
      pipelines.push(created);
      return created;
    };
    afterAll(async () => {
      for (const p of pipelines) await p.close();
    });

    it('adding a model type never moves the pointer back to older data', async () => {
      const p = pipeline('fwd', { EXPECTED_MODEL_TYPES: 'NAIVE', FLTS_TRAINER_MODELS: 'NAIVE' });
      const first = p.start(['daemon', '--port', '0']);
      await first.waitForOutput(/Roles started: /);
      expect((await p.preprocess({ SAMPLE_TRAIN_ROWS: '300' })).exitCode).toBe(0);
      const older = await waitUntil(async () => (await p.promotions())[0], 'the promotion of the older data', 150_000);
      expect((await p.preprocess({ SAMPLE_TRAIN_ROWS: '400' })).exitCode).toBe(0);
      const newer = await waitUntil(async () => (await p.promotions()).find((r) => r.config_hash !== older.config_hash), 'the promotion of the newer data', 150_000);
      expect(await first.stop()).toBe(0);

      // Restarted with LSTM added: its new group reads every claim from the beginning, the older data included.
      const second = p.start(['daemon', '--port', '0'], { EXPECTED_MODEL_TYPES: 'NAIVE,LSTM', FLTS_TRAINER_MODELS: 'NAIVE,LSTM' });
      await second.waitForOutput(/Roles started: /);
      const lstmOf = async (hash: string) => ofType(await p.runs(), 'LSTM', 'SUCCESS').find((run) => run.config_hash === hash);
      const lstmOfNewer = await waitUntil(() => lstmOf(newer.config_hash), 'an LSTM run of the newer data', 240_000);
      await waitUntil(() => lstmOf(older.config_hash), 'an LSTM run of the older data', 240_000);
      // The older data's late SUCCESS is decided and refused; the newer data is decided again with its LSTM: promoted
      // anew when the LSTM wins, left as it is when the run in service still wins (that promotion would change nothing).
      const decided = (hash: string, msg: string) => second.logs().split('\n').some((line) => line.includes(hash) && line.includes(msg));
      await waitUntil(async () => decided(older.config_hash, 'daemon_promotion_superseded'), 'the older data superseded', 120_000);
      const lstmFinished = Date.parse(lstmOfNewer.timings.finished_at ?? lstmOfNewer.timings.started_at);
      const promotedAgain = async () => (await p.promotions()).some((r) => r.config_hash === newer.config_hash && Date.parse(r.timestamp.replace(/(\.\d{3})\d+Z$/, '$1Z')) >= lstmFinished);
      // Before the LSTM's SUCCESS the newer data is only `waiting` (EXPECTED_MODEL_TYPES names LSTM).
      await waitUntil(async () => (await promotedAgain()) || decided(newer.config_hash, 'daemon_promotion_already_promoted'), 'the newer data decided with its LSTM', 120_000);
      const history = await p.promotions();
      const afterNewer = history.slice(history.findIndex((r) => r.config_hash === newer.config_hash));
      expect(afterNewer.every((r: PromotionRecord) => r.config_hash === newer.config_hash)).toBe(true);
      expect((await readPromotionPointer(p.store, p.settings))?.config_hash).toBe(newer.config_hash);
      expect(lstmOfNewer.config_hash).toBe(newer.config_hash);
    });

    it('a promotion by hand pins the daemon\'s run without a reload, and one of another run reaches a polling-free replica through the bus; both stand against resync', async () => {
      const p = pipeline('manual', { EXPECTED_MODEL_TYPES: 'NAIVE', FLTS_TRAINER_MODELS: 'NAIVE' });
      // Both start at once: nothing is published before the preprocess below, and the replica follows by then.
      const replica = p.start(['serve', '--port', '0']);
      const daemon = p.start(['daemon', '--port', '0']);
      const url = (await replica.waitForOutput(/Listening on (http:\/\/\S+)/))[1];
      await replica.waitForOutput(/Following \S+ as group/);
      await daemon.waitForOutput(/Roles started: /);
      expect((await p.preprocess()).exitCode).toBe(0);
      const auto = await waitUntil(async () => (await p.promotions())[0], 'the automatic promotion', 150_000);
      await waitUntil(async () => (await getJson(`${url}/healthz`)).json.run_id === auto.run_id, 'the replica on the automatic promotion', 60_000);

      expect(await daemon.stop()).toBe(0);
      const byHand = (runId: string, reason: string) => runCli(['promote', '--run', runId, '--reason', reason, '--json'], { env: { ...p.env, FLTS_OPERATOR: 'ana' }, timeoutMs: 120_000 });
      const stands = (daemonProcess: typeof daemon) => (daemonProcess.logs().match(/daemon_promotion_chosen_run_stands/g) ?? []).length;

      // The daemon's run promoted by hand: pinned where it is, with nothing announced.
      const pinned = await byHand(auto.run_id, 'keep it');
      expect(pinned.exitCode, pinned.stderr).toBe(0);
      expect(pinned.json.result).toMatchObject({ changed: true, pinned: true, published: null, record: { run_id: auto.run_id, source: 'manual', actor: 'ana', action: 'pin', pinned_timestamp: auto.timestamp } });

      // Trained outside the daemon: a newer SUCCESS for the same data, which the daemon promoted over its own run
      // before the pin. It comes back and resyncs at startup, then every 300 ms; each resync leaves the pin in place.
      const trained = await runCli(['train', '--model', 'NAIVE', '--json'], { env: p.env, timeoutMs: 120_000 });
      expect(trained.exitCode, trained.stderr).toBe(0);
      const runId: string = trained.json.result.runs[0].run_id;
      const restarted = p.start(['daemon', '--port', '0'], { FLTS_DAEMON_RESYNC_INTERVAL_MS: '300' });
      await restarted.waitForOutput(/Roles started: /);
      await waitUntil(async () => stands(restarted) >= 3, 'three resyncs that leave the pinned run', 60_000);
      expect((await p.promotions()).map((r) => `${r.run_id}:${r.source}`)).toEqual([`${auto.run_id}:auto`, `${auto.run_id}:manual`]);
      expect((await getJson(`${url}/healthz`)).json.run_id).toBe(auto.run_id);

      // The new run promoted by hand.
      const promoted = await byHand(runId, 'chosen by hand');
      expect(promoted.exitCode, promoted.stderr).toBe(0);
      expect(promoted.json.result.published).toEqual({ topic: p.settings.bus.topics.modelSelected, ok: true });
      expect(promoted.json.result.record).toMatchObject({ run_id: runId, source: 'manual', actor: 'ana', previous_run_id: auto.run_id });
      // FLTS_SERVE_POLL_INTERVAL_MS=0: only the model-selected message can switch the replica.
      await waitUntil(async () => (await getJson(`${url}/healthz`)).json.run_id === runId, 'the replica on the manual promotion', 30_000);
      // The pin told no replica to reload: the topic holds the two promotions alone.
      const selected = (await p.readTopic(p.settings.bus.topics.modelSelected, 2)).map((m) => decodePromotion(m));
      expect(selected.map((m) => m.run_id)).toEqual([auto.run_id, runId]);

      const before = stands(restarted);
      await waitUntil(async () => stands(restarted) >= before + 3, 'three resyncs that leave the manual promotion', 60_000);
      expect((await p.promotions()).map((r) => `${r.run_id}:${r.source}`)).toEqual([`${auto.run_id}:auto`, `${auto.run_id}:manual`, `${runId}:manual`]);
      expect((await getJson(`${url}/healthz`)).json.run_id).toBe(runId);
    });
  });
}

if (skipReason) {
  describe('integration > promotion semantics (kafka)', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  promotionSemantics('kafka', (name, overrides) => createPipeline(name, overrides));
}
promotionSemantics('fs', (name, overrides) => createPipeline(name, overrides, { embedded: true }));
