import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import type { MessageBus, Subscription } from '../../src/core/bus/message-bus.js';
import { defaultSettings } from '../../src/core/config/settings.js';
import { startServingCompanion } from '../../src/core/daemon/serving-companion.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { createModelHolder, type ModelHolder } from '../../src/core/serve/model-holder.js';
import { createRegistryModelSource } from '../../src/core/serve/registry-model-source.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { promote } from '../../src/core/workflows/promote.js';
import { infraSkipReason } from './infra-env.js';
import { NO_COORDINATOR, recordingLogger, startPrivateKafka, type PrivateKafka } from './private-kafka.js';

const skipReason = infraSkipReason();
/** Generous for a loaded machine: a consumer kafkajs gave up on is replaced up to 30 s apart. */
const LOADED_WITHIN_MS = 180_000;

if (skipReason) {
  describe('integration > serving companion > group rejoin', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > serving companion > group rejoin', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'flts-rejoin-'));
    let kafka: PrivateKafka | undefined;
    let bus: MessageBus | undefined;
    let holder: ModelHolder | undefined;
    let companion: Subscription | undefined;
    // The replica's group cannot join until the broker restarts with the default settings, as a group stays out
    // while a restarted broker's coordinator is not back yet.
    beforeAll(async () => {
      kafka = await startPrivateKafka(NO_COORDINATOR);
    });
    afterAll(async () => {
      await companion?.stop();
      await holder?.stop();
      await bus?.close();
      await kafka?.down();
      rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    });

    it('loads a promotion published while its group was out, with the pointer poll off: the group starts past it, so the join reads the pointer', async () => {
      const { logger, text: log } = recordingLogger();
      const settings = defaultSettings();
      const store = createFsStore(path.join(home, 'store'));
      const run = fakeRun('runA', 'NAIVE', { rmse: 0.05, mae: 0.05, mse: 0.0025 }, '2025-01-01T00:00:00.000Z');
      await addLoadableRun(store, settings, { ...run, data: { ...run.data, processed_bucket: settings.store.buckets.processed } });
      holder = createModelHolder({ source: createRegistryModelSource(store, settings), pollIntervalMs: 0, batching: { maxBatch: 16, maxWaitMs: 0 }, logger });
      await holder.start();
      // One client retry: a join that finds no coordinator gives up (and the bus replaces the consumer) at once.
      bus = createKafkaBus({ brokers: [kafka!.brokers], clientId: 'it-rejoin', logger, brokerRetries: 1, joinTimeoutMs: 1_000, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
      companion = await startServingCompanion({ settings, bus, holder, logger });

      const promoted = await promote({ runId: 'runA', source: 'manual', actor: 'test', reason: 'while the group is out' }, settings, { store, bus });
      expect(promoted.published).toEqual({ topic: settings.bus.topics.modelSelected, ok: true });
      expect(holder.status().current).toBeUndefined();

      await kafka!.restart();
      await waitFor(() => holder!.status().current?.runId === 'runA', 'the promoted run to be served', LOADED_WITHIN_MS).catch((error: Error) => {
        throw new Error(`${error.message}; log:\n${log()}`);
      });
      // Loaded by the read at the join: the notice itself, published before the group started, never arrives.
      expect(log()).toContain('serve_promotion_group_joined');
      expect(log()).not.toContain('serve_promotion_received');
    }, LOADED_WITHIN_MS + 420_000);
  });
}
