import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus, ReceivedMessage } from '../bus/message-bus.js';
import { decodeDeadLetter, encodeTrainClaim } from '../bus/messages.js';
import { roleDlq } from '../bus/topics.js';
import { defaultSettings } from '../config/settings.js';
import { silentLogger } from '../logger.js';
import { createFsStore } from '../storage/fs-store.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { startTrainerRole } from './trainer-role.js';

let root: string;
let bus: MessageBus;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-trainer-role-'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

describe('core > daemon > trainer-role', () => {
  it('dead-letters a claim whose config_hash names no processed version ("default_cfg") as an invalid message, not as a setting to fix', async () => {
    const settings = defaultSettings();
    settings.daemon.trainerModels = ['NAIVE'];
    const store = createFsStore(path.join(root, 'store'));
    const dlq = roleDlq(settings, 'trainer').topic;
    await bus.ensureTopics([dlq, settings.bus.topics.trainingData]);
    let deadLetter: (message: ReceivedMessage) => void = () => {};
    const deadLettered = new Promise<ReceivedMessage>((resolve) => (deadLetter = resolve));
    await bus.subscribe({ group: 'test-dlq', topics: [dlq] }, async (message) => deadLetter(message));
    const controller = new AbortController();
    const role = await startTrainerRole({ settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'trainer-a', signal: controller.signal });
    try {
      await bus.publish(settings.bus.topics.trainingData, encodeTrainClaim({ bucket: settings.store.buckets.processed, object: 'processed_data.parquet', size: 10, configHash: 'default_cfg', identifier: '' }));
      const letter = decodeDeadLetter(await deadLettered);
      expect(letter).toMatchObject({ operation: 'train', role: 'trainer', payload: { config_hash: 'default_cfg' } });
      expect(letter.error).toMatch(/^FLTS_BUS_MESSAGE_INVALID: .*config_hash.*"default_cfg"/);
    } finally {
      controller.abort();
      await role.stop();
    }
  }, 60_000);
});
