import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { decodeDeadLetter, decodeTrainClaim, encodeTrainClaim } from './messages.js';
import type { MessageBus, ReceivedMessage, RetryPolicy, Subscription } from './message-bus.js';
import { dlqTopic } from './topics.js';

const FAST_RETRY: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 40 };
const HASH = 'eb6b5e16f3511014c92388ba6b80a5fd5598ccc6af7355175d49f38fbb579f96';

/** Polls a condition (no fixed sleeps): resolves as soon as it holds, fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function claim(object: string) {
  return { bucket: 'processed-data', object, size: 10, configHash: HASH, identifier: '' };
}

/**
 * Behaviour every MessageBus must have (at-least-once, commit after the handler, bounded retries then
 * DLQ with the reference envelope, resume from the committed offset). Run against the file bus and a
 * real Kafka broker alike. `createBus` may be called several times; the buses must share their state.
 */
export function describeMessageBusContract(name: string, createBus: () => Promise<MessageBus>): void {
  describe(`${name} (MessageBus contract)`, () => {
    const open: Array<MessageBus | Subscription> = [];
    const unique = (label: string): string => `it-${label}-${randomUUID().slice(0, 8)}`;

    async function bus(): Promise<MessageBus> {
      const created = await createBus();
      open.push(created);
      return created;
    }

    async function collect(target: MessageBus, topic: string, group = unique('collector')): Promise<ReceivedMessage[]> {
      const received: ReceivedMessage[] = [];
      open.push(await target.subscribe({ group, topics: [topic] }, async (message) => void received.push(message)));
      return received;
    }

    afterEach(async () => {
      for (const item of open.reverse()) await ('close' in item ? item.close() : item.stop());
      open.length = 0;
    });

    it('delivers a published claim with its reference key and fields', async () => {
      const b = await bus();
      const topic = unique('training-data');
      await b.ensureTopics([topic], 2);
      await b.publish(topic, encodeTrainClaim(claim('processed_data.parquet')));
      const received = await collect(b, topic);
      await waitFor(() => received.length === 1, 'the claim');
      expect(received[0].key).toBe('train-claim');
      expect(received[0].topic).toBe(topic);
      expect(decodeTrainClaim(received[0])).toEqual(claim('processed_data.parquet'));
    });

    it('decodes a reference-format message with NaN tokens and object_key', async () => {
      const b = await bus();
      const topic = unique('training-data');
      const value = `{"operation": "post: train data", "bucket": "processed-data", "object_key": "processed_data.parquet", "size": NaN, "v": 1, "config_hash": "${HASH}", "identifier": ""}`;
      await b.publish(topic, { key: 'train-claim', value });
      const received = await collect(b, topic);
      await waitFor(() => received.length === 1, 'the reference claim');
      expect(received[0].value).toBe(value);
      expect(decodeTrainClaim(received[0])).toEqual({ ...claim('processed_data.parquet'), size: 0 });
    });

    it('retries a failing handler, dead-letters the message with the reference envelope, and keeps consuming', async () => {
      const b = await bus();
      const topic = unique('model-training');
      const attempts: number[] = [];
      const handled: string[] = [];
      await b.publish(topic, encodeTrainClaim(claim('poison.parquet')));
      await b.publish(topic, encodeTrainClaim(claim('good.parquet')));
      const dead = await collect(b, dlqTopic(topic));
      open.push(
        await b.subscribe({ group: unique('trainer'), topics: [topic], retry: FAST_RETRY, dlqOperation: 'train' }, async (message, context) => {
          const decoded = decodeTrainClaim(message);
          if (decoded.object === 'poison.parquet') {
            attempts.push(context.attempt);
            throw new Error('training exploded');
          }
          handled.push(decoded.object);
        }),
      );
      await waitFor(() => handled.length === 1 && dead.length === 1, 'the DLQ entry and the next message');
      expect(attempts).toEqual([1, 2, 3]);
      expect(handled).toEqual(['good.parquet']);
      expect(dead[0].key).toBeNull();
      const envelope = JSON.parse(dead[0].value);
      // The reference envelope's fields in its order, then the consuming group flts adds.
      expect(Object.keys(envelope)).toEqual(['operation', 'status', 'error', 'payload', 'timestamp', 'group']);
      expect(decodeDeadLetter(dead[0])).toMatchObject({ operation: 'train', error: 'training exploded' });
      expect(envelope.status).toBe('Failure');
      expect(envelope.payload).toMatchObject({ object: 'poison.parquet', config_hash: HASH });
      expect(envelope.timestamp).toBeGreaterThan(1_600_000_000);
      expect(envelope.timestamp).toBeLessThan(Date.now() / 1000 + 60);
    });

    it('dead-letters an invalid message at once, without retries, naming the letter by its message and group for a DLQ reader to tell a copy by', async () => {
      const b = await bus();
      const topic = unique('training-data');
      const group = unique('trainer');
      let calls = 0;
      await b.publish(topic, { key: 'train-claim', value: '{"bucket": "processed-data"}' });
      const dead = await collect(b, dlqTopic(topic));
      open.push(
        await b.subscribe({ group, topics: [topic], retry: FAST_RETRY }, async (message) => {
          calls += 1;
          decodeTrainClaim(message);
        }),
      );
      await waitFor(() => dead.length === 1, 'the DLQ entry');
      expect(calls).toBe(1);
      expect(decodeDeadLetter(dead[0]).error).toContain('FLTS_BUS_MESSAGE_INVALID');
      expect(dead[0].headers).toMatchObject({ 'flts-source-topic': topic, 'flts-source-partition': '0', 'flts-source-offset': '0', 'flts-dead-letter-id': `${topic}/0/0/${group}` });
    });

    it('dead-letters where the subscription says (a role\'s produced topic), naming the group and role in the envelope', async () => {
      const b = await bus();
      const topic = unique('training-data');
      const produced = `DLQ-${unique('model-training')}`;
      await b.publish(topic, { key: 'train-claim', value: '{"bucket": "processed-data"}' });
      const dead = await collect(b, produced);
      const groups = [unique('train-naive'), unique('train-lstm')];
      for (const group of groups) {
        open.push(await b.subscribe({ group, topics: [topic], retry: FAST_RETRY, dlq: { topic: produced, role: 'trainer' } }, async (message) => void decodeTrainClaim(message)));
      }
      await waitFor(() => dead.length === 2, 'one DLQ entry per group');
      const envelopes = dead.map((message) => decodeDeadLetter(message));
      expect(envelopes.map((e) => e.group).sort()).toEqual([...groups].sort());
      expect(envelopes.every((e) => e.role === 'trainer' && e.error.includes('FLTS_BUS_MESSAGE_INVALID'))).toBe(true);
    });

    it('commits only after the handler returns: a consumer stopped mid-handler resumes at that message', async () => {
      const b = await bus();
      const topic = unique('training-data');
      const group = unique('trainer');
      for (const object of ['a', 'b', 'c']) await b.publish(topic, encodeTrainClaim(claim(object)));
      const first: string[] = [];
      const subscription = await b.subscribe({ group, topics: [topic] }, async (message, { signal }) => {
        const { object } = decodeTrainClaim(message);
        first.push(object);
        // Simulates a long training step that the shutdown interrupts.
        if (object === 'b') await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        if (signal.aborted) throw new FltsError('FLTS_TRAIN_ABORTED', 'stopped');
      });
      await waitFor(() => first.length === 2, 'the second message to start');
      await subscription.stop();

      const restarted = await bus();
      const second: string[] = [];
      open.push(await restarted.subscribe({ group, topics: [topic] }, async (message) => void second.push(decodeTrainClaim(message).object)));
      await waitFor(() => second.length === 2, 'the redelivered and the next message');
      expect(first).toEqual(['a', 'b']);
      expect(second).toEqual(['b', 'c']);
      expect((await restarted.lag(group, [topic])).reduce((sum, p) => sum + p.endOffset, 0)).toBe(3);
    });

    it('forgets an ephemeral group when its subscription stops, and keeps a lasting one', async () => {
      const b = await bus();
      const topic = unique('model-selected');
      await b.ensureTopics([topic], 1);
      await b.publish(topic, encodeTrainClaim(claim('a')));
      const consume = async (group: string, ephemeral: boolean): Promise<void> => {
        const seen: string[] = [];
        const subscription = await b.subscribe({ group, topics: [topic], ephemeral }, async (message) => void seen.push(message.offset));
        await waitFor(() => seen.length === 1, 'the message');
        await waitFor(async () => (await b.lag(group, [topic]))[0].committedOffset === 1, 'the commit');
        await subscription.stop();
      };
      const [lasting, ephemeral] = [unique('lasting'), unique('replica')];
      await consume(lasting, false);
      await consume(ephemeral, true);
      expect((await b.lag(lasting, [topic]))[0].committedOffset).toBe(1);
      expect((await b.lag(ephemeral, [topic]))[0].committedOffset).toBe(-1);
    });

    it('tells a subscriber starting at the end when it has joined, and delivers everything published after', async () => {
      const b = await bus();
      const topic = unique('model-selected');
      await b.ensureTopics([topic], 1);
      await b.publish(topic, encodeTrainClaim(claim('before')));
      let joins = 0;
      const seen: string[] = [];
      open.push(await b.subscribe({ group: unique('replica'), topics: [topic], fromBeginning: false, onJoin: () => void (joins += 1) }, async (message) => void seen.push(decodeTrainClaim(message).object)));
      await waitFor(() => joins > 0, 'the join');
      await b.publish(topic, encodeTrainClaim(claim('after')));
      await waitFor(() => seen.length > 0, 'the message published after the join');
      expect(seen).toEqual(['after']);
      expect(joins).toBe(1);
    });

    it('starts a new group at the first message stamped at or after fromTimestamp, passing over the ones before, and commits that start', async () => {
      const b = await bus();
      const topic = unique('inference-data');
      await b.ensureTopics([topic], 1);
      await b.publish(topic, encodeTrainClaim(claim('old')));
      // Both buses stamp a message with the publishing process's clock (Kafka's CreateTime), read here after the
      // publish returned: the old message is stamped before the start, the next ones after it.
      const start = Date.now() + 1;
      await waitFor(() => Date.now() >= start, 'the clock to pass the start');
      for (const object of ['new-1', 'new-2']) await b.publish(topic, encodeTrainClaim(claim(object)));
      const seen: string[] = [];
      const group = unique('replica-actuals');
      open.push(await b.subscribe({ group, topics: [topic], fromTimestamp: start }, async (message) => void seen.push(decodeTrainClaim(message).object)));
      await waitFor(() => seen.length === 2, 'the messages stamped since the start');
      expect(seen).toEqual(['new-1', 'new-2']);
      await waitFor(async () => (await b.lag(group, [topic]))[0].lag === 0, 'the commit');
      expect((await b.lag(group, [topic]))[0]).toMatchObject({ committedOffset: 3, endOffset: 3 });

      // A start after every message: nothing is delivered, and the start is committed, so the group shows no lag.
      const late: string[] = [];
      const lateGroup = unique('replica-actuals');
      open.push(await b.subscribe({ group: lateGroup, topics: [topic], fromTimestamp: Date.now() + 60_000 }, async (message) => void late.push(message.offset)));
      await waitFor(async () => (await b.lag(lateGroup, [topic]))[0].committedOffset === 3, 'the start committed');
      expect(late).toEqual([]);
    });

    it('reports lag as end offset minus committed offset', async () => {
      const b = await bus();
      const topic = unique('inference-data');
      const group = unique('lag');
      await b.ensureTopics([topic], 1);
      for (const object of ['a', 'b']) await b.publish(topic, encodeTrainClaim(claim(object)));
      expect(await b.lag(group, [topic])).toEqual([{ topic, partition: 0, committedOffset: -1, endOffset: 2, lag: 2 }]);
      const seen: string[] = [];
      open.push(await b.subscribe({ group, topics: [topic] }, async (message) => void seen.push(message.offset)));
      await waitFor(() => seen.length === 2, 'both messages');
      // The commit follows the handler's return.
      await waitFor(async () => (await b.lag(group, [topic]))[0].lag === 0, 'the commit');
      expect(await b.lag(group, [topic])).toEqual([{ topic, partition: 0, committedOffset: 2, endOffset: 2, lag: 0 }]);
    });
  });
}
