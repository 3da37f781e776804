import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodeTrainingEvent } from '../../src/core/bus/messages.js';
import { trainerGroupId } from '../../src/core/bus/topics.js';
import { leaseKey, readLease } from '../../src/core/registry/work-lease.js';
import { createPipeline, ofType, waitUntil } from './daemon-harness.js';
import { infraSkipReason } from './infra-env.js';

// These tests poll durable state with their own deadlines (up to several minutes on a loaded machine).
vi.setConfig({ testTimeout: 420_000 });

const skipReason = infraSkipReason();

if (skipReason) {
  describe('integration > daemon > restart', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > daemon > restart', () => {
    // The first daemon trains for thousands of epochs, so it is surely mid-training when it is killed. The killed
    // daemon never leaves its groups: the second one's join waits until the broker drops it after the session
    // timeout, 10 s here instead of the default 30 s.
    const pipeline = createPipeline('dkill', { EPOCHS: '5000', EARLY_STOPPING: 'false', FLTS_KAFKA_SESSION_TIMEOUT_MS: '10000' });
    const { settings } = pipeline;
    afterAll(() => pipeline.close());

    it('finishes exactly once after the daemon is SIGKILLed mid-training, and the restarted promoter still promotes (F1)', async () => {
      const first = pipeline.start(['daemon', '--port', '0']);
      await first.waitForOutput(/Roles started: /);
      const preprocess = await pipeline.preprocess();
      expect(preprocess.exitCode, preprocess.stderr).toBe(0);
      const configHash = /config_hash (\w+)/.exec(preprocess.stdout)?.[1] ?? '';
      expect(configHash).toMatch(/^[0-9a-f]{64}$/);

      // Mid-training: the LSTM run is RUNNING and its lease names it (the trainer is heartbeating).
      const running = await waitUntil(async () => ofType(await pipeline.runs(), 'LSTM', 'RUNNING')[0], 'a RUNNING LSTM run', 120_000);
      await waitUntil(async () => (await readLease(pipeline.store, settings, leaseKey('train', configHash, 'LSTM')))?.run_id === running.run_id, 'the lease to name the running run', 30_000);
      expect(await first.stop('SIGKILL')).toBe(-1);
      expect(ofType(await pipeline.runs(), 'LSTM').map((run) => run.status)).toEqual(['RUNNING']);

      const second = pipeline.start(['daemon', '--port', '0'], { EPOCHS: '1' });
      await second.waitForOutput(/Roles started: /);
      const promotion = await waitUntil(async () => (await pipeline.promotions())[0], 'the automatic promotion after the restart', 150_000);

      const bus = pipeline.bus();
      for (const [group, topic] of [
        [trainerGroupId('LSTM', settings.bus.groups.trainerPrefix), settings.bus.topics.trainingData],
        [trainerGroupId('NAIVE', settings.bus.groups.trainerPrefix), settings.bus.topics.trainingData],
        [settings.bus.groups.promoter, settings.bus.topics.modelTraining],
      ]) {
        await waitUntil(async () => (await bus.lag(group, [topic])).every((p) => p.lag === 0), `group ${group} to commit everything`, 60_000);
      }
      const runs = await pipeline.runs();
      const lstm = ofType(runs, 'LSTM');
      expect(lstm.find((run) => run.run_id === running.run_id)).toMatchObject({ status: 'KILLED', error: { code: 'FLTS_TRAIN_ABORTED' } });
      expect(ofType(runs, 'LSTM', 'SUCCESS')).toHaveLength(1);
      expect(lstm).toHaveLength(2);
      // The restarted trainer's resync and the claim the killed one left uncommitted both reach the new LSTM run: it
      // is announced once, by its training.
      const published = (await bus.lag(settings.bus.groups.promoter, [settings.bus.topics.modelTraining])).reduce((count, partition) => count + partition.endOffset, 0);
      const trained = (await pipeline.readTopic(settings.bus.topics.modelTraining, published)).map(decodeTrainingEvent).filter((event) => event.status === 'SUCCESS' && event.modelType === 'LSTM');
      expect(trained.map((event) => (event.status === 'SUCCESS' ? event.runId : event.status))).toEqual([ofType(runs, 'LSTM', 'SUCCESS')[0].run_id]);
      expect(ofType(runs, 'NAIVE', 'SUCCESS')).toHaveLength(1);
      expect(ofType(runs, 'NAIVE')).toHaveLength(1);
      expect(await pipeline.promotions()).toEqual([promotion]);
      expect([ofType(runs, 'LSTM', 'SUCCESS')[0].run_id, ofType(runs, 'NAIVE', 'SUCCESS')[0].run_id]).toContain(promotion.run_id);
      expect(await second.stop('SIGTERM')).toBe(0);
      // kafkajs's negative timers (tulios/kafkajs#1751) are not reported to the user.
      expect(first.logs() + second.logs()).not.toContain('TimeoutNegativeWarning');
    });
  });
}
