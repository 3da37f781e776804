import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { createBusMetrics } from './bus-metrics.js';
import { backoffMs, deliverToGroup, deliverWithRetries, DLQ_PAYLOAD_CLIP_CHARS, DLQ_VALUE_MAX_BYTES } from './delivery.js';
import type { OutgoingMessage, ReceivedMessage } from './message-bus.js';

const message: ReceivedMessage = { topic: 'training-data', partition: 0, offset: '7', key: 'train-claim', value: '{"bucket": "b", "size": NaN}', headers: {}, timestamp: 0 };
const policy = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 4 };

function deps(dead: Array<{ topic: string; message: OutgoingMessage }>, signal = new AbortController().signal) {
  return { policy, signal, logger: silentLogger, dlqOperation: 'train', publishDlq: async (topic: string, out: OutgoingMessage) => void dead.push({ topic, message: out }) };
}

describe('core > bus > delivery', () => {
  it('doubles the backoff per failure up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs({ maxAttempts: 9, initialBackoffMs: 100, maxBackoffMs: 1000 }, n))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('dead-letters a message nested deeper than JSON.stringify recurses with its text as the payload, rather than failing the consumer', async () => {
    const dead: Array<{ topic: string; message: OutgoingMessage }> = [];
    const deep = { ...message, value: `{"status":${'['.repeat(20_000)}${']'.repeat(20_000)}}` };
    const result = await deliverWithRetries(deep, async () => {
      throw new FltsError('FLTS_BUS_MESSAGE_INVALID', 'Message on training-data is invalid: status an array is not RUNNING.');
    }, deps(dead));
    expect(result.outcome).toBe('dead-lettered');
    expect(JSON.parse(dead[0].message.value)).toMatchObject({ status: 'Failure', payload: deep.value, error: expect.stringContaining('FLTS_BUS_MESSAGE_INVALID') });
  });

  it('dead-letters a message whose envelope would outgrow what a DLQ takes with the start of its text, its size and where the whole original is, so the DLQ never refuses it for its size', async () => {
    const dead: Array<{ topic: string; message: OutgoingMessage }> = [];
    // Under the brokers' 1 MiB as sent, twice that once each quote is escaped in the envelope.
    const quotes = { ...message, offset: '9', value: '"'.repeat(1_040_000) };
    const result = await deliverWithRetries(quotes, async () => {
      throw new FltsError('FLTS_BUS_MESSAGE_INVALID', 'Message on training-data is invalid: the value is not JSON.');
    }, deps(dead));
    expect(result.outcome).toBe('dead-lettered');
    const { value, headers } = dead[0].message;
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(DLQ_VALUE_MAX_BYTES);
    expect(JSON.parse(value)).toMatchObject({ status: 'Failure', payload: '"'.repeat(DLQ_PAYLOAD_CLIP_CHARS), payload_bytes: 1_040_000, payload_clipped: true, error: expect.stringContaining('FLTS_BUS_MESSAGE_INVALID') });
    expect(headers).toEqual({ 'flts-source-topic': 'training-data', 'flts-source-partition': '0', 'flts-source-offset': '9' });
    // A message that fits is carried whole, as the reference's envelopes carry it.
    const fits = { ...message, value: JSON.stringify({ pad: 'x'.repeat(400_000) }) };
    await deliverWithRetries(fits, async () => {
      throw new FltsError('FLTS_BUS_MESSAGE_INVALID', 'Message on training-data is invalid: field "bucket" must be a non-empty string.');
    }, deps(dead));
    expect(JSON.parse(dead[1].message.value)).not.toHaveProperty('payload_clipped');
    expect(JSON.parse(dead[1].message.value).payload).toEqual({ pad: 'x'.repeat(400_000) });
  });

  it('retries outages without using up attempts, then handles the message', async () => {
    const dead: Array<{ topic: string; message: OutgoingMessage }> = [];
    let calls = 0;
    const result = await deliverWithRetries(message, async () => {
      calls += 1;
      if (calls <= 5) throw new FltsError('FLTS_STORE_UNAVAILABLE', 'store down');
    }, deps(dead));
    expect(result).toEqual({ outcome: 'handled', attempts: 6 });
    expect(dead).toEqual([]);
  });

  it('waits out a store that refuses its credentials instead of dead-lettering the message', async () => {
    const dead: Array<{ topic: string; message: OutgoingMessage }> = [];
    let calls = 0;
    const result = await deliverWithRetries(message, async () => {
      calls += 1;
      if (calls <= policy.maxAttempts + 1) throw new FltsError('FLTS_STORE_AUTH_FAILED', 'S3 endpoint http://minio:9000 refused the credentials of access key id \'flts\'.');
    }, deps(dead));
    expect(result).toEqual({ outcome: 'handled', attempts: policy.maxAttempts + 2 });
    expect(dead).toEqual([]);
  });

  it('logs an outage retry with its code and reason, without a stack trace on every line', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = { ...silentLogger, warn: (fields: Record<string, unknown>) => void lines.push(fields) } as unknown as typeof silentLogger;
    let calls = 0;
    await deliverWithRetries(message, async () => {
      if (++calls === 1) throw new FltsError('FLTS_STORE_UNAVAILABLE', 'store down');
    }, { ...deps([]), logger });
    expect(lines).toEqual([{ topic: 'training-data', partition: 0, offset: '7', attempt: 1, code: 'FLTS_STORE_UNAVAILABLE', reason: 'store down' }]);
  });

  it('says a claim waiting for a first promotion as a wait, at warn once then at debug, with no attempt to read against the retry limit, and never dead-letters it', async () => {
    const lines: Array<{ level: string; msg?: string; fields: Record<string, unknown> }> = [];
    const at = (level: string) => (fields: Record<string, unknown>, msg?: string) => void lines.push({ level, msg, fields });
    const logger = { ...silentLogger, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as typeof silentLogger;
    const dead: Array<{ topic: string; message: OutgoingMessage }> = [];
    const noModel = "No run given and no promotion pointer found in bucket 'model-promotion' of the store at /srv/flts (current.json, global/current.json).";
    let calls = 0;
    // Past the retry limit (3 attempts): a wait uses up none.
    const result = await deliverWithRetries(message, async () => {
      if (++calls <= policy.maxAttempts + 2) throw new FltsError('FLTS_SERVE_NO_MODEL', noModel);
    }, { ...deps(dead), logger, group: 'batch-inference' });
    expect(result.outcome).toBe('handled');
    expect(dead).toEqual([]);
    const since = lines[0]?.fields.waiting_since;
    expect(typeof since === 'string' && !Number.isNaN(Date.parse(since))).toBe(true);
    const waiting = (checks: number) => ({ topic: 'training-data', partition: 0, offset: '7', group: 'batch-inference', waiting_since: since, checks, retry_in_ms: policy.maxBackoffMs, code: 'FLTS_SERVE_NO_MODEL', reason: noModel });
    expect(lines).toEqual([
      { level: 'warn', msg: 'bus_handler_waiting_for_promotion', fields: waiting(1) },
      ...[2, 3, 4, 5].map((checks) => ({ level: 'debug', msg: 'bus_handler_waiting_for_promotion', fields: waiting(checks) })),
    ]);
  });

  it('names the consuming group on an outage retry: several groups read one topic (a trainer per model type, batch and serving on inference-data)', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = { ...silentLogger, warn: (fields: Record<string, unknown>) => void lines.push(fields) } as unknown as typeof silentLogger;
    let calls = 0;
    await deliverWithRetries(message, async () => {
      if (++calls === 1) throw new FltsError('FLTS_STORE_UNAVAILABLE', 'store down');
    }, { ...deps([]), logger, group: 'train-lstm' });
    expect(lines).toEqual([{ topic: 'training-data', partition: 0, offset: '7', attempt: 1, group: 'train-lstm', code: 'FLTS_STORE_UNAVAILABLE', reason: 'store down' }]);
  });

  it('dead-letters to DLQ-<topic> with the lenient-parsed payload and the source position in headers', async () => {
    const dead: Array<{ topic: string; message: OutgoingMessage }> = [];
    const result = await deliverWithRetries(message, async () => Promise.reject(new Error('boom')), deps(dead));
    expect(result.outcome).toBe('dead-lettered');
    expect(result.attempts).toBe(3);
    expect(dead[0].topic).toBe('DLQ-training-data');
    expect(JSON.parse(dead[0].message.value)).toMatchObject({ operation: 'train', status: 'Failure', error: 'boom', payload: { bucket: 'b', size: null } });
    expect(dead[0].message.headers).toEqual({ 'flts-source-topic': 'training-data', 'flts-source-partition': '0', 'flts-source-offset': '7' });
  });

  it('abandons (no DLQ, no commit) when the subscription stops during a failure', async () => {
    const dead: Array<{ topic: string; message: OutgoingMessage }> = [];
    const controller = new AbortController();
    const result = await deliverWithRetries(message, async () => {
      controller.abort();
      throw new Error('interrupted');
    }, deps(dead, controller.signal));
    expect(result.outcome).toBe('abandoned');
    expect(dead).toEqual([]);
  });

  it('says which message a stop left uncommitted, so the log of a SIGTERM tells the claim it interrupted is not lost', async () => {
    const infos: Array<{ msg: string; fields: Record<string, unknown> }> = [];
    const logger = { ...silentLogger, info: (fields: Record<string, unknown>, msg: string) => void infos.push({ msg, fields }) } as unknown as typeof silentLogger;
    const controller = new AbortController();
    const result = await deliverToGroup(message, async () => {
      controller.abort();
      throw new FltsError('FLTS_TRAIN_ABORTED', 'The daemon is stopping.');
    }, { ...deps([], controller.signal), logger, group: 'train-lstm' }, {});
    expect(result.outcome).toBe('abandoned');
    expect(infos.filter((line) => line.msg === 'bus_message_left_uncommitted').map((line) => line.fields)).toEqual([expect.objectContaining({ group: 'train-lstm', topic: 'training-data', partition: 0, offset: '7', key: 'train-claim', attempts: 1 })]);
  });

  it('fails the delivery when the DLQ cannot be written, so the offset is not committed', async () => {
    const failingDeps = { ...deps([]), publishDlq: async () => Promise.reject(new FltsError('FLTS_BUS_UNAVAILABLE', 'broker down')) };
    await expect(deliverWithRetries(message, async () => Promise.reject(new FltsError('FLTS_BUS_MESSAGE_INVALID', 'bad')), failingDeps)).rejects.toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE' });
  });

  describe('the dead letter in the log', () => {
    /** Log lines at warn and error (and the `more` levels) and the DLQ's publishes, in the order they came. */
    function recording(more: string[] = []) {
      const events: Array<{ msg: string; fields?: Record<string, unknown>; level?: string }> = [];
      const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void events.push({ msg, fields, level });
      const logger = { ...silentLogger, warn: at('warn'), error: at('error'), ...Object.fromEntries(more.map((level) => [level, at(level)])) } as unknown as typeof silentLogger;
      return { events, logger };
    }
    const poison = async (): Promise<never> => Promise.reject(new FltsError('FLTS_BUS_MESSAGE_INVALID', 'Message on training-data is invalid: bucket is missing.'));

    it('is said once the DLQ stored it, naming the DLQ topic', async () => {
      const { events, logger } = recording();
      const result = await deliverToGroup(message, poison, { ...deps([]), logger, group: 'trainer', publishDlq: async (topic) => void events.push({ msg: `published to ${topic}` }) }, {});
      expect(result.outcome).toBe('dead-lettered');
      expect(events.map((event) => event.msg)).toEqual(['published to DLQ-training-data', 'bus_message_dead_lettered']);
      expect(events[1].fields).toMatchObject({ topic: 'training-data', offset: '7', dlq_topic: 'DLQ-training-data' });
    });

    it('says an invalid message at warn with its code and reason and no stack: a flood of them is the sender\'s, not flts\' failure', async () => {
      const { events, logger } = recording();
      await deliverToGroup(message, poison, { ...deps([]), logger, group: 'trainer' }, {});
      expect(events).toEqual([{ level: 'warn', msg: 'bus_message_dead_lettered', fields: { topic: 'training-data', partition: 0, offset: '7', attempt: 1, group: 'trainer', dlq_topic: 'DLQ-training-data', code: 'FLTS_BUS_MESSAGE_INVALID', reason: 'Message on training-data is invalid: bucket is missing.' } }]);
    });

    it('says a coded refusal of the input (FLTS_DATA_UNREADABLE) at warn with its code and reason, its stack at debug only: a flood of bad claims writes no stacks', async () => {
      const { events, logger } = recording(['debug']);
      const failure = new FltsError('FLTS_DATA_UNREADABLE', 'processed-data/abc/train.csv is not a CSV with a header row.', { cause: new Error('unexpected byte 0x00') });
      const result = await deliverToGroup(message, async () => Promise.reject(failure), { ...deps([]), logger, group: 'trainer' }, {});
      expect(result.outcome).toBe('dead-lettered');
      expect(events.filter((event) => event.level !== 'debug')).toEqual([
        { level: 'warn', msg: 'bus_message_dead_lettered', fields: { topic: 'training-data', partition: 0, offset: '7', attempt: 1, group: 'trainer', dlq_topic: 'DLQ-training-data', code: 'FLTS_DATA_UNREADABLE', reason: failure.message } },
      ]);
      expect(events.filter((event) => event.level === 'debug').map((event) => [event.msg, event.fields?.err])).toEqual([['bus_handler_failure_stack', failure]]);
    });

    it('keeps the error level and the stack on its lines for an uncoded failure, a bug of flts', async () => {
      const { events, logger } = recording();
      const failure = new TypeError("Cannot read properties of undefined (reading 'shape')");
      await deliverToGroup(message, async () => Promise.reject(failure), { ...deps([]), logger, group: 'trainer' }, {});
      expect(events.map((event) => [event.level, event.msg, event.fields?.err])).toEqual([
        ['warn', 'bus_handler_retry', failure],
        ['warn', 'bus_handler_retry', failure],
        ['error', 'bus_message_dead_lettered', failure],
      ]);
    });

    it('says a coded failure (a claim naming an object that is not there) by its code and reason on each retry, its stack at debug, and once with its stack as it is dead-lettered', async () => {
      const { events, logger } = recording(['debug']);
      const failure = new FltsError('FLTS_STORE_NOT_FOUND', 'Object not found: processed-data/abc/test_processed_data.parquet', { cause: new Error('ENOENT') });
      await deliverToGroup(message, async () => Promise.reject(failure), { ...deps([]), logger, group: 'trainer' }, {});
      const said = { topic: 'training-data', partition: 0, offset: '7', group: 'trainer', code: 'FLTS_STORE_NOT_FOUND', reason: failure.message };
      expect(events.filter((event) => event.level !== 'debug')).toEqual([
        { level: 'warn', msg: 'bus_handler_retry', fields: { ...said, attempt: 1, retry_in_ms: 1 } },
        { level: 'warn', msg: 'bus_handler_retry', fields: { ...said, attempt: 2, retry_in_ms: 2 } },
        { level: 'error', msg: 'bus_message_dead_lettered', fields: { ...said, attempt: 3, err: failure, dlq_topic: 'DLQ-training-data' } },
      ]);
      expect(events.filter((event) => event.level === 'debug').map((event) => [event.msg, event.fields?.err])).toEqual([1, 2].map(() => ['bus_handler_failure_stack', failure]));
    });

    for (const failure of [new FltsError('FLTS_INTERNAL', 'undefined is not a function'), new FltsError('FLTS_TRAIN_FAILED', 'LSTM training failed: shapes differ', { cause: new Error('shapes differ') })]) {
      it(`keeps the error level and the stack on the line for ${failure.code}, a failure of flts' own though coded`, async () => {
        const { events, logger } = recording();
        await deliverToGroup(message, async () => Promise.reject(failure), { ...deps([]), logger, group: 'trainer' }, {});
        expect(events.map((event) => [event.level, event.msg, event.fields?.err])).toEqual([
          ['warn', 'bus_handler_retry', failure],
          ['warn', 'bus_handler_retry', failure],
          ['error', 'bus_message_dead_lettered', failure],
        ]);
      });
    }

    it('is not said when the DLQ refuses it: a line of its own gives the refusal\'s code and reason, and the delivery fails uncommitted', async () => {
      const { events, logger } = recording();
      const delivered: string[] = [];
      const refusal = new FltsError('FLTS_BUS_ACCESS_DENIED', 'Kafka broker 127.0.0.1:9092 denied publish to DLQ-training-data: TOPIC_AUTHORIZATION_FAILED.');
      const failing = { ...deps([]), logger, group: 'trainer', publishDlq: async () => Promise.reject(refusal) };
      await expect(deliverToGroup(message, poison, failing, { onDelivery: ({ outcome }) => void delivered.push(outcome) })).rejects.toBe(refusal);
      expect(events.map((event) => event.msg)).toEqual(['bus_dead_letter_refused']);
      expect(events[0].fields).toMatchObject({ topic: 'training-data', partition: 0, offset: '7', dlq_topic: 'DLQ-training-data', code: 'FLTS_BUS_ACCESS_DENIED', reason: refusal.message });
      expect(delivered).toEqual([]);
    });

    it('writes a dead letter the DLQ refuses as too large again without its payload, so its partition moves on', async () => {
      const { events, logger } = recording();
      const tooLarge = new FltsError('FLTS_BUS_MESSAGE_TOO_LARGE', 'Kafka publish to DLQ-training-data failed: the broker refused the message of 2000 bytes to DLQ-training-data as too large');
      const sent: OutgoingMessage[] = [];
      const refusingLarge = async (_topic: string, out: OutgoingMessage): Promise<void> => {
        if (out.value.length > 600) throw tooLarge;
        sent.push(out);
      };
      const large = { ...message, value: JSON.stringify({ pad: 'x'.repeat(2000) }) };
      const result = await deliverToGroup(large, poison, { ...deps([]), logger, group: 'trainer', publishDlq: refusingLarge }, {});
      expect(result.outcome).toBe('dead-lettered');
      expect(JSON.parse(sent[0].value)).toMatchObject({ status: 'Failure', payload: '', payload_bytes: Buffer.byteLength(large.value), payload_clipped: true, group: 'trainer', error: expect.stringContaining('FLTS_BUS_MESSAGE_INVALID') });
      expect(sent[0].headers).toEqual({ 'flts-source-topic': 'training-data', 'flts-source-partition': '0', 'flts-source-offset': '7', 'flts-dead-letter-id': 'training-data/0/7/trainer' });
      expect(events.map((event) => [event.level, event.msg])).toEqual([['warn', 'bus_dead_letter_sent_bare'], ['warn', 'bus_message_dead_lettered']]);

      // A DLQ that refuses even that: coded, the message left uncommitted, as any refusal of the DLQ.
      const refusingAll = async (): Promise<never> => Promise.reject(tooLarge);
      await expect(deliverToGroup(large, poison, { ...deps([]), logger, group: 'trainer', publishDlq: refusingAll }, {})).rejects.toBe(tooLarge);
      expect(events.at(-1)).toMatchObject({ level: 'error', msg: 'bus_dead_letter_refused', fields: { code: 'FLTS_BUS_MESSAGE_TOO_LARGE' } });
    });

    it('does not run the handler again for a message whose bare dead letter a tiny DLQ refused: the letter alone is sent again, said at error and counted once, the message uncommitted until the DLQ takes it', async () => {
      const { events, logger } = recording();
      const registry = new Registry();
      const metrics = createBusMetrics(registry);
      const tooLarge = new FltsError('FLTS_BUS_MESSAGE_TOO_LARGE', 'Kafka publish to DLQ-training-data failed: the broker refused the message of 300 bytes to DLQ-training-data as too large');
      let handled = 0;
      const failing = async (): Promise<never> => {
        handled += 1;
        throw new FltsError('FLTS_BUS_MESSAGE_INVALID', 'Message on training-data is invalid: bucket is missing.');
      };
      let dlqTakes = false;
      const published: OutgoingMessage[] = [];
      const tinyDlq = async (_topic: string, out: OutgoingMessage): Promise<void> => {
        published.push(out);
        if (!dlqTakes) throw tooLarge;
      };
      // One subscription's memory, as each bus keeps one per subscription; the consumer gets the message again after each failure.
      const refusedForGood = new Map();
      const delivery = { ...deps([]), logger, group: 'trainer', publishDlq: tinyDlq, refusedForGood };
      for (let again = 0; again < 5; again += 1) await expect(deliverToGroup(message, failing, delivery, { metrics })).rejects.toBe(tooLarge);
      expect(handled).toBe(1);
      // The whole letter and the bare one the first time, the bare one alone each time after.
      expect(published.map((out) => JSON.parse(out.value).payload_clipped ?? false)).toEqual([false, true, true, true, true, true]);
      expect(events.filter((event) => event.level === 'error').map((event) => [event.msg, event.fields?.code])).toEqual([['bus_dead_letter_refused', 'FLTS_BUS_MESSAGE_TOO_LARGE']]);
      expect(await registry.getSingleMetric('flts_bus_dead_letter_refusals_total')?.get()).toMatchObject({ values: [{ labels: { group: 'trainer', topic: 'training-data' }, value: 1 }] });

      // The DLQ's max.message.bytes raised: the bare letter is stored, the message dead-lettered (committed by the bus), its handler still not run again.
      dlqTakes = true;
      await expect(deliverToGroup(message, failing, delivery, { metrics })).resolves.toMatchObject({ outcome: 'dead-lettered', attempts: 0 });
      expect(handled).toBe(1);
      expect(JSON.parse(published.at(-1)!.value)).toMatchObject({ payload: '', payload_clipped: true, error: expect.stringContaining('FLTS_BUS_MESSAGE_INVALID') });
      expect(refusedForGood.size).toBe(0);
    });

    it('codes a refusal thrown uncoded (a file the bus cannot append to) as toFltsError does', async () => {
      const { events, logger } = recording();
      const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/srv/flts/bus/DLQ-training-data.log', syscall: 'write' });
      await expect(deliverToGroup(message, poison, { ...deps([]), logger, group: 'trainer', publishDlq: async () => Promise.reject(full) }, {})).rejects.toBe(full);
      expect(events[0]).toMatchObject({ msg: 'bus_dead_letter_refused', fields: { code: 'FLTS_STORE_UNAVAILABLE', reason: 'No space left on the device while writing /srv/flts/bus/DLQ-training-data.log.' } });
    });
  });

  describe('the dead letter on /metrics', () => {
    const poison = async (): Promise<never> => Promise.reject(new FltsError('FLTS_BUS_MESSAGE_INVALID', 'Message on training-data is invalid: bucket is missing.'));

    async function deadLetterSeries(registry: Registry): Promise<{ written: number; refused: number }> {
      const text = await registry.metrics();
      const value = (line: string): number => Number(text.split('\n').find((l) => l.startsWith(line))?.slice(line.length + 1));
      return {
        written: value('flts_bus_messages_total{group="trainer",topic="training-data",outcome="dead-lettered"}'),
        refused: value('flts_bus_dead_letter_refusals_total{group="trainer",topic="training-data"}'),
      };
    }

    it('counts a dead letter the DLQ stored under its group and source topic, and none refused', async () => {
      const registry = new Registry();
      const metrics = createBusMetrics(registry);
      metrics.subscribed('trainer', ['training-data']);
      const failing = async (): Promise<never> => Promise.reject(new Error('boom'));
      const result = await deliverToGroup(message, failing, { ...deps([]), group: 'trainer' }, { metrics });
      expect(result).toMatchObject({ outcome: 'dead-lettered', attempts: policy.maxAttempts });
      expect(await deadLetterSeries(registry)).toEqual({ written: 1, refused: 0 });
    });

    it('counts a dead letter the DLQ refused under its group and source topic, and none written', async () => {
      const registry = new Registry();
      const metrics = createBusMetrics(registry);
      metrics.subscribed('trainer', ['training-data']);
      const refusal = new FltsError('FLTS_BUS_ACCESS_DENIED', 'Kafka broker 127.0.0.1:9092 denied publish to DLQ-training-data: TOPIC_AUTHORIZATION_FAILED.');
      const refusing = { ...deps([]), group: 'trainer', publishDlq: async () => Promise.reject(refusal) };
      await expect(deliverToGroup(message, poison, refusing, { metrics })).rejects.toBe(refusal);
      await expect(deliverToGroup(message, poison, refusing, { metrics })).rejects.toBe(refusal);
      expect(await deadLetterSeries(registry)).toEqual({ written: 0, refused: 2 });
    });
  });
});
