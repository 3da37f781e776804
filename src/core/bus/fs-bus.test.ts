import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFsBus } from './fs-bus.js';
import { describeMessageBusContract, waitFor } from './message-bus.contract.js';
import type { MessageBus } from './message-bus.js';
import { decodeTrainClaim, encodeTrainClaim } from './messages.js';

const contractRoot = mkdtemp(path.join(os.tmpdir(), 'flts-fs-bus-'));
describeMessageBusContract('core > bus > fs-bus', async () => createFsBus({ root: await contractRoot, pollIntervalMs: 20 }));

describe('core > bus > fs-bus files', () => {
  const buses: MessageBus[] = [];
  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close();
  });

  async function freshBus(root?: string): Promise<{ bus: MessageBus; root: string }> {
    const dir = root ?? (await mkdtemp(path.join(os.tmpdir(), 'flts-fs-bus-')));
    const bus = createFsBus({ root: dir, pollIntervalMs: 20, retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 20 } });
    buses.push(bus);
    return { bus, root: dir };
  }

  const claim = (object: string) => ({ bucket: 'processed-data', object, size: 1, configHash: 'h', identifier: '' });

  it('keeps one JSON line per message and the committed offset per group', async () => {
    const { bus, root } = await freshBus();
    await bus.publish('training-data', encodeTrainClaim(claim('a')));
    await bus.publish('training-data', encodeTrainClaim(claim('b')));
    const lines = (await readFile(path.join(root, 'topics', 'training-data.log'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).key)).toEqual(['train-claim', 'train-claim']);
    const seen: string[] = [];
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push(decodeTrainClaim(message).object));
    await waitFor(() => seen.length === 2, 'both claims');
    const offsetFile = path.join(root, 'groups', 'train-gru', 'training-data.offset');
    await waitFor(async () => (await readFile(offsetFile, 'utf8').catch(() => '')).trim() === '2', 'the committed offset 2');
    expect(seen).toEqual(['a', 'b']);
  });

  it('skips a torn line left by a crashed writer and still delivers what follows', async () => {
    const { bus, root } = await freshBus();
    await bus.publish('training-data', encodeTrainClaim(claim('before')));
    await appendFile(path.join(root, 'topics', 'training-data.log'), '{"key":"train-claim","val');
    await bus.publish('training-data', encodeTrainClaim(claim('after')));
    const seen: string[] = [];
    await bus.subscribe({ group: 'g', topics: ['training-data'] }, async (message) => void seen.push(decodeTrainClaim(message).object));
    await waitFor(() => seen.length === 2, 'both intact claims');
    expect(seen).toEqual(['before', 'after']);
  });

  it('dead-letters lines of any other shape with a coded reason and goes on with the next message', async () => {
    const { bus, root } = await freshBus();
    const log = path.join(root, 'topics', 'training-data.log');
    await bus.publish('training-data', encodeTrainClaim(claim('before')));
    await appendFile(log, 'null\n5\n[1,2]\n{"key":"train-claim","value":{"bucket":"processed-data"}}\n{"key":7,"value":"not json","headers":"x"}\n');
    await bus.publish('training-data', encodeTrainClaim(claim('after')));
    const seen: string[] = [];
    const dlq = { topic: 'DLQ-model-training', role: 'trainer' };
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'], dlq }, async (message) => void seen.push(decodeTrainClaim(message).object));
    await waitFor(() => seen.length === 2, 'both intact claims');
    const dlqLog = path.join(root, 'topics', 'DLQ-model-training.log');
    await waitFor(async () => (await readFile(dlqLog, 'utf8').catch(() => '')).trim().split('\n').length === 5, 'five dead letters');
    const letters = (await readFile(dlqLog, 'utf8')).trim().split('\n').map((line) => JSON.parse(JSON.parse(line).value));
    expect(seen).toEqual(['before', 'after']);
    expect(letters.map((letter) => letter.error)).toEqual(Array.from({ length: 5 }, () => expect.stringMatching(/^FLTS_BUS_MESSAGE_INVALID: /)));
    expect(letters.map((letter) => letter.payload)).toEqual([null, 5, [1, 2], { key: 'train-claim', value: { bucket: 'processed-data' } }, 'not json']);
  });

  it('keeps consuming after a failure outside the handler, delivering the interrupted message again', async () => {
    const { bus, root } = await freshBus();
    // A directory where the committed offset goes: committing fails until it is gone.
    const offsetFile = path.join(root, 'groups', 'train-gru', 'training-data.offset');
    const seen: string[] = [];
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push(decodeTrainClaim(message).object));
    await mkdir(offsetFile, { recursive: true });
    await bus.publish('training-data', encodeTrainClaim(claim('a')));
    await waitFor(() => seen.length >= 1, 'the first delivery');
    await rm(offsetFile, { recursive: true });
    await waitFor(async () => (await readFile(offsetFile, 'utf8').catch(() => '')).trim() === '1', 'the committed offset 1');
    await bus.publish('training-data', encodeTrainClaim(claim('b')));
    await waitFor(() => seen.includes('b'), 'the next claim');
    expect(seen.filter((object) => object === 'a').length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toBe('b');
  });

  it('lets one consumer per group at a time and takes over the lock of a dead process', async () => {
    const { bus, root } = await freshBus();
    await bus.subscribe({ group: 'eval-promoter', topics: ['model-training'] }, async () => {});
    await expect(bus.subscribe({ group: 'eval-promoter', topics: ['model-training'] }, async () => {})).rejects.toMatchObject({ code: 'FLTS_OFFSETS_GROUP_ACTIVE' });
    // A lock whose owner pid no longer exists, as left by a killed daemon.
    await mkdir(path.join(root, 'groups', 'other'), { recursive: true });
    await writeFile(path.join(root, 'groups', 'other', 'consumer.lock'), '2147483646 dead-owner');
    await expect(bus.subscribe({ group: 'other', topics: ['model-training'] }, async () => {})).resolves.toMatchObject({ group: 'other' });
  });

  it('starts a new group at the end when fromBeginning is false', async () => {
    const { bus } = await freshBus();
    await bus.publish('model-selected', { key: 'promotion', value: '{"run_id":"old"}' });
    const seen: string[] = [];
    await bus.subscribe({ group: 'serve-1', topics: ['model-selected'], fromBeginning: false }, async (message) => void seen.push(message.value));
    await bus.publish('model-selected', { key: 'promotion', value: '{"run_id":"new"}' });
    await waitFor(() => seen.length === 1, 'the new promotion');
    expect(seen).toEqual(['{"run_id":"new"}']);
  });
});
