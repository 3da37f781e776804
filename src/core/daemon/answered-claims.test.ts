import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { decodeTrainingEvent } from '../bus/messages.js';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { RUN_FILES } from '../registry/run-record.js';
import { runKey } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { announceAnsweringClaims, claimAnswered } from './answered-claims.js';

const settings = defaultSettings();
const { trainingData, modelTraining } = settings.bus.topics;
const run = { modelType: 'NAIVE', configHash: 'a'.repeat(64), runId: 'run-a' };
let root: string;
let store: ObjectStore;
let bus: MessageBus;

const claimAt = (offset: number, partition = 0, topic = trainingData, timestamp = Date.now()): { topic: string; partition: number; offset: string; timestamp: number } => ({ topic, partition, offset: String(offset), timestamp });
const context = (owner: string, over: Partial<{ bus: MessageBus }> = {}): Parameters<typeof claimAnswered>[0] => ({ settings, store, bus, logger: silentLogger, owner, ...over });
const claims = async (count: number): Promise<void> => {
  for (let i = 0; i < count; i++) await bus.publish(trainingData, { key: 'train-claim', value: '{}' });
};

beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-answered-claims-'));
  store = createFsStore(path.join(root, 'store'));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
  await bus.ensureTopics([trainingData, modelTraining]);
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

describe('core > daemon > answered-claims', () => {
  it('answers the claims published before the run\'s notice, for any trainer reading the store, and none published after it', async () => {
    await claims(2);
    await announceAnsweringClaims(context('trainer-a'), run);
    await claims(1);
    const replica = context('trainer-b');
    expect(await claimAnswered(replica, run.runId, claimAt(0))).toBe(true);
    expect(await claimAnswered(replica, run.runId, claimAt(1))).toBe(true);
    expect(await claimAnswered(replica, run.runId, claimAt(2))).toBe(false);
    // Another partition, another topic, another run: nothing recorded answers them.
    expect(await claimAnswered(replica, run.runId, claimAt(0, 1))).toBe(false);
    expect(await claimAnswered(replica, run.runId, claimAt(0, 0, 'other-claims'))).toBe(false);
    expect(await claimAnswered(replica, 'run-b', claimAt(0))).toBe(false);
  });

  it('takes a claim stamped minutes after the notice for news whatever its offset: offsets that began again on a topic made anew', async () => {
    await claims(3);
    await announceAnsweringClaims(context('trainer-a'), run);
    expect(await claimAnswered(context('trainer-b'), run.runId, claimAt(0, 0, trainingData, Date.now() + 10 * 60_000))).toBe(false);
    // Within the clocks' skew it is still the claim the notice answered.
    expect(await claimAnswered(context('trainer-b'), run.runId, claimAt(0, 0, trainingData, Date.now() + 30_000))).toBe(true);
  });

  it('keeps the furthest end a notice of the run reached, whichever trainer sent it last', async () => {
    await claims(3);
    await announceAnsweringClaims(context('trainer-a'), run);
    // A trainer whose bus reads an earlier end (a notice it sent while a later one was going out elsewhere).
    const behind: MessageBus = { ...bus, lag: async () => [{ topic: trainingData, partition: 0, committedOffset: -1, endOffset: 1, lag: 1 }] };
    await announceAnsweringClaims(context('trainer-b', { bus: behind }), run);
    expect(await claimAnswered(context('trainer-c'), run.runId, claimAt(2))).toBe(true);
  });

  it('still sends the notice when the bus cannot tell where the claims end, and then answers no claim by it', async () => {
    await claims(1);
    const notices: string[] = [];
    const reader = await bus.subscribe({ group: 'test-training', topics: [modelTraining] }, async (message) => {
      const event = decodeTrainingEvent(message);
      if (event.status === 'SUCCESS') notices.push(event.runId);
    });
    const blind: MessageBus = { ...bus, lag: async () => Promise.reject(new FltsError('FLTS_BUS_UNAVAILABLE', 'no admin')) };
    try {
      await announceAnsweringClaims(context('trainer-a', { bus: blind }), run);
      await expect.poll(() => notices, { timeout: 10_000 }).toEqual([run.runId]);
      expect(await claimAnswered(context('trainer-b'), run.runId, claimAt(0))).toBe(false);
    } finally {
      await reader.stop();
    }
  });

  it('answers no claim by a record cut short or edited by hand, and throws nothing for it', async () => {
    await claims(1);
    await store.put(settings.store.buckets.runs, runKey(run.runId, RUN_FILES.answeredClaims), '{"run_id": "run-a", "ends": [');
    expect(await claimAnswered(context('trainer-b'), run.runId, claimAt(0))).toBe(false);
    await store.put(settings.store.buckets.runs, runKey(run.runId, RUN_FILES.answeredClaims), JSON.stringify({ run_id: 'run-a', topic: trainingData, ends: [null, { partition: 0 }], announced_at: 'x' }));
    expect(await claimAnswered(context('trainer-b'), run.runId, claimAt(0))).toBe(false);
  });
});
