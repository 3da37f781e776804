import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodePromotion, decodeTrainingEvent } from '../../src/core/bus/messages.js';
import { trainerGroupId } from '../../src/core/bus/topics.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { createPipeline, ofType, waitUntil, type Pipeline } from './daemon-harness.js';
import { infraSkipReason } from './infra-env.js';

// Each step waits for durable state with its own deadline (minutes on a loaded machine).
vi.setConfig({ testTimeout: 420_000 });

const skipReason = infraSkipReason();

/** NAIVE only: the walk is about what is sent and committed around a training, not the training. */
const NAIVE_ONLY = { EXPECTED_MODEL_TYPES: 'NAIVE', FLTS_TRAINER_MODELS: 'NAIVE', FLTS_KAFKA_SESSION_TIMEOUT_MS: '10000' };

/** The environment of a daemon SIGKILLed as soon as S3 acknowledged a PUT of a key matching `key` with a body matching `body`. */
function killedAfterPut(key: string, body = ''): Record<string, string> {
  return { NODE_OPTIONS: `--import ${path.join(REPO_ROOT, 'test/helpers/kill-after-put.mjs')}`, KILL_AFTER_PUT_PATH: key, KILL_AFTER_PUT_BODY: body };
}

/** Every message on `topic` so far (its end offsets summed, then read from the beginning by a group of its own). */
async function everything(pipeline: Pipeline, topic: string): Promise<Awaited<ReturnType<Pipeline['readTopic']>>> {
  const bus = pipeline.bus();
  // A topic nothing published to yet may not exist: the daemon creates it as it starts anyway.
  await bus.ensureTopics([topic]);
  const count = (await bus.lag(`count-${topic}`, [topic])).reduce((sum, partition) => sum + partition.endOffset, 0);
  return count === 0 ? [] : pipeline.readTopic(topic, count, 60_000);
}

/** The NAIVE SUCCESS notices on model-training, and the run ids model-selected announced. */
async function notices(pipeline: Pipeline): Promise<{ trained: string[]; selected: string[] }> {
  const { topics } = pipeline.settings.bus;
  const trained = (await everything(pipeline, topics.modelTraining)).map(decodeTrainingEvent).flatMap((event) => (event.status === 'SUCCESS' && event.modelType === 'NAIVE' ? [event.runId] : []));
  const selected = (await everything(pipeline, topics.modelSelected)).map(decodePromotion).map((notice) => notice.run_id);
  return { trained, selected };
}

/** Waits until the trainer and the promoter have committed everything on their topics. */
async function settled(pipeline: Pipeline): Promise<void> {
  const { settings } = pipeline;
  const bus = pipeline.bus();
  for (const [group, topic] of [
    [trainerGroupId('NAIVE', settings.bus.groups.trainerPrefix), settings.bus.topics.trainingData],
    [settings.bus.groups.promoter, settings.bus.topics.modelTraining],
  ]) {
    await waitUntil(async () => (await bus.lag(group, [topic])).every((p) => p.lag === 0), `group ${group} to commit everything on ${topic}`, 120_000);
  }
}

/**
 * A Kafka-mode daemon stopped between an effect and the step after it, at the points where a crash can lose or repeat
 * work: what was acknowledged (a preprocess that exited 0, a SUCCESS recorded, a promotion recorded) is not lost, and
 * nothing is sent twice. The embedded bus's walk holds the same states at the unit level; here the broker's
 * redelivery of what was not committed is the real one.
 */
