import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import type { MessageBus } from '../../src/core/bus/message-bus.js';
import { encodeInferenceClaim } from '../../src/core/bus/messages.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import { followClaimActuals } from '../../src/core/daemon/claim-actuals-follower.js';
import { createFeaturePlan } from '../../src/core/forecast/feature-plan.js';
import { createLiveScorer } from '../../src/core/live/live-scorer.js';
import type { LiveMonitor } from '../../src/core/serve/live-monitor.js';
import type { ModelHolder } from '../../src/core/serve/model-holder.js';
import type { ServedModel } from '../../src/core/serve/served-model.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { INFRA_HINT, infraSkipReason, loadInfraEnv } from './infra-env.js';

const skipReason = infraSkipReason();
const MINUTE = 60_000;
const STEP = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

if (skipReason) {
  describe('integration > live claims > a replica joining after them', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > live claims > a replica joining after them', () => {
    const infra = loadInfraEnv();
    const home = mkdtempSync(path.join(os.tmpdir(), 'flts-it-claims-join-'));
    const buses: MessageBus[] = [];
    afterAll(async () => {
      await Promise.all(buses.map((bus) => bus.close()));
      rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    });

    /** A Kafka bus on the suite's brokers, closed after the suite. */
    function kafkaBus(clientId: string): MessageBus {
      const bus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
      buses.push(bus);
      return bus;
    }

    /**
     * A replica's live scoring that keeps early actuals, begun `later` ms from now by its clock (and its kept rows'
     * ages), serving run-a of a NAIVE plan over `down`.
     */
    function scoringReplica(settings: ReturnType<typeof resolveSettings>['settings'], later = 0) {
      const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 1000, earlyPoints: 1000, earlyMaxAgeMs: settings.live.earlyActualsMaxAgeMs, now: () => Date.now() + later });
      const live = {
        scorer,
        since: Date.now() + later,
        observeActualsInTurns: async (actuals: Parameters<LiveMonitor['observeActualsInTurns']>[0], _signal?: AbortSignal, arrivedAt?: number) => {
          const scoring = scorer.startScoring(actuals, { keepEarly: true, arrivedAt });
          scoring.scoreRows(actuals.time.length);
          return scoring.result();
        },
      } as unknown as LiveMonitor;
      const plan = createFeaturePlan({ inputSeqLen: 2, outputSeqLen: 1, features: ['down'], targets: ['down'] }, { method: 'MinMaxScaler', columns: [], offset: [], scale: [] });
      const holder = { current: () => ({ plan, run: { runId: 'run-a', modelType: 'NAIVE', configHash: 'cfg1' } }) as unknown as ServedModel } as unknown as ModelHolder;
      return { scorer, live, holder };
    }

    it('reads on Kafka a claim published before the replica began, within the age of kept actuals, and keeps its rows for forecasts made later', async () => {
      const topic = `it-inference-data-${randomUUID().slice(0, 8)}`;
      const settings = resolveSettings({ flags: { 'live.earlyActualsMaxAgeMs': 30 * MINUTE } }).settings;
      settings.bus.topics.inferenceData = topic;
      const store = createFsStore(path.join(home, 'store'));
      await store.ensureBucket('incoming');
      await store.put('incoming', 'day1.csv', ['time,down', ...Array.from({ length: 10 }, (_, r) => `${new Date(T0 + r * STEP).toISOString()},${100 + r}`)].join('\n'));
      const bus = kafkaBus('flts-it-claims-join');
      await bus.ensureTopics([topic]).catch((error: Error) => {
        throw new Error(`Kafka not reachable at ${infra.kafkaBrokers.join(',')}: ${error.message}; ${INFRA_HINT}`);
      });
      await bus.publish(topic, encodeInferenceClaim({ bucket: 'incoming', object: 'day1.csv', size: 0, configHash: 'cfg1', identifier: '' }));

      // The replica began remembering twenty minutes after the claim (its clock, and its kept rows' ages, as then):
      // past the clock margin, so only the age of kept actuals brings the claim to it.
      const later = 20 * MINUTE;
      const { scorer, live, holder } = scoringReplica(settings, later);
      const subscription = await followClaimActuals({ settings, bus, store, holder, live, logger: pino({ level: 'silent' }) }, `it-claims-join-${randomUUID().slice(0, 8)}`);
      try {
        await expect.poll(() => scorer.early().points, { timeout: 60_000, interval: 200 }).toBe(10);
        scorer.remember({ identifier: '', runId: 'run-a', origin: T0 + 2 * STEP, targets: ['down'], time: [3, 4, 5].map((r) => T0 + r * STEP), values: [[110, 110, 110]] });
        expect(scorer.scoreEarly()).toEqual([{ run_id: 'run-a', points: 3, rmse: Math.sqrt((49 + 36 + 25) / 3), mae: 6 }]);
      } finally {
        await subscription.stop();
      }
    }, 180_000);

    it('reads on Kafka the newest claims over every partition once each is read to its end, where transactions end the partitions with a marker and one partition holds none since the start', async () => {
      const topic = `it-inference-data-${randomUUID().slice(0, 8)}`;
      const settings = resolveSettings({ flags: { 'live.claimCatchUpMaxClaims': 2 } }).settings;
      settings.bus.topics.inferenceData = topic;
      const store = createFsStore(path.join(home, 'store-partitions'));
      const reads: string[] = [];
      const reading = { ...store, get: async (bucket: string, key: string) => (reads.push(key), store.get(bucket, key)) };
      await store.ensureBucket('incoming');
      for (const [k, object] of ['a0.csv', 'a1.csv', 'b0.csv', 'b1.csv', 'old.csv'].entries()) {
        await store.put('incoming', object, ['time,down', ...[0, 1, 2, 3].map((i) => `${new Date(T0 + (4 * k + i) * STEP).toISOString()},${100 + 4 * k + i}`)].join('\n'));
      }
      const bus = kafkaBus('flts-it-claims-partitions');
      await bus.ensureTopics([topic], 3).catch((error: Error) => {
        throw new Error(`Kafka not reachable at ${infra.kafkaBrokers.join(',')}: ${error.message}; ${INFRA_HINT}`);
      });
      // Each partition's claims in a transaction of their own, so each ends with the transaction's marker: the offset
      // before the high watermark holds no message. Partition 0 the older claims, 1 the newer; 2 one claim from before
      // the group's start, sent outside a transaction, which the group starts past: no fetch there brings anything.
      const now = Date.now();
      const claim = (object: string, partition: number, ago: number) => ({ ...encodeInferenceClaim({ bucket: 'incoming', object, size: 0, configHash: 'cfg1', identifier: '' }), partition, timestamp: String(now - ago) });
      const kafka = new Kafka({ clientId: 'flts-it-claims-transactions', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ transactionalId: `it-claims-${randomUUID().slice(0, 8)}`, idempotent: true, maxInFlightRequests: 1 });
      const plain = kafka.producer();
      await Promise.all([producer.connect(), plain.connect()]);
      try {
        for (const messages of [[claim('a0.csv', 0, 40 * MINUTE), claim('a1.csv', 0, 39 * MINUTE)], [claim('b0.csv', 1, 20 * MINUTE), claim('b1.csv', 1, 19 * MINUTE)]]) {
          const transaction = await producer.transaction();
          await transaction.send({ topic, messages });
          await transaction.commit();
        }
        await plain.send({ topic, messages: [claim('old.csv', 2, 3 * 60 * MINUTE)] });
      } finally {
        await Promise.all([producer.disconnect(), plain.disconnect()]);
      }
      expect(Object.fromEntries((await bus.lag('nobody', [topic])).map((end) => [end.partition, end.endOffset]))).toEqual({ 0: 3, 1: 3, 2: 1 });

      const { scorer, live, holder } = scoringReplica(settings);
      const subscription = await followClaimActuals({ settings, bus, store: reading, holder, live, logger: pino({ level: 'silent' }) }, `it-claims-partitions-${randomUUID().slice(0, 8)}`);
      try {
        // Before, the claims waited for a message at each partition's last offset (a marker), until the stop.
        await expect.poll(() => scorer.early().points, { timeout: 60_000, interval: 200 }).toBe(8);
        expect(reads).toEqual(['b0.csv', 'b1.csv']);
      } finally {
        await subscription.stop();
      }
    }, 180_000);
  });
}
