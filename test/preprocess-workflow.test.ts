import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../src/core/bus/fs-bus.js';
import type { MessageBus } from '../src/core/bus/message-bus.js';
import { decodeDeadLetter, decodeInferenceClaim, decodeTrainClaim } from '../src/core/bus/messages.js';
import { dlqTopic } from '../src/core/bus/topics.js';
import { FltsError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';
import { preprocess } from '../src/core/workflows/preprocess.js';
import { readTopics } from './helpers/read-topic.js';

let slice: SliceHome;
let bus: MessageBus;

beforeEach(() => {
  slice = createSliceHome('flts-preprocess-workflow-');
  bus = createFsBus({ root: path.join(slice.home, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  slice.remove();
});

describe('workflows > preprocess', () => {
  it('writes the version, then publishes its training and inference claims; a cached rerun claims again with the row counts', async () => {
    const { settings, store } = slice;
    const first = await preprocess(settings, { store, bus });
    const second = await preprocess(settings, { store, bus });
    expect(first.status).toBe('processed');
    expect(second.status).toBe('cached');
    expect(second.configHash).toBe(first.configHash);

    const trainClaims = (await readTopics(bus, [settings.bus.topics.trainingData], 2)).map((message) => ({ key: message.key, claim: decodeTrainClaim(message) }));
    expect(trainClaims.map(({ key }) => key)).toEqual(['train-claim', 'train-claim']);
    expect(trainClaims[0].claim).toEqual(first.claims!.train);
    expect(trainClaims[0].claim).toMatchObject({ bucket: settings.store.buckets.processed, configHash: first.configHash });
    expect(trainClaims[0].claim.size).toBe((await store.stat(first.bucket, trainClaims[0].claim.object))!.size);
    expect(trainClaims[1].claim.size).toBe(first.train.rows);

    const inference = (await readTopics(bus, [settings.bus.topics.inferenceData], 2)).map((message) => decodeInferenceClaim(message));
    expect(inference[0]).toEqual(first.claims!.inference);
    expect(inference[1].size).toBe(first.test.rows);
  });

  // SNAIVE was left out of the warning while `flts train` refused its 400 rows (it reads a day: 720 rows of 2 min).
  it('warns of SNAIVE too, its day counted in rows at the processed rows\' step, processed or cached', async () => {
    const settings = { ...slice.settings, training: { ...slice.settings.training, models: ['NAIVE', 'SNAIVE'] as Array<'NAIVE' | 'SNAIVE'> } };
    for (const expected of ['processed', 'cached']) {
      const result = await preprocess(settings, { store: slice.store });
      expect(result.status).toBe(expected);
      expect(result.trainStepMs).toBe(120_000);
      expect(result.warnings).toEqual([
        expect.objectContaining({ code: 'too_few_training_rows', details: { rows: 400, needed: { SNAIVE: 722 } }, message: expect.stringContaining('SNAIVE a day: 720 rows at its 2 min step') }),
      ]);
    }
    const enough = await preprocess({ ...settings, data: { ...settings.data, sampleTrainRows: 722 } }, { store: slice.store });
    expect(enough.warnings.filter((warning) => warning.code === 'too_few_training_rows')).toEqual([]);
  });

  it('a bus that refuses the claims fails with the same code, saying the version is stored and a rerun publishes them', async () => {
    const { settings, store } = slice;
    const away = new FltsError('FLTS_BUS_UNAVAILABLE', 'Kafka admin connect failed (brokers 127.0.0.1:9092): Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    const failure = await preprocess(settings, { store, bus: { ...bus, publish: async () => Promise.reject(away) } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FltsError);
    const { code, message, hint, details } = failure as FltsError;
    expect(code).toBe('FLTS_BUS_UNAVAILABLE');
    expect(message).toMatch(/^processed data [0-9a-f]{12} is stored, but its claims were not published: Kafka admin connect failed/);
    expect(hint).toContain('run the same preprocess again');
    expect(details).toMatchObject({ claims_published: false });

    const again = await preprocess(settings, { store, bus });
    expect(details.config_hash).toBe(again.configHash);
    expect(again.status).toBe('cached');
    expect(again.claims?.train.configHash).toBe(again.configHash);
  });

  it('publishes nothing without a bus', async () => {
    const result = await preprocess(slice.settings, { store: slice.store });
    expect(result.claims).toBeNull();
  });

  it('dead-letters a failure to DLQ-preprocess with its config_hash and rethrows it', async () => {
    const settings = { ...slice.settings, data: { ...slice.settings.data, trainFile: 'no-such-file.csv' } };
    const failure = await preprocess(settings, { store: slice.store, bus }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FltsError);
    const [letter] = await readTopics(bus, [dlqTopic('preprocess')], 1);
    const decoded = decodeDeadLetter(letter);
    expect(decoded.operation).toBe('preprocess');
    expect(decoded.error).toContain((failure as FltsError).message);
    expect(decoded.payload).toHaveProperty('config_hash');
  });

  it('says a dead letter the bus refuses, and still fails with the preprocess\'s own error', async () => {
    const settings = { ...slice.settings, data: { ...slice.settings.data, trainFile: 'no-such-file.csv' } };
    const refusal = new FltsError('FLTS_BUS_ACCESS_DENIED', 'Kafka broker 127.0.0.1:9092 denied publish to DLQ-preprocess: TOPIC_AUTHORIZATION_FAILED.');
    const refusing: MessageBus = { ...bus, publish: async () => Promise.reject(refusal) };
    const lines: Array<{ msg?: string; fields: Record<string, unknown> }> = [];
    const logger = { ...silentLogger, error: (fields: Record<string, unknown>, msg?: string) => void lines.push({ msg, fields }) };
    const failure = await preprocess(settings, { store: slice.store, bus: refusing, logger }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND' });
    expect(lines).toEqual([{ msg: 'bus_dead_letter_refused', fields: expect.objectContaining({ dlq_topic: 'DLQ-preprocess', code: 'FLTS_BUS_ACCESS_DENIED', reason: refusal.message }) }]);
  });
});
