import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodeDeadLetter, decodePromotion, decodeTrainClaim, decodeTrainingEvent } from '../../src/core/bus/messages.js';
import { dlqTopic, trainerGroupId } from '../../src/core/bus/topics.js';
import type { PromotionRecord } from '../../src/core/registry/pointers.js';
import { createPipeline, getJson, ofType, waitUntil, type FltsProcess } from './daemon-harness.js';
import { infraSkipReason } from './infra-env.js';

// These tests poll durable state with their own deadlines (up to several minutes on a loaded machine).
vi.setConfig({ testTimeout: 420_000 });

const skipReason = infraSkipReason();

if (skipReason) {
  describe('integration > daemon > pipeline', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > daemon > pipeline', () => {
    const pipeline = createPipeline('dpipe');
    const { settings } = pipeline;
    const topics = settings.bus.topics;
    let daemon: FltsProcess;
    let daemonUrl = '';
    let promotion: PromotionRecord;
    const serveUrls: string[] = [];
    afterAll(() => pipeline.close());

    it('claim -> trained runs -> promotion -> model-selected -> both serving replicas switch to the new run', async () => {
      const replicas = ['a', 'b'].map((id) => pipeline.start(['serve', '--port', '0'], { FLTS_REPLICA_ID: id }));
      for (const replica of replicas) {
        serveUrls.push((await replica.waitForOutput(/Listening on (http:\/\/\S+)/))[1]);
        await replica.waitForOutput(/Following \S+ as group \S+-serve-[ab]\b/);
      }
      daemon = pipeline.start(['daemon', '--port', '0']);
      daemonUrl = (await daemon.waitForOutput(/Daemon listening on (http:\/\/\S+)[^]*Roles started: /))[1];

      const preprocess = await pipeline.preprocess();
      expect(preprocess.exitCode, preprocess.stderr).toBe(0);

      const [claimMessage] = await pipeline.readTopic(topics.trainingData, 1);
      expect(claimMessage.key).toBe('train-claim');
      expect(Object.keys(JSON.parse(claimMessage.value))).toEqual(['bucket', 'object', 'size', 'v', 'config_hash', 'identifier']);
      const claim = decodeTrainClaim(claimMessage);
      expect(claim).toMatchObject({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet' });
      expect(claim.size).toBeGreaterThan(1000);
      const [inferenceClaim] = await pipeline.readTopic(topics.inferenceData, 1);
      expect(inferenceClaim.key).toBe('inference-claim');
      expect(JSON.parse(inferenceClaim.value)).toMatchObject({ object_key: 'test_processed_data.parquet', operation: 'post: test data', config_hash: claim.configHash });

      promotion = await waitUntil(async () => (await pipeline.promotions())[0], 'the automatic promotion', 150_000);
      expect(promotion).toMatchObject({ source: 'auto', config_hash: claim.configHash });
      const runs = await pipeline.runs();
      expect(ofType(runs, 'NAIVE', 'SUCCESS')).toHaveLength(1);
      expect(ofType(runs, 'LSTM', 'SUCCESS')).toHaveLength(1);
      expect(runs.map((run) => run.run_id)).toContain(promotion.run_id);

      const statusMessages = (await pipeline.readTopic(topics.modelTraining, 4)).map((m) => ({ key: m.key, event: decodeTrainingEvent(m) }));
      for (const type of ['NAIVE', 'LSTM']) {
        const success = statusMessages.find((m) => m.event.status === 'SUCCESS' && m.event.modelType === type);
        expect(success?.key).toBe(`trained-${type}`);
        expect(success?.event).toMatchObject({ runId: ofType(runs, type, 'SUCCESS')[0].run_id, configHash: claim.configHash });
        expect(statusMessages.some((m) => m.event.status === 'RUNNING' && m.event.modelType === type && m.key === null)).toBe(true);
      }
      const [selected] = await pipeline.readTopic(topics.modelSelected, 1);
      expect(selected.key).toBe('promotion');
      expect(decodePromotion(selected)).toMatchObject({ run_id: promotion.run_id, config_hash: claim.configHash });

      // The replicas poll nothing (FLTS_SERVE_POLL_INTERVAL_MS=0): only the model-selected message can switch them.
      for (const url of serveUrls) {
        await waitUntil(async () => (await getJson(`${url}/healthz`)).json.run_id === promotion.run_id, `${url} serving run ${promotion.run_id}`, 60_000);
        expect((await getJson(`${url}/readyz`)).status).toBe(200);
      }
    });

    it('trains and promotes once for duplicated claims and a replayed SUCCESS; a poison claim goes to the DLQ and the daemon keeps going', async () => {
      expect(promotion).toBeDefined();
      const bus = pipeline.bus();
      const [claimMessage] = await pipeline.readTopic(topics.trainingData, 1);
      const successMessage = (await pipeline.readTopic(topics.modelTraining, 4)).find((m) => m.key === 'trained-LSTM')!;
      await bus.publish(topics.trainingData, { key: 'train-claim', value: '{"bucket": "processed-data", "size": NaN, "v": 1}' });
      await bus.publish(topics.trainingData, { key: claimMessage.key, value: claimMessage.value });
      await bus.publish(topics.trainingData, { key: claimMessage.key, value: claimMessage.value });
      await bus.publish(topics.modelTraining, { key: successMessage.key, value: successMessage.value });

      // Like the reference trainers: DLQ-<model-training>, one copy per trainer group, each naming its group and role.
      const dead = (await pipeline.readTopic(dlqTopic(topics.modelTraining), 2, 60_000)).map((message) => decodeDeadLetter(message));
      for (const envelope of dead) {
        expect(envelope.error).toContain('FLTS_BUS_MESSAGE_INVALID');
        expect(envelope.payload).toMatchObject({ bucket: 'processed-data', v: 1 });
        expect(envelope.role).toBe('trainer');
      }
      expect(dead.map((envelope) => envelope.group).sort()).toEqual(['NAIVE', 'LSTM'].map((type) => trainerGroupId(type, settings.bus.groups.trainerPrefix)).sort());

      // Every group has consumed everything: the duplicates were looked at and committed.
      const groups: Array<[string, string]> = [
        [trainerGroupId('NAIVE', settings.bus.groups.trainerPrefix), topics.trainingData],
        [trainerGroupId('LSTM', settings.bus.groups.trainerPrefix), topics.trainingData],
        [settings.bus.groups.promoter, topics.modelTraining],
      ];
      for (const [group, topic] of groups) {
        await waitUntil(async () => (await bus.lag(group, [topic])).every((p) => p.lag === 0 && p.committedOffset >= 0), `group ${group} to commit everything on ${topic}`, 60_000);
      }
      const runs = await pipeline.runs();
      expect(runs.map((run) => `${run.model_type}:${run.status}`).sort()).toEqual(['LSTM:SUCCESS', 'NAIVE:SUCCESS']);
      expect(await pipeline.promotions()).toHaveLength(1);

      expect((await getJson(`${daemonUrl}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${daemonUrl}/metrics`)).text();
      expect(metrics).toMatch(/flts_daemon_steps_total\{role="trainer",step="train",result="skipped"\} [1-9]/);
      expect(metrics).toMatch(/flts_daemon_steps_total\{role="promoter",step="promote",result="done"\} 1\b/);
      expect(metrics).toMatch(/flts_training_runs_total\{model_type="LSTM",status="SUCCESS"\} 1\b/);
      expect(metrics).toContain(`flts_daemon_consumer_lag{group="${settings.bus.groups.promoter}",topic="${topics.modelTraining}",partition="0"} 0`);
    });

    it('stops on SIGTERM with exit code 0', async () => {
      expect(await daemon.stop('SIGTERM')).toBe(0);
    });
  });
}