if (skipReason) {
  describe('integration > daemon > kafka crash walk', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > daemon > kafka crash walk', () => {
    const pipelines: Pipeline[] = [];
    afterAll(async () => {
      await Promise.all(pipelines.map((pipeline) => pipeline.close()));
    });

    it('trains and promotes processed data whose claims were never published (a preprocess stopped before its publish), once', async () => {
      const pipeline = createPipeline('dwalk-a', NAIVE_ONLY);
      pipelines.push(pipeline);
      // The processed data and its sidecars are written, no claim is: the state a preprocess killed just before its
      // publish leaves (with the bus off, the same files, and nothing on the topics).
      const preprocess = await pipeline.preprocess({ FLTS_BUS: 'none' });
      expect(preprocess.exitCode, preprocess.stderr).toBe(0);
      expect(await everything(pipeline, pipeline.settings.bus.topics.trainingData)).toEqual([]);
      const daemon = pipeline.start(['daemon', '--port', '0', '--roles', 'trainer,promoter']);
      try {
        const promotion = await waitUntil(async () => (await pipeline.promotions())[0], 'the promotion of the resynced data', 240_000);
        await settled(pipeline);
        const runs = await pipeline.runs();
        expect(ofType(runs, 'NAIVE').map((run) => run.status)).toEqual(['SUCCESS']);
        expect(promotion.run_id).toBe(ofType(runs, 'NAIVE')[0].run_id);
        expect(await notices(pipeline)).toEqual({ trained: [promotion.run_id], selected: [promotion.run_id] });
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- daemon output ---\n${daemon.output().slice(-6000)}`);
      }
      expect(await daemon.stop('SIGTERM')).toBe(0);
    });

    it('does not train, announce or promote again when every offset was left uncommitted after its effect (a daemon killed after SUCCESS and after its promotion, before the commits)', async () => {
      const pipeline = createPipeline('dwalk-b', NAIVE_ONLY);
      pipelines.push(pipeline);
      const { settings } = pipeline;
      const first = pipeline.start(['daemon', '--port', '0', '--roles', 'trainer,promoter']);
      let second: ReturnType<Pipeline['start']> | undefined;
      try {
        await first.waitForOutput(/Roles started: /, 120_000);
        const preprocess = await pipeline.preprocess();
        expect(preprocess.exitCode, preprocess.stderr).toBe(0);
        const promotion = await waitUntil(async () => (await pipeline.promotions())[0], 'the automatic promotion', 240_000);
        await settled(pipeline);
        const before = await notices(pipeline);
        expect(before).toEqual({ trained: [promotion.run_id], selected: [promotion.run_id] });
        // Killed: its members stay in their groups until their sessions end (10 s here).
        expect(await first.stop('SIGKILL')).toBe(-1);

        // Every effect done (the run SUCCESS and announced, its promotion recorded, moved and announced), no offset
        // committed: what a kill between each handler's effect and its commit leaves. The broker delivers the claim
        // and the SUCCESS again to the next daemon. (A kill at that very point needs a hook in the handler; the
        // offsets moved back give the same durable state.)
        for (const [group, topic] of [
          [trainerGroupId('NAIVE', settings.bus.groups.trainerPrefix), settings.bus.topics.trainingData],
          [settings.bus.groups.promoter, settings.bus.topics.modelTraining],
        ]) {
          const replay = await runCli(['replay-offsets', '--group', group, '--topic', topic, '--to-earliest', '--execute', '--wait', '--wait-timeout', 'PT2M', '--json'], { env: pipeline.env });
          expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
          expect((await pipeline.bus().lag(group, [topic])).some((p) => p.lag > 0)).toBe(true);
        }

        second = pipeline.start(['daemon', '--port', '0', '--roles', 'trainer,promoter']);
        await second.waitForOutput(/Roles started: /, 120_000);
        await settled(pipeline);
        const runs = await pipeline.runs();
        expect(ofType(runs, 'NAIVE').map((run) => run.status)).toEqual(['SUCCESS']);
        expect(await pipeline.promotions()).toEqual([promotion]);
        // The claim redelivered was answered by the notice already sent (answered-claims.json): not announced again,
        // and the SUCCESS redelivered to the promoter finds its promotion made.
        expect(await notices(pipeline)).toEqual(before);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- first daemon ---\n${first.output().slice(-4000)}\n--- second daemon ---\n${second?.output().slice(-4000) ?? ''}`);
      }
      expect(await second.stop('SIGTERM')).toBe(0);
    });

    /**
     * The daemon is SIGKILLed right after one durable write (`kill`), between the log lines `point.after` and
     * `point.before`, then a daemon is started in its place: by then the pipeline has trained NAIVE once, announced it
     * once, promoted it once and announced that once.
     */
    async function killedAt(name: string, point: { after: string; before: string }, kill: (pipeline: Pipeline) => Record<string, string>): Promise<void> {
      const pipeline = createPipeline(name, NAIVE_ONLY);
      pipelines.push(pipeline);
      const first = pipeline.start(['daemon', '--port', '0', '--roles', 'trainer,promoter'], kill(pipeline));
      let second: ReturnType<Pipeline['start']> | undefined;
      try {
        await first.waitForOutput(/Roles started: /, 120_000);
        const preprocess = await pipeline.preprocess();
        expect(preprocess.exitCode, preprocess.stderr).toBe(0);
        await waitUntil(async () => first.child.exitCode !== null || first.child.signalCode !== null, 'the daemon to be killed at its point', 240_000);
        expect(first.child.signalCode).toBe('SIGKILL');
        // Killed at its point: past the step before it, short of the step after it.
        const said = first.logs().split('\n').flatMap((line) => /"msg":"([a-z_]+)"/.exec(line)?.[1] ?? []);
        expect(said).toContain(point.after);
        expect(said).not.toContain(point.before);
        second = pipeline.start(['daemon', '--port', '0', '--roles', 'trainer,promoter']);
        const promotion = await waitUntil(async () => (await pipeline.promotions())[0], 'the promotion after the restart', 240_000);
        await settled(pipeline);
        const runs = await pipeline.runs();
        expect(ofType(runs, 'NAIVE').map((run) => run.status)).toEqual(['SUCCESS']);
        expect(promotion.run_id).toBe(ofType(runs, 'NAIVE')[0].run_id);
        expect(await pipeline.promotions()).toHaveLength(1);
        await waitUntil(async () => (await notices(pipeline)).selected.length > 0, 'model-selected', 120_000);
        expect(await notices(pipeline)).toEqual({ trained: [promotion.run_id], selected: [promotion.run_id] });
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- first daemon ---\n${first.output().slice(-4000)}\n--- second daemon ---\n${second?.output().slice(-4000) ?? ''}`);
      }
      expect(await second.stop('SIGTERM')).toBe(0);
    }

    it('announces and promotes once a training whose daemon was SIGKILLed right after it recorded SUCCESS (before its notice and commit)', async () => {
      await killedAt('dwalk-c', { after: 'train_start', before: 'train_complete' }, ({ settings }) => killedAfterPut(`^/${settings.store.buckets.runs}/[^/]+/run\\.json`, '"status":\\s*"SUCCESS"'));
    });

    it('finishes and announces once a promotion whose daemon was SIGKILLed right after its history record (before its pointers)', async () => {
      await killedAt('dwalk-e', { after: 'daemon_trained', before: 'promotion_done' }, ({ settings }) => killedAfterPut(`^/${settings.store.buckets.promotion}/[^/]+/[0-9a-f]{64}/promotion-[^/]+\\.json`));
    });

    it('finishes and announces once a promotion whose daemon was SIGKILLed right after moving its first pointer (before model-selected and the commit)', async () => {
      await killedAt('dwalk-d', { after: 'daemon_trained', before: 'promotion_done' }, ({ settings }) => killedAfterPut(`^/${settings.store.buckets.promotion}/.*current\\.json`));
    });
  });
}
